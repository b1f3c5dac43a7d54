"""Jobs that tests/test_distributed.py runs in one process (`python`) and in two (`torchrun --nproc_per_node 2`).

    python tests/distributed_job.py extract CACHE_DIR [--model small|resnet50] [--images N] [--bs BS] [--no-cache]
    python tests/distributed_job.py finetune CACHE_DIR [--n-train N] [--n-test N]

`extract` writes the features of the shipped MNIST sample's first N test images to the feature cache in CACHE_DIR
(with --no-cache: no cache, `out_dir=CACHE_DIR/out`).
With FEATVIZ_TEST_CRASH_RANK=R, rank R dies (os._exit, no clean-up) in its second batch, once another rank has a
complete shard: a crash mid-extraction. `finetune` trains a random-init ResNet-18 for one frozen and one unfrozen
epoch and saves it; every rank writes `rank<R>.json` (losses and a checksum of its weights) into CACHE_DIR.
"""
import argparse, glob, json, logging, os, sys, time
from pathlib import Path

import numpy as np
import torch
from torch import nn


class SmallNet(nn.Module):
    "A small fixed-seed CNN; a forward pass can crash on purpose (see the module docstring)."
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.c2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        crash = os.environ.get('FEATVIZ_TEST_CRASH_RANK')
        if crash is not None and self.calls == 2 and os.environ.get('RANK') == crash:
            root = os.environ['FEATVIZ_TEST_SHARDS']
            for _ in range(600):        # wait (at most 60 s) until another rank's shard is complete, then die
                if glob.glob(f'{root}/**/rows*.json', recursive=True): break
                time.sleep(0.1)
            os._exit(3)
        return self.c2(self.c1(x))


def extract(a):
    from featviz.data.datasets import load_sample
    from featviz.engine.features import FeatureCache, Preprocess, extract_features
    from featviz.engine.layers import LayerOutputs
    logging.basicConfig(level=logging.INFO, format='%(name)s: %(message)s')
    data = load_sample('mnist')
    if a.model == 'small': fn, pre = LayerOutputs(SmallNet(), ['c1', 'c2']), Preprocess(n_channels=1, stats=None)
    else:
        from featviz.study.models import create_backbone
        body, _ = create_backbone('resnet50')
        fn, pre = LayerOutputs(body, ['layer3', 'layer4']), Preprocess()
    where = dict(out_dir=Path(a.cache)/'out') if a.no_cache else dict(cache=FeatureCache(Path(a.cache)/'features'))
    fs = extract_features(fn, data, 'test', indices=np.arange(a.images), preprocess=pre, bs=a.bs, progress=False, **where)
    print(f"rank {os.environ.get('RANK', 0)}: {fs!r}", flush=True)


def finetune(a):
    from featviz.core.config import Settings
    from featviz.data.datasets import load_sample
    from featviz.study.models import image_dataloaders
    from featviz.engine.distributed import rank_device
    from featviz.study.models import create_model, featviz_learner, fine_tune, save_finetuned
    from featviz.core.store import ArtifactStore
    from fastai.basics import Callback
    class CountBatches(Callback):
        "Training batches this rank ran (a rank's share of each epoch under fastai's DistributedDL)."
        n = 0
        def after_batch(self):
            if self.training: self.n += 1
    class CountingStore(ArtifactStore):
        "Counts the checkpoints this rank wrote."
        saves = 0
        def save_torch(self, *args, **kwargs):
            self.saves += 1
            return super().save_torch(*args, **kwargs)
    s = Settings(arch='resnet18', device='cpu', cache_dir=a.cache)
    data = load_sample('mnist').subset(a.n_train, a.n_test, seed=0)
    torch.manual_seed(0)
    model, _ = create_model(s, pretrained=False)
    learn = featviz_learner(image_dataloaders(data, bs=32, device=rank_device(s), seed=0), model, precision='fp32')
    learn.add_cb(counter := CountBatches())
    before = float(learn.validate()[0])
    with learn.no_bar(), learn.no_logging(): fine_tune(learn, (1, 1), lr_frozen=3e-3, lr_unfrozen=1e-3, bn='eval')   # no trials: DDP mechanics only
    after = float(learn.validate()[0])
    store = CountingStore(Path(a.cache)/'artifacts')
    path = save_finetuned(learn.model, store, 'ft/model', mode='test')
    checksum = float(sum(p.detach().double().sum() for p in learn.model.parameters()))
    rank = int(os.environ.get('RANK', 0))
    (Path(a.cache)/f'rank{rank}.json').write_text(json.dumps(dict(before=before, after=after, checksum=checksum,
        path=str(path), saves=store.saves, train_batches=counter.n, world=int(os.environ.get('WORLD_SIZE', 1)))))


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('job', choices=['extract', 'finetune'])
    p.add_argument('cache')
    p.add_argument('--model', default='small', choices=['small', 'resnet50'])
    p.add_argument('--images', type=int, default=300)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--no-cache', action='store_true', help='extract with out_dir=CACHE_DIR/out instead of a feature cache')
    p.add_argument('--n-train', type=int, default=256)
    p.add_argument('--n-test', type=int, default=128)
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    extract(a) if a.job == 'extract' else finetune(a)
