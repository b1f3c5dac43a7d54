"Distributed extraction and fine-tuning: real 2-process launches (torchrun over gloo on the CPU) against one process."
import re, argparse, json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from featviz.engine.distributed import shard, dist_state, launched
from featviz.engine.features import FeatureCache

ROOT = Path(__file__).resolve().parents[1]
JOB = Path(__file__).with_name('distributed_job.py')
SHARED_WEIGHTS = ROOT.parent/'shared'/'weights'/'resnet50-imagenet-v1.pth'


def launch(args, nproc: int = 1, env: dict | None = None, check: bool = True, timeout: int = 240):
    "Run the job in one process (`python`) or `nproc` (`torchrun --standalone`), one OpenMP thread each, on the CPU."
    cmd = [sys.executable, str(JOB), *map(str, args)] if nproc == 1 else \
          [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}', str(JOB), *map(str, args)]
    e = dict(os.environ, OMP_NUM_THREADS='1', FEATVIZ_DEVICE='cpu', PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): e.pop(k, None)
    r = subprocess.run(cmd, env=e | (env or {}), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode: pytest.fail(f"{' '.join(cmd[:6])} ... exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}")
    return r


def one_process(cache: Path, model: str = 'small', images: int = 300, bs: int = 64):
    "The job's extraction in this (pytest's) process: the single-process reference, without a launch's start-up."
    sys.path.insert(0, str(JOB.parent))
    import distributed_job
    distributed_job.extract(argparse.Namespace(cache=str(cache), model=model, images=images, bs=bs, no_cache=False))
    return entries(cache)


def entries(root: Path) -> dict[str, np.ndarray]:
    "The complete entries (those with a sidecar) of the feature cache under `root`, by file name."
    cache = FeatureCache(root/'features')
    return {f: np.load(cache.root/f) for f in cache.entries().file}


def test_one_process_is_not_launched():
    assert not launched()
    st = dist_state('cpu')
    assert (st.rank, st.world_size, st.distributed) == (0, 1, False)


def test_shards_cover_rows_in_order():
    rs = [shard(1000, r, 2, align=64) for r in range(2)]
    assert rs == [range(0, 512), range(512, 1000)]
    assert sum(map(len, (shard(7, r, 3) for r in range(3)))) == 7


def test_two_processes_equal_one(tmp_path):
    one = one_process(tmp_path/'one')
    r = launch(['extract', tmp_path/'two', '--images', 300, '--bs', 64], nproc=2)
    two = entries(tmp_path/'two')
    assert len(one) == 2 and sorted(two) == sorted(one)            # the same cache keys, so the same file names
    diff = max(float(np.abs(one[f] - two[f]).max()) for f in one)
    print(f"2 processes vs 1, small CNN, 300 images: max abs difference {diff}")
    assert diff == 0.0                                              # shards are cut at whole batches
    assert 'rank 0: computed rows 0-128' in r.stderr and 'rank 1: computed rows 128-300' in r.stderr
    assert not list((tmp_path/'two'/'features').rglob('rows*')), "shards left after the merge"


def test_two_processes_without_cache(tmp_path):
    "No feature cache: the ranks exchange their shards through the process group; rank 0 writes out_dir."
    one = one_process(tmp_path/'one', images=200)
    r = launch(['extract', tmp_path/'two', '--images', 200, '--bs', 64, '--no-cache'], nproc=2)
    for layer in ('c1', 'c2'):
        ref = next(a for f, a in one.items() if f'-{layer}-' in f)
        assert np.array_equal(np.load(tmp_path/'two'/'out'/f'{layer}.npy'), ref)
    assert r.stdout.count('no cache') == 2                          # both ranks return the whole FeatureSet
    assert sorted(p.name for p in (tmp_path/'two'/'out').iterdir()) == ['c1.npy', 'c2.npy']


def test_two_processes_resnet50(tmp_path, monkeypatch):
    w = Path(os.environ.get('FEATVIZ_TEST_WEIGHTS', SHARED_WEIGHTS))
    if not w.exists(): pytest.skip(f'ResNet-50 checkpoint not found at {w}')
    env = dict(FEATVIZ_WEIGHTS=str(w), FEATVIZ_ARCH='resnet50')
    for k, v in env.items(): monkeypatch.setenv(k, v)
    one = one_process(tmp_path/'one', model='resnet50', images=64, bs=16)
    launch(['extract', tmp_path/'two', '--model', 'resnet50', '--images', 64, '--bs', 16], nproc=2, env=env)
    two = entries(tmp_path/'two')
    assert len(one) == 2 and sorted(two) == sorted(one)
    diff = max(float(np.abs(one[f] - two[f]).max()) for f in one)
    print(f"2 processes vs 1, ResNet-50 layer3+layer4, 64 images, fp32: max abs difference {diff}")
    assert diff == 0.0


def test_killed_rank_leaves_no_entry_and_rerun_resumes(tmp_path):
    shards = tmp_path/'crash'/'features'/'shards'
    r = launch(['extract', tmp_path/'crash', '--images', 300, '--bs', 64], nproc=2, check=False,
               env=dict(FEATVIZ_TEST_CRASH_RANK='1', FEATVIZ_TEST_SHARDS=str(shards)))
    assert r.returncode != 0
    assert entries(tmp_path/'crash') == {}                          # no entry has a sidecar: load() accepts none
    assert not list((tmp_path/'crash'/'features').glob('*.npy'))   # and no entry file was even renamed into place
    assert len(list(shards.rglob('rows0000000000-0000000128.json'))) == 2       # rank 0's complete shards survive
    assert not list(shards.rglob('rows0000000128-*'))                           # rank 1's did not complete
    r = launch(['extract', tmp_path/'crash', '--images', 300, '--bs', 64], nproc=2)
    assert 'rank 0: rows 0-128 resumed from complete shards' in r.stderr
    assert 'rank 1: computed rows 128-300' in r.stderr
    one, resumed = one_process(tmp_path/'one'), entries(tmp_path/'crash')
    assert sorted(resumed) == sorted(one) and all(np.array_equal(one[f], resumed[f]) for f in one)
    assert not [p for p in shards.rglob('*') if p.is_file()]                    # merged, then removed (temp files too)


def test_two_process_fine_tuning(tmp_path):
    launch(['finetune', tmp_path, '--n-train', 285, '--n-test', 128], nproc=2)   # 256 fit + 29 validation images
    res = [json.loads((tmp_path/f'rank{r}.json').read_text()) for r in range(2)]
    assert [r['world'] for r in res] == [2, 2]
    assert all(r['after'] < r['before'] for r in res), res          # the validation loss falls
    assert res[0]['checksum'] == res[1]['checksum']                 # DDP kept the ranks' weights identical
    assert [r['train_batches'] for r in res] == [8, 8]              # each rank ran half of 2 epochs x 8 batches of 32
    assert [r['saves'] for r in res] == [1, 0]                      # rank 0 saved, rank 1 did not
    assert [p.name for p in (tmp_path/'artifacts').rglob('*') if p.is_file()] == ['model.pt']
    from featviz.study.models import load_finetuned
    from featviz.core.store import ArtifactStore
    model, meta = load_finetuned(ArtifactStore(tmp_path/'artifacts'), 'ft/model')
    assert meta['arch'] == 'resnet18' and meta['mode'] == 'test'
    assert abs(sum(float(p.detach().double().sum()) for p in model.parameters()) - res[0]['checksum']) < 1e-6


def explore_cli(folder: Path, ckpt: Path, out: Path, cache: Path, nproc: int = 1, timeout: int = 240):
    "`featviz explore` as users start it: `python -m featviz explore` (one process) or `torchrun --nproc_per_node N -m featviz explore`."
    args = ['-m', 'featviz', 'explore', str(folder), '--model', str(ckpt), '--size', '32', '--layers', 'layer3', 'layer4',
            '--bs', '16', '--jobs', '1', '--out', str(out)]
    cmd = [sys.executable, *args] if nproc == 1 else \
          [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}', *args]
    e = dict(os.environ, OMP_NUM_THREADS='1', FEATVIZ_DEVICE='cpu', FEATVIZ_CACHE=str(cache),
             PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): e.pop(k, None)
    r = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
    if r.returncode: pytest.fail(f"{' '.join(cmd[:8])} ... exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}")
    return r


def test_two_process_explore_equals_one(tmp_path):
    "torchrun --nproc_per_node 2 -m featviz explore: each rank extracts its shard, rank 0 alone writes the same report once."
    import torch, torchvision
    from PIL import Image
    from test_explore import make_folder
    root, bad = make_folder(tmp_path/'pets', n=20)           # 60 images in 3 classes + 3 files the folder scan skips
    a = (np.random.default_rng(1).random((32, 36, 3)) * 255).astype(np.uint8)
    Image.fromarray(a).save(root/'fox'/'smudged.png')          # a PNG whose middle is zeros: its header reads, its pixels
    png = (root/'fox'/'smudged.png').read_bytes()              # do not, so it fails while decoding, in rank 1's rows
    (root/'fox'/'smudged.png').write_bytes(png[:60] + bytes(len(png) - 72) + png[-12:])
    bad.append('smudged.png')
    torch.manual_seed(0)
    ckpt = tmp_path/'resnet18-random.pth'
    torch.save(dict(arch='resnet18', state_dict=torchvision.models.resnet18().state_dict()), ckpt)
    runs = {n: explore_cli(root, ckpt, tmp_path/f'out{n}', tmp_path/f'cache{n}', nproc=n) for n in (1, 2)}

    caches = {n: FeatureCache(tmp_path/f'cache{n}'/'features') for n in runs}
    ent = {n: c.entries().set_index('file') for n, c in caches.items()}
    assert sorted(ent[1].index) == sorted(ent[2].index)      # the same cache keys: layer3, layer4 and the valid mask
    assert sorted(ent[1].layer) == ['__valid__', 'layer3', 'layer4']
    arrays = {n: {f: np.load(caches[n].root/f) for f in ent[n].index} for n in runs}
    diff = max(float(np.abs(arrays[1][f] - arrays[2][f]).max()) for f in arrays[1])
    print(f"explore, 2 processes vs 1, random ResNet-18 layer3+layer4 at 32 px, 61 images, fp32: max abs difference {diff}")
    assert diff == 0.0                                        # shards are cut at whole batches of 16
    valid = arrays[2][ent[2].index[ent[2].layer == '__valid__'][0]][:, 0]
    assert len(valid) == 61 and np.flatnonzero(valid == 0).tolist() == [60]    # smudged.png, the last fox, rank 1's rows
    assert (caches[2].root/'shards').is_dir() and not list((caches[2].root/'shards').rglob('rows*'))   # merged shards

    def report(n):
        "The report page without its timings (the one part that differs between runs)."
        page = (tmp_path/f'out{n}'/'report.html').read_text()
        assert page.count('<h2>Time per step</h2>') == 1
        return page[:page.index('<h2>Time per step</h2>')]
    assert report(1) == report(2)                             # metrics table, confused pairs, galleries, skipped files
    assert 'Skipped files (4)' in report(2) and all(name in report(2) for name in bad)
    assert (tmp_path/'out1'/'report-maps.html').read_text() == (tmp_path/'out2'/'report-maps.html').read_text()
    files = {n: sorted(str(p.relative_to(tmp_path/f'out{n}')) for p in (tmp_path/f'out{n}').rglob('*')) for n in runs}
    assert files[1] == files[2] and files[2].count('report.html') == 1                 # written once, nothing else

    def printed(n):
        "What the run printed on stdout (its metrics table and report path), its own output folder left out."
        out = re.sub(r'report: \S*report\.html', 'report: OUT/report.html', runs[n].stdout)     # stdout holds the results only
        assert 'report:' in out and 'layer4' in out, out
        return [l for l in out.splitlines() if not l.startswith('time:')]
    assert printed(1) == printed(2)                            # printed once (rank 0), the same summary
    assert printed(2).count('report: OUT/report.html') == 1 and 'skipped 4 file(s):' in runs[2].stderr   # notes go to stderr
    assert 'kNN acc (features)' in runs[2].stdout and 'Traceback' not in runs[2].stderr
