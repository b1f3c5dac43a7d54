"""Feature-cache costs on a 70,000 x 2,048 float32 entry (573 MB): verifying it (size, SHA-256, BLAKE2b) and writing it
in one piece (the former one-process path) or in resumable blocks of 4,096 rows merged into the entry (the current one).

Usage: python benchmarks/bench_cache_hash.py [--rows 70000] [--dim 2048] [--repeat 3] [--dir /tmp]

The entry is written once; every hash then reads it from the page cache (a warm file: the cost of the hash itself, the
case of an entry loaded again soon after it was written). Printed beside each: GB/s and its ratio to SHA-256, and
the time of `FeatureCache.load` with its default verification. The writes copy the same rows from the page cache
(a stand-in for the network), so they measure the cache's own work: memmaps, checksums, renames, the merge's copy.
"""
import argparse, hashlib, os, shutil, tempfile
from pathlib import Path

import numpy as np

from featviz.core.store import file_sha256
from featviz.engine.features import FeatureCache, extract_sharded
from timing import median_time, report

def file_hash(path, algo: str, chunk: int = 1 << 20) -> str:
    "Hex digest of a file with hashlib's `algo`, read in 1 MiB chunks (as `file_sha256`)."
    h = hashlib.new(algo)
    with open(path, 'rb') as f:
        while b := f.read(chunk): h.update(b)
    return h.hexdigest()

def write_whole(cache, parts, src):
    "The former one-process path: one temporary memmap filled and committed."
    arr = cache.open_temp(parts, src.shape); arr[:] = src; cache.commit(parts, arr, (src.shape[1],))

def write_blocks(cache, parts, src, bs=256):
    "The current path: blocks of 4,096 rows, each committed with its checksum, then merged into the entry."
    def run(rows, allocate, progress):
        a = allocate('x', (len(rows), src.shape[1])); a[:] = src[rows]
        return {'x': a}, {'x': (src.shape[1],)}
    extract_sharded(run, len(src), bs=bs, cache=cache, parts={'x': parts}, progress=False)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=70_000); ap.add_argument('--dim', type=int, default=2048)
    ap.add_argument('--repeat', type=int, default=3); ap.add_argument('--dir', default=None)
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(dir=a.dir))
    try:
        cache = FeatureCache(d)
        parts = dict(dataset='bench', split='test', model='bench', layer='x', pool='avg')
        arr = cache.open_temp(parts, (a.rows, a.dim))
        arr[:] = np.random.default_rng(0).standard_normal((a.rows, a.dim), dtype=np.float32)
        _, meta = cache.commit(parts, arr, (a.dim,))
        npy, gb = cache.path(parts), meta['nbytes'] / 1e9
        print(f"entry: {a.rows:,} x {a.dim:,} float32, {meta['nbytes'] / 2**20:,.0f} MiB, {npy}")
        meds = {}
        for name, fn in [('size (stat)', lambda: os.stat(npy).st_size),
                         ('sha256 (file_sha256)', lambda: file_sha256(npy)),
                         ('blake2b', lambda: file_hash(npy, 'blake2b')),
                         ('FeatureCache.load (default verify)', lambda: cache.load(parts))]:
            meds[name] = report(name, median_time(fn, a.repeat))
            if name != 'size (stat)': print(f"{'':<48} {gb / meds[name]:.2f} GB/s")
        print(f"blake2b / sha256 time: {meds['blake2b'] / meds['sha256 (file_sha256)']:.2f}")
        src = np.load(npy, mmap_mode='r')
        whole = report('write in one piece + commit', median_time(lambda: write_whole(cache, dict(parts, layer='w'), src), a.repeat))
        blocked = report('write in blocks + merge + commit', median_time(lambda: write_blocks(cache, dict(parts, layer='b'), src), a.repeat))
        print(f"blocks / one piece time: {blocked / whole:.2f}")
    finally: shutil.rmtree(d, ignore_errors=True)

if __name__ == '__main__': main()
