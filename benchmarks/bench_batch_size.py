"""Fine-tuning throughput of the unfrozen ResNet by batch size, side by side in one run (chapter 02's setting: MNIST at
28×28, bf16 autocast + channels-last as `featviz_learner` chooses on a CPU). One warm-up epoch per batch size, then
`--repeat` timed epochs of `--images` training images (+256 validation images, as in a real epoch); median img/s.

Usage: FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=../shared/weights/resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 \
       python benchmarks/bench_batch_size.py [--images 2048] [--bs 128 256] [--repeat 2]
"""
import argparse, statistics, time, warnings
import torch
from featviz.core.config import get_settings, seed_everything
from featviz.data.datasets import load_mnist
from featviz.study.models import image_dataloaders
from featviz.study.models import create_model, featviz_learner

def unfrozen_learner(data, cfg, bs: int, images: int, model=None):
    "Chapter 02's unfrozen learner (bf16 + channels-last on a CPU) on `data`: `images` to train on, 256 to validate."
    dls = image_dataloaders(data, bs=bs, device=torch.device('cpu'), valid_frac=256 / (images + 256), seed=0)
    learn = featviz_learner(dls, model if model is not None else create_model(cfg)[0]); learn.unfreeze()
    return learn

def epoch_seconds(learn) -> float:
    "Wall time of one training epoch (and its validation pass), quietly."
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-4)
    return time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--images', type=int, default=2048); ap.add_argument('--repeat', type=int, default=2)
    ap.add_argument('--bs', type=int, nargs='+', default=[128, 256])
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    cfg = get_settings(mode='quick'); seed_everything(cfg)
    data = load_mnist(settings=cfg).subset(a.images + 256, 256, seed=0)
    print(f"{cfg.arch} unfrozen at 28x28, {a.images} training images per epoch, {torch.get_num_threads()} threads")
    res = {bs: [] for bs in a.bs}
    for _ in range(a.repeat):                      # interleaved, so drifting machine load hits every batch size alike
        for bs in a.bs:
            learn = unfrozen_learner(data, cfg, bs, a.images)
            epoch_seconds(learn)                                                   # warm-up
            res[bs].append(a.images / epoch_seconds(learn))
    base = statistics.median(res[a.bs[0]])
    for bs, v in res.items():
        print(f"batch {bs:>4}: {statistics.median(v):6.0f} img/s (runs: {', '.join(f'{x:.0f}' for x in v)}); {statistics.median(v) / base:.2f}x batch {a.bs[0]}")

if __name__ == '__main__': main()
