"Issue 20: one rule per kind of claim. Every claim worded 'reaches X' is decided by `verdicts.reaches`, and by nothing else."
import ast, inspect, textwrap

import featviz.study.verdicts as V

def _calls(f) -> set[str]:
    "Names of the functions that claim function `f` calls."
    tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}

def _says_reaches(f) -> bool:
    "Does the claim text that `f` gives its Verdict say 'reaches'?"
    tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, 'id', None) == 'Verdict' and len(n.args) > 1:
            return ' reaches ' in ast.unparse(n.args[1])
    return False

def test_every_reaches_claim_goes_through_reaches():
    reach = [f for f in V.CLAIMS if _says_reaches(f)]
    assert {f.__name__ for f in reach} >= {'baseline_l1', 'finetune_accuracy'}, [f.__name__ for f in reach]
    for f in reach:
        calls = _calls(f)
        assert 'reaches' in calls and 'against_threshold' not in calls, f"{f.__name__}: a 'reaches X %' claim must be decided by reaches()"

def test_no_other_claim_uses_reaches():
    assert [f.__name__ for f in V.CLAIMS if 'reaches' in _calls(f) and not _says_reaches(f)] == []

# ---------------------------------------------------------------- the committed run and the rules it was judged by
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def test_committed_run_was_judged_by_the_rules_on_main():
    "The run whose outputs are committed recorded the hash of the rules it was judged by; main's rules must be those."
    res = json.loads((ROOT/'results'/'full-run.json').read_text())
    if 'rules_hash' not in res:
        pytest.skip(f"the committed run {res['run_id']} predates the rules' fingerprint (issue 20): the release run records it")
    assert res['rules_hash'] == V.rules_hash(), (f"the rules changed after run {res['run_id']} (hash {res['rules_hash']}, "
                                                 f"now {V.rules_hash()}): its verdicts were not decided by them; re-run the study")

def test_the_fingerprint_sees_a_changed_rule(tmp_path):
    "A test of the test, on a copy of the module: a changed rule changes the hash, a changed comment does not."
    src = Path(V.__file__).read_text()
    assert 'return EXCEEDED if lo > claimed else' in src
    variants = {'same': src, 'comment': src.replace('"The one rule for every', '"Reworded docstring. The one rule for every', 1) + '\n# a new comment\n',
                'rule': src.replace('return EXCEEDED if lo > claimed else', 'return EXCEEDED if lo >= claimed else', 1)}
    hashes = {}
    for name, text in variants.items():
        pkg = tmp_path/name/'featviz'/'study'; pkg.mkdir(parents=True)
        (pkg/'verdicts_copy.py').write_text(text.replace('from ..', 'from featviz.').replace('from .chapters', 'from featviz.study.chapters'))
        code = ("import importlib.util, sys; s = importlib.util.spec_from_file_location('vc', sys.argv[1]); "
                "m = importlib.util.module_from_spec(s); sys.modules['vc'] = m; s.loader.exec_module(m); print(m.rules_hash())")
        r = subprocess.run([sys.executable, '-c', code, str(pkg/'verdicts_copy.py')], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        hashes[name] = r.stdout.strip()
    assert hashes['same'] == V.rules_hash() and hashes['comment'] == hashes['same'] and hashes['rule'] != hashes['same']

def _code(nb: str) -> str:
    cells = json.loads((ROOT/'nbs'/nb).read_text())['cells']
    return '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')

def test_chapters_print_the_home_pages_verdicts():
    "A chapter that states a verdict on a claim gets it from the same function the home page uses, not a rule of its own."
    for nb, rule in (('04_activation_maps.ipynb', 'late_layers_blank'), ('06_cifar10.ipynb', 'scattering_degrades_on_cifar'),
                     ('09_audit.ipynb', 'isolated_are_mislabels')):
        code = _code(nb)
        assert f"{rule}(" in code and getattr(V, rule) in V.CLAIMS, f"{nb} must decide its claim with featviz.study.verdicts.{rule}"
        assert '**Confirmed**' not in code and "'confirmed' if" not in code, f"{nb} still words a verdict by a rule of its own"

def test_isolated_points_are_judged_in_chapter_09_only():
    "Issue 25 item 3: the isolated-points claim moved to chapter 09 (injected noise); chapter 03's rule is retired."
    names = [f.__name__ for f in V.CLAIMS]
    assert 'isolated_are_errors' not in names and not hasattr(V, 'isolated_are_errors'), "chapter 03's isolated-points rule must stay retired"
    assert 'isolated_are_mislabels' in names and 'flips_above_base_rate' in V.RULE_HELPERS
    assert 'flips_above_base_rate' in _calls(V.isolated_are_mislabels)
    assert 'isolated_are_mislabels' not in _code('03_hooks_tsne.ipynb')

def test_the_claims_are_counted():
    "One row per claim of the old report plus the new finding: a claim added or dropped must change this number on purpose."
    assert len(V.CLAIMS) == 11, [f.__name__ for f in V.CLAIMS]
    assert [f.__name__ for f in V.CLAIMS][-1] == 'isolated_are_mislabels'      # chapter order: 09 last

def test_a_store_without_chapter_09_still_gives_its_verdicts(tmp_path):
    "An older store (chapter 09 never ran there): the summaries load with None for 09, same_run ignores it, no 09 row, no 09 headline."
    from featviz.core.store import ArtifactStore
    from featviz.study.chapters import AuditSummary, BaselineSummary, SUMMARIES
    store = ArtifactStore(tmp_path)
    BaselineSummary('full', 60000, 10000, 0.6685, 0.8203, {'l1': 0.6724, 'l2': 0.8192}, 0.645, run_id='full-old').save(store)
    s = V.load_summaries(store)
    assert AuditSummary in SUMMARIES and s[AuditSummary] is None
    vs, run = V.verdicts(s)
    assert run == 'full-old' and [v.chapter for v in vs] == ['00']
    AuditSummary('full', {}, 'p', [], {}, 1.0, run_id='full-new').save(store)       # a 09 from another run is a mix, refused in full mode
    with pytest.raises(Exception, match='different runs'): V.verdicts(V.load_summaries(store))
