"2-D embeddings, cluster metrics (separated clusters vs random labels) and the plots' offline HTML."
import base64, io, json, re, sys

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import make_blobs

from featviz.analysis.embed import cluster_metrics, embed_2d, knn_accuracy, metrics_table
from featviz.report.plots import grid_sample, interactive_scatter, label_scatter, save_html, thumbnail_scatter
from featviz.core.store import ArtifactStore

@pytest.fixture(scope='module')
def blobs():
    X, y = make_blobs(n_samples=400, n_features=30, centers=4, cluster_std=1.0, random_state=1)
    return X.astype(np.float32), y

@pytest.fixture(scope='module')
def tsne(blobs): return embed_2d(blobs[0], perplexity=20, seed=3)

def test_separated_clusters_score_high_random_labels_score_chance(blobs, tsne):
    X, y = blobs
    y_rand = np.random.default_rng(0).permutation(y)
    t = metrics_table({'true': (X, y, tsne), 'random': (X, y_rand, tsne)}, seed=0)
    good, bad = t.loc['true'], t.loc['random']
    assert good['kNN acc (features)'] > 0.99 and good['kNN acc (2-D)'] > 0.99
    assert good['silhouette (features)'] > 0.6 and good['silhouette (2-D)'] > 0.6
    assert good['trustworthiness'] > 0.9
    assert abs(bad['kNN acc (features)'] - 0.25) < 0.1 and abs(bad['kNN acc (2-D)'] - 0.25) < 0.1
    assert abs(bad['silhouette (features)']) < 0.05 and abs(bad['silhouette (2-D)']) < 0.05
    assert bad['trustworthiness'] == good['trustworthiness']          # labels do not enter trustworthiness
    assert list(t.index) == ['true', 'random'] and t.loc['true', 'n'] == 400

def test_trustworthiness_sees_a_scrambled_map(blobs, tsne):
    X, y = blobs
    scrambled = np.random.default_rng(0).permutation(tsne)
    assert cluster_metrics(X, y, scrambled)['trustworthiness'].item() < 0.6 < cluster_metrics(X, y, tsne)['trustworthiness'].item()

def test_sklearn_tsne_option_and_seeded_reproducibility(blobs, tsne):
    X, y = blobs
    np.testing.assert_array_equal(embed_2d(X, perplexity=20, seed=3), tsne)
    sk = embed_2d(X[::4], 'sklearn', perplexity=10, seed=3, n_jobs=1)     # 100 points: scikit-learn's t-SNE is slow
    assert sk.shape == (100, 2) and knn_accuracy(sk, y[::4]) > 0.95

def test_opentsne_defaults_can_be_overridden(blobs, tsne):
    X, y = blobs
    bh = embed_2d(X, perplexity=20, seed=3, negative_gradient_method='bh')     # featviz's default is FFT
    fine = embed_2d(X, perplexity=20, seed=3, ints_in_interval=1)             # featviz's default is 3
    assert not np.allclose(bh, tsne) and not np.allclose(fine, tsne)
    assert knn_accuracy(bh, y) > 0.95 and knn_accuracy(fine, y) > 0.95

def test_umap_is_optional_with_a_clear_error(blobs, monkeypatch):
    monkeypatch.setitem(sys.modules, 'umap', None)          # as if umap-learn were not installed
    with pytest.raises(ImportError, match='pip install umap-learn'): embed_2d(blobs[0], 'umap')

@pytest.mark.parametrize('call,msg', [
    (lambda X, y: embed_2d(X, perplexity=200), 'perplexity=200 must be below'),
    (lambda X, y: embed_2d(X, 'pca'), 'not one of'),
    (lambda X, y: cluster_metrics(X, y[:-1]), '400 feature rows but 399 labels'),
    (lambda X, y: cluster_metrics(X, np.r_[y[:-2], 9, 9]), 'smallest class has 2 samples'),
    (lambda X, y: cluster_metrics(np.where(np.arange(400)[:, None] == 0, np.inf, X), y), 'NaN or infinite')])
def test_bad_input_messages(blobs, call, msg):
    with pytest.raises(ValueError, match=re.escape(msg)): call(*blobs)

def test_silhouette_subsample_is_seeded_and_close(blobs):
    X, y = blobs
    a = cluster_metrics(X, y, sample_size=150, seed=1)['silhouette (features)'].item()
    assert a == cluster_metrics(X, y, sample_size=150, seed=1)['silhouette (features)'].item()
    assert abs(a - cluster_metrics(X, y, sample_size=None)['silhouette (features)'].item()) < 0.05

# --- plots ------------------------------------------------------------------------------------------------------------

def digits(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 8, 8), dtype=np.uint8), rng.integers(0, 3, n), rng.normal(size=(n, 2)).astype(np.float32)

def test_label_scatter_draws_every_point_with_its_class_colour():
    import matplotlib.pyplot as plt
    imgs, y, E = digits()
    fig = label_scatter(E, y, ['a', 'b', 'c'])
    pts = fig.axes[0].collections[0]
    assert len(pts.get_offsets()) == len(y)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ['a', 'b', 'c']
    plt.close(fig)

def test_grid_sample_spreads_and_caps():
    E = np.random.default_rng(0).normal(size=(10_000, 2))
    idx = grid_sample(E, 400)
    assert 100 < len(idx) <= 400 and len(np.unique(idx)) == len(idx)
    import matplotlib.pyplot as plt
    imgs = np.zeros((10_000, 8, 8), np.uint8)
    fig = thumbnail_scatter(E, imgs, max_images=400)
    assert len(fig.axes[0].artists) == len(idx)
    plt.close(fig)

def test_interactive_html_is_offline_small_and_consistent(tmp_path):
    imgs, y, E = digits(3000)
    html = interactive_scatter(E, imgs, y, ['a', 'b', 'c'], max_points=2000, seed=0, title='t')
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', html) and '<script src' not in html
    pts = json.loads(re.search(r'pts=(\[\[.*?\]\])', html).group(1))
    assert len(pts) == 2000 and len({p[3] for p in pts}) == 2000
    assert all(0 <= p[0] <= 1000 and 0 <= p[1] <= 1000 for p in pts)
    sprite = np.asarray(Image.open(io.BytesIO(base64.b64decode(re.search(r'base64,([A-Za-z0-9+/=]+)', html).group(1)))))
    cols = int(np.ceil(np.sqrt(2000)))
    for k in (0, 1234, 1999):
        r, c = divmod(k, cols)
        np.testing.assert_array_equal(sprite[r*8:(r+1)*8, c*8:(c+1)*8], imgs[pts[k][3]])
        assert pts[k][2] == y[pts[k][3]]
    p = save_html('x/map', html, ArtifactStore(tmp_path))
    assert p == tmp_path/'x'/'map.html' and p.read_text() == html
