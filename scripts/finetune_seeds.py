#!/usr/bin/env python
"""Chapter 02's whole fine-tuning repeated over seeds: the spread of its test accuracy.

Each seed runs what `featviz run --full` runs in chapter 02, through the library's `fine_tune` (not a copy): the
settings' seed replaced by the seed, `seed_everything`, MNIST with its seeded, class-stratified 10 % validation split,
the pretrained network, batches of 256, stage 1 (4 epochs, body frozen, on cached body outputs) and stage 2 (5 epochs,
everything, discriminative rates), each learning rate and stage 2's BatchNorm handling chosen by the same trials on
the validation split (the unfrozen and BatchNorm trials over the chapter's number of batch orders; a seed run at a
commit from before those trials were repeated records no `orders`: it had one); then the test set is scored once
(accuracy and 95 % Wilson interval). A seed therefore changes the validation split, the head's initial weights, the
trials' subset, the batch orders and the dropout masks.

Run from the repository root with the usual FEATVIZ_* settings (data, weights, architecture; its own FEATVIZ_CACHE):

    python scripts/finetune_seeds.py --seeds 0 1 2                 # full mode: results/finetune-seeds/seed-N.json + results/finetune-seeds.json
    python scripts/finetune_seeds.py --seeds 0 1 --mode quick      # chapter 02's quick settings, into $FEATVIZ_CACHE/finetune-seeds-quick

It is resumable: a seed whose JSON exists (for the same settings) is not redone, and an interrupted stage 2 resumes
from its per-epoch checkpoint in the cache. The summary (test accuracy per seed, mean ± sd, the settings, the commit
and the timings) is rewritten after every seed. Results go to stdout, progress to stderr; exit 0 when every seed is
done, 1 on an error, 2 on bad arguments (argparse), 130 on Ctrl-C.
"""
from __future__ import annotations
import argparse, datetime, json, os, platform, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def log(*a): print(time.strftime('%H:%M:%S'), *a, file=sys.stderr, flush=True)


def git_commit() -> dict:
    "The commit this script runs from, and whether the library or this script differ from it."
    git = lambda *a: subprocess.run(['git', '-C', str(ROOT), *a], capture_output=True, text=True).stdout.strip()
    return dict(commit=git('rev-parse', 'HEAD'), dirty=bool(git('status', '--porcelain', '--', 'featviz', 'scripts/finetune_seeds.py')))


def chapter_settings(mode: str) -> dict:
    "Chapter 02's training settings for `mode` (the values of its cell that sets epochs, batch size and trial size)."
    from featviz.study.models import UNFROZEN_TRIAL
    full = mode == 'full'
    return dict(epochs=[4, 5] if full else [2, 2], bs=256 if full else 64, n_trial=UNFROZEN_TRIAL['n'] if full else 256,
                epochs_trial=UNFROZEN_TRIAL['epochs'], orders=UNFROZEN_TRIAL['orders'] if full else 2)


def made(run: dict, key: str):
    "A setting of a finished seed's run; runs made before the trials were repeated over batch orders had one order."
    return run.get(key, 1 if key == 'orders' else None)


def run_seed(seed: int, mode: str, ckpt_dir: Path, commit: dict) -> dict:
    "One whole fine-tuning as chapter 02 runs it, with the settings' seed set to `seed`: choices, scores and timings."
    import torch
    from featviz.core.config import display_path, get_settings, resolve_device, seed_everything, subset_sizes
    from featviz.data.datasets import load_mnist
    from featviz.study.models import create_model, featviz_learner, fine_tune, image_dataloaders, split_scores
    cfg = get_settings(mode=mode, seed=seed)
    st = chapter_settings(mode)
    t0 = time.perf_counter()
    seed_everything(cfg)
    mnist = load_mnist(settings=cfg).subset(*subset_sizes(cfg), seed=cfg.seed)
    device = resolve_device(cfg)
    dls = image_dataloaders(mnist, bs=st['bs'], device=device, seed=cfg.seed)
    model, origin = create_model(cfg)
    learn = featviz_learner(dls, model)
    with learn.no_bar(), learn.no_logging():
        fine_tune(learn, tuple(st['epochs']), n_trial=st['n_trial'], epochs_trial=st['epochs_trial'], orders=st['orders'], seed=cfg.seed,
                  data=mnist, settings=cfg, checkpoint=ckpt_dir/f'seed-{seed}-stage2.pt')
        t_train = time.perf_counter() - t0
        scores = split_scores(learn)
    tables = {k: t.reset_index().to_dict('records') for k, t in learn.lr_trial_tables.items()}   # one row per candidate and batch order
    return dict(seed=seed, mode=mode, arch=origin['arch'], weights=display_path(origin['weights'], cfg), **st,
                lr_frozen=learn.chosen_lrs[0], lr_unfrozen=learn.chosen_lrs[1], body_bn=learn.chosen_bn, trials=tables,
                **scores, resumed_epochs=learn.resumed_epochs, seconds_features=learn.head_learn.feature_seconds,
                seconds_train=t_train, seconds=time.perf_counter() - t0, device=str(device), threads=torch.get_num_threads(),
                finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'), **commit)


def summarise(runs: list[dict], mode: str, command: str) -> dict:
    "Test accuracy per seed and its mean ± sd (sample sd), with the settings, commits and timings of the runs."
    import numpy as np
    acc = np.array([r['test_accuracy'] for r in runs])
    keep = ('seed', 'test_accuracy', 'test_low', 'test_high', 'valid_error', 'lr_frozen', 'lr_unfrozen', 'body_bn', 'seconds',
            'commit', 'dirty', 'finished')
    return dict(what="chapter 02's whole fine-tuning (featviz.study.models.fine_tune) over seeds: test accuracy", mode=mode,
                command=command, n_seeds=len(runs), test_accuracy_mean=float(acc.mean()) if len(acc) else None,
                test_accuracy_sd=float(acc.std(ddof=1)) if len(acc) > 1 else None,
                test_accuracy_min=float(acc.min()) if len(acc) else None, test_accuracy_max=float(acc.max()) if len(acc) else None,
                settings={k: made(runs[0], k) for k in ('arch', 'weights', 'epochs', 'bs', 'n_trial', 'epochs_trial', 'orders', 'n_train',
                                                        'n_valid', 'n_test', 'device', 'threads')} if runs else {},
                seconds_total=float(sum(r['seconds'] for r in runs)), runs=[{k: r[k] for k in keep} for r in runs],
                machine=dict(python=platform.python_version(), cpus=os.cpu_count(), platform=platform.platform()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', required=True, help='the seeds to run (each replaces the settings seed)')
    ap.add_argument('--mode', choices=('full', 'quick'), default='full', help="chapter 02's full (default) or quick settings")
    ap.add_argument('--out', type=Path, default=None,
                    help="directory for the JSON files (default: results/ in full mode, $FEATVIZ_CACHE/finetune-seeds-quick in quick mode)")
    a = ap.parse_args(argv)
    from featviz.core.config import get_settings
    from featviz.core.store import atomic_write
    cfg = get_settings(mode=a.mode)
    out = a.out or (ROOT/'results' if a.mode == 'full' else cfg.cache_dir/'finetune-seeds-quick')
    per_seed, ckpt_dir = out/'finetune-seeds', cfg.cache_dir/'finetune-seeds'
    per_seed.mkdir(parents=True, exist_ok=True); ckpt_dir.mkdir(parents=True, exist_ok=True)
    command = 'python scripts/finetune_seeds.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    commit = git_commit()       # read once, at the start: the code this process imports (later commits do not change it)
    expected = dict(mode=a.mode, arch=cfg.arch, **chapter_settings(a.mode))
    for seed in a.seeds:
        path = per_seed/f'seed-{seed}.json'
        if path.exists():
            done = json.loads(path.read_text())
            differ = {k: (made(done, k), v) for k, v in expected.items() if made(done, k) != v}
            if differ:
                log(f"error: {path} was made with other settings ({differ}, as (file, now)): delete it or pass another --out")
                return 1
            log(f"seed {seed}: done already ({path}), test accuracy {done['test_accuracy']:.4%}"); continue
        log(f"seed {seed}: fine-tuning ({a.mode} mode, {cfg.arch})")
        r = run_seed(seed, a.mode, ckpt_dir, commit)
        with atomic_write(path, 'w') as f: f.write(json.dumps(r, indent=1) + '\n')
        log(f"seed {seed}: test accuracy {r['test_accuracy']:.4%} [{r['test_low']:.4%}, {r['test_high']:.4%}], "
            f"{r['seconds']:.0f} s; wrote {path}")
    runs = sorted((json.loads(p.read_text()) for p in per_seed.glob('seed-*.json')), key=lambda r: r['seed'])
    runs = [r for r in runs if all(made(r, k) == v for k, v in expected.items())]
    summary = summarise(runs, a.mode, command)
    summary_path = out/'finetune-seeds.json'
    with atomic_write(summary_path, 'w') as f: f.write(json.dumps(summary, indent=1) + '\n')
    for r in summary['runs']: print(f"seed {r['seed']}: test accuracy {r['test_accuracy']:.4%}  ({r['seconds']:.0f} s)")
    if summary['test_accuracy_sd'] is not None:
        print(f"mean ± sd over {summary['n_seeds']} seeds: {summary['test_accuracy_mean']:.4%} ± {summary['test_accuracy_sd']:.4%}")
    log(f"wrote {summary_path}")
    return 0


if __name__ == '__main__':
    try: sys.exit(main())
    except KeyboardInterrupt:
        log('interrupted: run the same command again to resume (finished seeds are kept, stage 2 resumes from its checkpoint)')
        sys.exit(130)
