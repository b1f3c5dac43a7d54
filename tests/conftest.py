import os, pytest
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent/'shared'/'data'

@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    "Each test gets its own cache and fastai home, and no FEATVIZ_* settings unless it sets them."
    for k in list(os.environ):
        if k.startswith('FEATVIZ_'): monkeypatch.delenv(k)
    monkeypatch.setenv('FEATVIZ_CACHE', str(tmp_path/'cache'))
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'fastai'))
    from fastai.data.external import fastai_cfg
    fastai_cfg.cache_clear()          # fastai caches its config (and so FASTAI_HOME) for the process
    yield
    fastai_cfg.cache_clear()

@pytest.fixture
def shared_data():
    d = Path(os.environ.get('FEATVIZ_TEST_DATA', SHARED_DATA))
    if not (d/'mnist').exists(): pytest.skip(f'full datasets not found at {d} (set FEATVIZ_TEST_DATA)')
    return d
