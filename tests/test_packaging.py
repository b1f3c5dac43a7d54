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
        modules = {f'featviz/{p.name}' for p in (ROOT/'featviz').glob('*.py')}
        assert {'featviz/cli.py', 'featviz/site.py', 'featviz/__main__.py', 'featviz/config.py'} <= modules
        assert modules <= names, f'modules missing from the wheel: {modules - names}'
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
