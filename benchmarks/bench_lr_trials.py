"""Chapter 02's learning-rate trials at full size (issue 14 item 1, issue 15 item 1): stage 1 on cached body outputs
(the frozen trials = the real stage-1 schedule), then, from that stage-1 state, the unfrozen trials in three designs
of about the same or growing cost -- one epoch on 4,000 fit images (the old design), one epoch on 16,000, two epochs
on 8,000 -- each candidate's validation error and seconds. Also the bf16-vs-fp32 difference of the body's outputs on
the validation split (through the body, training autocast bf16; the cache holds fp32) and what it does to the head.

Usage (the body's outputs come from the feature cache when present; --frozen-trials adds 3 stage-1 runs):
  FEATVIZ_DATA=../shared/data FEATVIZ_WEIGHTS=../shared/weights/resnet50-imagenet-v1.pth FEATVIZ_ARCH=resnet50 \\
  OMP_NUM_THREADS=1 python benchmarks/bench_lr_trials.py
"""
import argparse, time, warnings
import numpy as np, pandas as pd, torch
from featviz.core.config import get_settings, seed_everything, resolve_device
from featviz.data.datasets import load_mnist
from featviz.study.models import image_dataloaders
from featviz.engine.features import extract_features
from featviz.engine.layers import LayerOutputs
from featviz.study.models import (LR_CANDIDATES, create_model, featviz_learner, head_learner, lr_trials, choose_lr,
                            loader_preprocess, _uint8_images)

DESIGNS = {'1 epoch x 16,000': (16000, 1), '1 epoch x 4,000': (4000, 1), '2 epochs x 8,000': (8000, 2)}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--designs', nargs='+', default=list(DESIGNS), choices=list(DESIGNS))
    ap.add_argument('--frozen-trials', action='store_true', help="run the frozen trials (else stage 1 at --frozen-lr)")
    ap.add_argument('--frozen-lr', type=float, default=1e-2, help="stage 1's rate without --frozen-trials (the last full run's choice)")
    a = ap.parse_args()
    warnings.filterwarnings('ignore')
    cfg = get_settings(mode='full'); seed_everything(cfg)
    data = load_mnist(settings=cfg)
    dls = image_dataloaders(data, bs=256, device=resolve_device(cfg), seed=cfg.seed)
    model, _ = create_model(cfg)
    learn = featviz_learner(dls, model)
    print(f"{cfg.arch}, {torch.get_num_threads()} threads, split {dls.sizes}")
    hl = head_learner(learn, data, cfg)
    print(f"body outputs of {len(hl.dls.train_ds) + len(hl.dls.valid_ds):,} images: {hl.feature_seconds:.1f} s (cache under {cfg.cache_dir})")
    lr1 = a.frozen_lr
    if a.frozen_trials:
        t0 = time.perf_counter()
        t1 = lr_trials(hl, LR_CANDIDATES['frozen'], False, None, 4, seed=cfg.seed)
        lr1 = choose_lr(t1)
        print(f"frozen trials = the real stage-1 schedule (4 epochs on all fit images), {time.perf_counter() - t0:.1f} s:\n{t1.round(4)}", flush=True)
    t0 = time.perf_counter()
    with hl.no_bar(), hl.no_logging(): hl.fit_one_cycle(4, lr1)
    print(f"stage 1 at {lr1:g}: {time.perf_counter() - t0:.1f} s, valid error per epoch "
          f"{[round(float(v[2]), 4) for v in hl.recorder.values]}", flush=True)
    # bf16 (as the body ran under CPUMixedPrecision) vs the cached fp32 outputs, validation split
    fn, pre = LayerOutputs(model.eval(), ['body']), loader_preprocess(dls)
    t0 = time.perf_counter()
    bf = torch.from_numpy(np.array(extract_features(fn, _uint8_images(dls.valid_ds), pool='avg', preprocess=pre, bf16=True, progress=False)['body']))
    fp = hl.dls.valid_ds.tensors[0]
    rel = ((bf - fp).norm(dim=1) / fp.norm(dim=1))
    hl.model.eval()
    with torch.inference_mode(): p_fp, p_bf = hl.model(fp).argmax(1), hl.model(bf).argmax(1)
    y = hl.dls.valid_ds.tensors[1]
    print(f"bf16 vs fp32 body outputs ({len(fp):,} validation images, {time.perf_counter() - t0:.1f} s): relative L2 difference "
          f"median {rel.median():.4f}, max {rel.max():.4f}; the stage-1 head's predictions agree on {(p_fp == p_bf).float().mean():.2%}; "
          f"validation error fp32 {(p_fp != y).float().mean():.2%}, bf16 {(p_bf != y).float().mean():.2%}", flush=True)
    rows = []
    for name in a.designs:
        n, ep = DESIGNS[name]
        t0 = time.perf_counter()
        t = lr_trials(learn, LR_CANDIDATES['unfrozen'], True, n, ep, seed=cfg.seed)
        secs = time.perf_counter() - t0
        print(f"unfrozen, {name}: {secs:.0f} s, chooses {choose_lr(t):g}\n{t.round(4)}", flush=True)
        rows.append({'design': name, 'steps per trial': n // 256 * ep,
                     **{f'valid error {lr:g}': f"{e:.2%}" for lr, e in t['valid_error'].items()},
                     'chosen': f"{choose_lr(t):g}", 'seconds (3 trials)': round(secs)})
    print(pd.DataFrame(rows).to_markdown(index=False))

if __name__ == '__main__': main()
