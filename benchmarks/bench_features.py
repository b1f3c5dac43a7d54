"""Feature-engine benchmark: hooks + cache vs a bare forward, cache hits, scattering throughput, openTSNE vs scikit-learn.

Usage: FEATVIZ_DATA=../shared/data python benchmarks/bench_features.py [--n 5000 | --large] [--threads 2] [--repeat 5]

On a machine shared with other jobs, set OMP_WAIT_POLICY=PASSIVE: PyTorch's and the t-SNEs' OpenMP threads otherwise
spin while waiting for a busy core, which makes timings both slow and erratic.

Goals (printed beside the measurements):
- extraction through `LayerOutputs` (fastai hooks, 3 layers) into the feature cache costs at most 10 % more than a bare
  forward pass of the same model over the same images in the same run;
- a cached re-run is at least 20x faster than computing;
- openTSNE is at least 2x faster than scikit-learn's TSNE on the same features and threads, with trustworthiness
  within 0.01.
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path

import numpy as np
import torch

from featviz.core.config import get_settings
from featviz.data.datasets import load_mnist
from featviz.analysis.embed import embed_2d
from featviz.engine.features import FeatureCache, Preprocess, extract_features
from featviz.engine.layers import LayerOutputs
from featviz.study.scattering import ScatteringFeatures
from timing import median_time, report

def bare_forward(model, x, bs):
    "The reference: the same batches, preprocessing and model, logits into a preallocated array, nothing else."
    pre, out = Preprocess(), np.empty((len(x), 10), np.float32)
    with torch.inference_mode():
        for s in range(0, len(x), bs):
            out[s:s + bs] = model(pre(torch.from_numpy(x[s:s + bs]))).numpy()
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=5000, help='MNIST test images (default 5000)')
    ap.add_argument('--large', action='store_true', help='all 10,000 test images')
    ap.add_argument('--threads', type=int, default=2, help='torch threads and t-SNE n_jobs (default 2)')
    ap.add_argument('--repeat', type=int, default=5, help='timed rounds of each extraction (median reported)')
    ap.add_argument('--tsne-repeat', type=int, default=1, help='timed repeats of each t-SNE')
    ap.add_argument('--bs', type=int, default=256)
    ap.add_argument('--sections', default='extract,scattering,tsne', help='comma-separated subset of extract,scattering,tsne')
    args = ap.parse_args()
    n = 10_000 if args.large else args.n
    s = get_settings(mode='full')
    if s.data_dir is None: raise SystemExit("set FEATVIZ_DATA to the directory holding the full datasets")
    torch.set_num_threads(args.threads)
    x = np.ascontiguousarray(load_mnist(settings=s).x_test[:n])
    print(f"MNIST test images: {n:,}; torch threads: {torch.get_num_threads()}; batch size {args.bs}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; load average at start {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    tmp = Path(tempfile.mkdtemp())
    try:
        sections = set(args.sections.split(','))
        # 1. hooks + cache vs bare forward, same model, same run: the variants take turns in every round, so that a
        #    change in machine load hits all of them; overheads are medians of the per-round ratios
        if 'extract' in sections:
            from torchvision.models import resnet18
            torch.manual_seed(0)
            model = resnet18(num_classes=10).eval()
            layers = LayerOutputs(model, ['layer4', 'avgpool', 'fc'])
            cache = FeatureCache(tmp/'features')
            def cold():
                cache.clear()
                return extract_features(layers, x, bs=args.bs, cache=cache, device='cpu', progress=False)
            variants = {'ResNet-18 bare forward (logits only)': lambda: bare_forward(model, x, args.bs),
                        'engine, no hooks, no cache (logits)': lambda: extract_features(model, x, bs=args.bs, device='cpu', progress=False),
                        'engine + hooks (3 layers), no cache': lambda: extract_features(layers, x, bs=args.bs, device='cpu', progress=False),
                        'engine + hooks (3 layers) + cache write': cold}
            for f in variants.values(): f()                                   # warm up
            times = {k: [] for k in variants}
            for r in range(args.repeat):
                for k in list(variants)[r % 4:] + list(variants)[:r % 4]:
                    t0 = time.perf_counter(); variants[k](); times[k].append(time.perf_counter() - t0)
            for k, ts in times.items(): report(k, (float(np.median(ts)), min(ts), max(ts)), n, 'img')
            fs = cold(); np.testing.assert_allclose(fs['fc'], bare_forward(model, x, args.bs), rtol=1e-4, atol=1e-5)
            warm = lambda: extract_features(layers, x, bs=args.bs, cache=cache, device='cpu', progress=False)
            t_warm = report('cached re-run (fingerprints + load)', median_time(warm, args.repeat * 3), n, 'img')
            bare, (eng, hooks, hooks_cache) = times[list(times)[0]], list(times.values())[1:]
            over = lambda ts: 100 * (np.median(np.array(ts) / np.array(bare)) - 1)
            print(f"  -> overhead vs bare forward (median of {args.repeat} paired rounds): engine {over(eng):+.1f} %, "
                  f"+ hooks {over(hooks):+.1f} %, + hooks + cache write {over(hooks_cache):+.1f} % (goal <= 10 %)")
            print(f"  -> cached re-run speed-up: {np.median(hooks_cache) / t_warm:.0f}x (goal >= 20x)\n")

        # 2. scattering throughput, and its cache
        scat = ScatteringFeatures((28, 28))
        sc_cache = FeatureCache(tmp/'scat')
        def sc_cold():
            sc_cache.clear()
            return extract_features(scat, x, bs=args.bs, cache=sc_cache, device='cpu', progress=False)
        if 'scattering' in sections:
            t_sc = report('kymatio Scattering2D J=2 through the engine', median_time(lambda: extract_features(scat, x, bs=args.bs, device='cpu', progress=False), args.repeat), n, 'img')
            t_scc = report('  ... + cache write', median_time(sc_cold, args.repeat), n, 'img')
        feats = np.asarray(sc_cold()['scattering'])
        if 'scattering' in sections:
            t_sch = report('  cached re-run', median_time(lambda: extract_features(scat, x, bs=args.bs, cache=sc_cache, device='cpu', progress=False), args.repeat * 3), n, 'img')
            print(f"  -> scattering: {n / t_sc:,.0f} img/s; features {feats.shape} = {feats.nbytes / 2**20:.0f} MiB; "
                  f"cached re-run speed-up {t_scc / t_sch:.0f}x\n")

        # 3. openTSNE vs scikit-learn TSNE on the same scattering features (PCA to 50 inside embed_2d for both)
        if 'tsne' in sections:
            from sklearn.manifold import trustworthiness
            sub = np.sort(np.random.default_rng(0).choice(n, min(n, 3000), replace=False))
            res = {}
            for name, method, kw in (('openTSNE (featviz default: FFT, 3-unit intervals)', 'opentsne', {}),
                                     ("openTSNE, FFT with openTSNE's 1-unit intervals", 'opentsne', dict(ints_in_interval=1)),
                                     ('openTSNE, Barnes-Hut', 'opentsne', dict(negative_gradient_method='bh')),
                                     ('scikit-learn TSNE (Barnes-Hut)', 'sklearn', {})):
                E = {}
                def run(): E['e'] = embed_2d(feats, method, perplexity=30, seed=0, n_jobs=args.threads, **kw)
                t = report(f'{name}', median_time(run, args.tsne_repeat, warmup=0), n, 'pts')
                res[name] = (t, trustworthiness(feats[sub], E['e'][sub], n_neighbors=10))
            (tk, tw_k) = res['scikit-learn TSNE (Barnes-Hut)']
            for name, (t, tw) in list(res.items())[:3]:
                print(f"  -> {name}: {tk / t:.1f}x faster than scikit-learn (goal >= 2x); trustworthiness (k=10, "
                      f"{len(sub):,}-point subset) {tw:.4f} vs {tw_k:.4f}, difference {tw - tw_k:+.4f} (goal within 0.01)")
        print(f"\nload average at end {os.getloadavg()[0]:.1f}")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
