"""Training throughput of the fine-tuning model: body frozen vs unfrozen, fp32 vs bf16 autocast + channels-last,
beside the machine's matmul GFLOP/s measured in the same run, so speed is stated as a fraction of the compute limit.

Usage: FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=... FEATVIZ_ARCH=resnet50 python benchmarks/bench_training.py [--images 1024]
"""
import argparse, warnings
import torch
from torch.utils.flop_counter import FlopCounterMode

from featviz.core.config import get_settings, resolve_device, seed_everything
from featviz.data.datasets import load_mnist
from featviz.study.models import image_dataloaders
from featviz.study.models import create_model, featviz_learner
from timing import median_time, report

def matmul_gflops(dtype, n=2048, repeat=5):
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    med = median_time(lambda: a @ b, repeat=repeat, warmup=2)[0]
    return 2 * n**3 / med / 1e9

def train_flops_per_image(model, size=28):
    "FLOPs of one forward + backward per image (backward ≈ 2× forward for trained layers, counted by PyTorch)."
    x = torch.randn(8, 3, size, size)
    with FlopCounterMode(display=False) as fc:
        out = model(x)
        out.float().sum().backward()
    model.zero_grad(set_to_none=True)
    return fc.get_total_flops() / 8

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--images', type=int, default=1024); ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    cfg = get_settings(mode='quick'); seed_everything(cfg)
    dev = resolve_device(cfg)
    data = load_mnist(settings=cfg).subset(args.images, 256, seed=0)
    dls = image_dataloaders(data, bs=128, device=dev)
    print(f"{cfg.arch} at 28x28, {args.images} training (+256 validation) images per timed epoch, batch 128, {torch.get_num_threads()} threads, {dev}")
    peak = {'fp32': matmul_gflops(torch.float32), 'bf16': matmul_gflops(torch.bfloat16)}
    print(f"matmul 2048^3: fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s")
    res = {}
    for precision in ('fp32', 'auto'):
        model, _ = create_model(cfg)
        learn = featviz_learner(dls, model, precision=precision)
        for stage in ('frozen', 'unfrozen'):
            if stage == 'unfrozen': learn.unfreeze()
            model.body.eval()
            flops = train_flops_per_image(model)
            def epoch():
                with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-4)
            name = f"{stage:<8} {'fp32' if precision == 'fp32' else 'bf16+channels_last'}"
            med = report(name, median_time(epoch, repeat=args.repeat, warmup=1), args.images, 'img')
            ips = args.images / med
            p = peak['fp32' if precision == 'fp32' else 'bf16']
            print(f"    ~{flops/1e9:.2f} GFLOP per image -> {ips*flops/1e9:.0f} GFLOP/s = {ips*flops/1e9/p:.0%} of the {p:.0f} GFLOP/s matmul peak")
            res[(stage, precision)] = ips
    for stage in ('frozen', 'unfrozen'):
        print(f"{stage}: bf16+channels_last is {res[(stage, 'auto')]/res[(stage, 'fp32')]:.2f}x fp32")
    print(f"frozen vs unfrozen (bf16): {res[('frozen', 'auto')]/res[('unfrozen', 'auto')]:.1f}x")

if __name__ == '__main__': main()
