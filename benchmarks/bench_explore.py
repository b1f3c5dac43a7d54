"""`featviz explore` end to end on a 10,000-image labelled folder (mixed JPEG/PNG, mixed sizes, 1 % broken), cold cache.

Usage: FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=../shared/weights/resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 \\
       python benchmarks/bench_explore.py [--n 10000] [--size 64] [--sample 256] [--root /tmp/featviz-bench-explore]

The folder is written once from the CIFAR-10 test images by `featviz.tool.explore.demo_folder` (reused afterwards; its
writing is not timed). Each run uses a fresh, empty FEATVIZ_CACHE (cold: no cached features), runs the command
`featviz explore ROOT --size N --out DIR` in a subprocess and prints each step's time as the command reports it, the
wall time of the whole command (Python start-up and imports included) and its peak resident memory. Then the feature
extraction alone at 224 px on `--sample` images of the same folder, after a warm-up: images/s.

Goal (issue 11): the 10,000-image folder end to end in <= 3 minutes on 2 cores at --size 64, every broken file listed.
"""
import argparse, os, resource, subprocess, sys, tempfile, time, warnings
from pathlib import Path

import numpy as np

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=10_000, help='CIFAR-10 test images in the folder (default 10000)')
    ap.add_argument('--size', type=int, default=64, help='--size of the explore run (default 64)')
    ap.add_argument('--sample', type=int, default=256, help='images for the 224 px throughput (default 256)')
    ap.add_argument('--root', default=str(Path(tempfile.gettempdir())/'featviz-bench-explore'), help='where the folder is written')
    ap.add_argument('--skip-224', action='store_true', help='only the end-to-end run')
    a = ap.parse_args()

    from featviz.core.config import get_settings
    from featviz.data.datasets import load_cifar10, stratified_indices
    from featviz.tool.explore import demo_folder
    s = get_settings()
    cifar = load_cifar10(settings=s)
    rows = np.arange(len(cifar.y_test)) if a.n >= len(cifar.y_test) else stratified_indices(cifar.y_test, a.n, 0)
    t0 = time.perf_counter()
    root, broken = demo_folder(cifar.x_test[rows], cifar.y_test[rows], list(cifar.classes), Path(a.root)/f'cifar10-{len(rows)}', broken=0.01)
    files = [p for p in root.rglob('*') if p.is_file() and not p.name.startswith('.')]
    print(f"folder {root}: {len(files):,} files ({sum(p.suffix == '.jpg' for p in files):,} JPEG, "
          f"{sum(p.suffix == '.png' for p in files):,} PNG, {len(broken)} broken), ready in {time.perf_counter() - t0:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FEATVIZ_CACHE=str(Path(tmp)/'cache'))
        cmd = [sys.executable, '-m', 'featviz', 'explore', str(root), '--size', str(a.size), '--out', str(Path(tmp)/'out')]
        print('$ ' + ' '.join(['featviz'] + cmd[3:]))
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20        # kB on Linux -> GiB
        if r.returncode: sys.exit(f"featviz explore failed ({r.returncode}):\n{r.stderr[-3000:]}")
        out = r.stdout
        listed = sum(p.name in out for p in broken)
        page = Path(tmp)/'out'/'report.html'
        print(out[-4000:])
        print(f"end to end: {wall:.1f} s wall (imports included), peak RSS {peak:.2f} GiB; "
              f"{listed} of {len(broken)} broken files listed; report {page.stat().st_size / 2**20:.1f} MiB + maps "
              f"{(Path(tmp)/'out'/'report-maps.html').stat().st_size / 2**20:.1f} MiB")

    if a.skip_224: return
    import torch
    from featviz.engine.backbones import load_backbone
    from featviz.tool.explore import default_layers
    from featviz.engine.features import extract_features
    from featviz.engine.layers import LayerOutputs
    from featviz.data.images import load_images
    bb = load_backbone(s.arch, settings=s, size=224)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=r'featviz: \d+ file\(s\)')      # listed by the run above
        imgs = load_images(root).subset(a.sample, seed=0)
    fn = LayerOutputs(bb.model, default_layers(bb.model))
    run = lambda: extract_features(fn, imgs.stream(**bb.image_args, bs=64), preprocess=bb.preprocess, pool='avg', bs=64,
                                   device='cpu', progress=False)
    run()                                                             # warm-up
    ts = []
    for _ in range(3):
        t0 = time.perf_counter(); run(); ts.append(time.perf_counter() - t0)
    med = float(np.median(ts))
    print(f"224 px: {a.sample} images through {bb.name} {fn.layers} (decode + forward, {torch.get_num_threads()} torch threads): "
          f"median {med:.2f} s of 3 -> {a.sample / med:.1f} images/s (min {min(ts):.2f}, max {max(ts):.2f})")

if __name__ == '__main__': main()
