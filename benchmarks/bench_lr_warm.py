"""Chapter 06's logistic-regression probe: cold L-BFGS fits along the C grid and a cold refit (the full run's way)
against warm starts (each C started from the previous C's solution; the refit on all training rows started from the
chosen grid fit), on CIFAR-10 features from a feature cache.

For each feature set it prints, cold beside warm: fit seconds and L-BFGS iterations of every grid fit and of the
refit, validation accuracies, the chosen C, test accuracy, the images on which the two refits' predictions differ,
and the refit's objective (mean cross-entropy + ||W||² / (2 C n) on the standardised training rows; scikit-learn
minimises n times this).

    FEATVIZ_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/bench_lr_warm.py \\
        --features-dir /tmp/cache-full/features --sets 'body 64x64' scattering --rows 0 5000

`--rows 0` uses every training row (chapter 06's full-size case); another number a stratified subset of that many
training rows (for the 15,552-d scattering features, whose full-size cold fits take ~15 minutes here); the test set
is always all 10,000 images. The features are only read (memory-mapped).
"""
import argparse, glob, os, sys, time, warnings
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from featviz.data.datasets import load_cifar10, stratified_indices, valid_indices
from featviz.analysis.evaluation import evaluate, logistic_regression

# the chapter's feature sets: cache-file patterns (train/test) per name
PATTERNS = {'scattering': 'cifar10-{split}-kymatio*-scattering-*.npy',
            'body 32x32': 'cifar10-{split}-FeatvizNet-*-body-*.npy',
            'body 64x64': 'cifar10-{split}-FeatvizNet-*-body-*.npy'}

def find(features_dir, name, split):
    "The cache file of feature set `name` for `split` (the body's two sizes told apart by their metadata)."
    import json
    for p in sorted(glob.glob(os.path.join(features_dir, PATTERNS[name].format(split=split)))):
        meta = json.load(open(p[:-4] + '.json'))
        size64 = 'size=64' in meta['parts']['preprocess']
        if name.startswith('body') and size64 != (name == 'body 64x64'): continue
        return np.load(p, mmap_mode='r')
    raise FileNotFoundError(f"no {split} features for {name} in {features_dir}")

def objective(est, X, y, C):
    "Mean cross-entropy + ||W||²/(2 C n) of a fitted standardise→LR pipeline on (X, y)."
    W, b = est[-1].coef_.astype(np.float64), est[-1].intercept_.astype(np.float64)
    z = est[0].transform(X).astype(np.float64) @ W.T + b
    z -= z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), np.searchsorted(est[-1].classes_, y)].mean() + (W ** 2).sum() / (2 * C * len(y)))

def run(X, y, Xte, yte, grid, seed, warm, max_iter):
    "The chapter's procedure: C grid on the fit rows scored on the validation rows, the best C refitted on all rows."
    fit, valid = valid_indices(y, 0.1, seed)
    Xf, Xv = np.asarray(X[fit]), np.asarray(X[valid])
    rows, fits, prev = [], {}, None
    for C in grid:
        r = evaluate(logistic_regression(seed, C=C, max_iter=max_iter), Xf, y[fit], Xv, y[valid], start=prev if warm else None)
        fits[C] = prev = r['estimator']
        rows.append((C, r['fit s'], r['iterations'], r['converged'], r['accuracy']))
    best = max(rows, key=lambda t: t[4])[0]            # first best on a tie, as idxmax
    r = evaluate(logistic_regression(seed, C=best, max_iter=max_iter), X, y, Xte, yte, start=fits[best] if warm else None)
    return rows, best, r

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--features-dir', required=True)
    ap.add_argument('--sets', nargs='+', default=['body 64x64'], choices=list(PATTERNS))
    ap.add_argument('--rows', nargs='+', type=int, default=[0], help='training rows per set (0: all), one per --sets entry')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--max-iter', type=int, default=5000)
    a = ap.parse_args()
    data = load_cifar10()
    y_all, yte = data.y_train, data.y_test
    n_train = len(y_all)
    C_WD = 1 / (5e-4 * n_train)                        # as chapter 06 (always from the full 50,000-image training set)
    grid = [C_WD / 1000, C_WD / 100, C_WD / 10]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; C grid {', '.join(f'{c:.3g}' for c in grid)}; max_iter {a.max_iter}")
    for name, n in zip(a.sets, a.rows + [a.rows[-1]] * (len(a.sets) - len(a.rows))):
        Xtr, Xte = find(a.features_dir, name, 'train'), np.asarray(find(a.features_dir, name, 'test'))
        idx = np.arange(n_train) if not n else stratified_indices(y_all, n, a.seed)
        X, y = np.asarray(Xtr[idx]), y_all[idx]
        print(f"\n## {name}: {len(y):,} training rows ({len(y) - len(valid_indices(y, 0.1, a.seed)[1]):,} fit + "
              f"{len(valid_indices(y, 0.1, a.seed)[1]):,} validation), {X.shape[1]:,} dims, {len(yte):,} test images")
        out = {}
        for mode in ('cold', 'warm'):
            t0 = time.perf_counter()
            rows, best, r = run(X, y, Xte, yte, grid, a.seed, mode == 'warm', a.max_iter)
            total = time.perf_counter() - t0
            out[mode] = (rows, best, r, total, objective(r['estimator'], X, y, best))
        print('| | ' + ' | '.join(f'C={c:.3g} s / it / valid acc' for c in grid) + ' | chosen C | refit s / it | converged (all) | test acc | objective | total s |')
        print('|---' * (len(grid) + 7) + '|')
        for mode, (rows, best, r, total, obj) in out.items():
            print(f"| {mode} | " + ' | '.join(f'{s:.1f} / {it} / {acc:.4f}' for _, s, it, _, acc in rows) +
                  f" | {best:.3g} | {r['fit s']:.1f} / {r['iterations']} | {all(t[3] for t in rows) and r['converged']} | "
                  f"{r['accuracy']:.4f} | {obj:.6f} | {total:.1f} |")
        (_, _, rc, tc, oc), (_, _, rw, tw, ow) = out['cold'], out['warm']
        differ = int((rc['y_pred'] != rw['y_pred']).sum())
        print(f"\nwarm/cold time {tw / tc:.2f} ({tc - tw:+.1f} s saved); test predictions differ on {differ} images, "
              f"correct {int((rc['y_pred'] == yte).sum())} cold vs {int((rw['y_pred'] == yte).sum())} warm; "
              f"objective relative difference {(ow - oc) / abs(oc):+.2e}")

if __name__ == '__main__':
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        main()
