"Bad input for `featviz.data.images`, each with the message the user sees; streaming a folder through the feature engine."
import warnings
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

from featviz.data.datasets import DataError
import featviz.data.images as I
from featviz.engine.features import stream_features

def make_folder(root, classes=('cat', 'dog'), n=3, grey=()):
    rng = np.random.default_rng(0)
    for c in classes:
        (root/c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            im = Image.fromarray(rng.integers(0, 256, (20 + 7 * i, 30, 3), dtype=np.uint8))
            (im.convert('L') if (c, i) in grey else im).save(root/c/f'{i}.{"jpg" if i % 2 else "png"}')
    return root

def load_quietly(*args, **kwargs):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        ds = I.load_images(*args, **kwargs)
    return ds, [str(m.message) for m in w if 'featviz' in str(m.message)]

def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"nowhere does not exist: pass the folder that holds your images"): I.load_images(tmp_path/'nowhere')

def test_empty_folder(tmp_path):
    with pytest.raises(DataError, match=r"no readable images in .*: the folder is empty"): I.load_images(tmp_path)

def test_class_folder_without_images(tmp_path):
    make_folder(tmp_path); (tmp_path/'bird').mkdir()
    with pytest.raises(DataError, match=r"class folder\(s\) .*bird hold no image files: add images or remove the folder"):
        I.load_images(tmp_path)

def test_one_class_only(tmp_path):
    make_folder(tmp_path, classes=('cat',))
    with pytest.raises(DataError, match=r"only one class folder \('cat'\): labels need two or more classes.*labels=False"):
        I.load_images(tmp_path)
    assert I.load_folder(tmp_path, labels=False).classes is None

def test_broken_files_are_skipped_listed_and_warned(tmp_path):
    make_folder(tmp_path)
    good = (tmp_path/'cat'/'1.jpg').read_bytes()
    (tmp_path/'cat'/'zero.jpg').write_bytes(b'')
    (tmp_path/'cat'/'text.png').write_text('<html>')
    (tmp_path/'dog'/'cut.jpg').write_bytes(good[:len(good) * 3 // 4])
    (tmp_path/'dog'/'readme.md').write_text('hi')
    ds, warned = load_quietly(tmp_path)
    reasons = {Path(s.path).name: s.reason for s in ds.skipped}
    assert set(reasons) == {'zero.jpg', 'text.png', 'cut.jpg', 'readme.md'}
    assert reasons['zero.jpg'].endswith('is empty (0 bytes)')
    assert reasons['text.png'].endswith('is not an image Pillow can read')
    assert 'is truncated (the JPEG end marker is missing)' in reasons['cut.jpg'] or 'corrupt image header' in reasons['cut.jpg']
    assert reasons['readme.md'].endswith("readme.md is not an image file (extension '.md')")
    assert len(warned) == 1 and warned[0].startswith('featviz: 4 file(s) of') and 'zero.jpg is empty' in warned[0]
    assert ds.label_counts('all').tolist() == [3, 3]
    with pytest.raises(DataError, match=r"\(on_error='raise'"): I.load_images(tmp_path, on_error='raise')

def test_corrupt_data_found_while_streaming(tmp_path):
    make_folder(tmp_path)
    p = tmp_path/'dog'/'0.png'
    b = bytearray(p.read_bytes()); b[100:300] = bytes(200); p.write_bytes(bytes(b))    # header and IEND intact
    ds, _ = load_quietly(tmp_path)
    st = ds.stream(size=16, num_workers=2, bs=2)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        x = np.concatenate([b for b, _ in st])
    assert x.shape == (6, 16, 16, 3) and st.valid.tolist() == [True, True, True, False, True, True]
    assert 'cannot be decoded' in st.failed[0].reason and st.failed[0] in ds.skipped
    assert any('while decoding' in str(m.message) and '0.png' in str(m.message) for m in w)

def test_huge_image(tmp_path, monkeypatch):
    make_folder(tmp_path)
    Image.fromarray(np.zeros((60, 50, 3), np.uint8)).save(tmp_path/'cat'/'big.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 1000)         # 3,000 px > the limit (a real bomb would fill the disk)
    ds, warned = load_quietly(tmp_path)
    big = [s for s in ds.skipped if s.path.endswith('big.png')]
    assert big and "larger than Pillow's decompression-bomb limit" in big[0].reason and 'PIL.Image.MAX_IMAGE_PIXELS' in big[0].reason

def test_mixed_grey_and_colour_and_sizes(tmp_path):
    make_folder(tmp_path, grey={('cat', 0), ('dog', 2)})
    ds, _ = load_quietly(tmp_path)
    with pytest.raises(DataError, match=r"have 3 different sizes .*: pass size="): ds.stream()
    x, y = ds.images(size=24)
    assert x.shape == (6, 24, 24, 3) and x.dtype == np.uint8 and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert (x[0, ..., 0] == x[0, ..., 2]).all()                  # the grey image, as three equal channels
    assert ds.images(size=24, channels=1)[0].shape == (6, 24, 24)

def test_labels_and_images_of_different_lengths():
    x = np.zeros((5, 8, 8), np.uint8)
    with pytest.raises(DataError, match=r"5 images but 4 labels: they must match one to one"): I.load_images(x, [0, 1, 0, 1])
    with pytest.raises(DataError, match=r"5 images but 6 labels"): I.load_images((x, np.arange(6) % 2))

def test_idx_set_that_is_not_mnist(tmp_path):
    import gzip, struct
    def write(path, a):
        a = np.asarray(a, np.uint8)
        path.write_bytes(gzip.compress(b'\0\0\x08' + bytes([a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.tobytes()))
    rng = np.random.default_rng(0)
    for split, n in (('train', 60), ('t10k', 30)):           # 10 classes, 6 and 3 a class: MNIST's counts would refuse it
        write(tmp_path/f'{split}-images-idx3-ubyte.gz', rng.integers(0, 256, (n, 28, 28)))
        write(tmp_path/f'{split}-labels-idx1-ubyte.gz', np.arange(n) % 10)
    ds = I.load_images(tmp_path)
    assert ds.classes == [str(i) for i in range(10)] and ds.label_counts('train').tolist() == [6] * 10
    (tmp_path/'classes.txt').write_text('\n'.join(f'c{i}' for i in range(10)))
    assert I.load_images(tmp_path).classes[-1] == 'c9'

def test_stream_through_the_feature_engine(tmp_path):
    from torch import nn
    make_folder(tmp_path, n=5)
    ds, _ = load_quietly(tmp_path)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    fs = stream_features(net, ds.stream(size=16, bs=3, num_workers=2))
    assert fs['output'].shape == (10, 4) and fs.labels.tolist() == [0] * 5 + [1] * 5
    from featviz.engine.features import extract_features
    ref = extract_features(net, ds.images(size=16)[0], progress=False)['output']
    np.testing.assert_allclose(fs['output'], ref, atol=1e-6)
