"""1 process vs N processes (torchrun) for the same feature extraction: wall times and the largest difference.

Usage: FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=../shared/weights/resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 \\
       python benchmarks/bench_distributed.py [--images 10000] [--nproc 2] [--layer layer4] [--bs 256] [--repeat 1]

Extracts the average-pooled `--layer` features of the first `--images` MNIST test images through the configured
backbone (fp32, bf16 off) into a fresh feature cache, once with `python` and once with `torchrun --standalone
--nproc_per_node N`, each process with cores/N OpenMP threads (`--threads` in all). It reports each launch's wall
time (process start-up, imports and model loading included), the extraction's own time (`FeatureSet.seconds` on
rank 0: sharded compute, barrier, merge) and the max abs difference between the two cache entries, which the shards'
batch alignment makes exactly 0 on a CPU. Launches alternate (1, N, 1, N, ...) with `--repeat` > 1 and medians are
reported, so machine noise falls on both.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def worker(a):
    "One process of a launch: extract, and on rank 0 write the timing to `--out`."
    import torch
    from featviz.data.datasets import load_mnist
    from featviz.engine.features import FeatureCache, extract_features
    from featviz.engine.layers import LayerOutputs
    from featviz.study.models import create_backbone
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    data = load_mnist()
    body, origin = create_backbone()
    fs = extract_features(LayerOutputs(body, a.layer), data, 'test', indices=np.arange(a.images), bs=a.bs,
                          cache=FeatureCache(a.cache), progress=False)
    if int(os.environ.get('RANK', 0)) == 0:
        Path(a.out).write_text(json.dumps(dict(seconds=fs.seconds, path=str(fs.paths[a.layer]), shape=list(fs[a.layer].shape),
                                               weights=origin['weights'])))


def launch(a, nproc, tmp, i):
    cache, out = tmp/f'cache-{nproc}-{i}', tmp/f'out-{nproc}-{i}.json'
    args = [str(HERE), '--worker', '--cache', str(cache), '--out', str(out), '--images', str(a.images), '--layer', a.layer, '--bs', str(a.bs)]
    cmd = [sys.executable, *args] if nproc == 1 else [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}', *args]
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, a.threads // nproc)))
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    res = json.loads(out.read_text())
    return wall, res['seconds'], np.load(res['path']), res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--images', type=int, default=10_000)
    ap.add_argument('--nproc', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2, help='OpenMP threads in all, split among the processes (default 2)')
    ap.add_argument('--layer', default='layer4')
    ap.add_argument('--bs', type=int, default=256)
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--cache', help=argparse.SUPPRESS)
    ap.add_argument('--out', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a)
    tmp = Path(tempfile.mkdtemp(prefix='bench-distributed-'))
    try:
        runs = {1: [], a.nproc: []}
        for i in range(a.repeat):
            for n in runs: runs[n].append(launch(a, n, tmp, i))
        ref = runs[1][0][2]
        diff = max(float(np.abs(r[2] - ref).max()) for rs in runs.values() for r in rs)
        print(f"{a.images:,} MNIST test images, {a.layer} {runs[1][0][3]['shape']}, {Path(runs[1][0][3]['weights']).name}, fp32, bs {a.bs}")
        for n, rs in runs.items():
            wall, ext = statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)
            print(f"{n} process(es), {max(1, a.threads // n)} thread(s) each: wall {wall:6.1f} s, extraction {ext:6.1f} s "
                  f"({a.images / ext:,.0f} img/s)")
        w1, wn = (statistics.median(r[0] for r in runs[n]) for n in runs)
        e1, en = (statistics.median(r[1] for r in runs[n]) for n in runs)
        print(f"speed-up with {a.nproc} processes: wall {w1 / wn:.2f}x, extraction {e1 / en:.2f}x; "
              f"max abs difference to 1 process: {diff}")
    finally: shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__': main()
