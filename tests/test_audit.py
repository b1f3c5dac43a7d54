"""`featviz audit` and `featviz.tool.audit.audit` on small generated sets whose flipped labels, duplicates, leaks and
broken files are known: recall and precision against floors written here before the first run."""
import gzip, hashlib, json, os, shutil, struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch, torchvision
from torch import nn
from PIL import Image

from featviz.cli import main
from featviz.tool.audit import COLUMNS, audit

CLASSES = ('red', 'green', 'blue', 'yellow')
HUES = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230], [230, 210, 40]], dtype=float)


def picture(c: int, rng) -> np.ndarray:
    "A 32×32 RGB image of class `c`: a smooth random background (its own per image) and a disc in the class's colour."
    low = rng.normal(0, 1, (4, 4, 3))
    bg = np.asarray(Image.fromarray(((low - low.min()) / np.ptp(low) * 255).astype(np.uint8)).resize((32, 32), Image.BICUBIC), float)
    yy, xx = np.mgrid[:32, :32]
    cy, cx, r = rng.integers(10, 22), rng.integers(10, 22), rng.integers(7, 11)
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2)[..., None]
    return np.clip(np.where(disc, HUES[c] + rng.normal(0, 8, 3), 0.5 * bg + 40), 0, 255).astype(np.uint8)


def jpeg(a: np.ndarray, q: int = 85) -> Image.Image:
    import io
    buf = io.BytesIO(); Image.fromarray(a).save(buf, format='JPEG', quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert('RGB')


def make_set(root: Path, seed: int = 0) -> dict:
    """train/valid class folders (40 + 20 PNGs per class) with known problems: 8 valid labels flipped (files in a wrong
    class folder), 2 exact copies within valid, 1 exact copy of a train image in valid (a leak), 2 JPEG re-encoded
    copies of train images in valid (near leaks), 2 broken files. Returns what was injected, by file name."""
    rng = np.random.default_rng(seed)
    truth = dict(flipped=set(), exact=[], near=[], leaks=[], broken=[])
    pics = {}
    for split, n in (('train', 40), ('valid', 20)):
        for c, name in enumerate(CLASSES):
            (root/split/name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pics[(split, name, i)] = a = picture(c, rng)
                Image.fromarray(a).save(root/split/name/f'{name}{i:02d}.png')
    for j in range(8):                                             # flips: move the file to another class's folder
        src_c = CLASSES[j % 4]; dst_c = CLASSES[(j % 4 + 1 + j // 4) % 4]
        f = root/'valid'/src_c/f'{src_c}{j:02d}.png'
        f.rename(root/'valid'/dst_c/f'flip-{src_c}{j:02d}.png'); truth['flipped'].add(f'flip-{src_c}{j:02d}.png')
    for j in range(2):                                             # exact copies within valid
        shutil.copy(root/'valid'/'blue'/f'blue{10 + j}.png', root/'valid'/'blue'/f'copy-blue{10 + j}.png')
        truth['exact'].append((f'blue{10 + j}.png', f'copy-blue{10 + j}.png'))
    shutil.copy(root/'train'/'red'/'red05.png', root/'valid'/'red'/'leak-red05.png')            # exact leak
    truth['exact'].append(('red05.png', 'leak-red05.png')); truth['leaks'].append(('red05.png', 'leak-red05.png'))
    for j, c in enumerate(('green', 'yellow')):                    # near leaks: JPEG re-encoded train images
        jpeg(pics[('train', c, 7)]).save(root/'valid'/c/f'near-{c}07.jpg', quality=95)
        truth['near'].append((f'{c}07.png', f'near-{c}07.jpg')); truth['leaks'].append((f'{c}07.png', f'near-{c}07.jpg'))
    (root/'valid'/'red'/'zero.png').write_bytes(b'')
    (root/'train'/'green'/'notes.jpg').write_text('not an image')
    truth['broken'] = ['zero.png', 'notes.jpg']
    return truth


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')/'shapes'
    return root, make_set(root)


def tiny_cnn() -> nn.Module:
    "A tiny random CNN: one 3×3 convolution, ReLU, 4×4 average pooling, flattened (layer '1': channels; '3': a 4×4 layout)."
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())


@pytest.fixture(scope='module')
def result(folder):
    # first run (floors below unchanged): a random ResNet-18's layer1-3 kept too few copies (calibration recall 0.15) for
    # the near floor; its pooled features barely tell a 2-px shift of one image from another image of the same class
    return audit(folder[0], tiny_cnn(), ['1', '3'], size=32, n_copies=60, cache=False)


def names(table: pd.DataFrame, issue: str) -> set:
    return {Path(p).name for p in table.path[table.issue == issue]}


def test_label_issues_found(result, folder):
    root, truth = folder
    flagged = names(result.table, 'label')
    tp = len(flagged & truth['flipped'])
    recall, precision = tp / len(truth['flipped']), tp / max(len(flagged), 1)
    # floors written before the first run
    assert recall >= 0.75 and precision >= 0.6, (recall, precision, sorted(flagged))
    assert (result.table[result.table.issue == 'label'].split == 'valid').all()          # only the chosen split


def dup_groups(result):
    "name@split -> group of every duplicate or leak row, and those rows."
    t = result.table
    rows = t[t.issue.isin(['duplicate', 'leak'])]
    return {Path(p).name + '@' + s: g for p, s, g in zip(rows.path, rows.split, rows.group)}, rows


def together(groups, a, sa, b, sb) -> bool:
    return f'{a}@{sa}' in groups and groups.get(f'{a}@{sa}') == groups.get(f'{b}@{sb}')


def test_duplicates_and_leaks_found(result, folder):
    root, truth = folder
    groups, rows = dup_groups(result)
    exact_found = [together(groups, a, 'train' if b.startswith('leak') else 'valid', b, 'valid') for a, b in truth['exact']]
    injected = {n for pair in truth['exact'] + truth['near'] for n in pair}
    precision = len({Path(p).name for p in rows.path} & injected) / max(len(rows), 1)
    # floors written before the first run
    assert all(exact_found), exact_found                                                 # hashing is exact
    assert precision >= 0.7, rows
    leaked = names(result.table, 'leak')
    assert {'red05.png', 'leak-red05.png'} <= leaked                                    # the exact leak, both sides
    assert set(result.table[result.table.issue == 'leak'].split) == {'train', 'valid'}


def test_near_leaks_found(result, folder):
    # was xfail until the perceptual hash joined the features: the tiny CNN's cosine put both JPEG re-encoded train images
    # just below its calibrated threshold (0.991 and 0.993 against 0.9931); their hashes are 0 and 2 bits from the originals'
    root, truth = folder
    groups, _ = dup_groups(result)
    near_found = [together(groups, a, 'train', b, 'valid') for a, b in truth['near']]
    # floors written before the first run
    assert sum(near_found) >= 1, (near_found, result.calibration)
    assert len(names(result.table, 'leak') & {n for pair in truth['leaks'] for n in pair}) >= 4


def test_broken_files_and_outputs(result, folder, tmp_path):
    root, truth = folder
    assert sorted(Path(p).name for p in result.skipped.path) == sorted(truth['broken'])
    paths = result.save(tmp_path/'out')
    csv = pd.read_csv(paths['csv'])
    assert list(csv.columns) == COLUMNS and len(csv) == len(result.table)
    js = json.loads(paths['json'].read_text())
    assert {'counts', 'settings', 'near_duplicate_calibration', 'label_quality', 'timings', 'skipped'} <= set(js)
    assert js['counts']['leak']['images'] == int((csv.issue == 'leak').sum())
    page = paths['html'].read_text()
    for n in truth['broken']: assert n in page
    assert 'Leaks across splits' in page and '→' in page and 'data:image/png;base64' in page
    assert 'http://' not in page and 'https://' not in page                             # offline


def idx_file(path: Path, a: np.ndarray):
    "Write `a` (uint8) as a gzipped IDX file."
    head = struct.pack('>HBB', 0, 8, a.ndim) + b''.join(struct.pack('>I', d) for d in a.shape)
    path.write_bytes(gzip.compress(head + a.tobytes()))


def test_idx_set_index_is_row(tmp_path):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = np.stack([np.asarray(Image.fromarray((im * 16).astype(np.uint8)).resize((28, 28), Image.NEAREST)) for im in d.images])
    y = d.target.astype(np.uint8)
    xtr, ytr, xte, yte = x[:300].copy(), y[:300], x[300:420].copy(), y[300:420]
    xte[17] = xtr[5]                                             # test row 17 is train row 5: an exact leak
    for name, a in dict(zip(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
                             't10k-labels-idx1-ubyte'], [xtr, ytr, xte, yte])).items():
        idx_file(tmp_path/f'{name}.gz', a)
    a = audit(tmp_path, 'resnet18', ['layer3'], weights=None, size=32, n_copies=40, cache=False)
    assert a.split == 'test'
    leak = a.table[a.table.issue == 'leak']
    assert {('test', 17), ('train', 5)} <= set(zip(leak.split, leak['index']))
    assert set(leak.path[leak.split == 'test']) >= {f'{tmp_path.name}[17]'}


def test_unlabelled_folder(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(30): Image.fromarray(picture(i % 4, rng)).save(tmp_path/f'img{i:02d}.png')
    shutil.copy(tmp_path/'img03.png', tmp_path/'img03-copy.png')
    a = audit(tmp_path, 'resnet18', ['layer2'], weights=None, size=32, n_copies=10, cache=False)
    assert not a.labelled and 'label' not in set(a.table.issue)
    assert 'unlabelled' in a.notes['labels']
    assert {'img03.png', 'img03-copy.png'} <= names(a.table, 'duplicate')




def test_cli_audit_writes_three_files(folder, ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('FEATVIZ_WEIGHTS', str(ckpt.parent))
    out = tmp_path/'audit-out'
    rc = main(['audit', str(folder[0]), '--model', 'resnet18', '--size', '32', '--layers', 'layer2', '--max-images', '60',
               '--out', str(out), '--no-cache'])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert sorted(p.name for p in out.iterdir()) == ['audit.csv', 'audit.json', 'report.html']
    assert 'leak' in cap.out and 'audit.csv' in cap.out
    assert 'audit: features' in cap.err                                                  # progress on stderr
    for n in folder[1]['broken']: assert n in cap.err and n not in cap.out                 # skipped files, as explore: stderr
    assert 'time: ' in cap.err and 'time: ' not in cap.out
    # explore of the same set finds the audit (--audit): its flags on the maps, a link to its page in the report
    rc = main(['explore', str(folder[0]), '--model', 'resnet18', '--size', '32', '--layers', 'layer2', '--max-images', '60',
               '--out', str(tmp_path/'ex'), '--no-cache', '--audit', str(out), '--jobs', '1'])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert 'audit: ' in cap.err and os.path.relpath(out/'report.html', tmp_path/'ex') in (tmp_path/'ex'/'report.html').read_text()
    from featviz.report.explorer import read_explorer
    flags = read_explorer(tmp_path/'ex'/'report-maps.html')['flags']
    assert set(flags) <= {'label', 'duplicate', 'leak', 'outlier'} and sum(int(f.sum()) for f in flags.values()) > 0
    assert main(['audit', str(tmp_path/'missing')]) == 2
    assert main(['audit', str(folder[0]), '--split', 'nope', '--model', 'resnet18', '--size', '32', '--no-cache']) == 2


def test_explorer_gets_the_audit(result, folder, tmp_path):
    "Issue 24 item 2: the audit's flags and label quality reach the explorer page, from the Audit and from audit.csv, matched by path."
    from featviz.report.explorer import build_explorer, read_explorer
    from featviz.tool.explore import ExploreError, audit_overlay
    assert result.split == 'valid'
    names = list(result.images.path[result.images.split == 'valid'])[::-1]   # another order than the audit's
    ov = audit_overlay(names, 'valid', result)
    t = result.table[result.table.split == 'valid']
    for issue in ('label', 'leak', 'duplicate', 'outlier'):
        got = ov['flags'].get(issue, np.zeros(len(names), bool))
        assert {names[i] for i in np.flatnonzero(got)} == set(t.path[t.issue == issue]), issue
    np.testing.assert_allclose(ov['scores']['audit label quality'], result.label_issues.score.sort_index().to_numpy()[::-1])
    paths = result.save(tmp_path/'au')
    ov2 = audit_overlay(names, 'valid', tmp_path/'au')                     # what `featviz explore` finds on disk
    assert ov2['flags'].keys() == ov['flags'].keys() and all((ov2['flags'][k] == ov['flags'][k]).all() for k in ov['flags'])
    assert ov2['report'] == paths['html'] and ov2['matched'] == len(set(t.path))
    lab = ov2['scores']['audit label quality (flagged; others 1)']
    assert (lab[ov2['flags']['label']] < 1).all() and (lab[~ov2['flags']['label']] == 1).all()
    page = build_explorer(tmp_path/'m.html', {'map': np.random.default_rng(0).normal(size=(len(names), 2))},
                          np.zeros((len(names), 8, 8), np.uint8), flags=ov2['flags'], scores=ov2['scores'])
    d = read_explorer(page)
    assert d['flags'].keys() == ov2['flags'].keys() and all((d['flags'][k] == ov2['flags'][k]).all() for k in d['flags'])
    np.testing.assert_allclose(d['scores']['audit label quality (flagged; others 1)'], lab, atol=1e-4)
    with pytest.raises(ExploreError, match='no audit at'): audit_overlay(names, 'valid', tmp_path/'none')


class ContentHash(nn.Module):
    "Uninformative features: per image, 16 uniform numbers seeded by a hash of its pixels, so a near copy's features are unrelated."
    def forward(self, x):
        return torch.stack([torch.rand(16, generator=torch.Generator().manual_seed(int.from_bytes(hashlib.blake2b(xi.numpy().tobytes(), digest_size=4).digest(), 'little'))) for xi in x])


@pytest.fixture(scope='module')
def hashed(tmp_path_factory):
    "An unlabelled folder of 120 pictures and 6 near copies (2 of each kind, made at the images' size), audited on uninformative features."
    from featviz.tool.audit import COPY_KINDS, make_copy
    root, rng = tmp_path_factory.mktemp('hashed'), np.random.default_rng(3)
    pics = [picture(i % 4, rng) for i in range(120)]
    for i, a in enumerate(pics): Image.fromarray(a).save(root/f'img{i:03d}.png')
    for j in range(6):
        Image.fromarray(make_copy(pics[10 * j], COPY_KINDS[j % 3], rng)).save(root/f'copy{j}-of-img{10 * j:03d}.png')
    return audit(root, nn.Sequential(ContentHash()), ['0'], size=32, n_copies=40, cache=False)


def test_chooser_picks_pixels_when_features_are_uninformative(hashed):
    a, chosen = hashed, hashed.notes['layers']['near_duplicates']
    # floors written before the first run: the chooser takes the thumbnails, whose calibration keeps more copies
    assert chosen is not None and chosen.startswith('pixels'), (chosen, a.calibration, a.notes)
    assert a.calibration[chosen]['calibrate']['recall'] > a.calibration.get('0', {}).get('calibrate', {}).get('recall', 0)


def test_pixels_find_the_copies_of_the_set(hashed):
    a = hashed
    groups = dict(zip(a.images.path.map(lambda p: Path(p).name), a.groups))
    found = [groups[f'copy{j}-of-img{10 * j:03d}.png'] >= 0 and groups[f'copy{j}-of-img{10 * j:03d}.png'] == groups[f'img{10 * j:03d}.png']
             for j in range(6)]
    flagged = names(a.table, 'duplicate')
    injected = {f'copy{j}-of-img{10 * j:03d}.png' for j in range(6)} | {f'img{10 * j:03d}.png' for j in range(6)}
    # floors written before the first run
    assert sum(found) >= 4, (found, a.calibration[a.notes['layers']['near_duplicates']])
    assert len(flagged & injected) / max(len(flagged), 1) >= 0.7, sorted(flagged)
