"""Write tests/fixtures/resnet50_v1_chelsea.npy: pooled body features of scikit-image's `chelsea` photo through the
offline ResNet-50 (v1 stride layout applied), used to test that checkpoints load with the right strides.

Usage: python scripts/make_fixtures.py /path/to/resnet50-imagenet-v1.pth
"""
import sys
from pathlib import Path
import numpy as np, torch
from skimage import data
from featviz.study.models import create_backbone
from featviz.core.config import get_settings

def chelsea_features(body) -> np.ndarray:
    from fastai.vision.core import imagenet_stats
    mean, std = (torch.tensor(v)[:, None, None] for v in imagenet_stats)
    x = torch.nn.functional.interpolate(torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255,
                                        size=(224, 224), mode='bilinear', antialias=True)
    with torch.inference_mode(): return body.eval()((x - mean) / std).mean((2, 3))[0].numpy()

if __name__ == '__main__':
    body, origin = create_backbone('resnet50', weights=sys.argv[1], settings=get_settings(mode='full'))
    assert origin['stride_in_1x1']
    out = Path(__file__).resolve().parents[1]/'tests'/'fixtures'/'resnet50_v1_chelsea.npy'
    np.save(out, chelsea_features(body).astype(np.float32))
    print(out, out.stat().st_size)
