"The `featviz` command: `info` offline, `run` (outputs written back, times logged, failures named, `--from`), `site`."
import json, os, re, subprocess, sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell

from featviz.cli import STUDY_DIR, main, resolve_timeout, run_study, study_files
from featviz.core.config import get_settings
from featviz.core.store import get_store

ROOT = Path(__file__).resolve().parents[1]

# Imported first through PYTHONPATH, this makes any attempt to open a network connection fail loudly.
NO_NETWORK = '''
import socket
def _refuse(*a, **k): raise OSError("featviz test: network access attempted")
socket.socket.connect = socket.socket.connect_ex = socket.create_connection = socket.getaddrinfo = _refuse
'''

def _featviz(args, env, cwd=ROOT):
    return subprocess.run([sys.executable, '-m', 'featviz', *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)

def _offline_env(tmp_path, **extra):
    "The environment with no FEATVIZ_* variable, empty fastai/torch homes, and sockets disabled."
    (tmp_path/'blocker').mkdir(exist_ok=True)
    (tmp_path/'blocker'/'sitecustomize.py').write_text(NO_NETWORK)
    env = {k: v for k, v in os.environ.items() if not k.startswith('FEATVIZ_')}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path/'blocker'), str(ROOT)]), FASTAI_HOME=str(tmp_path/'fastai'),
               TORCH_HOME=str(tmp_path/'torch'), XDG_CACHE_HOME=str(tmp_path/'xdg'), **extra)
    return env

def test_info_offline_nothing_configured(tmp_path):
    r = _featviz(['info'], _offline_env(tmp_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'network access attempted' not in r.stdout + r.stderr
    assert 'mode: quick (FEATVIZ_MODE)' in out and f"cache: {tmp_path/'xdg'/'featviz'}" in out
    for name, files in (('MNIST', 'train-images-idx3-ubyte.gz'), ('CIFAR-10', 'cifar-10-python.tar.gz')):
        assert f"FEATVIZ_DATA is unset and fastai's cache has no {name}: set FEATVIZ_DATA=" in out
        assert files in out
    assert ("FEATVIZ_WEIGHTS unset: torchvision weights for resnet18 will be downloaded on first use — offline, "
            "set FEATVIZ_WEIGHTS=") in out and 'FEATVIZ_ARCH=' in out
    assert 'quick mode uses the small sample shipped with featviz' in out

def test_info_configured(tmp_path, shared_data):
    weights = tmp_path/'resnet50.pth'
    weights.write_bytes(b'not checked by info')
    r = _featviz(['info'], _offline_env(tmp_path, FEATVIZ_DATA=str(shared_data), FEATVIZ_WEIGHTS=str(weights),
                                        FEATVIZ_ARCH='resnet50', FEATVIZ_MODE='full'))
    assert r.returncode == 0, r.stderr
    assert 'nothing missing' in r.stdout and 'mode: full' in r.stdout
    assert f'weights: {weights} (FEATVIZ_WEIGHTS, for arch resnet50)' in r.stdout
    assert 'data: MNIST: ' in r.stdout and 'data: CIFAR-10: ' in r.stdout

def test_info_bad_setting_exits_2(tmp_path):
    r = _featviz(['info'], _offline_env(tmp_path, FEATVIZ_MODE='fast'))
    assert r.returncode == 2 and 'FEATVIZ_MODE=quick or FEATVIZ_MODE=full' in r.stderr

# --- featviz run ------------------------------------------------------------------------------------------------

def _nb(path, *cells):
    nbformat.write(new_notebook(cells=[new_markdown_cell(f'# {path.stem}'), *cells]), path)
    return path

def _outputs(path):
    return [c.get('outputs', []) for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code']

def _text(outs): return ''.join(o.get('text', '') for o in outs)

@pytest.fixture
def study(tmp_path):
    "A tiny study: index, one foundation notebook and three chapters, each printing something."
    nbs = tmp_path/'nbs'
    (nbs/'foundation').mkdir(parents=True)
    _nb(nbs/'index.ipynb', new_code_cell("print('home')"))
    _nb(nbs/'foundation'/'01_setup.ipynb', new_code_cell("print('setup')"))
    _nb(nbs/'00_first.ipynb', new_code_cell("import os\nprint(os.environ['FEATVIZ_MODE'])"),
        new_code_cell("#| notest\nprint('slow part')"))
    _nb(nbs/'01_second.ipynb', new_code_cell("x = 2"), new_code_cell("#| export\nraise ValueError(f'boom {x}')"))
    _nb(nbs/'02_third.ipynb', new_code_cell("print('third')"))
    return nbs

def test_run_only_writes_outputs_and_times(study, capsys):
    first = study/'00_first.ipynb'
    assert main(['run', '--quick', '--nbs', str(study), '--only', '00']) == 0
    out = capsys.readouterr().out
    assert '[1/1] 00_first.ipynb' in out and ' ok ' in out
    outs = _outputs(first)
    assert _text(outs[0]) == 'quick\n' and outs[1] == []          # the notest cell is skipped in quick mode
    for other in ('index.ipynb', '02_third.ipynb', 'foundation/01_setup.ipynb'):
        assert _outputs(study/other) == [[]]                        # not run
    log = get_store(get_settings()).load_json('run/last')
    assert log['mode'] == 'quick' and log['ok'] and log['failed'] is None
    assert [n['path'] for n in log['notebooks']] == ['00_first.ipynb'] and log['notebooks'][0]['seconds'] > 0
    # saved like nbdev-clean saves: cleaning again changes nothing
    before = first.read_bytes()
    subprocess.run([str(Path(sys.executable).parent/'nbdev-clean'), '--fname', str(first)], cwd=study, check=True, capture_output=True)
    assert first.read_bytes() == before
    # full mode reaches the kernel, and runs the notest cell
    assert main(['run', '--full', '--nbs', str(study), '--only', '00_first']) == 0
    outs = _outputs(first)
    assert _text(outs[0]) == 'full\n' and _text(outs[1]) == 'slow part\n'
    assert get_store(get_settings()).load_json('run/last')['mode'] == 'full'

def test_failure_names_notebook_and_cell_then_from_resumes(study, capsys):
    bad, third = study/'01_second.ipynb', study/'02_third.ipynb'
    source = bad.read_bytes()
    assert main(['run', '--quick', '--nbs', str(study)]) == 1
    out, err = capsys.readouterr()
    assert "01_second.ipynb, cell 2 (`raise ValueError(f'boom {x}')`): ValueError: boom 2" in err
    assert f'featviz run --quick --from 01 --nbs {study}' in err
    assert '[1/5] foundation/01_setup.ipynb' in out and '[3/5] 01_second.ipynb' in out and 'FAILED' in out
    assert bad.read_bytes() == source                                # the failed notebook is not rewritten
    assert _outputs(third) == [[]]                                   # the run stopped there
    assert _text(_outputs(study/'00_first.ipynb')[0]) == 'quick\n'
    log = get_store(get_settings()).load_json('run/last')
    assert (log['ok'], log['failed']['path'], log['failed']['cell'], log['resume_from']) == (False, '01_second.ipynb', 2, '01')
    # fix the cell and resume from the failed chapter: 01, 02, then the index; 00 and the foundation are not rerun
    nb = nbformat.read(bad, as_version=4)
    nb.cells[2].source = "#| export\nprint(x)"
    nbformat.write(nb, bad)
    first_before = (study/'00_first.ipynb').read_bytes()
    assert main(['run', '--quick', '--nbs', str(study), '--from', '01']) == 0
    log = get_store(get_settings()).load_json('run/last')
    assert [n['path'] for n in log['notebooks']] == ['01_second.ipynb', '02_third.ipynb', 'index.ipynb']
    assert _text(_outputs(bad)[1]) == '2\n' and _text(_outputs(third)[0]) == 'third\n'
    assert (study/'00_first.ipynb').read_bytes() == first_before

def test_run_bad_selection_and_folder(study, tmp_path, capsys):
    assert main(['run', '--nbs', str(study), '--only', '7']) == 2
    assert "no notebook in" in capsys.readouterr().err
    assert main(['run', '--nbs', str(tmp_path/'missing')]) == 1
    assert 'does not exist' in capsys.readouterr().err
    with pytest.raises(SystemExit): main(['run', '--quick', '--full'])

# --- time limits, clean failures, progress in a log -------------------------------------------------------------

@pytest.fixture
def slow_study(tmp_path):
    "A project whose pyproject.toml sets cell_timeout = 1, with a notebook whose cell sleeps 3 s and one that fails."
    proj = tmp_path/'proj'
    (proj/'nbs').mkdir(parents=True)
    (proj/'pyproject.toml').write_text('[tool.nbdev]\nnbs_path = "nbs"\ncell_timeout = 1\n')
    _nb(proj/'nbs'/'00_slow.ipynb', new_code_cell("import time"), new_code_cell("time.sleep(3)\nprint('slept')"))
    _nb(proj/'nbs'/'01_bad.ipynb', new_code_cell("1/0"))
    return proj/'nbs'

def test_full_mode_has_no_cell_limit_unless_asked(slow_study, capsys):
    assert resolve_timeout('full', None, ROOT/'nbs') is None        # the study itself: full mode never caps a cell
    assert resolve_timeout('quick', None, ROOT/'nbs') == 900        # quick mode: pyproject's cell_timeout, as nbdev-test
    assert (resolve_timeout('quick', None, slow_study), resolve_timeout('full', 5, slow_study)) == (1, 5)
    # the 3 s cell outlasts cell_timeout = 1: full mode runs it, quick mode stops it
    assert main(['run', '--full', '--nbs', str(slow_study), '--only', '00']) == 0
    assert 'full mode, no cell time limit' in capsys.readouterr().out
    assert _text(_outputs(slow_study/'00_slow.ipynb')[1]) == 'slept\n'
    assert main(['run', '--quick', '--nbs', str(slow_study), '--only', '00']) == 1
    assert 'CellTimeoutError: the cell ran longer than 1 s' in capsys.readouterr().err

def test_timeout_and_failure_end_cleanly(slow_study, tmp_path):
    "An explicit --timeout caps a full run; the kernel's own messages go to a log file, never to the terminal."
    env = _offline_env(tmp_path, FEATVIZ_CACHE=str(tmp_path/'cache'))
    for sel, error in (('00', "cell 2 (`time.sleep(3)`): CellTimeoutError: the cell ran longer than 1 s"),
                       ('01', "cell 1 (`1/0`): ZeroDivisionError: division by zero")):
        r = _featviz(['run', '--full', '--timeout', '1', '--nbs', str(slow_study), '--only', sel], env)
        assert r.returncode == 1, r.stdout + r.stderr
        assert error in r.stderr
        for noise in ('Traceback', 'ZMQError', 'IPKernelApp', 'Exception in message handler'):
            assert noise not in r.stdout + r.stderr, r.stdout + r.stderr
        log = Path(re.search(r'\(kernel log: (.+?\.log)\)', r.stderr).group(1))
        assert log.is_file() and log.is_relative_to(tmp_path/'cache'/'artifacts'/'run'/'kernels')

def test_progress_when_output_is_a_log(tmp_path, capsys):
    "Not on a terminal: the notebook, the cell being run (n of N) and the elapsed time, at the given interval."
    nbs = tmp_path/'nbs'
    nbs.mkdir()
    _nb(nbs/'00_steps.ipynb', new_code_cell("import time; time.sleep(0.3)"), new_code_cell("time.sleep(0.3)"),
        new_code_cell("time.sleep(2.5)"), new_code_cell("x = 1"))
    assert run_study(nbs, 'quick', progress_every=0.5)['ok']
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == '[1/1] 00_steps.ipynb ...' and lines[-1].startswith('[1/1] 00_steps.ipynb') and ' ok ' in lines[-1]
    # a cell that ends 0.5 s or more after the last line is reported; neither 0.3 s cell can be preceded by a heartbeat
    assert any(re.fullmatch(r'    00_steps\.ipynb: cell [12]/4 done; \d+ s in this notebook', l) for l in lines), lines
    beats = [l for l in lines if l.startswith('    00_steps.ipynb: cell 3/4 (`time.sleep(2.5)`) running for ')]
    assert len(beats) >= 2, lines                                   # heartbeats while the long cell runs
    # the default interval (30 s) prints nothing between a short notebook's first and last line
    assert run_study(nbs, 'quick')['ok']
    assert len(capsys.readouterr().out.splitlines()) == 3

# --- outside a clone: the study folder -------------------------------------------------------------------------

def test_outside_a_clone_the_study_folder(tmp_path, monkeypatch, capsys):
    "init copies the installed study; run refuses to overwrite an edited notebook unless --force; site builds from it."
    outside = tmp_path/'outside'
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert main(['site', '--out', str(tmp_path/'site')]) == 0         # no study folder yet: made, then rendered
    folder = outside/STUDY_DIR
    assert study_files(folder) == study_files(ROOT/'nbs') and (tmp_path/'site'/'index.html').is_file()
    assert f'study folder {folder}: {len(study_files(folder))} file(s) copied' in capsys.readouterr().out
    nb = folder/'00_baseline.ipynb'
    edited = nb.read_text().replace('"source": [', '"source": [\n    "# my note\\n",', 1)
    nb.write_text(edited)
    assert main(['run', '--quick', '--only', 'index']) == 2
    err = capsys.readouterr().err
    assert 'differ from the study shipped with featviz' in err and '(00_baseline.ipynb)' in err and '--force' in err
    assert nb.read_text() == edited                                    # the user's edit is kept
    monkeypatch.chdir(folder/'foundation')                             # inside the study folder: it is the one used
    assert main(['init', str(folder), '--force']) == 0
    assert nb.read_bytes() == (ROOT/'nbs'/'00_baseline.ipynb').read_bytes()
    assert '0 file(s) copied, 1 replaced' in capsys.readouterr().out
    assert main(['run', '--quick', '--only', 'index']) == 0            # runs there, writes outputs back
    assert get_store(get_settings()).load_json('run/last')['nbs'] == str(folder)
    assert main(['run', '--quick', '--only', 'index']) == 0            # a run's outputs are not edits: nothing to sync
    assert 'study folder' not in capsys.readouterr().out

# --- featviz site -----------------------------------------------------------------------------------------------

def test_site_command(study, tmp_path, capsys):
    (study/'sidebar.yml').write_text("website:\n  sidebar:\n    contents:\n      - index.ipynb\n      - 00_first.ipynb\n")
    out = tmp_path/'site'
    assert main(['site', '--nbs', str(study), '--out', str(out)]) == 0
    assert {p.relative_to(out).as_posix() for p in out.rglob('*.html')} == {
        'index.html', 'first.html', 'second.html', 'third.html', 'foundation/setup.html'}
    assert 'featviz site: 5 page(s)' in capsys.readouterr().out
    (study/'sidebar.yml').write_text("website:\n  sidebar:\n    contents:\n      - 09_gone.ipynb\n")
    assert main(['site', '--nbs', str(study), '--out', str(out)]) == 1
    assert "lists '09_gone.ipynb'" in capsys.readouterr().err

# --- interrupts and the cache command ---------------------------------------------------------------------------------

def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys):
    import featviz.cli as cli
    def interrupted(a): raise KeyboardInterrupt
    monkeypatch.setattr(cli, '_cmd_info', interrupted)
    assert main(['info']) == 130
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('featviz info: interrupted') and 'Traceback' not in err

def test_sigterm_exits_143_and_the_handler_is_put_back(monkeypatch, capsys):
    import signal, time, featviz.cli as cli
    before = signal.getsignal(signal.SIGTERM)
    def terminated(a):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)                                  # the handler raises before this ends
        return 0
    monkeypatch.setattr(cli, '_cmd_info', terminated)
    assert main(['info']) == 143
    assert capsys.readouterr().err.startswith('featviz info: terminated') and signal.getsignal(signal.SIGTERM) == before

def _cache_with_entries(root):
    import numpy as np
    from featviz.engine.features import FeatureCache
    fc = FeatureCache(root/'features')
    for ds, model in [('mnist', 'resnet50-aa'), ('mnist', 'Sequential-bb'), ('cifar10', 'resnet50-aa')]:
        parts = dict(dataset=ds, split='test', model=model, layer='layer4', pool='avg')
        a = fc.open_temp(parts, (10, 4)); a[:] = np.arange(40).reshape(10, 4); fc.commit(parts, a, (4,))
    (root/'artifacts').mkdir(); (root/'artifacts'/'x.json').write_text('{}')
    (root/'features'/f'.old.npy.{2**22 + 9}.1.tmp').write_bytes(b'x' * 10)     # a dead writer's leftover
    return fc

def test_cache_lists_and_prunes(tmp_path, monkeypatch, capsys):
    fc = _cache_with_entries(tmp_path)
    monkeypatch.setenv('FEATVIZ_CACHE', str(tmp_path))
    assert main(['cache']) == 0
    out = capsys.readouterr().out
    assert f"cache: {tmp_path} (FEATVIZ_CACHE)" in out and 'removed 1 temporary file(s)' in out
    assert re.search(r'features\s+6\s', out) and re.search(r'artifacts\s+1\s', out)       # 3 entries = 6 files
    assert re.search(r'mnist\s+Sequential-bb\s+1', out) and re.search(r'cifar10\s+resnet50-aa\s+1', out)
    assert main(['cache', '--prune-dataset', 'mnist', '--prune-model', 'resnet50']) == 0
    assert 'pruned 1 feature entry' in capsys.readouterr().out
    assert sorted(zip(fc.entries().dataset, fc.entries().model)) == [('cifar10', 'resnet50-aa'), ('mnist', 'Sequential-bb')]
    assert main(['cache', '--prune-days', '1']) == 0 and len(fc.entries()) == 2           # none older than a day
    assert main(['cache', '--prune-days', '-1']) == 2
    assert 'give a number of days' in capsys.readouterr().err

def test_cache_prunes_cached_results(tmp_path, monkeypatch, capsys):
    from featviz.core.store import ArtifactStore
    monkeypatch.setenv('FEATVIZ_CACHE', str(tmp_path))
    store = ArtifactStore(tmp_path/'artifacts')
    for n in (1, 2): store.cached('maps', dict(n=n), lambda n=n: dict(v=n), code="v1")
    assert main(['cache', '--prune-results', '1']) == 0 and 'pruned 0 cached results' in capsys.readouterr().out
    assert main(['cache', '--prune-results', '0']) == 0
    out = capsys.readouterr().out
    assert 'pruned 2 cached results' in out and out.count('\n  maps/') == 2
    assert list((tmp_path/'artifacts'/'results'/'maps').glob('*.npz')) == []
    assert main(['cache', '--prune-results', '-1']) == 2 and 'give a number of days' in capsys.readouterr().err

def test_cache_prune_on_a_read_only_cache_exits_1(tmp_path, monkeypatch, capsys):
    import errno
    _cache_with_entries(tmp_path)
    monkeypatch.setenv('FEATVIZ_CACHE', str(tmp_path))
    def read_only(self, missing_ok=False): raise OSError(errno.EROFS, 'Read-only file system', str(self))
    monkeypatch.setattr(Path, 'unlink', read_only)
    assert main(['cache', '--prune-model', 'resnet50']) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'read-only' in err and 'FEATVIZ_CACHE' in err


def test_version_and_exit_codes_in_help(capsys):
    from featviz import __version__
    with pytest.raises(SystemExit) as e: main(['--version'])
    assert e.value.code == 0 and capsys.readouterr().out == f'featviz {__version__}\n'
    with pytest.raises(SystemExit) as e: main(['--help'])
    out = capsys.readouterr().out
    assert e.value.code == 0 and 'exit status:' in out
    for code, what in (('0', 'ok'), ('1', 'failure'), ('2', 'bad usage or input'), ('130', 'interrupted')):
        assert re.search(rf'^  {code}\s+{what}', out, re.M), out

def test_run_bad_selection_outside_a_clone_copies_nothing(tmp_path):
    "`featviz run --only 99` in an empty folder: exit 2 with the reason, and no ./featviz-study made."
    empty = tmp_path/'empty'; empty.mkdir()
    r = _featviz(['run', '--only', '99'], _offline_env(tmp_path, FEATVIZ_CACHE=str(tmp_path/'cache')), cwd=empty)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no notebook in" in r.stderr and "'99'" in r.stderr and 'Traceback' not in r.stderr
    assert list(empty.iterdir()) == []                         # nothing copied
    r = _featviz(['run', '--from', 'nope'], _offline_env(tmp_path, FEATVIZ_CACHE=str(tmp_path/'cache')), cwd=empty)
    assert r.returncode == 2 and list(empty.iterdir()) == []
