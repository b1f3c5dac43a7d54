"""Peak memory of streaming an image folder through `featviz.data.images` into a feature array, for 10k and 100k images.

Writes `N` small images (mixed JPEG/PNG, 24-40 px, 10 class folders, 1 % broken: zero-byte, text, truncated) under
`--dir`, then, in a fresh process per N: opens the folder (`load_folder`: listing + header probes), streams it
decoded to `--size` px by DataLoader workers through a tiny CNN (`stream_features`) into an (N, D) float32 array.
Reported per N: time of each step, the main process's peak RSS (`ru_maxrss`) and its current RSS sampled ten
times during the pass, the workers' peak RSS (largest child), tracemalloc's peak of Python-heap allocations, and the features' own size. Memory must not grow with N
beyond the features (and the file list).

    python benchmarks/bench_images.py                 # 10,000 and 100,000 images
    python benchmarks/bench_images.py --n 10000       # one size
"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path

import numpy as np

def make_images(root: Path, n: int, seed: int = 0) -> dict:
    "N image files in 10 class folders (distinct encodings reused: writing, not encoding, is what N costs) + 1 % broken."
    from PIL import Image
    if (root/'.done').exists(): return json.loads((root/'.done').read_text())
    rng = np.random.default_rng(seed)
    pool = []
    for i in range(200):
        h, w = rng.integers(24, 41, 2)
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        if i % 5 == 0: im = im.convert('L')
        buf = __import__('io').BytesIO(); im.save(buf, 'JPEG' if i % 2 else 'PNG'); pool.append(('.jpg' if i % 2 else '.png', buf.getvalue()))
    n_bad = 0
    for c in range(10): (root/f'class{c}').mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ext, b = pool[i % len(pool)]
        if i % 100 == 37: b, n_bad = (b'', b'not an image', b[:len(b) // 2])[n_bad % 3], n_bad + 1
        (root/f'class{i % 10}'/f'{i:06d}{ext}').write_bytes(b)
    info = dict(n=n, broken=n_bad)
    (root/'.done').write_text(json.dumps(info))
    return info

def vm_rss_mb() -> int:
    "The current resident set size (Linux /proc), MB."
    import re
    return int(re.search(r'VmRSS:\s+(\d+)', Path('/proc/self/status').read_text()).group(1)) // 1024

def measure(root: str, size: int, workers: int, bs: int, trace: bool) -> dict:
    "Run in a fresh process: open, stream, extract; times and peak memory."
    import tracemalloc, warnings
    import torch
    from torch import nn
    from featviz.data.images import load_folder, _fastai_files
    from featviz.engine.features import stream_features
    import featviz.engine.features                                  # imports (fastai, torch._dynamo) before the baseline
    _fastai_files()
    torch.manual_seed(0); torch.set_num_threads(1)
    class Tiny(nn.Module):
        "A small CNN that also samples the process's current RSS ten times during the pass."
        def __init__(self, n_batches):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2), nn.ReLU(), nn.Conv2d(32, 64, 3, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.calls, self.every, self.rss = 0, max(1, n_batches // 10), []
        def forward(self, x):
            if self.calls % self.every == 0: self.rss.append(vm_rss_mb())
            self.calls += 1
            return self.body(x)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace: tracemalloc.start()
    warnings.simplefilter('ignore')
    t0 = time.perf_counter(); ds = load_folder(root); t1 = time.perf_counter()
    st = ds.stream(size=size, bs=bs, num_workers=workers)
    net = Tiny(-(-len(st) // bs))
    fs = stream_features(net, st); t2 = time.perf_counter()
    peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    return dict(n_files=len(ds) + len(ds.skipped), images=len(ds), skipped=len(ds.skipped), decode_failures=len(st.failed),
                open_s=round(t1 - t0, 1), stream_s=round(t2 - t1, 1), img_per_s=round(len(ds) / (t2 - t1)),
                rss_after_imports_MB=round(base), peak_rss_MB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                worker_peak_rss_MB=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                tracemalloc_peak_MB=None if peak_py is None else round(peak_py, 1),
                rss_during_pass_MB=net.rss, features_MB=round(fs['output'].nbytes / 2**20, 1), feature_shape=list(fs['output'].shape))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--n', type=int, nargs='+', default=[10_000, 100_000])
    ap.add_argument('--dir', default='/tmp/featviz-bench-images')
    ap.add_argument('--size', type=int, default=32)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--bs', type=int, default=256)
    ap.add_argument('--no-trace', action='store_true', help="skip tracemalloc (it slows the main process)")
    ap.add_argument('--_measure', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._measure:
        print(json.dumps(measure(a._measure, a.size, a.workers, a.bs, not a.no_trace))); return
    rows = []
    for n in a.n:
        root = Path(a.dir)/f'n{n}'
        t = time.perf_counter(); info = make_images(root, n)
        print(f"{n:,} files in {root} ({info['broken']} broken), written in {time.perf_counter() - t:.1f} s", flush=True)
        cmd = [sys.executable, __file__, '--_measure', str(root), '--size', str(a.size), '--workers', str(a.workers), '--bs', str(a.bs)]
        out = subprocess.run(cmd + (['--no-trace'] if a.no_trace else []), capture_output=True, text=True, check=True).stdout
        rows.append(r := json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(r), flush=True)
    import pandas as pd
    print(pd.DataFrame(rows).set_index('n_files').T.to_markdown())

if __name__ == '__main__': main()
