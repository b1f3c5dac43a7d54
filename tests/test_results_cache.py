"""`featviz.core.store.ArtifactStore.cached` (issue 27, item 8): a changed function source is a miss, an unchanged one a hit
equal to a fresh computation; two processes that need the same entry at once compute it once."""
import importlib, multiprocessing as mp, sys, textwrap, time

import numpy as np

from featviz.core.store import ArtifactStore, code_version


def _module(tmp_path, body: str):
    "Write `body` as module `incr_step` under `tmp_path` and (re)import it from there."
    (tmp_path/'incr_step.py').write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop('incr_step', None); importlib.invalidate_caches()
        return importlib.import_module('incr_step')
    finally: sys.path.remove(str(tmp_path))


def test_edited_source_is_a_miss_unchanged_source_a_hit(tmp_path):
    store, calls = ArtifactStore(tmp_path/'cache'), []
    X = np.random.default_rng(0).normal(size=(50, 4))
    def run(m):
        out = store.cached('demo', dict(n=len(X)), lambda: calls.append(1) or m.step(X), code_version(m.step))
        return out, store.last_hit
    v1 = _module(tmp_path, '''
        def step(X):
            "Column means."
            return X.mean(0)
        ''')
    first, hit1 = run(v1)
    v1b = _module(tmp_path, '''
        def step(X):
            "Column means, reworded."   # a docstring and a comment: the same code
            return X.mean(0)
        ''')
    again, hit2 = run(v1b)
    v2 = _module(tmp_path, '''
        def step(X):
            "Column means."
            return X.mean(0) + 0.0 * X.std(0)
        ''')
    edited, hit3 = run(v2)
    assert (hit1, hit2, hit3, len(calls)) == (False, True, False, 2)
    assert np.array_equal(again, X.mean(0)) and again.dtype == X.mean(0).dtype     # the hit equals an independent computation
    assert np.array_equal(edited, X.mean(0))


def _slow_square(root, log, x):
    store = ArtifactStore(root)
    def compute():
        with open(log, 'a') as f: f.write('computed\n')
        time.sleep(0.5)
        return np.arange(x) ** 2
    np.save(f"{log}.{mp.current_process().pid}.npy", store.cached('demo', dict(x=x), compute, 'v1'))


def test_two_processes_compute_an_entry_once(tmp_path):
    ctx = mp.get_context('fork')
    procs = [ctx.Process(target=_slow_square, args=(tmp_path/'cache', str(tmp_path/'log'), 7)) for _ in range(2)]
    for p in procs: p.start()
    for p in procs: p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (tmp_path/'log').read_text().count('computed') == 1                      # one computed, the other waited and read it
    outs = [np.load(f) for f in sorted(tmp_path.glob('log.*.npy'))]
    assert len(outs) == 2 and all(np.array_equal(o, np.arange(7) ** 2) for o in outs)
    assert len(list((tmp_path/'cache'/'results'/'demo').glob('*.npz'))) == 1
