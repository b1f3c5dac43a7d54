"""Write the small dataset samples shipped in `featviz/sample/` from the full datasets.

Usage: FEATVIZ_DATA=../shared/data python scripts/make_samples.py
MNIST: 1,000 train + 1,000 test images; CIFAR-10: 450 train + 450 test images from the canonical (bit-exact)
test rows 0-999. Both class-stratified with seed 0.
"""
from pathlib import Path
from featviz.core.config import get_settings
from featviz.data.datasets import load_mnist, load_cifar10, write_sample

if __name__ == '__main__':
    s = get_settings(mode='full')
    if s.data_dir is None: raise SystemExit("set FEATVIZ_DATA to the directory holding the full datasets")
    out = Path(__file__).resolve().parents[1]/'featviz'/'sample'
    out.mkdir(exist_ok=True)
    for p in (write_sample(load_mnist(settings=s), out/'mnist.npz', 1000, 1000),
              write_sample(load_cifar10(settings=s), out/'cifar10.npz', 450, 450, test_rows=1000)):
        print(p, f'{p.stat().st_size/1e6:.2f} MB')
