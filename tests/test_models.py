"Backbone loading (through featviz.engine.backbones' reader): checkpoint formats, the v1 stride layout, and the errors a user sees."
import os, sys
from pathlib import Path
import numpy as np
import pytest
import torch, torchvision

from featviz.core.config import get_settings
from featviz.study.models import (create_backbone, load_checkpoint, WeightsError, FeatvizNet, featviz_head,
                            save_finetuned, load_finetuned, create_model, ARCHS)
from featviz.core.store import ArtifactStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'scripts'))
SHARED_WEIGHTS = Path(__file__).resolve().parents[2]/'shared'/'weights'/'resnet50-imagenet-v1.pth'
FIXTURE = Path(__file__).parent/'fixtures'/'resnet50_v1_chelsea.npy'

@pytest.fixture
def r50_weights():
    p = Path(os.environ.get('FEATVIZ_TEST_WEIGHTS', SHARED_WEIGHTS))
    if not p.exists(): pytest.skip(f'ResNet-50 checkpoint not found at {p}')
    return p

def test_unknown_architecture():
    with pytest.raises(WeightsError, match="unknown architecture 'vgg16': FEATVIZ_ARCH must be one of resnet18"):
        create_backbone('vgg16')

def test_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="weights file .*nope.pth' does not exist: fix the path \\(FEATVIZ_WEIGHTS"):
        create_backbone('resnet18', weights=tmp_path/'nope.pth')

def test_weights_directory_without_checkpoint(tmp_path):
    with pytest.raises(WeightsError, match='is a folder with no resnet18\\*.pth checkpoint'):
        create_backbone('resnet18', weights=tmp_path)

def test_corrupt_weights_file(tmp_path):
    p = tmp_path/'resnet18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), p)
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(WeightsError, match='cannot read weights file .*resnet18.pth .*corrupt'):
        create_backbone('resnet18', weights=p)

def test_plain_state_dict_loads(tmp_path):
    ref = torchvision.models.resnet18()
    p = tmp_path/'r18.pth'; torch.save(ref.state_dict(), p)
    body, origin = create_backbone('resnet18', weights=p)
    assert origin == {'arch': 'resnet18', 'weights': str(p), 'stride_in_1x1': False}
    assert torch.equal(body.layer4[1].conv2.weight, ref.layer4[1].conv2.weight)

def test_checkpoint_for_another_architecture(tmp_path):
    p = tmp_path/'r18.pth'; torch.save(torchvision.models.resnet18().state_dict(), p)
    with pytest.raises(WeightsError, match='does not fit resnet34: .*another architecture.*FEATVIZ_ARCH'):
        create_backbone('resnet34', weights=p)
    q = tmp_path/'tagged.pth'; torch.save({'state_dict': torchvision.models.resnet18().state_dict(), 'arch': 'resnet18'}, q)
    with pytest.raises(WeightsError, match="is a resnet18 checkpoint but the model asked for is 'resnet50': .*set FEATVIZ_ARCH=resnet18"):
        create_backbone('resnet50', weights=q)

def test_not_a_state_dict(tmp_path):
    p = tmp_path/'x.pth'; torch.save([1, 2, 3], p)
    with pytest.raises(WeightsError, match='holds no state_dict'): load_checkpoint(p, 'resnet18')

def test_full_mode_offline_without_weights_is_an_error(monkeypatch):
    def offline(*a, **k): raise OSError('Temporary failure in name resolution')
    monkeypatch.setattr(torchvision.models, 'get_model', lambda arch, weights=None: offline() if weights else torchvision.models.resnet18())
    with pytest.raises(WeightsError, match='could not download the ImageNet weights of resnet18 .*set FEATVIZ_WEIGHTS'):
        create_backbone('resnet18', settings=get_settings(mode='full'))
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED RESNET18'):
        body, origin = create_backbone('resnet18', settings=get_settings(mode='quick'))
    assert origin['weights'].startswith('random init')

def test_pretrained_false_is_random_and_explicit():
    body, origin = create_backbone('resnet18', pretrained=False)
    assert origin['weights'] == 'random init' and isinstance(body, torch.nn.Sequential)
    assert list(dict(body.named_children())) == ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4']

def test_head_names_and_shapes():
    m = FeatvizNet(create_backbone('resnet18', pretrained=False)[0])
    names = dict(m.named_modules())
    assert {'body', 'head.pool', 'head.hidden', 'head.logits'} <= set(names)
    assert names['head.fc'].in_features == 1024 and names['head.logits'].in_features == 512
    assert isinstance(names['head.hidden'], torch.nn.ReLU) and not names['head.hidden'].inplace

def test_stride_in_1x1_applied(r50_weights):
    from make_fixtures import chelsea_features
    body, origin = create_backbone('resnet50', weights=r50_weights)
    assert origin['stride_in_1x1']
    assert body.layer3[0].conv1.stride == (2, 2) and body.layer3[0].conv2.stride == (1, 1)
    ref = np.load(FIXTURE)
    got = chelsea_features(body)
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-3
    sd, _ = load_checkpoint(r50_weights, 'resnet50')     # the same weights with torchvision's v1.5 strides
    naive = torchvision.models.resnet50(); naive.load_state_dict(sd)
    naive_body = torch.nn.Sequential(*list(naive.children())[:-2])
    assert np.linalg.norm(chelsea_features(naive_body) - ref) / np.linalg.norm(ref) > 0.1

def test_saved_model_round_trip(tmp_path):
    model, origin = create_model(get_settings(arch='resnet18'), pretrained=False)
    x = torch.randn(4, 3, 28, 28)
    with torch.inference_mode(): want = model.eval()(x)
    store = ArtifactStore(tmp_path)
    save_finetuned(model, store, 'm', note='test')
    back, meta = load_finetuned(store, 'm')
    assert meta['arch'] == 'resnet18' and meta['note'] == 'test'
    with torch.inference_mode(): assert torch.equal(back(x), want)

def test_get_finetuned_loads_or_trains_in_quick_mode_only(tmp_path, monkeypatch):
    from featviz.study.models import get_finetuned, LR_CANDIDATES
    real = torchvision.models.get_model
    def offline(arch, weights=None):
        if weights is not None: raise OSError('offline')
        return real(arch)
    monkeypatch.setattr(torchvision.models, 'get_model', offline)
    store = ArtifactStore(tmp_path)
    full = get_settings(mode='full', arch='resnet18')
    with pytest.raises(FileNotFoundError, match='run chapter 02 first'): get_finetuned(full, store)
    quick = get_settings(mode='quick', arch='resnet18', quick_train=200, quick_test=100)
    with pytest.warns(UserWarning, match='RANDOMLY INITIALISED'):       # offline: no resnet18 weights
        model, meta = get_finetuned(quick, store)
    assert meta['mode'] == 'quick' and store.exists('02_resnet_finetune/model', '.pt')
    assert (meta['n_train'], meta['n_valid'], meta['n_test']) == (180, 20, 100)     # 10 % of the training images validate
    k, n, z = round(meta['test_accuracy'] * meta['n_test']), meta['n_test'], 1.959963984540054     # Wilson's interval from its formula
    p, d = k / n, 1 + z * z / n; h = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    assert abs(meta['test_low'] - (p + z * z / (2 * n) - h) / d) < 1e-9 and abs(meta['test_high'] - (p + z * z / (2 * n) + h) / d) < 1e-9
    again, _ = get_finetuned(quick, store)                                # now loaded, not retrained
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    with pytest.raises(FileNotFoundError, match='quick-mode resnet18; full mode needs'): get_finetuned(full, store)


def test_fine_tune_resumes_stage_2_from_its_last_epoch(tmp_path):
    "fine_tune(checkpoint=) interrupted after stage 2's first epoch, then run again: it trains only the second, same weights."
    import random
    from fastai.basics import Callback
    from featviz.core.config import Settings
    from featviz.data.datasets import ImageData
    from featviz.study.models import featviz_learner, fine_tune, image_dataloaders
    rng = np.random.default_rng(0)
    toy = ImageData('toy', rng.integers(0, 256, (96, 28, 28), dtype=np.uint8), rng.integers(0, 3, 96),
                    rng.integers(0, 256, (16, 28, 28), dtype=np.uint8), rng.integers(0, 3, 16), ['a', 'b', 'c'])
    class CtrlCInStage2(Callback):
        order = 66                                   # after the checkpoint (65)
        def after_epoch(self):
            if self.n_epoch == 2 and self.epoch == 0: raise KeyboardInterrupt
    def run(ckpt=None, cbs=()):
        torch.manual_seed(0); random.seed(0); np.random.seed(0)
        model = create_model(get_settings(arch='resnet18'), 3, pretrained=False)[0]
        learn = featviz_learner(image_dataloaders(toy, bs=16, device='cpu', seed=0), model, precision='fp32')
        learn.add_cbs(list(cbs))
        with learn.no_bar(), learn.no_logging():
            fine_tune(learn, (1, 2), lr_frozen=1e-3, lr_unfrozen=1e-3, bn='eval', cached=False, checkpoint=ckpt)
        return learn
    plain, ckpt = run(), tmp_path/'stage2.pt'
    with pytest.raises(KeyboardInterrupt): run(ckpt, [CtrlCInStage2()])
    assert torch.load(ckpt, weights_only=True)['epoch'] == 1
    resumed = run(ckpt)
    diff = max((a.float() - b.float()).abs().max().item() for a, b in zip(plain.model.state_dict().values(), resumed.model.state_dict().values()))
    assert (plain.resumed_epochs, resumed.resumed_epochs) == (0, 1) and diff <= 1e-6 and not ckpt.exists()
