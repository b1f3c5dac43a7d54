"The wheel `python -m build` makes holds every module, the shipped samples, the study (notebooks + site configuration) and the `featviz` console script."
import configparser, hashlib, shutil, subprocess, sys, zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "A wheel built from a copy of the project (so no build/ or egg-info lands in the worktree), without isolation."
    pytest.importorskip('build', reason='the build package is in the dev extras: pip install -e ".[dev]"')
    src = tmp_path_factory.mktemp('src')
    for f in ('pyproject.toml', 'README.md'): shutil.copy2(ROOT/f, src/f)
    shutil.copytree(ROOT/'featviz', src/'featviz', ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    shutil.copytree(ROOT/'nbs', src/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_proc', '_docs'))
    dist = tmp_path_factory.mktemp('dist')
    r = subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', str(dist), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = dist.glob('featviz-*.whl')
    return whl

def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT/'featviz').rglob('*.py') if '__pycache__' not in p.parts}
        assert {'featviz/cli.py', 'featviz/report/site.py', 'featviz/__main__.py', 'featviz/core/config.py',
                'featviz/engine/features.py', 'featviz/study/verdicts.py', 'featviz/tool/explore.py'} <= modules
        assert modules <= names, f'modules missing from the wheel: {modules - names}'
        assets = {p.relative_to(ROOT).as_posix() for p in (ROOT/'featviz'/'report'/'assets').iterdir()}
        assert {'featviz/report/assets/explorer.js', 'featviz/report/assets/explorer.css', 'featviz/report/assets/explorer.html',
                'featviz/report/assets/site.css', 'featviz/report/assets/scatter.html'} <= assets
        assert assets <= names, f'web assets missing from the wheel: {assets - names}'
        samples = sorted((ROOT/'featviz'/'sample').glob('*.npz'))
        assert [p.name for p in samples] == ['cifar10.npz', 'mnist.npz']
        for p in samples:       # the very same bytes
            assert hashlib.sha256(z.read(f'featviz/sample/{p.name}')).hexdigest() == hashlib.sha256(p.read_bytes()).hexdigest()
        (ep,) = [n for n in names if n.endswith('.dist-info/entry_points.txt')]
        eps = configparser.ConfigParser()
        eps.read_string(z.read(ep).decode())
        assert eps['console_scripts']['featviz'] == 'featviz.cli:main'
        assert not [n for n in names if n.startswith(('tests/', 'nbs/', 'benchmarks/'))]

def test_wheel_ships_the_study(wheel):
    "Every notebook of nbs/ (foundation and chapters, with their outputs) and the site configuration, as featviz/nbs/."
    from featviz.cli import SITE_FILES, study_files
    files = study_files(ROOT/'nbs')
    assert {'index.ipynb', '00_baseline.ipynb', *SITE_FILES} <= set(files)
    assert any(f.startswith('foundation/') for f in files) and any(f.startswith('06_') for f in files)
    with zipfile.ZipFile(wheel) as z:
        shipped = {n.removeprefix('featviz/nbs/') for n in z.namelist() if n.startswith('featviz/nbs/')}
        assert shipped == set(files), f'missing: {set(files) - shipped}, unexpected: {shipped - set(files)}'
        for f in files: assert z.read(f'featviz/nbs/{f}') == (ROOT/'nbs'/f).read_bytes(), f

_FROM_THE_WHEEL = '''
import importlib, pkgutil, sys
import numpy as np
import featviz
assert featviz.__file__.startswith(sys.argv[1]), featviz.__file__          # the installed wheel, not the source tree
mods = [m.name for m in pkgutil.walk_packages(featviz.__path__, 'featviz.') if not m.name.startswith('featviz.nbs')]
for m in mods: importlib.import_module(m)
from featviz.report.explorer import build_explorer, read_explorer
rng = np.random.default_rng(0)
page = build_explorer(sys.argv[2], {'a': rng.normal(size=(40, 2))}, rng.integers(0, 256, (40, 8, 8), dtype=np.uint8),
                      rng.integers(0, 3, 40), features={'a': rng.normal(size=(40, 5))})
text = page.read_text()
assert 'window.featvizExplorer' in text and '<style>' in text and '$js' not in text
print(len(mods), read_explorer(page)['meta']['n'])
'''

def test_installed_wheel_imports_every_module_and_builds_an_explorer(wheel, tmp_path):
    "Every module imports from the installed wheel, and its web assets are there: it writes an explorer page."
    target = tmp_path/'site-packages'
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-compile', '--target', str(target), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    script = tmp_path/'from_wheel.py'; script.write_text(_FROM_THE_WHEEL)
    env = {**__import__('os').environ, 'PYTHONPATH': str(target)}
    r = subprocess.run([sys.executable, str(script), str(target), str(tmp_path/'page.html')], capture_output=True, text=True,
                       timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    n_mods, n_points = map(int, r.stdout.split())
    assert n_mods == len([p for p in (ROOT/'featviz').rglob('*.py') if '__pycache__' not in p.parts]) - 1   # all but featviz/__init__.py
    assert n_points == 40
