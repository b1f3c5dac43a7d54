"Bad input and source resolution for `featviz.data.datasets`: each case checks the message a user sees."
import gzip, io, pickle, struct, tarfile, warnings
from pathlib import Path
import numpy as np
import pytest

import featviz.data.datasets as D
from featviz.core.config import get_settings

def write_idx(path, arr, compress=True):
    arr = np.asarray(arr, dtype=np.uint8)
    raw = b'\x00\x00\x08' + bytes([arr.ndim]) + struct.pack(f'>{arr.ndim}I', *arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(raw, compresslevel=1) if compress else raw)
    return path

def canonical_labels(split):
    return np.repeat(np.arange(10), D.MNIST_COUNTS[split])

def fake_mnist_dir(d, labels_train=None):
    "IDX files with MNIST's shapes and label counts but blank images (so only the MD5 check can reject them)."
    d.mkdir(parents=True, exist_ok=True)
    write_idx(d/'train-images-idx3-ubyte.gz', np.zeros((60000, 28, 28)))
    write_idx(d/'train-labels-idx1-ubyte.gz', canonical_labels('train') if labels_train is None else labels_train)
    write_idx(d/'t10k-images-idx3-ubyte.gz', np.zeros((10000, 28, 28)))
    write_idx(d/'t10k-labels-idx1-ubyte.gz', canonical_labels('test'))
    return d

def test_missing_directory(tmp_path):
    with pytest.raises(D.DataError, match=r"path='.*nowhere' does not exist"): D.load_mnist(tmp_path/'nowhere')

def test_missing_directory_from_setting(tmp_path, monkeypatch):
    monkeypatch.setenv('FEATVIZ_DATA', str(tmp_path/'nowhere'))
    with pytest.raises(D.DataError, match='FEATVIZ_DATA=.*does not exist'): D.load_mnist()

def test_directory_without_files(tmp_path):
    with pytest.raises(D.DataError, match='no mnist files found in .*train-images-idx3-ubyte.gz'): D.load_mnist(tmp_path)
    with pytest.raises(D.DataError, match='no cifar10 files found .*cifar-10-python.tar.gz'): D.load_cifar10(tmp_path)

def test_one_file_missing(tmp_path):
    d = fake_mnist_dir(tmp_path/'mnist')
    (d/'t10k-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(D.DataError, match=r't10k-labels-idx1-ubyte\(.gz\) missing from'): D.load_mnist(tmp_path)

def test_truncated_gzip(tmp_path):
    d = fake_mnist_dir(tmp_path)
    p = d/'train-images-idx3-ubyte.gz'
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(D.DataError, match='train-images-idx3-ubyte.gz is corrupt or truncated.*download it again'):
        D.load_mnist(d)

def test_not_gzip_at_all(tmp_path):
    d = fake_mnist_dir(tmp_path)
    (d/'t10k-images-idx3-ubyte.gz').write_text('<html>404 Not Found</html>')
    with pytest.raises(D.DataError, match='t10k-images-idx3-ubyte.gz is corrupt or truncated'): D.load_mnist(d)

def test_wrong_format(tmp_path):
    d = fake_mnist_dir(tmp_path)
    (d/'t10k-images-idx3-ubyte.gz').write_bytes(gzip.compress(b'PK\x03\x04 a zip file, not IDX'))
    with pytest.raises(D.DataError, match='is not an IDX file'): D.load_mnist(d)

def test_idx_body_truncated(tmp_path):
    p = write_idx(tmp_path/'x-idx3-ubyte', np.zeros((10, 28, 28)), compress=False)
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(D.DataError, match='holds 7,833 data bytes but its header .* needs 7,840'): D.read_idx(p)

def test_swapped_files(tmp_path):
    d = fake_mnist_dir(tmp_path)
    write_idx(d/'t10k-labels-idx1-ubyte.gz', np.zeros((10000, 28, 28)))
    with pytest.raises(D.DataError, match=r'shape \(10000, 28, 28\).*has \(10000,\)'): D.load_mnist(d)

def test_label_counts_off(tmp_path):
    y = canonical_labels('train').copy(); y[:100] = 9
    d = fake_mnist_dir(tmp_path, labels_train=y)
    with pytest.raises(D.DataError, match=r'MNIST train labels in .* have per-class counts \[5823.*canonical'):
        D.load_mnist(d)

def test_md5_mismatch_and_override(tmp_path):
    d = fake_mnist_dir(tmp_path)
    with pytest.raises(D.DataError, match='differs from the published MNIST.*verify=False'): D.load_mnist(d)
    m = D.load_mnist(d, verify=False)
    assert m.label_counts('test').tolist() == D.MNIST_COUNTS['test']

def cifar_batch(n_per_class, extra=None):
    y = np.repeat(np.arange(10), n_per_class)
    d = {b'data': np.zeros((len(y), 3072), np.uint8), b'labels': y.tolist()}
    if extra: d.update(extra)
    return pickle.dumps(d, protocol=2)

def write_tar(path, members):
    with tarfile.open(path, 'w:gz') as tf:
        for name, b in members.items():
            ti = tarfile.TarInfo(f'cifar-10-batches-py/{name}'); ti.size = len(b)
            tf.addfile(ti, io.BytesIO(b))
    return path

def test_cifar_unknown_archive_refused_before_unpickling(tmp_path):
    p = write_tar(tmp_path/'cifar-10-python.tar.gz', {f'data_batch_{i}': cifar_batch(1000) for i in range(1, 6)} |
                  {'test_batch': cifar_batch(1000)})
    with pytest.raises(D.DataError, match='SHA-256 .* matches no known CIFAR-10 release'): D.load_cifar10(tmp_path)
    c = D.load_cifar10(tmp_path, verify=False)         # structurally fine: loads with verify=False
    assert c.x_train.shape == (50000, 32, 32, 3) and c.label_counts('test').tolist() == [1000]*10
    assert (c.provenance, c.exact_test) == ('unverified', None)   # an unknown hash: no claim about exact rows

def test_cifar_truncated_archive(tmp_path):
    p = write_tar(tmp_path/'cifar-10-python.tar.gz', {'test_batch': cifar_batch(1000)})
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(D.DataError, match='cifar-10-python.tar.gz is corrupt or truncated'): D.load_cifar10(tmp_path, verify=False)

def test_cifar_incomplete_archive(tmp_path):
    write_tar(tmp_path/'cifar-10-python.tar.gz', {'test_batch': cifar_batch(1000)})
    with pytest.raises(D.DataError, match=r"lacks \['data_batch_1'"): D.load_cifar10(tmp_path, verify=False)

class Boom:
    def __reduce__(self): return (print, ('code ran while unpickling',))

def test_cifar_malicious_pickle_never_runs(tmp_path, capsys):
    members = {f'data_batch_{i}': cifar_batch(1000) for i in range(1, 6)}
    members['test_batch'] = pickle.dumps({b'data': Boom(), b'labels': []}, protocol=2)
    write_tar(tmp_path/'cifar-10-python.tar.gz', members)
    with pytest.raises(D.DataError, match='test_batch is not a CIFAR-10 batch pickle.*refusing to load global (__builtin__|builtins).print'):
        D.load_cifar10(tmp_path, verify=False)
    assert 'code ran' not in capsys.readouterr().out

def test_cifar_label_counts_off(tmp_path):
    members = {f'data_batch_{i}': cifar_batch(1000) for i in range(1, 6)} | {'test_batch': cifar_batch(999)}
    write_tar(tmp_path/'cifar-10-python.tar.gz', members)
    with pytest.raises(D.DataError, match=r'CIFAR-10 test labels .* counts \[999'): D.load_cifar10(tmp_path, verify=False)

def test_cifar_extracted_dir_md5(tmp_path):
    d = tmp_path/'cifar-10-batches-py'; d.mkdir()
    for i in range(1, 6): (d/f'data_batch_{i}').write_bytes(cifar_batch(1000))
    (d/'test_batch').write_bytes(cifar_batch(1000))
    with pytest.raises(D.DataError, match='data_batch_1: MD5 .* matches no known CIFAR-10 release'): D.load_cifar10(tmp_path)
    c = D.load_cifar10(tmp_path, verify=False)
    assert c.x_test.shape == (10000, 32, 32, 3) and (c.provenance, c.exact_test) == ('unverified', None)

def test_png_folders(tmp_path):
    from PIL import Image
    smp = D.load_sample('mnist')
    for split in ('training', 'testing'):
        for i in range(20):
            p = tmp_path/'mnist_png'/split/str(smp.y_train[i]); p.mkdir(parents=True, exist_ok=True)
            Image.fromarray(smp.x_train[i]).save(p/f'{i}.png')
    m = D.load_image_folders(tmp_path/'mnist_png', 'mnist', 'training', 'testing', D.MNIST_CLASSES)
    assert m.x_train.shape == (20, 28, 28)
    assert sorted(m.x_train.sum(axis=(1, 2)).tolist()) == sorted(smp.x_train[:20].sum(axis=(1, 2)).tolist())
    with pytest.raises(D.DataError, match='(?i)mnist train labels .* canonical'): D.load_mnist(tmp_path)  # 20 images ≠ MNIST
    (tmp_path/'mnist_png'/'testing'/str(smp.y_train[0])/'0.png').write_bytes(b'not a png')
    with pytest.raises(D.DataError, match='0.png is not a readable image'):
        D.load_image_folders(tmp_path/'mnist_png', 'mnist', 'training', 'testing', D.MNIST_CLASSES)

def test_quick_mode_offline_uses_sample_with_warning():
    with pytest.warns(UserWarning, match='uses the small shipped sample.*FEATVIZ_DATA'):
        m = D.load_mnist(settings=get_settings(mode='quick'))
    assert 'shipped sample' in m.source and m.x_test.shape[1:] == (28, 28)
    assert (m.label_counts('test') >= 80).all()

def test_full_mode_offline_names_the_setting(monkeypatch):
    import fastai.data.external as ext
    def offline(*a, **k): raise OSError('Temporary failure in name resolution')
    monkeypatch.setattr(ext, 'untar_data', offline)
    with pytest.raises(D.DataError, match='could not download cifar10.*offline\\? Set FEATVIZ_DATA'):
        D.load_cifar10(settings=get_settings(mode='full'))

def test_corrupt_dataset_cache_is_rebuilt(tmp_path):
    members = {f'data_batch_{i}': cifar_batch(1000) for i in range(1, 6)} | {'test_batch': cifar_batch(1000)}
    write_tar(tmp_path/'cifar-10-python.tar.gz', members)
    D.load_cifar10(tmp_path, verify=False)
    caches = list((get_settings().cache_dir/'datasets').glob('cifar10-*.npz'))
    assert len(caches) == 1
    caches[0].write_bytes(b'garbage')
    assert D.load_cifar10(tmp_path, verify=False).x_train.shape == (50000, 32, 32, 3)
    assert np.load(caches[0])['x_train'].shape == (50000, 32, 32, 3)

def test_unknown_dataset():
    with pytest.raises(D.DataError, match="unknown dataset 'svhn'"): D.load_dataset('svhn')

def test_shared_data_canonical_counts(shared_data):
    m = D.load_mnist(shared_data)
    assert m.label_counts('test').tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert m.label_counts('train').tolist() == D.MNIST_COUNTS['train']
    c = D.load_cifar10(shared_data)
    assert c.label_counts('train').tolist() == [5000]*10 and c.label_counts('test').tolist() == [1000]*10
    assert c.x_train.shape == (50000, 32, 32, 3) and c.classes[3] == 'cat'
    assert (c.provenance, int(c.exact_test.sum()), bool(c.exact_test[:1000].all())) == ('offline copy', 1000, True)
    assert (m.provenance, bool(m.exact_test.all())) == ('canonical', True)   # the shared MNIST is bit-identical to the release
    again = D.load_cifar10(shared_data)                 # from the dataset cache: the record survives it
    assert again.provenance == 'offline copy' and (again.exact_test == c.exact_test).all()
    sub = c.subset(n_test=2000, seed=3)                 # the flags follow the subset's rows
    assert (sub.exact_test == c.exact_test[D.stratified_indices(c.y_test, 2000, 3)]).all()
    smp = D.load_sample('cifar10')                      # the sample is real data: its test images are canonical rows
    assert smp.provenance == 'shipped sample' and smp.exact_test.all()
    rows = {c.x_test[i].tobytes() for i in range(1000)}
    assert all(x.tobytes() in rows for x in smp.x_test)

def test_fastai_cache_is_used_without_download(tmp_path, monkeypatch):
    "A dataset already extracted by fastai's untar_data is found offline, in quick and full mode alike."
    import fastai.data.external as ext
    monkeypatch.setattr(ext, 'untar_data', lambda *a, **k: pytest.fail('must not download'))
    d = D.fastai_data_dir('mnist')
    assert d.name == 'mnist_png' and str(tmp_path/'fastai') in str(d)
    from PIL import Image
    smp = D.load_sample('mnist')
    for split in ('training', 'testing'):
        for i in range(10):
            p = d/split/str(smp.y_train[i]); p.mkdir(parents=True, exist_ok=True)
            Image.fromarray(smp.x_train[i]).save(p/f'{i}.png')
    with pytest.raises(D.DataError, match=f'(?i)mnist train labels in {d}'):   # found (and checked) there
        D.load_mnist(settings=get_settings(mode='full'))

def idx_set(d, per_class=(7, 3), size=12):
    "A 10-class IDX quartet that is not MNIST: `size`×`size` images, `per_class` train/test images a class."
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in zip(('train', 't10k'), per_class):
        y = np.repeat(np.arange(10), n)
        write_idx(d/f'{split}-images-idx3-ubyte.gz', rng.integers(0, 256, (len(y), size, size)) // (y[:, None, None] + 1))
        write_idx(d/f'{split}-labels-idx1-ubyte.gz', y)
    return d

def test_load_dataset_any_idx_set(tmp_path):
    d = idx_set(tmp_path/'other')
    data = D.load_dataset(d)
    assert (data.name, data.provenance, data.image_shape) == ('other', 'idx set', (12, 12))
    assert data.label_counts('train').tolist() == [7] * 10 and data.label_counts('test').tolist() == [3] * 10
    (d/'classes.txt').write_text('\n'.join(f'k{i}' for i in range(10)) + '\n')
    assert D.load_dataset('mine', path=d).classes[9] == 'k9' and D.load_dataset('mine', path=d).name == 'mine'
    with pytest.raises(D.DataError, match=r"train-images-idx3-ubyte.gz holds an array of shape \(70, 12, 12\); MNIST's"):
        D.load_mnist(d)                                           # as MNIST it is still refused

def test_load_dataset_idx_set_errors(tmp_path):
    d = idx_set(tmp_path/'other')
    with pytest.raises(D.DataError, match=r"labels run from 0 to 9 but 3 class names were passed: give one name per class"):
        D.load_dataset(d, classes=['a', 'b', 'c'])
    (d/'t10k-images-idx3-ubyte.gz').unlink()
    with pytest.raises(D.DataError, match=r"t10k-images-idx3-ubyte\(.gz\) missing from .*other: an IDX set is the four files"):
        D.load_dataset(d)
    with pytest.raises(D.DataError, match=r"unknown dataset 'nowhere': choose one of .* or pass the folder"):
        D.load_dataset('nowhere')
