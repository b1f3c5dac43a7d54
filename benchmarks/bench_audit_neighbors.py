"""k-nearest-neighbour search for the image-set audit: scikit-learn (exact), faiss-cpu (exact) and pynndescent (approximate).

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_audit_neighbors.py [--sizes 10000,70000] [--dims 2048,128] [--k 10]
       [--repeat 3] [--threads 1] [--query-sample 7000] [--exact-full-up-to 20000000]

`featviz.analysis.audit.nearest_neighbors` gives every row its k = 10 nearest other rows by cosine distance (label
disagreement, near duplicates and outliers all start from it). This script times that search on synthetic clustered
features shaped like a CNN's pooled features (non-negative, low intrinsic dimension: a 64-d mixture of 100 Gaussian
clusters, mapped to 2,048 dimensions by a fixed random matrix and a ReLU), float32, at 10,000 and 70,000 rows, and on
the same rows PCA-reduced to 128 dimensions (PCA fitted on 10,000 of them):

- scikit-learn `NearestNeighbors(metric='cosine', algorithm='brute')`: exact; the reference for recall;
- faiss-cpu `IndexFlatIP` on L2-normalised rows (inner product = cosine similarity): exact too;
- pynndescent `NNDescent(metric='cosine')` (its default 30-neighbour graph, of which the first 11 are used): approximate;
- faiss-cpu `IndexIVFFlat` as `featviz.analysis.audit.nearest_neighbors(approx=...)` builds it (sqrt(n) k-means cells
  trained on a seeded sample, 16 cells probed per row): approximate; the whole graph is timed, its recall measured on
  the query rows.

`--methods` picks some of them (the exact reference for recall is the first exact method that runs).

recall@10 = the share of each row's exact 10 nearest other rows that a method returns (the row itself excluded).
Each timing is the median of `--repeat` runs after one warm-up at 10,000 rows; at 70,000 rows one run each (no
warm-up: pynndescent's numba functions were compiled by the 10,000-row runs or by a small warm-up). Where an exact
search would need more than `--exact-full-up-to` row-pair-dimensions (n^2 * d; the default 1e13 runs everything but
70,000 x 2,048 whole), the exact methods search only `--query-sample` query rows against all rows and the printed time is scaled by
n / query-sample (stated in the table); pynndescent always builds the whole graph, and its recall is measured on
those query rows. All methods run on `--threads` threads (BLAS, OpenMP and numba).
"""
import argparse, os, sys, time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timing import median_time

def clustered_features(n: int, d: int = 2048, clusters: int = 100, latent: int = 64, seed: int = 0) -> np.ndarray:
    "`n` rows of non-negative, clustered, low-intrinsic-dimension float32 features in `d` dimensions."
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (clusters, latent)).astype(np.float32)
    Z = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.6, (n, latent)).astype(np.float32)
    W = np.random.default_rng(12345).normal(0, latent ** -0.5, (latent, d)).astype(np.float32)   # same map for every n
    return np.maximum(Z @ W, 0, dtype=np.float32)

def drop_self(idx: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    "The first `k` neighbours of each query row other than the row itself."
    keep = idx != rows[:, None]
    keep[keep.sum(1) > k, -1] = False                  # the row was not among its own k + 1: drop the farthest instead
    return idx[keep].reshape(len(idx), k)

def sklearn_knn(X, Q, k):
    from sklearn.neighbors import NearestNeighbors
    return NearestNeighbors(n_neighbors=k + 1, metric='cosine', algorithm='brute').fit(X).kneighbors(Q, return_distance=False)

def faiss_knn(X, Q, k):
    import faiss
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(X.shape[1]); index.add(np.ascontiguousarray(Xn, dtype=np.float32))
    return index.search(np.ascontiguousarray(Qn, dtype=np.float32), k + 1)[1]

def pynndescent_knn(X, k, threads, seed=0):
    from pynndescent import NNDescent
    index = NNDescent(X, metric='cosine', n_neighbors=max(30, k + 1), random_state=seed, n_jobs=threads, verbose=False)
    return index.neighbor_graph[0][:, :k + 1]

def ivf_knn(X, k):
    from featviz.analysis.audit import nearest_neighbors
    return nearest_neighbors(X, k, approx=1)[1]       # without the row itself already

def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    "Mean share of each row's exact neighbours that the approximate list contains."
    return float(np.mean([len(np.intersect1d(a, e, assume_unique=True)) / len(e) for a, e in zip(approx, exact)]))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', default='10000,70000', help='row counts (default 10000,70000)')
    ap.add_argument('--dims', default='2048,128', help='2048 = the raw features; others: PCA of them (default 2048,128)')
    ap.add_argument('--k', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=3, help='timed runs at 10,000 rows and below (one above)')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', 1)))
    ap.add_argument('--query-sample', type=int, default=7000, help='query rows of an exact search that is too large to run whole')
    ap.add_argument('--methods', default='scikit-learn brute,faiss IndexFlatIP,pynndescent,faiss IVF',
                    help='comma-separated methods (default: all four)')
    ap.add_argument('--exact-full-up-to', type=float, default=1e13, help='largest n^2 * d an exact search runs on all rows')
    a = ap.parse_args()
    import faiss, numba
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits
    faiss.omp_set_num_threads(a.threads); numba.set_num_threads(a.threads)
    sizes, dims, k = [int(s) for s in a.sizes.split(',')], [int(s) for s in a.dims.split(',')], a.k
    print(f"threads {a.threads}; faiss {faiss.__version__}; numba {numba.__version__}; k = {k}", flush=True)
    rows = []
    with threadpool_limits(a.threads):
        methods = a.methods.split(',')
        if 'pynndescent' in methods: pynndescent_knn(clustered_features(2000, 64), k, a.threads)   # numba compiles here
        for n in sizes:
            X = clustered_features(n)
            for d in dims:
                Xd = X if d == X.shape[1] else PCA(d, random_state=0).fit(X[:10_000]).transform(X).astype(np.float32)
                whole = float(n) ** 2 * d <= a.exact_full_up_to
                q = np.arange(n) if whole else np.random.default_rng(0).choice(n, a.query_sample, replace=False)
                scale, rep, warm = (1.0, a.repeat, 1) if n <= 10_000 else ((1.0 if whole else n / len(q)), 1, 0)
                res, ref = {}, None
                for name, fn in [('scikit-learn brute', lambda: sklearn_knn(Xd, Xd[q], k)),
                                 ('faiss IndexFlatIP', lambda: faiss_knn(Xd, Xd[q], k)),
                                 ('pynndescent', lambda: pynndescent_knn(Xd, k, a.threads)[q]),
                                 ('faiss IVF', lambda: ivf_knn(Xd, k)[q])]:
                    if name not in methods: continue
                    out = {}
                    def run(): out['idx'] = fn()
                    med, lo, hi = median_time(run, repeat=rep, warmup=warm)
                    exact = name in ('scikit-learn brute', 'faiss IndexFlatIP')
                    s = scale if exact else 1.0
                    res[name] = out['idx'] if name == 'faiss IVF' else drop_self(out['idx'], q, k)
                    ref = ref or (name if exact else None)
                    rec = recall_at_k(res[name], res[ref]) if ref else float('nan')
                    note = '' if s == 1.0 else f' (scaled from {len(q):,} queries)'
                    rows.append((n, d, name, med * s, rec, note))
                    print(f"{n:>7,} x {d:<5} {name:<20} median {med * s:8.2f} s{note}  (min {lo * s:.2f}, max {hi * s:.2f}, "
                          f"{rep} run{'s' if rep > 1 else ''})  recall@{k} {rec:.4f}", flush=True)
    print(f"\n| rows | dim | method | median s | recall@{k} vs exact |\n|---|---|---|---|---|")
    for n, d, name, t, rec, note in rows: print(f"| {n:,} | {d} | {name} | {t:.2f}{note} | {rec:.4f} |")

if __name__ == '__main__': main()
