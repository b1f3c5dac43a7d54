"""The audit's analysis from cached features, at 10,000 and 70,000 images, beside `featviz explore`'s analysis step.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_audit.py [--sizes 10000,70000] [--explore-sizes 10000] [--layers 3] [--repeat 3]

`featviz audit` reads each layer's features from the cache and then runs, on them alone (`featviz.tool.audit._detect`):
each layer projected on 128 principal axes (`reduce_features`, PCA fitted on 5,000 images), the label issues
(`label_audit`: on a 10,000-image sample, per layer an out-of-fold probe on one injected-noise draw to choose the layer
and the detectors on a second draw; then cleanlab and the kNN vote on all the given labels, with one kNN graph, faiss's
inverted-file index from 20,000 images on), the outliers on that same graph, the near-duplicate calibration and search
on the features and the pixels (`near_search`: every layer and the 16 x 16 grey thumbnail, raw and centred against a sample of 1,000 distinct images per half, then
`near_duplicates` on the chosen variant, reusing the graph when it is the same features), and on the pixels: the exact
digests and perceptual hashes of every image (here 32 x 32 x 3 random pixels, hashed one at a time as the audit's
decoding pass does) and the hash's calibration and search (`hash_search`). This script times exactly those calls, one
step at a time, on
**synthetic** features (no feature cache of 70,000 images of one set exists here): ResNet-50's default audit layers
`body.layer2-4`, average-pooled, so 512, 1,024 and 2,048 dimensions, non-negative and clustered (a 64-d mixture of
100 Gaussian clusters, 10 classes, mapped up by a fixed random matrix and a ReLU), float32; every image is in the one
split that is searched (the worst case: label issues and outliers are found within the chosen split). Not timed: the
network (reading the cache instead), decoding the images (here: pixels in memory), the features of the generated
copies (here: the originals' features plus a little noise; `featviz audit` runs the network on 2 x 200 copies), the
thumbnails and the report. Wall and CPU seconds are printed per step; `--repeat` runs give medians.

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
    "Seconds per step of the audit's analysis of `feats` (layer -> (N, D)) with labels `y`, as `featviz.tool.audit._detect` runs it."
    from featviz.analysis.audit import outlier_scores, perceptual_hash, reduce_features
    from featviz.tool.audit import APPROX_FROM, copy_draws, digest_groups, grey_thumbnail, hash_search, label_audit, make_copy, near_search
    t, out = {}, {}
    def step(name, f):
        t0, c0 = time.perf_counter(), time.process_time()
        out[name] = f(); t[name] = time.perf_counter() - t0; cpu[name] = time.process_time() - c0
        print(f"  {n:,} images, {name}: {t[name]:.1f} s wall, {cpu[name]:.1f} s CPU (load average {os.getloadavg()[0]:.1f})", flush=True)
    cpu, n = {}, len(y)
    pixels = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    step('pixel hashes', lambda: (digest_groups([hashlib.blake2b(im.tobytes(), digest_size=16).digest() for im in pixels]),
                                  [perceptual_hash([im])[0] for im in pixels],    # one image at a time, as the audit's decoding pass
                                  [grey_thumbnail(im) for im in pixels]))         # the pixel candidate for near duplicates
    step('reduce (PCA 128)', lambda: {l: reduce_features(X, seed=seed) for l, X in feats.items()})
    red = out['reduce (PCA 128)']
    step('label issues', lambda: label_audit({l: r[2] for l, r in red.items()}, y, 0.1, 5, 10, seed=seed))
    lab = out['label issues']
    step('outliers', lambda: outlier_scores(red[lab['layer']][2], k=10, seed=seed, neighbors=lab['graph']))
    rng = np.random.default_rng(seed + 1)
    draws = copy_draws(n, 200, None, seed)
    rows = np.concatenate([draws['calibrate']['rows'], draws['report']['rows']])
    copies = {l: X[rows] + rng.normal(0, 0.05 * X.std(), (len(rows), X.shape[1])).astype(np.float32) for l, X in feats.items()}
    made = [make_copy(pixels[i], kd, rng) for d in draws.values() for i, kd in zip(d['rows'], d['kinds'])]
    thumbs = np.stack([grey_thumbnail(c) for c in made])
    step('near duplicates: layers and pixels', lambda: near_search(red | {'pixels 16x16': reduce_features(np.stack(out['pixel hashes'][2]), seed=seed)},
                                                                   draws, copies | {'pixels 16x16': thumbs}, 0.99, 5, seed, APPROX_FROM,
                                                                   {(lab['layer'], True): lab['graph']}))
    codes = out['pixel hashes'][1]
    copy_codes = {k: list(perceptual_hash([make_copy(pixels[i], kd, rng) for i, kd in zip(d['rows'], d['kinds'])])) for k, d in draws.items()}
    step('near duplicates: hash', lambda: hash_search(codes, draws, copy_codes, 0.99, 5, seed=seed))
    return t, cpu

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
    ap.add_argument('--repeat', type=int, default=1, help='audit runs per size; medians reported (default 1)')
    ap.add_argument('--layers', type=int, default=3, help='layers, from body.layer4 down (default 3: layer2-4)')
    a = ap.parse_args()
    from featviz.analysis.audit import _faiss
    threads = int(os.environ.get('OMP_NUM_THREADS', 0) or os.cpu_count())
    print(f"threads {threads}; neighbour search by {'faiss' if _faiss() is not None else 'scikit-learn'}; load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)
    exp = {int(s) for s in a.explore_sizes.split(',') if s}
    rows = []
    for n in (int(s) for s in a.sizes.split(',')):
        feats, y, runs = {}, None, []
        for w in WIDTHS[-a.layers:]:
            feats[f'w{w}'], y = synthetic(n, w)
        for r in range(a.repeat):
            t, cpu = audit_steps(feats, y)
            print(f"{n:,} images, audit run {r + 1}: " + ', '.join(f"{k} {v:.1f} s" for k, v in t.items()) + f"; total {sum(t.values()):.1f} s "
                  f"wall, {sum(cpu.values()):.1f} s CPU (load average {os.getloadavg()[0]:.1f})", flush=True)
            runs.append((t, cpu))
        t = {k: float(np.median([r[0][k] for r in runs])) for k in runs[0][0]}
        total = float(np.median([sum(r[0].values()) for r in runs])); total_cpu = float(np.median([sum(r[1].values()) for r in runs]))
        e = explore_steps(feats, y) if n in exp else {}
        if e: print(f"{n:,} images, explore: " + ', '.join(f"{k} {v:.1f} s" for k, v in e.items()) + f"; total {sum(e.values()):.1f} s", flush=True)
        rows.append((n, t, e, total, total_cpu))
    steps = list(rows[0][1])
    print("\n| images | " + ' | '.join(steps) + " | audit total (wall) | CPU | explore's analysis |\n|---|" + '---|' * (len(steps) + 3))
    for n, t, e, total, total_cpu in rows:
        print(f"| {n:,} | " + ' | '.join(f"{t[s]:.1f}" for s in steps) + f" | **{total:.1f}** | {total_cpu:.1f} | "
              + (f"{sum(e.values()):.1f} ({', '.join(f'{k} {v:.1f}' for k, v in e.items())})" if e else 'not run') + " |")

if __name__ == '__main__': sys.exit(main())
