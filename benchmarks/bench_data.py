"""Data-layer benchmark: dataset cache vs decoding, and nearest-class-mean prediction back ends.

Usage: FEATVIZ_DATA=../shared/data python benchmarks/bench_data.py
"""
import shutil, tempfile
from pathlib import Path
import numpy as np

from featviz.core.config import get_settings
from featviz.data.datasets import load_cifar10, load_mnist, load_mnist_idx, locate_dataset
from featviz.analysis.baseline import NearestClassMean
from timing import median_time, report

def main():
    s = get_settings(mode='full')
    if s.data_dir is None: raise SystemExit("set FEATVIZ_DATA to the directory holding the full datasets")
    cache = Path(tempfile.mkdtemp())
    try:
        cold = lambda: (shutil.rmtree(cache/'datasets', ignore_errors=True), load_cifar10(settings=s.replace(cache_dir=cache)))
        warm = lambda: load_cifar10(settings=s.replace(cache_dir=cache))
        t_cold = report('CIFAR-10 decode from archive (verify + unpickle)', median_time(cold, repeat=3, warmup=0), 60000, 'img')
        t_warm = report('CIFAR-10 from featviz dataset cache', median_time(warm, repeat=5), 60000, 'img')
        print(f"  -> cache speed-up: {t_cold/t_warm:.1f}x")
    finally: shutil.rmtree(cache, ignore_errors=True)

    kind, d = locate_dataset('mnist', s.data_dir)
    report('MNIST IDX parse + verify (70k images)', median_time(lambda: load_mnist_idx(d), repeat=5), 70000, 'img')

    m = load_mnist(settings=s)
    X, Xt = m.x_train.reshape(60000, -1), m.x_test.reshape(10000, -1).astype(np.float64)
    est = NearestClassMean('l1').fit(X, m.y_train)
    t_cdist = report('nearest mean L1, scipy cdist (10k test)', median_time(lambda: est.predict(Xt)), 10000, 'img')
    def broadcast():   # the straightforward NumPy version, in chunks to bound memory
        return np.concatenate([np.abs(Xt[i:i+1000, None] - est.means_[None]).sum(-1).argmin(1) for i in range(0, 10000, 1000)])
    t_np = report('nearest mean L1, numpy broadcasting (10k test)', median_time(broadcast), 10000, 'img')
    assert (est.classes_[broadcast()] == est.predict(Xt)).all()
    print(f"  -> cdist speed-up over broadcasting: {t_np/t_cdist:.1f}x")

if __name__ == '__main__': main()
