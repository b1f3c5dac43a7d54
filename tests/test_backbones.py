"`featviz.engine.backbones`: the study's ResNet-50 checkpoint through `load_backbone` equals `featviz.study.models.create_backbone`; bad input."
import os
from pathlib import Path
import numpy as np
import pytest
import torch
from torch import nn

import featviz.engine.backbones as B
from featviz.core.config import get_settings

SHARED_WEIGHTS = Path(__file__).resolve().parents[1].parent/'shared'/'weights'/'resnet50-imagenet-v1.pth'

@pytest.fixture
def r50_checkpoint():
    p = Path(os.environ.get('FEATVIZ_TEST_WEIGHTS', SHARED_WEIGHTS))
    if not p.exists(): pytest.skip(f'ResNet-50 checkpoint not found at {p} (set FEATVIZ_TEST_WEIGHTS)')
    return p

def test_checkpoint_gives_create_backbone_features(r50_checkpoint):
    "Same weights, same v1 strides, same pooled features as today's create_backbone, on real images."
    from featviz.data.datasets import load_sample
    from featviz.engine.features import Preprocess, extract_features
    from featviz.engine.layers import LayerOutputs
    from featviz.data.images import from_arrays
    from featviz.study.models import create_backbone
    s = get_settings(weights=r50_checkpoint, arch='resnet50')
    bb = B.load_backbone('resnet50', settings=s)
    assert bb.weights == str(r50_checkpoint) and bb.info['stride_in_1x1'] is True
    assert bb.model.layer3[0].conv1.stride == (2, 2) and bb.model.layer3[0].conv2.stride == (1, 1)
    assert B.load_backbone(r50_checkpoint).model.layer4[0].conv1.stride == (2, 2)      # arch read from the checkpoint
    body, origin = create_backbone(settings=s)
    assert origin['stride_in_1x1']
    x = from_arrays(load_sample('cifar10').x_test[:6]).images(size=64)[0]
    pre = Preprocess(stats=(bb.mean, bb.std))
    ours = extract_features(LayerOutputs(bb.model, ['layer4']), x, preprocess=pre, progress=False)['layer4']
    theirs = extract_features(body, x, preprocess=pre, progress=False)['output']
    assert ours.shape == theirs.shape == (6, 2048)
    assert np.abs(ours).max() > 0.1                       # not a blank result that would match anything
    np.testing.assert_array_equal(ours, theirs)
    # and the head is ImageNet's: a class name per image from the checkpoint's own fc
    with torch.inference_mode(): logits = bb.model(pre(torch.from_numpy(x)))
    assert logits.shape == (6, 1000) and len(bb.categories) == 1000

def test_unknown_model_name():
    with pytest.raises(B.WeightsError, match=r"unknown model 'resnet05': did you mean resnet50"): B.load_backbone('resnet05', weights=None)

def test_checkpoint_for_another_architecture(tmp_path, r50_checkpoint):
    with pytest.raises(B.WeightsError, match=r"is a resnet50 checkpoint but the model asked for is 'resnet101'"):
        B.load_backbone('resnet101', weights=r50_checkpoint)
    torch.save(torch.load(r50_checkpoint, weights_only=True)['state_dict'], tmp_path/'plain.pth')
    with pytest.raises(B.WeightsError, match=r"does not fit resnet18: .* another architecture"):
        B.load_backbone('resnet18', weights=tmp_path/'plain.pth')

def test_missing_checkpoint(tmp_path, monkeypatch):
    with pytest.raises(B.WeightsError, match=r"weights file '.*nothing.pth' does not exist"):
        B.load_backbone('resnet18', weights=tmp_path/'nothing.pth')
    with pytest.raises(B.WeightsError, match=r"weights file '.*gone.pth' does not exist"):
        B.load_backbone(tmp_path/'gone.pth')

def test_offline_download_names_the_setting(monkeypatch):
    from urllib.error import URLError
    def offline(*a, **k): raise URLError('Name or service not known')
    import torchvision.models._api
    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', offline)   # where torchvision looks it up
    with pytest.raises(B.WeightsError, match=r"could not download the ImageNet weights of resnet18 .*set FEATVIZ_WEIGHTS"):
        B.load_backbone('resnet18')

def test_layer_that_cannot_be_pooled():
    from featviz.engine.layers import LayerError
    att = nn.MultiheadAttention(8, 2, batch_first=True)
    class Net(nn.Module):
        def __init__(self): super().__init__(); self.conv, self.att = nn.Conv2d(3, 8, 3), att
        def forward(self, x):
            t = self.conv(x).flatten(2).transpose(1, 2)
            return self.att(t, t, t)[0]
    with pytest.raises(LayerError, match=r"layer 'att' \(MultiheadAttention\) returns a tuple, not a tensor: it cannot be pooled"):
        B.check_layers(Net(), ['conv', 'att'], size=16)
    assert B.check_layers(Net(), 'conv', size=16).loc['conv', 'features'] == 8

def test_timm_by_name():
    pytest.importorskip('timm')
    bb = B.load_backbone('timm:resnet10t', weights=None)
    assert bb.name == 'timm:resnet10t' and bb.layer_table(64).loc['layer4', 'features'] == 512

def test_vit_blocks_pool_over_tokens():
    "A randomly initialised small torchvision ViT: its encoder blocks give one D-vector per image (the mean of the tokens)."
    from torchvision.models import VisionTransformer
    from featviz.engine.features import extract_features
    from featviz.engine.layers import LayerOutputs, layer_names
    torch.manual_seed(0)
    vit = VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)
    blocks = [n for n in layer_names(vit) if n.startswith('encoder.layers.encoder_layer_') and n.count('.') == 2]
    assert blocks == ['encoder.layers.encoder_layer_0', 'encoder.layers.encoder_layer_1']
    assert B.check_layers(vit, blocks, size=224).features.tolist() == [32, 32]      # run at its own 32 px
    x = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    fs = extract_features(LayerOutputs(vit, blocks), x, bs=2, device='cpu')
    cls = extract_features(LayerOutputs(vit, blocks), x, pool='cls', bs=2, device='cpu')
    with torch.inference_mode(): out = LayerOutputs(vit, blocks)(B.load_backbone(vit).preprocess(torch.from_numpy(x)))
    for b in blocks:
        assert fs[b].shape == (5, 32) and fs.shapes[b] == (5, 32)
        np.testing.assert_allclose(fs[b], out[b].mean(1).numpy(), atol=1e-5)
        np.testing.assert_allclose(cls[b], out[b][:, 0].numpy(), atol=1e-5)
    from featviz.engine.layers import LayerError
    with pytest.raises(LayerError, match=r"'encoder.layers.encoder_layer_1.self_attention' \(MultiheadAttention\) returns a tuple"):
        B.check_layers(vit, 'encoder.layers.encoder_layer_1.self_attention')
    with pytest.raises(ValueError, match=r"VisionTransformer takes 32×32 images only"): B.load_backbone(vit, size=64)
