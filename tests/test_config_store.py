"Settings from the environment and the artifact store's atomic writes."
import os
from pathlib import Path
import numpy as np
import pytest

from featviz.core.config import get_settings, SettingsError, Settings, subset_sizes
from featviz.core.store import ArtifactStore, atomic_write

def test_env_settings(monkeypatch, tmp_path):
    monkeypatch.setenv('FEATVIZ_MODE', 'full'); monkeypatch.setenv('FEATVIZ_DATA', str(tmp_path))
    monkeypatch.setenv('FEATVIZ_SEED', '7'); monkeypatch.setenv('FEATVIZ_ARCH', 'resnet50')
    s = get_settings()
    assert (s.mode, s.data_dir, s.seed, s.arch) == ('full', tmp_path, 7, 'resnet50')
    assert subset_sizes(s) == (None, None)
    assert get_settings(mode='quick').quick and subset_sizes(get_settings(mode='quick')) == (2000, 1000)

@pytest.mark.parametrize('var,value,msg', [('FEATVIZ_MODE', 'fast', 'FEATVIZ_MODE=quick or FEATVIZ_MODE=full'),
                                           ('FEATVIZ_SEED', 'x', 'FEATVIZ_SEED'),
                                           ('FEATVIZ_DEVICE', 'tpu', 'FEATVIZ_DEVICE'),
                                           ('FEATVIZ_QUICK_TEST', '-1', 'FEATVIZ_QUICK_TEST')])
def test_bad_env_values(monkeypatch, var, value, msg):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=msg): get_settings()

def test_settings_printable():
    md = Settings()._repr_markdown_()
    assert '| `mode` | `quick` | `FEATVIZ_MODE` |' in md and 'FEATVIZ_WEIGHTS' in md

def test_atomic_write_keeps_old_version(tmp_path):
    p = tmp_path/'x.npz'
    store = ArtifactStore(tmp_path)
    store.save_arrays('x', a=np.arange(3))
    class Unsaveable:
        def __array__(self, *a, **k): raise RuntimeError('cannot convert')
    with pytest.raises(RuntimeError): store.save_arrays('x', a=Unsaveable())
    assert store.load_arrays('x')['a'].tolist() == [0, 1, 2]
    assert sorted(f.name for f in tmp_path.iterdir()) == ['x.npz']

def test_atomic_write_interrupted(tmp_path):
    p = tmp_path/'sub'/'f.bin'
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(p) as f:
            f.write(b'partial'); raise KeyboardInterrupt
    assert not p.exists() and list(p.parent.iterdir()) == []

def test_missing_artifact_message(tmp_path):
    with pytest.raises(FileNotFoundError, match='run the chapter that makes it'): ArtifactStore(tmp_path).load_torch('02/model')
