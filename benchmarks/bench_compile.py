"""Does `torch.compile` pay for chapter 02's unfrozen stage on a CPU? Eager against `nn.Module.compile()` (inductor),
side by side in one run, in chapter 02's setting (ResNet unfrozen at 28×28, bf16 autocast + channels-last as
`featviz_learner` chooses on a CPU, batch 256). Each variant: a first epoch (timed: it includes compilation), then
`--repeat` timed epochs of `--images` training images + 256 validation images, interleaved; median img/s.

Usage: FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=../shared/weights/resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 \
       python benchmarks/bench_compile.py [--images 2048] [--repeat 2]
"""
import argparse, statistics, warnings
import torch
from featviz.core.config import get_settings, seed_everything
from featviz.data.datasets import load_mnist
from featviz.study.models import create_model
from bench_batch_size import epoch_seconds, unfrozen_learner

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--images', type=int, default=2048); ap.add_argument('--repeat', type=int, default=2)
    ap.add_argument('--bs', type=int, default=256)
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    cfg = get_settings(mode='quick'); seed_everything(cfg)
    data = load_mnist(settings=cfg).subset(a.images + 256, 256, seed=0)
    print(f"{cfg.arch} unfrozen at 28x28, batch {a.bs}, {a.images} training images per epoch, {torch.get_num_threads()} threads, torch {torch.__version__}")
    learners, first = {}, {}
    for name in ('eager', 'compiled'):
        model = create_model(cfg)[0]
        if name == 'compiled': model.compile()
        learners[name] = learn = unfrozen_learner(data, cfg, a.bs, a.images, model)
        first[name] = epoch_seconds(learn)                                # first epoch: warm-up (and compilation)
        print(f"{name}: first epoch {first[name]:.1f} s", flush=True)
    res = {k: [] for k in learners}
    for _ in range(a.repeat):                     # interleaved, so drifting machine load hits both alike
        for name, learn in learners.items():
            res[name].append(a.images / epoch_seconds(learn))
            print(f"{name}: {res[name][-1]:.0f} img/s", flush=True)
    base = statistics.median(res['eager'])
    for name, v in res.items():
        extra = first[name] - a.images / statistics.median(v)
        print(f"{name:>9}: {statistics.median(v):6.0f} img/s (runs: {', '.join(f'{x:.0f}' for x in v)}); {statistics.median(v) / base:.2f}x eager; "
              f"first epoch {first[name]:.0f} s ({extra:.0f} s over a timed epoch)")

if __name__ == '__main__': main()
