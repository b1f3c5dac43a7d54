"""The published report reads cleanly (issue 14 item 3): the site `featviz site` builds from the *committed*
notebooks (no execution here: what a reader gets) contains no absolute path of any machine and no warning text from a
third-party module, and the home page shows prose, the headline table and the conclusion with no code."""
import html
import re
from pathlib import Path

import pytest

from featviz.report.site import build_site, page_defects

ROOT = Path(__file__).resolve().parents[1]

# Absolute folders of a machine: home, temp, checkout, venv and site-packages directories (POSIX and Windows).
MACHINE_PATH = re.compile(r"(?<![\w.:/])(?:/(?:home|Users|root|tmp|work|var/folders|private/var|opt/conda|usr/lib/python\d)"
                          r"/[^\s'\"<>)]*|[A-Za-z]:\\\\?(?:Users|Windows|Program Files)[^\s'\"<>]*|[^\s'\"<>]*site-packages/[^\s'\"<>]*)")
# A Python warning as `warnings` prints it: "<file>:<line>: SomethingWarning: message".
WARNING_LINE = re.compile(r"\w+\.py:\d+: \w*Warning\b|\b(?:Future|Deprecation|User|Runtime|Convergence)Warning:")

def test_patterns_catch_what_they_must():
    "The checks themselves can fail: each pattern finds the kind of text it is for, and not ordinary prose."
    for bad in ['/work/shared/data/mnist', '/home/ana/.cache/featviz/x.png', '/tmp/tmpab12/cache',
                r'C:\Users\ana\featviz', '.venv/lib/python3.11/site-packages/torch/jit/_script.py']:
        assert MACHINE_PATH.search(bad), bad
    for ok in ['featviz/features.py', 'nbs/02_resnet_finetune.ipynb', '$FEATVIZ_CACHE/artifacts/02/history.png',
               'https://featviz.github.io/featviz/', '10,000 train / 60,000 test', '~/.cache/featviz']:
        assert not MACHINE_PATH.search(ok), ok
    assert WARNING_LINE.search('x/_script.py:1491: FutureWarning: `torch.jit.script` is deprecated.')
    assert WARNING_LINE.search('UserWarning: The given NumPy array is not writable')
    assert not WARNING_LINE.search('warnings are filtered narrowly at their source')

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out, notes = tmp_path_factory.mktemp('site'), []
    pages = build_site(ROOT/'nbs', out, store=tmp_path_factory.mktemp('empty-store'), note=notes.append)
    return out, pages, notes

def _text(p: Path) -> str:
    "A page's visible text and attribute values, with the embedded images (base64) dropped."
    s = re.sub(r'data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+', 'data:', p.read_text())
    return html.unescape(s)

def test_no_machine_paths_in_the_site(site):
    out = site[0]
    found = {f"{p.relative_to(out)}: {m.group(0)[:80]}" for p in sorted(out.rglob('*.html'))
             for m in MACHINE_PATH.finditer(_text(p))}
    assert not found, "absolute machine paths in the committed outputs (re-run the notebook; print paths through " \
                      "featviz.core.config.display_path):\n" + '\n'.join(sorted(found))

def test_no_third_party_warnings_in_the_site(site):
    out = site[0]
    found = {f"{p.relative_to(out)}: {m.group(0)}" for p in sorted(out.rglob('*.html')) for m in WARNING_LINE.finditer(_text(p))}
    assert not found, "warning text in the committed outputs (filter it narrowly at its source and re-run):\n" + '\n'.join(sorted(found))

def test_home_page_shows_no_code(site):
    out = site[0]
    page = (out/'index.html').read_text()
    inputs = re.findall(r'<div class="jp-Cell jp-CodeCell[^"]*"(?:(?!jp-Cell-outputWrapper).)*?jp-InputArea', page, flags=re.S)
    assert 'jp-InputArea' not in page, f"the home page shows {len(inputs) or 'some'} code cell(s): mark them #| echo: false"
    assert 'Conclusion' in page and '<table' in page, "the home page lost its headline table or conclusion"

def test_no_reader_defects_in_the_site(site):
    "Issue 21: no directive heading, Quarto syntax, Markdown template, placeholder alt text or dead link on any page."
    out, pages, _ = site
    assert len(pages) >= 28
    found = {p.page: d for p in pages if (d := page_defects((out/p.page).read_text(), p.page, out))}
    assert found == {}, f"pages a reader should not see this way: {found}"

def test_site_says_in_one_line_what_it_left_out(site):
    "Built without the artifact store that holds chapter 08's explorer: the link is replaced, and one note says so."
    out, _, notes = site
    assert len(notes) == 1 and 'all_digits.html -> explorers/08_all_digits/explorer.html' in notes[0], notes
    assert 'not in this build of the site' in (out/'all_digits.html').read_text()

def test_no_machine_paths_in_committed_results():
    "The committed run records (results/, benchmarks/results/) name no machine's folders either: they are published with the report."
    files = [p for d in ('results', 'benchmarks/results') for p in sorted((ROOT/d).rglob('*')) if p.is_file() and p.suffix in ('.json', '.txt', '.md', '.csv')]
    assert len(files) > 3, "no committed results found"
    found = {f"{p.relative_to(ROOT)}: {m.group(0)[:80]}" for p in files for m in MACHINE_PATH.finditer(p.read_text(errors='replace'))}
    assert not found, "absolute machine paths in committed results (write them as $FEATVIZ_CACHE, CLONE, …):\n" + '\n'.join(sorted(found))
