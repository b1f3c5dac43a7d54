#!/usr/bin/env python
"""CIFAR-10 scattering on kymatio's protocol: linear probes on second-order scattering and on the pretrained CNN body.

Kymatio's example (examples/2d/cifar_torch.py, --mode 2 --classifier linear) reports 70.5 % for Scattering2D(J=2)
+ BatchNorm2d(243) + Linear, SGD for 90 epochs with random crops and flips. This script measures, with featviz's
own code and cached features:

  (a) `sgd_probe` with the example's full 90-epoch schedule on the un-augmented cached scattering coefficients;
  (b) the same probe on the pretrained body at 32x32 and 64x64;
  (c) logistic regression (chapter 05's probe) with the regularisation of the example's weight decay, converged;
  (d) what augmentation adds: on a stratified training subset, the same short schedule with the example's
      augmentation (scattering recomputed for every batch) and without it (cached features).

Accuracy is reported on all 10,000 local test rows and on rows 0-999, the only bit-exact canonical ones (the other
9,000 were JPEG-decoded; see the data README). Run with the usual FEATVIZ_* settings, e.g.

    OMP_NUM_THREADS=1 python scripts/cifar_scattering_protocol.py                     # all parts, one thread

or, on a busy 2-core machine, as two single-thread processes: `--parts a` and `--parts b,c,d` (the second loads the
scattering coefficients from the cache the first fills; start it once the first has logged them).
"""
from __future__ import annotations
import argparse, os, time

import numpy as np
import pandas as pd
import torch
from torchvision.transforms import v2

from featviz.core.config import get_settings, seed_everything
from featviz.data.datasets import load_cifar10
from featviz.analysis.evaluation import evaluate, logistic_regression, sgd_probe
from featviz.engine.features import Preprocess, ScatteringFeatures, extract_features
from featviz.engine.layers import layer_features
from featviz.study.models import create_model

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
WEIGHT_DECAY = 5e-4


def log(*a): print(time.strftime('%H:%M:%S'), *a, flush=True)


def augmenter(seed: int):
    "Kymatio's training augmentation on uint8 (B, H, W, C) rows -> float (B, C, H, W) in [0, 1], one draw per image."
    aug = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomCrop(32, padding=4)])
    return lambda xb: torch.stack([aug(x) for x in torch.as_tensor(xb).permute(0, 3, 1, 2)]).float() / 255


def normalisation_check(scat, cifar, cached):
    "The example scatters ImageNet-normalised images, featviz the [0, 1] images: measure that BatchNorm2d makes them equivalent."
    # Per colour channel the normalisation is x -> (x - m) / s: zeroth-order coefficients (a low-pass average) follow the
    # same affine map, first and second order (moduli of zero-mean wavelet responses) are divided by s. BatchNorm2d over
    # the 243 channels removes any per-channel affine map, so both inputs give the same probe.
    x = torch.as_tensor(cifar.x_train[:len(cached)]).permute(0, 3, 1, 2).float() / 255
    m, s = (torch.tensor(v).view(1, 3, 1, 1) for v in IMAGENET)
    with torch.no_grad(): raw, norm = scat(x), scat((x - m) / s)          # (B, 3, 81, 8, 8)
    m5, s5 = m.view(1, 3, 1, 1, 1), s.view(1, 3, 1, 1, 1)
    err0 = ((raw[:, :, :1] - m5) / s5 - norm[:, :, :1]).abs().max() / norm[:, :, :1].abs().max()
    err12 = (raw[:, :, 1:] / s5 - norm[:, :, 1:]).abs().max() / norm[:, :, 1:].abs().max()
    same = np.abs(raw.flatten(1).numpy() - cached).max()
    log(f"normalisation check on {len(cached)} images: order 0 affine rel. err {err0:.1e}; orders 1-2 scale rel. err {err12:.1e}; "
        f"on-the-fly vs cached coefficients max |diff| {same:.1e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--epochs', type=int, default=90, help='epochs of (a) and (b) (kymatio: 90)')
    ap.add_argument('--lr-every', type=int, default=20, help='(a), (b): lr divided by 5 every this many epochs (kymatio: 20)')
    ap.add_argument('--progress', action='store_true', help='show the epochs of (a) and (b)')
    ap.add_argument('--aug-subset', type=int, default=4_000, help='training images of the augmentation check (d)')
    ap.add_argument('--aug-epochs', type=int, default=6, help='epochs of (d), the rate divided by 5 every --aug-every')
    ap.add_argument('--aug-every', type=int, default=2)
    ap.add_argument('--parts', default='a,b,c,d', help="comma-separated parts to run, in this order: a,b,c,d "
                    "(on a busy 2-core machine run 'a' and 'b,c,d' as two single-thread processes)")
    ap.add_argument('--sets', default='scattering,body 32×32,body 64×64', help='feature sets of (b) and (c)')
    args = ap.parse_args()
    parts = set(args.parts.split(',')) - {''}
    skip = {'a', 'b', 'c', 'd'} - parts
    sets_used = args.sets.split(',')
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    cfg = get_settings(); seed_everything(cfg)
    t_start = time.perf_counter()
    cifar = load_cifar10(settings=cfg)
    y_train, y_test = cifar.y_train, cifar.y_test
    exact = np.arange(len(y_test)) < 1000
    log(cifar, f"| torch threads {torch.get_num_threads()} | epochs {args.epochs}")

    scat = ScatteringFeatures.for_images(cifar)
    shape = (3 * scat.n_channels, 8, 8)
    feats, extract_s = {}, {}
    pretrained, _ = create_model(cfg)
    sets = {'scattering': lambda split: (extract_features(scat, cifar, split, cache=True, settings=cfg), 'scattering'),
            'body 32×32': lambda split: (layer_features(pretrained, cifar, ['body'], split=split, settings=cfg, bf16=True,
                                                        channels_last=True), 'body'),
            'body 64×64': lambda split: (layer_features(pretrained, cifar, ['body'], split=split, settings=cfg, bf16=True,
                                                        channels_last=True, preprocess=Preprocess(size=64)), 'body')}
    def feat(k):   # features of both splits, loaded (or computed once into the cache) on first use
        if k not in feats:
            for split in ('train', 'test'):
                fs, out = sets[k](split)
                feats.setdefault(k, {})[split] = np.ascontiguousarray(fs[out], dtype=np.float32)
                extract_s[k] = extract_s.get(k, 0) + fs.computed_seconds
            log(f'features {k}: {feats[k]["train"].shape} train, {feats[k]["test"].shape} test; '
                f'extraction {extract_s[k]:.0f} s (as first computed)')
        return feats[k]

    if 'a' in parts: normalisation_check(scat, cifar, feat('scattering')['train'][:64])

    rows, extra = [], {}
    def add(r, train_rows, note=''):
        r = dict(r, **{'train rows': train_rows, 'accuracy (rows 0-999)': (r['y_pred'][exact] == y_test[exact]).mean(), 'note': note})
        rows.append(r)
        log(f"{r['model']} · {r['features']}: acc {r['accuracy']:.2%} (rows 0-999 {r['accuracy (rows 0-999)']:.2%}), "
            f"macro F1 {r['macro F1']:.4f}, {r['iterations']} it/epochs, converged {r['converged']}, fit {r['fit s']:.0f} s")
        return r

    def train_acc(r, X):
        probe = r['estimator'].eval()
        with torch.no_grad(): p = torch.cat([probe(torch.from_numpy(X[i:i + 2048])).argmax(1) for i in range(0, len(X), 2048)])
        return float((p.numpy() == y_train).mean())

    probe_kw = dict(epochs=args.epochs, lr_every=args.lr_every, seed=cfg.seed, progress=args.progress)
    if 'a' not in skip:   # (a) the example's classifier on un-augmented cached coefficients
        r = add(sgd_probe(feat('scattering')['train'], y_train, feat('scattering')['test'], y_test, shape=shape,
                          model=f'SGD probe, {args.epochs} epochs (/5 every {args.lr_every})', features='scattering', **probe_kw), len(y_train), 'BatchNorm2d(243)')
        extra['scattering train accuracy (a)'] = train_acc(r, feat('scattering')['train'])
        extra['scattering loss per epoch (a)'] = r['estimator'].history['train loss'].round(4).tolist()
        log('train accuracy', extra['scattering train accuracy (a)'], '| loss per epoch', extra['scattering loss per epoch (a)'])
    if 'b' not in skip:   # (b) the same probe on the pretrained body
        for k in [k for k in ('body 32×32', 'body 64×64') if k in sets_used]:
            r = add(sgd_probe(feat(k)['train'], y_train, feat(k)['test'], y_test, model=f'SGD probe, {args.epochs} epochs (/5 every {args.lr_every})',
                              features=k, **probe_kw), len(y_train), 'BatchNorm1d(2048)')
            extra[f'{k} train accuracy (b)'] = train_acc(r, feat(k)['train'])
    if 'c' not in skip:   # (c) logistic regression, C from the example's weight decay: C = 1 / (weight decay · n)
        C = 1 / (WEIGHT_DECAY * len(y_train))
        for k in [k for k in ('body 32×32', 'body 64×64', 'scattering') if k in sets_used]:
            add(evaluate(logistic_regression(cfg.seed, C=C, max_iter=1000), feat(k)['train'], y_train, feat(k)['test'], y_test,
                         model=f'logistic regression, C={C:g}', features=k), len(y_train), 'L-BFGS, tol 1e-3')

    if 'd' not in skip:   # (d) what augmentation adds, same subset, same short schedule
        rng = np.random.default_rng(cfg.seed)
        sub = np.sort(np.concatenate([rng.choice(np.flatnonzero(y_train == c), args.aug_subset // 10, replace=False) for c in range(10)]))
        dkw = dict(epochs=args.aug_epochs, lr_every=args.aug_every, shape=shape, seed=cfg.seed, progress=False)
        name = f'SGD probe, {args.aug_epochs} epochs'
        add(sgd_probe(feat('scattering')['train'][sub], y_train[sub], feat('scattering')['test'], y_test, model=name,
                      features='scattering, subset', **dkw), len(sub), 'no augmentation (cached)')
        aug = augmenter(cfg.seed)
        add(sgd_probe(cifar.x_train[sub], y_train[sub], feat('scattering')['test'], y_test, model=name,
                      features='scattering, subset', transform=lambda xb: scat(aug(xb)).flatten(1), **dkw),
            len(sub), 'flip + crop(32, pad 4), scattering per batch')
    table = pd.DataFrame([{k: r[k] for k in ('model', 'features', 'train rows', 'iterations', 'converged', 'accuracy',
                                              'accuracy (rows 0-999)', 'macro F1', 'fit s', 'note')} for r in rows])
    table = table.rename(columns={'iterations': 'epochs / iterations'})
    fmt = table.copy()
    for c in ('accuracy', 'accuracy (rows 0-999)'): fmt[c] = fmt[c].map('{:.2%}'.format)
    fmt['macro F1'] = fmt['macro F1'].map('{:.4f}'.format); fmt['fit s'] = fmt['fit s'].map('{:.0f}'.format)
    print('\n' + fmt.to_markdown(index=False), flush=True)
    print('\n' + '\n'.join(f'- {k}: {v}' for k, v in extra.items()))
    log(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == '__main__':
    main()
