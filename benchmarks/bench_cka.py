"""Linear CKA (`featviz.analysis.cka`) at the sizes of the issue "What fine-tuning changed, layer by layer: CKA".

1. The 5 x 5 `cka_matrix` of two "ResNet-50s" on `--rows` rows (10,000): synthetic float32 features of the widths of
   ResNet-50's layer1-4 outputs and pooled output (256, 512, 1,024, 2,048, 2,048), every layer a ReLU of one shared
   64-d latent, model b's maps model a's plus a perturbation that grows with depth. float64 products (the default)
   and float32 products side by side, each warmed up once and timed `--repeat` times (median), interleaved; the
   largest difference between the two matrices.
2. One `linear_cka` of `--big-rows` x 2,048 against `--big-rows` x 2,048 (70,000; float32 inputs, as a feature cache
   holds them): seconds, and the peak memory it allocates beyond its inputs (tracemalloc, which sees NumPy's buffers).

The machine's float64 and float32 matrix-multiply rate (a 2,048 x 1,024 by 1,024 x 2,048 product, the shape of one
chunk) is measured in the same run, so the times can be read against it: the CKA work is almost all matrix products,
n (sum of widths)^2 multiply-adds for the matrix. On a shared machine the process's CPU time (all threads), printed
beside the wall time, is the steadier measure of the work. Threads: NumPy's BLAS uses its default (all cores) unless
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS say otherwise; the script prints what it got.

    python benchmarks/bench_cka.py [--rows 10000] [--repeat 3] [--big-rows 70000]
"""
import argparse, os, resource, sys, time, tracemalloc
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from featviz.analysis.cka import cka_matrix, linear_cka
from timing import median_time, report

WIDTHS = {'layer1': 256, 'layer2': 512, 'layer3': 1024, 'layer4': 2048, 'pool': 2048}

def two_models(n: int, seed: int = 0) -> tuple[dict, dict]:
    "Features of two related synthetic models: layer name -> float32 (n, width); b's maps perturbed more with depth."
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 64)).astype(np.float32)
    a, b = {}, {}
    for (name, w), s in zip(WIDTHS.items(), (0.1, 0.3, 0.6, 1.0, 1.5)):
        U = rng.standard_normal((64, w)).astype(np.float32)
        a[name] = np.maximum(z @ U + rng.standard_normal((n, w), dtype=np.float32), 0)
        b[name] = np.maximum(z @ (U + s * rng.standard_normal((64, w), dtype=np.float32)) + rng.standard_normal((n, w), dtype=np.float32), 0)
    return a, b

def gemm_rate(dtype, repeat: int = 3) -> float:
    "GFLOP/s of a (1,024 x 2,048)^T (1,024 x 2,048) product in `dtype`, median of `repeat`."
    A = np.random.default_rng(0).standard_normal((1024, 2048)).astype(dtype)
    return 2 * 1024 * 2048 ** 2 / median_time(lambda: A.T @ A, repeat)[0] / 1e9

def matrix_flops(n: int) -> float:
    "Floating-point operations of a two-model cka_matrix: the pairs' products and each layer's symmetric product."
    p = np.array(list(WIDTHS.values()), dtype=float)
    return 2 * n * p.sum() ** 2 + 2 * n * (p ** 2).sum()           # 2 n p q per pair; syrk n p^2 per layer, both models

def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
        return ', '.join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    except ImportError: return 'threadpoolctl not installed'

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=10_000); ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--big-rows', type=int, default=70_000)
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, BLAS: {blas_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f}, NumPy {np.__version__}")
    rates = {dt.__name__: gemm_rate(dt) for dt in (np.float64, np.float32)}
    print('matrix multiply: ' + ', '.join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()), flush=True)

    fa, fb = two_models(a.rows)
    print(f"\n5 x 5 cka_matrix, two models, {a.rows:,} rows, widths {list(WIDTHS.values())}: "
          f"{matrix_flops(a.rows) / 1e12:.2f} TFLOP", flush=True)
    res = {}
    for dt in (np.float64, np.float32): res[dt.__name__] = cka_matrix(fa, fb, dtype=dt)       # warm-up, and the values
    times, cpu = {k: [] for k in res}, {k: [] for k in res}
    for _ in range(a.repeat):                         # interleaved, so drifting load hits both alike
        for dt in (np.float64, np.float32):
            t0, c0 = time.perf_counter(), time.process_time()
            cka_matrix(fa, fb, dtype=dt)
            times[dt.__name__].append(time.perf_counter() - t0); cpu[dt.__name__].append(time.process_time() - c0)
    for k, ts in times.items():
        med = report(f"cka_matrix, {k} products", (float(np.median(ts)), min(ts), max(ts)))
        print(f"{'':<48} {matrix_flops(a.rows) / med / 1e9:.0f} GFLOP/s = {matrix_flops(a.rows) / med / 1e9 / rates[k]:.0%} of the "
              f"multiply rate; CPU time (all threads) median {np.median(cpu[k]):.1f} s")
    print(f"float32 vs float64 products: max |difference| {np.abs(res['float32'].values - res['float64'].values).max():.1e}")
    print('diagonal (float64):', np.round(np.diag(res['float64'].values), 3).tolist(), flush=True)
    del fa, fb

    rng = np.random.default_rng(1)
    z = rng.standard_normal((a.big_rows, 64)).astype(np.float32)
    X = np.maximum(z @ rng.standard_normal((64, 2048)).astype(np.float32), 0)
    Y = np.maximum(z @ rng.standard_normal((64, 2048)).astype(np.float32) + rng.standard_normal((a.big_rows, 2048), dtype=np.float32), 0)
    del z
    print(f"\nlinear_cka, {a.big_rows:,} x 2,048 vs {a.big_rows:,} x 2,048, float32 inputs ({(X.nbytes + Y.nbytes) / 2**30:.2f} GiB), "
          f"float64 products, once:", flush=True)
    tracemalloc.start(); tracemalloc.reset_peak()
    t0, c0 = time.perf_counter(), time.process_time(); v = linear_cka(X, Y); secs, cpus = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    print(f"  CKA {v:.6f} in {secs:.1f} s ({cpus:.1f} s CPU time); peak memory allocated during the call {peak / 2**20:.0f} MiB "
          f"(an n x n float64 Gram matrix would take {a.big_rows ** 2 * 8 / 2**30:.1f} GiB); "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")

if __name__ == '__main__': main()
