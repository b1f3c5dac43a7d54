"`featviz explore` and `featviz.tool.explore.explore` on small generated folders: broken files listed, report written, errors named."
import os, re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch, torchvision
from PIL import Image

from featviz.cli import main
from featviz.tool.explore import ExploreError, explore
from featviz.report.explorer import read_explorer
from featviz.report.site import remote_resources


def make_folder(root: Path, classes=('cat', 'dog', 'fox'), n=10, broken=True) -> tuple[Path, list[str]]:
    "Class folders of mixed JPEG/PNG images of mixed sizes, greyscale and colour, plus broken files; returns (root, broken names)."
    rng = np.random.default_rng(0)
    for ci, c in enumerate(classes):
        d = root/c; d.mkdir(parents=True)
        for i in range(n):
            h, w = 24 + 8 * (i % 3), 32 + 4 * (i % 2)
            a = (rng.random((h, w, 3)) * 80 + 80 * ci).astype(np.uint8)
            im = Image.fromarray(a).convert('L') if i == 3 else Image.fromarray(a)
            im.save(d/f'{c}{i}.{"png" if i % 2 else "jpg"}')
    bad = []
    if broken:
        (root/'cat'/'zero.jpg').write_bytes(b'')
        (root/'dog'/'readme.png').write_text('this is not an image')
        good = (root/'fox'/'fox0.jpg').read_bytes()
        (root/'fox'/'cut.jpg').write_bytes(good[:len(good) // 2])
        bad = ['zero.jpg', 'readme.png', 'cut.jpg']
    return root, bad




def test_cli_explore_folder(tmp_path, ckpt, capsys, monkeypatch):
    root, bad = make_folder(tmp_path/'pets')
    monkeypatch.setenv('FEATVIZ_WEIGHTS', str(ckpt.parent))
    out = tmp_path/'out'
    rc = main(['explore', str(root), '--model', 'resnet18', '--size', '32', '--layers', 'layer3', 'layer4', '--out', str(out)])
    printed, err = capsys.readouterr()
    assert rc == 0
    for name in bad: assert name in err                         # every broken file listed on the terminal (stderr)
    assert 'skipped 3 file(s)' in err and 'separates the classes best' in err
    assert 'kNN acc (features)' in printed and 'linear probe' in printed
    report = out/'report.html'
    assert printed.splitlines()[-1] == f'report: {os.path.relpath(report)}'     # relative to the working directory
    assert not re.search(r'(^|[\s(\["=])' + re.escape(str(tmp_path)), printed + err)    # no absolute machine path
    csv = {n: pd.read_csv(out/f'{n}.csv') for n in ('metrics', 'isolated', 'confused', 'coords')}
    assert len(csv['coords']) == 2 * 30 and set(csv['coords'].layer) == {'layer3', 'layer4'}
    assert csv['metrics'].best.sum() == 1 and {'kNN low', 'kNN high', 'probe low', 'probe high'} <= set(csv['metrics'].columns)
    assert set(csv['isolated'].label) <= {'cat', 'dog', 'fox'} and not csv['isolated'].image.str.startswith('/').any()
    page = report.read_text()
    for name in bad: assert name in page                        # ... and in the report
    assert not re.search(r'[\s>"(]' + re.escape(str(tmp_path)), page) and 'misclassified' not in page
    assert page.index('separates the classes best') < page.index('Metrics per layer') and 'McNemar' in page
    assert 'Skipped files (3)' in page
    assert remote_resources(page) == [] and remote_resources((out/'report-maps.html').read_text()) == []     # offline
    assert 'src="report-maps.html"' in page                    # the maps embedded from the page beside it
    data = read_explorer(out/'report-maps.html')
    assert list(data['layers']) == ['layer3', 'layer4']
    assert len(data['labels']) == 30                             # 3 classes × 10 readable images
    assert data['layers']['layer4']['xy'].shape == (30, 2)
    assert data['meta']['predicted'] == '10 neighbours vote'       # the tooltip names the vote, not a prediction


def test_cli_checkpoint_path_and_cache(tmp_path, ckpt, capsys):
    root, _ = make_folder(tmp_path/'pets', broken=False)
    args = ['explore', str(root), '--model', str(ckpt), '--size', '32', '--layers', 'layer4', '--out', str(tmp_path/'o')]
    assert main(args) == 0
    assert main(args) == 0                                      # second run: the features come from the cache
    assert (tmp_path/'o'/'report.html').exists()


def test_explore_cache_hit_lists_broken(tmp_path, ckpt):
    root, bad = make_folder(tmp_path/'pets')
    a = explore(root, str(ckpt), ['layer4'], size=32, progress=False, k=3)
    b = explore(root, str(ckpt), ['layer4'], size=32, progress=False, k=3)
    assert (a.notes['cache'], b.notes['cache']) == ('computed and cached', 'hit')
    assert sorted(Path(p).name for p in b.skipped.path) == sorted(bad)
    np.testing.assert_array_equal(a.features['layer4'], b.features['layer4'])
    np.testing.assert_array_equal(a.thumbs, b.thumbs)
    assert len(b) == 30 and b.metrics.loc['layer4', 'classes'] == 3


def test_explore_unlabelled_flat_folder(tmp_path, ckpt):
    flat = tmp_path/'flat'; flat.mkdir()
    rng = np.random.default_rng(1)
    for i in range(15): Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).save(flat/f'{i}.png')
    ex = explore(flat, str(ckpt), ['layer4'], size=32, progress=False, k=3, cache=False)
    assert not ex.labelled and list(ex.metrics.columns) == ['n', 'dim'] and len(ex.confused) == 0
    assert ex.isolated.score.is_monotonic_decreasing


@pytest.mark.parametrize('setup, message', [
    (lambda t: t/'nope', r'does not exist'),
    (lambda t: (t/'empty').mkdir() or t/'empty', r'no readable images .* the folder is empty'),
])
def test_cli_bad_paths(tmp_path, capsys, setup, message):
    assert main(['explore', str(setup(tmp_path)), '--size', '32']) == 2
    err = capsys.readouterr().err
    assert err.startswith('featviz explore: error: ') and re.search(message, err)


def test_cli_unknown_model_and_layer(tmp_path, ckpt, capsys, monkeypatch):
    root, _ = make_folder(tmp_path/'pets', broken=False)
    assert main(['explore', str(root), '--model', 'resnet5O', '--size', '32']) == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet5O'" in err and 'resnet50' in err
    named = re.search(r"did you mean (.*?)\?", err).group(1).split(', ')
    assert len(named) <= 5 and len(set(named)) == len(named)    # each name once (torchvision and timm share names)
    monkeypatch.setenv('FEATVIZ_WEIGHTS', str(ckpt.parent))
    assert main(['explore', str(root), '--model', 'resnet18', '--layers', 'layer9', '--size', '32']) == 2
    err = capsys.readouterr().err
    assert "unknown layer(s) ['layer9']" in err
    named = eval(re.search(r"did you mean (\[.*?\])\?", err).group(1))
    assert 1 <= len(named) <= 5 and len(set(named)) == len(named) and 'layer4' in named
    assert 'layer4.1.conv2' not in err                          # not all 60-odd module names


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit) as e: main(['explore', '--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert 'examples:' in out and 'featviz explore ~/pets' in out and '--max-images' in out


def test_explore_one_class_and_length_mismatch(tmp_path, ckpt):
    x = np.random.default_rng(0).integers(0, 255, (40, 16, 16), dtype=np.uint8)
    with pytest.raises(ExploreError, match='one class'):
        explore((x, np.zeros(40, int)), str(ckpt), ['layer4'], size=32, cache=False, progress=False)
    with pytest.raises(ValueError, match='40'):
        explore((x, np.zeros(30, int)), str(ckpt), ['layer4'], size=32, cache=False, progress=False)


def test_explore_cache_not_writable(tmp_path, ckpt, monkeypatch):
    (tmp_path/'file').write_text('')
    monkeypatch.setenv('FEATVIZ_CACHE', str(tmp_path/'file'/'cache'))
    x = np.random.default_rng(0).integers(0, 255, (40, 16, 16), dtype=np.uint8)
    with pytest.raises(ExploreError, match='not writable.*FEATVIZ_CACHE'):
        explore((x, np.arange(40) % 2), str(ckpt), ['layer4'], size=32, progress=False)


def test_cli_explore_idx_set_that_is_not_mnist(tmp_path, ckpt, capsys, monkeypatch):
    "An MNIST-format IDX quartet of another 10-class dataset, explored by its folder, no code edited."
    import gzip, struct
    def write(path, a):
        a = np.asarray(a, np.uint8)
        path.write_bytes(gzip.compress(b'\0\0\x08' + bytes([a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.tobytes()))
    d = tmp_path/'letters'; d.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (('train', 5), ('t10k', 4)):                # 10 classes, counts that are not MNIST's
        y = np.repeat(np.arange(10), n)
        write(d/f'{split}-images-idx3-ubyte.gz', rng.integers(0, 40, (len(y), 16, 16)) + 20 * y[:, None, None])
        write(d/f'{split}-labels-idx1-ubyte.gz', y)
    (d/'classes.txt').write_text('\n'.join('abcdefghij'))
    monkeypatch.setenv('FEATVIZ_WEIGHTS', str(ckpt.parent))
    out = tmp_path/'out'
    rc = main(['explore', str(d), '--model', 'resnet18', '--size', '32', '--layers', 'layer4', '--out', str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    data = read_explorer(out/'report-maps.html')
    assert len(data['labels']) == 40                             # the test split: 10 classes × 4
    assert data['meta']['classes'] == list('abcdefghij')        # the names from classes.txt beside the files
    assert np.bincount(data['labels'], minlength=10).tolist() == [4] * 10


def tiny_cnn(seed: int) -> torch.nn.Module:
    "A small randomly initialised CNN; the same seed gives the same weights."
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, 2), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10))


def test_explore_compare_cka(tmp_path):
    "A network against a copy of itself: CKA diagonal 1; against another random network: below 1; both in every table."
    root, _ = make_folder(tmp_path/'pets', broken=False)
    q = dict(size=32, progress=False, k=3, cache=False)
    same = explore(root, tiny_cnn(0), ['0', '2'], compare=tiny_cnn(0), compare_layers=['0', '2'], **q)
    np.testing.assert_allclose(np.diag(same.cka.values), 1, atol=1e-6)
    other = explore(root, tiny_cnn(0), ['0', '2'], compare=tiny_cnn(1), compare_layers=['2'], **q)
    assert other.cka.shape == (2, 1) and (other.cka.values < 1 - 1e-3).all()
    assert other.layers == ['Sequential (1)/0', 'Sequential (1)/2', 'Sequential (2)/2']
    assert list(other.metrics.index) == other.layers and set(other.isolated.layer) == set(other.layers)
    # the matrix's entries are CKA computed independently: biased HSIC from the n x n Gram matrices, corrected by Song et al.
    X, Y = (np.asarray(other.features[k], np.float64) for k in ('Sequential (1)/2', 'Sequential (2)/2'))
    def hsic_u(K, L):
        n = len(K); K, L = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
        return (np.sum(K * L) + K.sum() * L.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * K.sum(0) @ L.sum(0)) / (n * (n - 3))
    K, L = X @ X.T, Y @ Y.T
    assert abs(other.cka.iloc[1, 0] - hsic_u(K, L) / np.sqrt(hsic_u(K, K) * hsic_u(L, L))) < 1e-8
    page = other.to_html(tmp_path/'o'/'report.html').read_text()
    assert 'linear CKA' in page and page.count('<div><h3>Sequential (') == 2
    assert list(read_explorer(tmp_path/'o'/'report-maps.html')['layers']) == other.layers


def test_explore_compare_reads_the_images_both_read(tmp_path, monkeypatch):
    "Rows aligned: an image one network's decode drops is left out of both, so every feature array has the same rows."
    root, bad = make_folder(tmp_path/'pets')
    ex = explore(root, tiny_cnn(0), ['2'], compare=tiny_cnn(1), compare_layers=['2'], size=32, progress=False, k=3, cache=False)
    assert len(ex) == 30 and {len(f) for f in ex.features.values()} == {30}
    assert sorted(Path(p).name for p in ex.skipped.path) == sorted(bad)


def test_cli_explore_compare(tmp_path, ckpt, capsys, monkeypatch):
    "`featviz explore DIR --compare resnet18 --size 32`: a report with both networks and their CKA table."
    root, _ = make_folder(tmp_path/'pets', broken=False)
    monkeypatch.setenv('FEATVIZ_WEIGHTS', str(ckpt.parent))            # resnet18 resolves to the random checkpoint
    out = tmp_path/'out'
    rc = main(['explore', str(root), '--model', str(ckpt), '--compare', 'resnet18', '--size', '32', '--out', str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert 'linear CKA (resnet18 (1) rows, resnet18 (2) columns)' in printed
    page = (out/'report.html').read_text()
    assert 'Similarity of the two networks: linear CKA' in page
    assert 'resnet18 (1): resnet18 (' in page and ' vs resnet18 (2): resnet18 (' in page     # both networks named
    layers = list(read_explorer(out/'report-maps.html')['layers'])
    assert layers == [f'resnet18 ({i})/layer{j}' for i in (1, 2) for j in (2, 3, 4)]
    # the same weights both ways: the CKA table's diagonal is 1 (printed to 3 decimals, shaded darkest in the report)
    assert page.count('>1.000</td>') >= 3
    rc = main(['explore', str(root), '--model', str(ckpt), '--compare', 'resnet18', '--compare-weights', 'none',
               '--compare-layers', 'layer4', '--size', '32', '--layers', 'layer4', '--out', str(tmp_path/'o2')])
    printed, err = capsys.readouterr()
    assert rc == 0 and 'random init' in err
    cka = float(re.search(r'^resnet18 \(1\)/layer4\s+(\S+)$', printed, re.M).group(1))      # the CKA table's one entry
    assert cka < 0.999

def test_ctrl_c_during_features_exits_130_and_leaves_no_temporary_file(tmp_path, ckpt):
    "A real `featviz explore` process, SIGINTed while its features are being written: status 130, one line, nothing left behind."
    import signal, subprocess, sys, time
    rng = np.random.default_rng(0)
    for i in range(1500):
        d = tmp_path/'pics'/'ab'[i % 2]; d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d/f'{i}.png')
    cache = Path(os.environ['FEATVIZ_CACHE'])
    p = subprocess.Popen([sys.executable, '-m', 'featviz', 'explore', str(tmp_path/'pics'), '--model', str(ckpt), '--size', '32',
                          '--layers', 'layer4', '--bs', '8', '--out', str(tmp_path/'out')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'),
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # a background job would ignore it
    t0 = time.time()
    while not list(cache.rglob('*.tmp')) and p.poll() is None and time.time() - t0 < 240: time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    lines = err.strip().splitlines()        # DataLoader workers that lose their parent may print after it
    assert any(l.startswith('featviz explore: interrupted') for l in lines) and 'KeyboardInterrupt' not in err, err[-2000:]
    assert not list(cache.rglob('*.tmp')) and not list((cache/'features').glob('*.npy'))


def test_redirected_output_holds_only_the_results(tmp_path, ckpt):
    "A real `featviz explore … > out.txt 2> err.txt`: out.txt has the metrics table and the report path (or the JSON summary), err.txt the rest."
    import json, subprocess, sys
    root, bad = make_folder(tmp_path/'pets')
    args = [sys.executable, '-m', 'featviz', 'explore', 'pets', '--model', str(ckpt), '--size', '32', '--layers', 'layer3', 'layer4']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for extra in ([], ['--json', '--out', 'as-json']):
        with open(tmp_path/'out.txt', 'w') as o, open(tmp_path/'err.txt', 'w') as e:
            rc = subprocess.run(args + extra, stdout=o, stderr=e, cwd=tmp_path, env=env, timeout=600).returncode
        out, err = (tmp_path/'out.txt').read_text(), (tmp_path/'err.txt').read_text()
        assert rc == 0, err[-3000:]
        assert '\r' not in out and 'skipped 3 file(s)' in err and 'time: ' in err
        bars = err.replace('\r', '\n')                             # each redraw of a progress bar: step, counts, rate
        assert re.search(r'\[2/2 [^\]]*maps, [\d.]+ (s each|layers/s)\]', bars), bars[-2000:]
        if not extra: assert re.search(r'features: 30 of 30 images, [\d,.]+ images/s\]', bars), bars[-2000:]   # the first run extracts; the second reads the cache
        for name in bad: assert name in err and name not in out
        if not extra:
            lines = out.splitlines()
            assert len(lines) == 4, out                            # the table's header, two layers, the report's path
            assert 'kNN acc (features)' in lines[0] and lines[1].startswith('layer3') and lines[2].startswith('layer4')
            assert lines[3] == 'report: featviz-explore-pets/report.html'
        else:
            d = json.loads(out)                                    # stdout is one JSON document
            assert d['best_layer'] in ('layer3', 'layer4') and set(d['metrics']) == {'layer3', 'layer4'}
            assert d['files']['report'] == 'as-json/report.html' and (tmp_path/d['files']['coords']).is_file()
            assert d['test']['test'] == 'McNemar exact' and d['skipped'] == 3 and 0 <= d['metrics']['layer4']['kNN low'] <= 1
