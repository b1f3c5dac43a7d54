"""Fault injection for the feature cache: SIGKILL at seeded blocks, damaged bytes, two writers, read-only, full disk.

Every extraction here is a tiny network on random uint8 images, so the whole file runs in seconds. A crash is a child
process (`os.fork`, after the imports) that the fault hook `FEATVIZ_FAULT_KILL_AFTER_BLOCK=k` kills with SIGKILL right
after its k-th block is committed: a position in the work, not a time. After each crash the cache must hold only
valid entries, and the next run must resume the committed blocks and equal an uninterrupted run to the bit.
"""
import errno, json, logging, os, signal, time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from featviz.engine.features import FAULT_ENV, CacheWriteError, FeatureCache, extract_features, shard_paths
from featviz.core.store import sweep_temp
from featviz.core.config import display_path

N, BS, BLOCK = 120, 8, 16                 # 8 blocks: 7 of 16 rows, the last of 8
IMAGES = np.random.default_rng(0).integers(0, 256, (150, 12, 12), dtype=np.uint8)
COUNTS = dict(trials=0, kills=0, corruptions=0, detected=0, entries_lost=0)

def tiny_net(delay: float = 0.0) -> nn.Module:
    "A fixed random conv net (seeded: the same weights in every process); `delay` seconds of sleep per batch."
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2))
    if delay: net.register_forward_pre_hook(lambda m, x: time.sleep(delay))
    return net

def extract(cache, start=0, **kw):
    return extract_features(kw.pop('net', None) or tiny_net(), IMAGES, indices=range(start, start + N), bs=BS, block=BLOCK,
                            cache=cache, device='cpu', progress=False, **kw)

def reference(start=0) -> np.ndarray:
    return np.asarray(extract_features(tiny_net(), IMAGES, indices=range(start, start + N), bs=BS, device='cpu', progress=False)['output'])

def in_child(fn, env: dict | None = None) -> int:
    "Run `fn()` in a forked child (with extra `env`); its wait status."
    pid = os.fork()
    if pid == 0:                                    # the child: never back into pytest
        code = 1
        try:
            torch.set_num_threads(1); os.environ.update(env or {}); fn(); code = 0
        except BaseException: code = 3
        finally: os._exit(code)
    return os.waitpid(pid, 0)[1]

def assert_only_valid_entries(cache: FeatureCache):
    "Every entry file at the root has a sidecar and loads with its checksum; every block with a sidecar matches it."
    for npy in cache.root.glob('*.npy'):
        meta = json.loads(npy.with_suffix('.json').read_text())
        assert cache.load(meta['parts'], repair=False) is not None, f"{npy} is not a valid entry"
    for side in (cache.root/'shards').rglob('rows*.json'):
        meta = json.loads(side.read_text())
        assert side.with_suffix('.npy').stat().st_size == meta['nbytes'], f"{side} vouches for a block it does not match"

@pytest.fixture(scope='module')
def report():
    yield COUNTS
    print(f"\nfault injection: {COUNTS['trials']} trials, {COUNTS['kills']} kills, {COUNTS['corruptions']} corruptions, "
          f"{COUNTS['detected']} detected, entries lost: {COUNTS['entries_lost']}")

def test_sigkill_at_seeded_blocks_then_resume(tmp_path, report):
    cache, rng = FeatureCache(tmp_path/'features'), np.random.default_rng(27)
    kept = {}                                                        # start -> the reference, for entries made so far
    for trial in range(24):
        start, kills = trial, 0                                      # another subset each trial: another entry
        ref, done = reference(start), 0
        for k in sorted(rng.choice(np.arange(1, 9), size=rng.integers(1, 3), replace=False)):   # 1 or 2 crashes
            status = in_child(lambda: extract(cache, start), {FAULT_ENV: str(k - done)})
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"trial {trial}: not killed at block {k}"
            kills += 1; done = k
            assert_only_valid_entries(cache)
            assert len(list((cache.root/'shards').rglob('rows*.json'))) == min(k, 8)   # every committed block survived
        fs = extract(cache, start)
        assert fs.hit is False and fs.resumed == min(done * BLOCK, N)
        assert np.abs(np.asarray(fs['output']) - ref).max() == 0.0
        assert not list(cache.root.rglob('*.tmp')), "a dead writer's temporary files were not swept"
        assert not list((cache.root/'shards').rglob('rows*'))
        kept[start] = ref
        report['trials'] += 1; report['kills'] += kills
    for start, ref in kept.items():                                  # nothing that was complete was lost
        again = extract(cache, start)
        lost = not again.hit or np.abs(np.asarray(again['output']) - ref).max() != 0
        report['entries_lost'] += lost
    assert report['entries_lost'] == 0 and report['trials'] >= 20

def test_damaged_entries_are_detected_moved_aside_and_recomputed(tmp_path, caplog, report):
    cache, rng, ref = FeatureCache(tmp_path/'features'), np.random.default_rng(5), reference()
    for trial in range(12):
        fs = extract(cache)
        npy = fs.paths['output']; size = npy.stat().st_size
        with open(npy, 'r+b') as f:
            if trial % 3 == 2: f.truncate(int(rng.integers(0, size)))                   # truncated
            else:                                                                       # one flipped bit, same size
                at = int(rng.integers(0, size)); f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 1]))
        report['corruptions'] += 1
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger='featviz.engine.features'): redo = extract(cache)
        detected = redo.hit is False and display_path(npy) in caplog.text and 'quarantine' in caplog.text
        report['detected'] += detected
        assert detected and np.abs(np.asarray(redo['output']) - ref).max() == 0.0
    assert len(list((cache.root/'quarantine').glob('*.npy.*'))) == 12                      # moved aside, not deleted

def test_damaged_block_is_recomputed_on_resume(tmp_path, report):
    cache, ref = FeatureCache(tmp_path/'features'), reference()
    assert os.WIFSIGNALED(in_child(lambda: extract(cache), {FAULT_ENV: '3'}))
    block = sorted((cache.root/'shards').rglob('rows*.npy'))[1]
    with open(block, 'r+b') as f: f.seek(200); f.write(b'\x00\x00\xc0\x7f')                # a NaN, same size
    report['corruptions'] += 1
    fs = extract(cache)
    assert fs.resumed == 2 * BLOCK and np.abs(np.asarray(fs['output']) - ref).max() == 0.0   # the altered block redone
    report['detected'] += 1

def test_two_writers_at_once_share_one_entry(tmp_path):
    "Two processes ask for the same entry at the same moment: the entry's lock lets one compute, the other loads."
    cache, ref, out = FeatureCache(tmp_path/'features'), reference(), tmp_path/'out'
    out.mkdir()
    def writer(i):
        def go():
            fs = extract(cache, net=tiny_net(delay=0.02))
            np.save(out/f'{i}.npy', np.asarray(fs['output'])); (out/f'{i}.hit').write_text(str(fs.hit))
        return go
    pids = []
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            code = 1
            try: torch.set_num_threads(1); writer(i)(); code = 0
            finally: os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids] == [0, 0]
    a, b = np.load(out/'0.npy'), np.load(out/'1.npy')
    assert np.array_equal(a, b) and np.abs(a - ref).max() == 0.0
    assert sorted((out/f'{i}.hit').read_text() for i in range(2)) == ['False', 'True']    # one computed, one waited and loaded
    assert len(list(cache.root.glob('*.npy'))) == 1 and len(list(cache.root.glob('*.json'))) == 1
    assert_only_valid_entries(cache)

def _before(tmp_path):
    "A cache holding one complete entry (another subset): the cache, the entry's path, its bytes and key parts."
    cache = FeatureCache(tmp_path/'features')
    npy = extract(cache, start=30).paths['output']
    return cache, (npy, npy.read_bytes(), json.loads(npy.with_suffix('.json').read_text())['parts'])

def _unharmed(cache, before):
    "The earlier entry is intact and loads; no partial entry and no temporary file was left."
    npy, data, parts = before
    assert npy.read_bytes() == data and cache.load(parts, repair=False) is not None
    assert list(cache.root.glob('*.npy')) == [npy] and not list(cache.root.rglob('*.tmp'))

def test_full_disk_is_a_clear_error_and_loses_nothing(tmp_path, monkeypatch):
    cache, before = _before(tmp_path)
    def no_room(*a): raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'posix_fallocate', no_room)
    with pytest.raises(CacheWriteError, match=rf"cannot write the feature cache at {cache.root}.*disk is full.*FEATVIZ_CACHE"):
        extract(cache)
    _unharmed(cache, before)
    assert not [p for p in (cache.root/'shards').rglob('*') if p.is_file()]

def test_full_disk_at_the_merge_keeps_the_blocks(tmp_path, monkeypatch):
    "The disk fills up after every block is written, when the merged entry is reserved: a clear error, and a re-run resumes all."
    cache, before = _before(tmp_path)
    real, calls = os.posix_fallocate, []
    def fills_at_merge(fd, off, size):
        calls.append(size)
        if len(calls) > 8: raise OSError(errno.ENOSPC, 'No space left on device')
        return real(fd, off, size)
    monkeypatch.setattr(os, 'posix_fallocate', fills_at_merge)
    with pytest.raises(CacheWriteError, match='disk is full'): extract(cache)
    _unharmed(cache, before)
    monkeypatch.setattr(os, 'posix_fallocate', real)
    fs = extract(cache)
    assert fs.resumed == N and np.abs(np.asarray(fs['output']) - reference()).max() == 0.0

def test_read_only_cache_is_a_clear_error_and_still_serves_hits(tmp_path, monkeypatch):
    "Tests run as root, which a chmod does not stop: the read-only disk is simulated by EROFS on every open for writing."
    cache, before = _before(tmp_path)
    import builtins, featviz.engine.features as features
    def ro_open(file, mode='r', *a, **k):
        if any(c in mode for c in 'wa+x'): raise OSError(errno.EROFS, 'Read-only file system', str(file))
        return builtins.open(file, mode, *a, **k)
    monkeypatch.setattr(features, 'open', ro_open, raising=False)
    with pytest.raises(CacheWriteError, match=rf"at {cache.root}/locks.*read-only.*FEATVIZ_CACHE"): extract(cache)
    assert extract(cache, start=30).hit is True                                   # what is there can still be read
    _unharmed(cache, before)

def test_interrupt_removes_temporary_files_and_keeps_blocks(tmp_path):
    "SIGINT (Ctrl-C) in the middle of block 4: the temp files go, blocks 1-3 stay, and the next run resumes them."
    cache, ref = FeatureCache(tmp_path/'features'), reference()
    class CtrlC(nn.Module):
        def __init__(self): super().__init__(); self.net, self.calls = tiny_net(), 0
        def forward(self, x):
            self.calls += 1
            if self.calls == 7: os.kill(os.getpid(), signal.SIGINT)               # batch 7 of 15: inside block 4
            return self.net(x)
    CtrlC.cache_id = 'tiny'
    before = signal.signal(signal.SIGINT, signal.default_int_handler)   # a CI job started in the background inherits SIGINT ignored
    try:
        with pytest.raises(KeyboardInterrupt): extract(cache, net=CtrlC())
    finally: signal.signal(signal.SIGINT, before)
    assert not list(cache.root.rglob('*.tmp')) and len(list((cache.root/'shards').rglob('rows*.json'))) == 3
    tiny = tiny_net(); tiny.cache_id = 'tiny'
    fs = extract(cache, net=tiny)
    assert fs.resumed == 3 * BLOCK and np.abs(np.asarray(fs['output']) - ref).max() == 0.0

def test_sweep_removes_dead_writers_files_only(tmp_path):
    status = in_child(lambda: None)
    (tmp_path/'features').mkdir()
    dead = tmp_path/'features'/f'.e.npy.{2**22 + 7}.1.tmp'; dead.write_bytes(b'x')    # above Linux's largest pid
    live = tmp_path/'features'/f'.e.npy.{os.getpid()}.2.tmp'; live.write_bytes(b'x')
    assert os.WIFEXITED(status) and sweep_temp(tmp_path) == [dead] and live.exists()

def test_image_folder_killed_at_half_resumes(tmp_path):
    "`featviz explore`'s path: an image folder streamed through the cache, SIGKILLed after its first of two blocks."
    from PIL import Image
    from featviz.data.images import load_folder
    for i in range(64):
        (tmp_path/'pics'/'ab'[i % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(IMAGES[i]).save(tmp_path/'pics'/'ab'[i % 2]/f'{i}.png')
    folder, cache = load_folder(tmp_path/'pics'), FeatureCache(tmp_path/'features')
    def go(c=cache): return extract_features(tiny_net(), folder.stream(size=12, num_workers=0, bs=8), bs=8, block=32, cache=c,
                                             device='cpu', progress=False)
    whole = go(None)
    assert os.WTERMSIG(in_child(go, {FAULT_ENV: '1'})) == signal.SIGKILL
    fs = go()
    assert fs.resumed == 32 and np.abs(np.asarray(fs['output']) - whole['output']).max() == 0.0
    assert fs.valid.all() and len(fs) == 64
