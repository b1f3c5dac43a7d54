"Feature engine: hooks never left behind, layer-name errors, cache recovery, memmap output, kymatio under new SciPy."
import json, subprocess, sys, tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from featviz.engine.features import FeatureCache, Preprocess, extract_features, model_fingerprint
from featviz.engine.layers import LayerError, LayerOutputs, hook_count as n_hooks, layer_names
from featviz.study.scattering import ScatteringFeatures, patch_scipy_sph_harm

def images(n=64, shape=(28, 28), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)

class Boom(nn.Module):
    def forward(self, x): raise RuntimeError('boom in forward')

def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))

# --- hooks -----------------------------------------------------------------------------------------------------------

def test_no_hooks_left_after_normal_extraction():
    from torchvision.models import resnet18
    model = resnet18(num_classes=10)
    before = n_hooks(model)
    fs = extract_features(LayerOutputs(model, ['layer3', 'layer4', 'avgpool', 'fc']), images(20), bs=8, device='cpu',
                          progress=False)
    assert n_hooks(model) == before == 0
    assert fs.shapes == {'layer3': (256, 2, 2), 'layer4': (512, 1, 1), 'avgpool': (512, 1, 1), 'fc': (10,)}
    assert {k: v.shape for k, v in fs.features.items()} == {'layer3': (20, 256), 'layer4': (20, 512), 'avgpool': (20, 512), 'fc': (20, 10)}

def test_no_hooks_left_when_forward_raises():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), Boom()).train()
    before = n_hooks(model)
    with pytest.raises(RuntimeError, match='boom in forward'):
        extract_features(LayerOutputs(model, ['0', '1']), images(10), bs=4, device='cpu', progress=False)
    with pytest.raises(RuntimeError, match='boom in forward'):       # also when called directly, outside the engine
        LayerOutputs(model, '0')(torch.zeros(1, 3, 8, 8))
    assert n_hooks(model) == before == 0
    assert model.training                                               # the engine restored train mode

def test_hooked_outputs_match_a_plain_forward_and_are_not_changed_in_place():
    model = small_net().eval()
    fs = extract_features(LayerOutputs(model, ['1', '2', '5']), images(16), device='cpu', pool='flatten', progress=False)
    assert not model.training and not model[1].training          # each module keeps its own mode, not the wrapper's
    with torch.inference_mode(): ref = model(Preprocess()(torch.from_numpy(images(16)))).numpy()
    np.testing.assert_allclose(fs['5'], ref, rtol=1e-5, atol=1e-6)
    assert fs['1'].min() < 0 <= fs['2'].min()        # BatchNorm output keeps its negatives although ReLU(inplace) follows

# --- layer names -----------------------------------------------------------------------------------------------------

def test_unknown_layer_lists_valid_names_and_close_matches():
    model = small_net()
    with pytest.raises(LayerError) as e: LayerOutputs(model, ['5', 'conv'])
    msg = str(e.value)
    assert "unknown layer(s) ['conv']" in msg
    assert 'Valid names (6): 0, 1, 2, 3, 4, 5' in msg
    with pytest.raises(LayerError, match=r"did you mean \['body.1'"):
        LayerOutputs(nn.ModuleDict({'body': nn.Sequential(nn.Identity(), nn.ReLU())}), ['body.l'])
    assert layer_names(model) == ['0', '1', '2', '3', '4', '5']

# --- cache -----------------------------------------------------------------------------------------------------------

@pytest.fixture
def cache(tmp_path): return FeatureCache(tmp_path/'features')

def run(cache, fn=None, x=None, **kw):
    return extract_features(fn or small_net(), images() if x is None else x, cache=cache, device='cpu', progress=False, **kw)

def test_cache_hit_returns_identical_memmapped_features(cache):
    first, again = run(cache), run(cache)
    assert (first.hit, again.hit) == (False, True)
    # a hit still knows how long the extraction itself took (recorded to the millisecond), not just the load
    assert first.computed_seconds == first.seconds and again.computed_seconds == pytest.approx(first.seconds, abs=1e-3)
    assert isinstance(again['output'], np.memmap) and not again['output'].flags.writeable
    np.testing.assert_array_equal(again['output'], first['output'])
    side = json.loads(again.paths['output'].with_suffix('.json').read_text())
    assert side['shape'] == [64, 3] and side['dtype'] == 'float32' and side['item_shape'] == [3]

def test_cache_key_tracks_weights_data_subset_and_preprocessing(cache):
    net = small_net()
    run(cache, net)
    assert run(cache, net, indices=range(10)).hit is False
    assert run(cache, net, x=images(seed=1)).hit is False
    assert run(cache, net, preprocess=Preprocess(stats=None)).hit is False
    assert run(cache, net, pool='max').hit is False
    fp = model_fingerprint(net)
    with torch.no_grad(): net[0].bias += 1
    assert model_fingerprint(net) != fp and run(cache, net).hit is False
    assert len(cache.entries()) == 6

def test_resize_is_part_of_the_cache_key_and_old_keys_stay_valid(cache):
    # keys written before `size` existed must still match: the default preprocessing's key has no size in it
    assert 'size' not in Preprocess().key and 'size' not in Preprocess(n_channels=None, stats=None).key
    assert 'size=56' in Preprocess(size=56).key
    net = small_net()
    run(cache, net)
    up = run(cache, net, preprocess=Preprocess(size=56))
    assert up.hit is False and run(cache, net, preprocess=Preprocess(size=56)).hit is True
    assert not np.array_equal(np.asarray(up['output']), np.asarray(run(cache, net)['output']))

def test_resize_upsamples_grey_and_colour_images():
    grey, rgb = torch.from_numpy(images(2)), torch.from_numpy(images(2, (32, 32, 3)))
    assert Preprocess(size=64)(grey).shape == (2, 3, 64, 64)
    assert Preprocess(n_channels=None, stats=None, size=64)(rgb).shape == (2, 3, 64, 64)
    flat = torch.full((1, 8, 8), 200, dtype=torch.uint8)            # a constant image stays constant when resized
    assert torch.allclose(Preprocess(n_channels=None, stats=None, size=20)(flat), torch.tensor(200 / 255))
    with pytest.raises(ValueError, match='size=-1'): Preprocess(size=-1)

@pytest.mark.parametrize('damage', ['truncate_npy', 'garbage_sidecar', 'missing_sidecar', 'sidecar_wrong_shape', 'bad_header'])
def test_corrupt_cache_entries_are_recomputed(cache, damage, caplog):
    net = small_net()
    ref = np.array(run(cache, net)['output'])
    npy = next(cache.root.glob('*.npy')); side = npy.with_suffix('.json')
    if damage == 'truncate_npy':
        with open(npy, 'r+b') as f: f.truncate(npy.stat().st_size - 12)
    elif damage == 'garbage_sidecar': side.write_text('{"parts": [1, 2')
    elif damage == 'missing_sidecar': side.unlink()
    elif damage == 'sidecar_wrong_shape':
        meta = json.loads(side.read_text()); meta['shape'] = [65, 3]; side.write_text(json.dumps(meta))
    elif damage == 'bad_header':
        b = bytearray(npy.read_bytes()); b[:6] = b'NOTNPY'; npy.write_bytes(bytes(b))
    redo = run(cache, net)
    assert redo.hit is False and 'is invalid' in caplog.text
    np.testing.assert_array_equal(redo['output'], ref)
    assert run(cache, net).hit is True
    assert not list(cache.root.glob('*.tmp'))

def test_sha_verification_catches_flipped_bytes(tmp_path):
    net = small_net()
    ref = np.array(run(FeatureCache(tmp_path), net)['output'])
    npy = next(tmp_path.glob('*.npy'))
    b = bytearray(npy.read_bytes()); b[-1] ^= 0xFF; npy.write_bytes(bytes(b))   # same size: only the checksum sees it
    assert run(FeatureCache(tmp_path, verify='sha'), net).hit is False
    np.testing.assert_array_equal(run(FeatureCache(tmp_path, verify='sha'), net)['output'], ref)

def test_failed_extraction_leaves_no_cache_files(cache):
    class FailsLater(nn.Module):
        calls = 0
        def forward(self, x):
            self.calls += 1
            if self.calls == 3: raise RuntimeError('fails on batch 3')
            return x.mean((2, 3))
    with pytest.raises(RuntimeError, match='batch 3'): run(cache, FailsLater(), bs=8)
    assert [p for p in cache.root.rglob('*') if p.is_file() and p.parent.name != 'locks'] == []   # lock files stay (a few bytes)

def test_uncacheable_callable_is_refused(cache):
    with pytest.raises(ValueError, match='cache_id'): run(cache, lambda x: x.mean((2, 3)))
    fn = lambda x: x.mean((2, 3))
    fn.cache_id = 'channel-means'
    assert run(cache, fn).hit is False and run(cache, fn).hit is True

# --- memmap output and memory ----------------------------------------------------------------------------------------

class Wide(nn.Module):
    "2,352 features per 28×28 image."
    def forward(self, x): return x.flatten(1)

def test_memmap_output_path(tmp_path):
    x = images(300)
    mem = extract_features(Wide(), x, bs=64, device='cpu', progress=False)
    disk = extract_features(Wide(), x, bs=64, device='cpu', progress=False, out_dir=tmp_path)
    assert isinstance(disk['output'], np.memmap) and disk.paths['output'] == tmp_path/'output.npy'
    np.testing.assert_array_equal(np.load(tmp_path/'output.npy'), mem['output'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['output.npy']

@pytest.mark.parametrize('where', ['out_dir', 'cache'])
def test_streaming_output_does_not_hold_the_dataset_in_memory(tmp_path, where):
    x = images(2000)                                  # output: 2000 × 2352 float32 = 18.8 MB
    out_bytes = 2000 * 3 * 28 * 28 * 4
    kw = dict(out_dir=tmp_path) if where == 'out_dir' else dict(cache=FeatureCache(tmp_path))
    tracemalloc.start()
    try:
        extract_features(Wide(), x, bs=100, device='cpu', progress=False, **kw)
        _, peak_stream = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        extract_features(Wide(), x, bs=100, device='cpu', progress=False)
        _, peak_ram = tracemalloc.get_traced_memory()
    finally: tracemalloc.stop()
    assert peak_ram >= out_bytes                      # the in-memory output is one preallocated array ...
    assert peak_stream < out_bytes / 5                # ... streamed to disk, memory stays at about one batch

# --- scattering and the SciPy shim -----------------------------------------------------------------------------------

def test_kymatio_torch_imports_in_a_fresh_process_under_current_scipy():
    code = ("import scipy, scipy.special as s; had = hasattr(s, 'sph_harm'); "
            "from featviz.study.scattering import import_kymatio_torch; kt = import_kymatio_torch(); "
            "from kymatio.torch import Scattering2D, HarmonicScattering3D; "
            "print(scipy.__version__, had, hasattr(s, 'sph_harm'))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    version, had, has = r.stdout.split()
    assert has == 'True'
    major, minor = map(int, version.split('.')[:2])
    if (major, minor) >= (1, 17): assert had == 'False'          # the case the shim exists for

def test_only_3d_scattering_needs_sph_harm():
    "kymatio uses sph_harm in its 3-D filter bank alone; 2-D scattering imports and runs without the shim."
    import kymatio
    root = Path(kymatio.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob('*.py') if 'sph_harm' in p.read_text())
    assert users == ['scattering3d/filter_bank.py']
    code = ("import scipy.special as s, torch; "
            "from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D as S; "
            "print(tuple(S(J=2, shape=(28, 28))(torch.rand(1, 28, 28)).shape), hasattr(s, 'sph_harm'))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import scipy
    assert r.stdout.split(')')[0] + ')' == '(1, 81, 7, 7)'
    if tuple(map(int, scipy.__version__.split('.')[:2])) >= (1, 17):
        assert r.stdout.strip().endswith('False')            # it ran with sph_harm absent
        r = subprocess.run([sys.executable, '-c', 'import kymatio.torch'], capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and 'sph_harm' in r.stderr   # without the shim, kymatio.torch does not import

def test_sph_harm_shim_matches_the_old_convention():
    import scipy.special as sps
    patch_scipy_sph_harm()
    az, polar = 2.1, 0.4          # old API: sph_harm(m, n, azimuthal, polar)
    np.testing.assert_allclose(sps.sph_harm(0, 0, az, polar), 0.5 / np.sqrt(np.pi))
    np.testing.assert_allclose(sps.sph_harm(1, 1, az, polar), -0.5 * np.sqrt(3 / (2 * np.pi)) * np.exp(1j * az) * np.sin(polar))
    np.testing.assert_allclose(sps.sph_harm(0, 2, az, polar), 0.25 * np.sqrt(5 / np.pi) * (3 * np.cos(polar)**2 - 1))
    assert patch_scipy_sph_harm() is False                       # idempotent

def test_harmonic_scattering_3d_runs_with_the_shim():
    from featviz.study.scattering import import_kymatio_torch
    s3 = import_kymatio_torch().HarmonicScattering3D(J=1, shape=(8, 8, 8), L=1)
    out = s3(torch.rand(1, 8, 8, 8))
    assert torch.isfinite(out).all() and out.abs().sum() > 0

def test_scattering_shapes_and_determinism():
    mn, cf = images(12), images(5, (32, 32, 3))
    s = ScatteringFeatures.for_images(mn)
    a = extract_features(s, mn, bs=5, device='cpu', progress=False)
    b = extract_features(s, mn, bs=12, device='cpu', progress=False)
    assert a.shapes['scattering'] == (1, 81, 7, 7) and a['scattering'].shape == (12, 3969)
    np.testing.assert_array_equal(a['scattering'], b['scattering'])
    c = extract_features(ScatteringFeatures.for_images(cf), cf, device='cpu', progress=False)
    assert c.shapes['scattering'] == (3, 81, 8, 8) and c['scattering'].shape == (5, 15552)
    # each colour channel is scattered on its own: channel 1 of the colour result = scattering of that channel alone
    g = extract_features(ScatteringFeatures((32, 32)), np.ascontiguousarray(cf[..., 1]), device='cpu', progress=False)
    np.testing.assert_allclose(c['scattering'].reshape(5, 3, -1)[:, 1], g['scattering'], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='for_images'): extract_features(s, cf, device='cpu', progress=False)

def test_scattering_is_non_expansive():
    s = ScatteringFeatures((28, 28))
    x, y = (Preprocess(None, None)(torch.from_numpy(images(8, seed=k))) for k in (1, 2))
    with torch.inference_mode(): Sx, Sy = s(x), s(y)
    d_in = (x - y).flatten(1).norm(dim=1)
    d_out = (Sx - Sy).flatten(1).norm(dim=1) * 2**s.J          # undo the 2^J × 2^J subsampling
    assert (d_out <= d_in * 1.01).all()

# --- options -----------------------------------------------------------------------------------------------------------

class TwoOutputs(nn.Module):
    output_names, default_pool = ('maps', 'means'), 'flatten'
    def forward(self, x): return {'maps': x, 'means': x}

def test_pool_per_output_falls_back_to_the_functions_default():
    fs = extract_features(TwoOutputs(), images(4), pool={'means': 'avg'}, device='cpu', progress=False)
    assert fs['maps'].shape == (4, 3 * 28 * 28) and fs['means'].shape == (4, 3)
    assert fs.shapes == {'maps': (3, 28, 28), 'means': (3, 28, 28)}

def test_wrong_output_structure_and_conflicting_destinations(tmp_path):
    with pytest.raises(TypeError, match=r"named \['maps', 'means'\].*got \['maps'\]"):
        extract_features(type('One', (TwoOutputs,), {'forward': lambda self, x: {'maps': x}})(), images(2), device='cpu', progress=False)
    with pytest.raises(ValueError, match='not both'):
        extract_features(small_net(), images(2), cache=FeatureCache(tmp_path), out_dir=tmp_path, progress=False)

def test_fingerprint_covers_buffers_of_every_dtype():
    net = small_net()
    fp = model_fingerprint(net)
    net[1].num_batches_tracked += 1                      # a 0-d int64 buffer
    assert model_fingerprint(net) != fp
    assert model_fingerprint(small_net().to(torch.bfloat16)) != model_fingerprint(small_net())
