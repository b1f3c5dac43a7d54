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

def headless_chromium(user_data_dir, chromium: str, chromedriver: str):
    "A selenium driver for headless Chromium with no background networking and browser console logs kept (the browser tests')."
    from selenium import webdriver                 # in the dev extras
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
              '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage',
              '--window-size=1280,1000', f'--user-data-dir={user_data_dir}'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(chromedriver), options=opts)

@pytest.fixture
def ckpt(tmp_path):
    "A randomly initialised ResNet-18 saved as a checkpoint that names its architecture (explore's and audit's tests)."
    import torch, torchvision
    torch.manual_seed(0)
    p = tmp_path/'weights'/'resnet18-random.pth'; p.parent.mkdir()
    torch.save(dict(arch='resnet18', state_dict=torchvision.models.resnet18().state_dict()), p)
    return p
