"""The GPU path, for a machine with CUDA: the quick study, a 60k-image extraction, one t-SNE.

Usage (from the repository root, data and weights set as for the study):

    FEATVIZ_DATA=... FEATVIZ_WEIGHTS=.../resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --no-study --images 512 --tsne 500      # a smoke run (works on a CPU too)

1. `featviz run --quick` (all notebooks, quick mode) on a copy of `nbs/` in a fresh cache, timed (`--no-study` skips it);
2. the ResNet-50's pooled `layer4` features of `--images` MNIST training images (60,000 by default) with the
   device's own settings from `featviz.engine.distributed` (autocast bf16 where the GPU has it, channels-last, pinned
   memory; the engine autocasts to bf16 only, so a GPU without bf16 extracts in fp32), timed after a warm-up,
   beside the same extraction in fp32 on the first 2,048 images: img/s of both and the largest relative difference
   of the autocast features;
3. one openTSNE map (`featviz.analysis.embed.embed_2d`) of the first `--tsne` of those features (10,000 by default), timed;
4. with `--nproc N` (N GPUs), step 2 again under `torchrun --standalone --nproc_per_node N`.

Prints one table and writes it as JSON to `--out` (default `bench_gpu.json` in the current directory).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def extraction(images: int, bs: int, precision: str | None = None, cache=None):
    "Pooled layer4 features of the first `images` MNIST training images: (FeatureSet, settings used)."
    import torch
    from featviz.data.datasets import load_mnist
    from featviz.engine.distributed import amp_precision, dist_state
    from featviz.engine.features import extract_features
    from featviz.engine.layers import LayerOutputs
    from featviz.study.models import create_backbone
    st = dist_state()
    prec = precision or amp_precision(st.device)
    if prec != 'bf16' or st.device.type != 'cuda': prec = 'fp32'   # the engine autocasts to bf16 only; a CPU stays exact
    body, _ = create_backbone()
    data = load_mnist()
    n = min(images, len(data.y_train))
    fs = extract_features(LayerOutputs(body, 'layer4'), data, 'train', indices=np.arange(n), bs=bs, progress=False,
                          bf16=prec == 'bf16', channels_last=st.device.type == 'cuda',
                          cache=cache)
    return fs, dict(device=str(st.device), precision=prec, world_size=st.world_size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--images', type=int, default=60_000)
    ap.add_argument('--bs', type=int, default=512)
    ap.add_argument('--tsne', type=int, default=10_000)
    ap.add_argument('--no-study', action='store_true')
    ap.add_argument('--nproc', type=int, default=1)
    ap.add_argument('--out', default='bench_gpu.json')
    ap.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:                                    # one rank of step 4
        from featviz.engine.features import FeatureCache
        t0 = time.perf_counter()
        fs, info = extraction(a.images, a.bs, cache=FeatureCache(os.environ['BENCH_GPU_CACHE']))
        if int(os.environ.get('RANK', 0)) == 0: print(json.dumps(dict(info, seconds=fs.seconds, wall=time.perf_counter() - t0)))
        return
    import torch
    rows = {'cuda': torch.cuda.is_available(),
            'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            'gpus': torch.cuda.device_count(), 'torch': torch.__version__}
    if not a.no_study:
        with tempfile.TemporaryDirectory() as tmp:       # a copy of nbs/: the committed notebooks keep their outputs
            shutil.copytree(ROOT/'nbs', Path(tmp)/'nbs'); shutil.copy(ROOT/'pyproject.toml', tmp)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, '-m', 'featviz', 'run', '--quick', '--nbs', str(Path(tmp)/'nbs')], cwd=tmp,
                           check=True, env=dict(os.environ, FEATVIZ_CACHE=str(Path(tmp)/'cache')))
            rows['quick_study_s'] = round(time.perf_counter() - t0, 1)
    extraction(min(a.images, 2 * a.bs), a.bs)                            # warm-up (cuDNN autotuning, weights read)
    fs, info = extraction(a.images, a.bs)
    ref, _ = extraction(min(a.images, 2048), a.bs, precision='fp32')
    x, r = np.asarray(fs['layer4'][:len(ref)], np.float64), np.asarray(ref['layer4'], np.float64)
    rows |= {f'extract_{k}': v for k, v in info.items()}
    rows |= dict(extract_images=len(fs), extract_s=round(fs.seconds, 2), extract_img_per_s=round(len(fs) / fs.seconds),
                 fp32_img_per_s=round(len(ref) / ref.seconds),
                 autocast_max_rel_diff=float(np.abs(x - r).max() / max(np.abs(r).max(), 1e-12)))
    from featviz.analysis.embed import embed_2d
    m = min(a.tsne, len(fs))
    t0 = time.perf_counter(); embed_2d(np.asarray(fs['layer4'][:m]), n_jobs=os.cpu_count() or 1)
    rows |= dict(tsne_points=m, tsne_s=round(time.perf_counter() - t0, 1))
    if a.nproc > 1:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={a.nproc}',
                                str(HERE), '--worker', '--images', str(a.images), '--bs', str(a.bs)], check=True,
                               capture_output=True, text=True, env=dict(os.environ, BENCH_GPU_CACHE=cache))
            res = json.loads(r.stdout.strip().splitlines()[-1])
            rows |= {f'nproc{a.nproc}_extract_s': round(res['seconds'], 2), f'nproc{a.nproc}_img_per_s': round(a.images / res['seconds']),
                     f'nproc{a.nproc}_launch_s': round(time.perf_counter() - t0, 1)}
    for k, v in rows.items(): print(f"{k:<28} {v}")
    Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == '__main__': main()
