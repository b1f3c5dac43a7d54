"""The audit's analysis from cached features, at 10,000 and 70,000 images, beside `featviz explore`'s analysis step.

Usage: OMP_NUM_THREADS=2 python benchmarks/bench_audit.py [--sizes 10000,70000] [--explore-sizes 10000] [--layers 3]

`featviz audit` reads each layer's features from the cache and then runs, on them alone: the label issues
(`featviz.tool.audit.label_audit`: per layer an out-of-fold probe on one injected-noise draw to choose the layer, the
detectors on a second draw, then cleanlab and the kNN vote on the given labels), the near-duplicate calibration and
search (`near_threshold` for every layer, raw and centred, then `near_duplicates` on the chosen one), the exact-copy
digests and the outliers (`outlier_scores`). This script times exactly those calls, one step at a time, on
**synthetic** features (no feature cache of 70,000 images of one set exists here): ResNet-50's default audit layers
`body.layer2-4`, average-pooled, so 512, 1,024 and 2,048 dimensions, non-negative and clustered (a 64-d mixture of
100 Gaussian clusters, 10 classes, mapped up by a fixed random matrix and a ReLU), float32; every image is in the one
split that is searched (the worst case: label issues and outliers are found within the chosen split). Not timed: the
network (reading the cache instead), the features of the generated copies (here: the originals' features plus a
little noise; `featviz audit` runs the network on 2 x 200 copies), the thumbnails and the report.

`--explore-sizes`: at those sizes, `featviz explore`'s analysis of the same features (per layer: openTSNE map,
neighbours, cluster metrics, linear probe: `featviz.tool.explore._layer_results`), so the audit's extra cost over
explore can be read off.
"""
import argparse, hashlib, os, sys, time

import numpy as np

WIDTHS = (512, 1024, 2048)     # ResNet-50 body.layer2, layer3, layer4 pooled

def synthetic(n: int, d: int, classes: int = 10, clusters: int = 100, latent: int = 64, seed: int = 0):
    "`n` rows of clustered non-negative float32 features in `d` dimensions, and a label per row (its cluster's class)."
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (clusters, latent)).astype(np.float32)
    c = rng.integers(0, clusters, n)
    Z = centres[c] + rng.normal(0, 0.8, (n, latent)).astype(np.float32)
    W = np.random.default_rng(12345 + d).normal(0, latent ** -0.5, (latent, d)).astype(np.float32)
    return np.maximum(Z @ W, 0, dtype=np.float32) + np.float32(1e-6), c % classes

def audit_steps(feats: dict, y: np.ndarray, seed: int = 0) -> dict:
    "Seconds per step of the audit's analysis of `feats` (layer -> (N, D)) with labels `y`."
    from featviz.analysis.audit import near_duplicates, oof_probabilities, outlier_scores
    from featviz.tool.audit import copy_draws, digest_groups, label_audit, near_threshold
    t, out = {}, {}
    def step(name, f):
        t0, c0 = time.perf_counter(), time.process_time()
        out[name] = f(); t[name] = time.perf_counter() - t0
        print(f"  {n:,} images, {name}: {t[name]:.1f} s wall, {time.process_time() - c0:.1f} s CPU (load average {os.getloadavg()[0]:.1f})", flush=True)
    n = len(y)
    pixels = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    step('exact digests', lambda: digest_groups([hashlib.blake2b(im.tobytes(), digest_size=16).digest() for im in pixels]))
    rng = np.random.default_rng(seed + 1)
    def calibrate():
        draws, cal = copy_draws(n, 200, None, seed), {}
        for l, X in feats.items():
            for centred in (False, True):
                Xc = X - X.mean(0) if centred else X
                copies = {k: Xc[d['rows']] + rng.normal(0, 0.05 * Xc.std(), (len(d['rows']), Xc.shape[1])).astype(np.float32) for k, d in draws.items()}
                try: cal[(l, centred)] = near_threshold(Xc, draws, copies, 0.99)
                except ValueError: pass
        return cal
    step('near: calibration', calibrate)
    best = max(out['near: calibration'], key=lambda k: out['near: calibration'][k]['calibrate']['recall'])
    Xn = feats[best[0]] - feats[best[0]].mean(0) if best[1] else feats[best[0]]
    step('near: search', lambda: near_duplicates(Xn, out['near: calibration'][best]['calibrate']['threshold'], k=5, seed=seed))
    Xo = feats[list(feats)[-1]]                    # the audit takes the label issues' layer; the widest here (same cost class)
    step('outliers', lambda: outlier_scores(Xo - Xo.mean(0), k=10, seed=seed))
    Xw = feats[list(feats)[-1]]                    # one of the five out-of-fold probes label_audit fits (3 layers, the report draw, the labels)
    step('label issues: one probe', lambda: oof_probabilities(Xw, y, 5, seed, pca=128))
    step('label issues', lambda: label_audit(feats, y, 0.1, 5, 10, seed=seed))      # last: by far the longest
    return t

def explore_steps(feats: dict, y: np.ndarray, seed: int = 0, n_jobs: int = 2) -> dict:
    "Seconds per step of `featviz explore`'s analysis of the same features (summed over layers)."
    from featviz.tool.explore import _layer_results
    t = {}
    def timed(step, layer, f):
        t0, c0 = time.perf_counter(), time.process_time(); r = f(); t[step] = t.get(step, 0.0) + time.perf_counter() - t0
        print(f"  {len(y):,} images, explore {step} of {layer}: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU", flush=True)
        return r
    names = [f'img{i}' for i in range(len(y))]
    for l, X in feats.items(): _layer_results(l, X, y, [str(c) for c in range(10)], names, 10, seed, n_jobs, 24, timed)
    return t

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', default='10000,70000', help='images (default 10000,70000)')
    ap.add_argument('--explore-sizes', default='10000', help="sizes at which explore's analysis is timed too ('' for none)")
    ap.add_argument('--layers', type=int, default=3, help='layers, from body.layer4 down (default 3: layer2-4)')
    a = ap.parse_args()
    from featviz.analysis.audit import _faiss
    threads = int(os.environ.get('OMP_NUM_THREADS', 0) or os.cpu_count())
    print(f"threads {threads}; neighbour search by {'faiss' if _faiss() is not None else 'scikit-learn'}; load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)
    exp = {int(s) for s in a.explore_sizes.split(',') if s}
    rows = []
    for n in (int(s) for s in a.sizes.split(',')):
        feats, y = {}, None
        for w in WIDTHS[-a.layers:]:
            feats[f'w{w}'], y = synthetic(n, w)
        t = audit_steps(feats, y)
        print(f"{n:,} images, audit: " + ', '.join(f"{k} {v:.1f} s" for k, v in t.items()) + f"; total {sum(t.values()):.1f} s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        e = explore_steps(feats, y) if n in exp else {}
        if e: print(f"{n:,} images, explore: " + ', '.join(f"{k} {v:.1f} s" for k, v in e.items()) + f"; total {sum(e.values()):.1f} s", flush=True)
        rows.append((n, t, e))
    steps = list(rows[0][1])
    print("\n| images | " + ' | '.join(steps) + " | audit total | explore's analysis |\n|---|" + '---|' * (len(steps) + 2))
    for n, t, e in rows:
        print(f"| {n:,} | " + ' | '.join(f"{t[s]:.1f}" for s in steps) + f" | **{sum(t.values()):.1f}** | "
              + (f"{sum(e.values()):.1f} ({', '.join(f'{k} {v:.1f}' for k, v in e.items())})" if e else 'not run') + " |")

if __name__ == '__main__': sys.exit(main())
