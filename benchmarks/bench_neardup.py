"""Near-duplicate detection quality of `featviz audit` on the shipped MNIST and CIFAR-10 samples, with injected copies.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_neardup.py [--datasets mnist,cifar10] [--inject 60] [--pixels 0,16] [--size 64]

Per dataset: `--inject` test rows of the shipped sample (1,000 train + 1,000 test) are replaced by near copies of as
many training images (a third each: shifted 2 px, JPEG quality 75, resized to 3/4 and back; `make_copy`, made at the
images' stored size), with the source image's label. Then `featviz.tool.audit.audit` (pretrained ResNet-50 from
FEATVIZ_WEIGHTS at `--size` px, its default layers, target precision 0.99) runs once per `--pixels` value: 0 = the
layers only (before), 16 = the 16 x 16 grey thumbnail calibrated beside them (after). The injected copies are not seen
by the calibration (its copies are generated from other draws of the set's images). Printed: the representation chosen,
every candidate's calibrated recall/precision (calibration draw) and recall/false-positive rate (report draw), and on
the injected copies: recall (copy grouped with its original) and precision (share of the images the audit flags as
duplicate or leak that are injected copies or their originals). The features are cached (FEATVIZ_CACHE).
"""
import argparse, dataclasses, json, time

import numpy as np


def inject(d, n: int, seed: int = 0):
    "A copy of ImageData `d` whose `n` seeded test rows are near copies of `n` training images; (data, src train rows, test rows, kinds)."
    from featviz.tool.audit import COPY_KINDS, make_copy
    rng = np.random.default_rng(seed)
    if not n: return d, np.array([], int), np.array([], int), np.array([])
    src = rng.choice(len(d.y_train), n, replace=False)
    dst = rng.choice(len(d.y_test), n, replace=False)
    kinds = np.array([COPY_KINDS[i % 3] for i in range(n)])
    x, y = d.x_test.copy(), d.y_test.copy()
    for s, t, k in zip(src, dst, kinds): x[t], y[t] = make_copy(d.x_train[s], k, rng), d.y_train[s]
    return dataclasses.replace(d, x_test=x, y_test=y, exact_test=None), src, dst, kinds


def quality(a, src, dst, kinds) -> dict:
    "Recall and precision of the audit's duplicate groups on the injected copies."
    from featviz.tool.audit import COPY_KINDS
    pos = {(s, int(i)): r for r, (s, i) in enumerate(zip(a.images.split, a.images['index']))}
    g = a.groups
    if not len(src): return dict(recall=float('nan'), found=0, injected=0, recall_by_kind={}, flagged=int(a.table.issue.isin(['duplicate', 'leak']).sum()),
                                 precision=float('nan'))
    o, c = np.array([pos[('train', int(s))] for s in src]), np.array([pos[('test', int(t))] for t in dst])
    found = (g[c] >= 0) & (g[c] == g[o])
    flagged = set(a.table[a.table.issue.isin(['duplicate', 'leak'])].apply(lambda r: (r.split, int(r['index'])), axis=1))
    truth = {('train', int(s)) for s in src} | {('test', int(t)) for t in dst}
    return dict(recall=float(found.mean()), found=int(found.sum()), injected=len(found),
                recall_by_kind={k: float(found[kinds == k].mean()) for k in COPY_KINDS},
                flagged=len(flagged), precision=len(flagged & truth) / len(flagged) if flagged else float('nan'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--datasets', default='mnist,cifar10')
    ap.add_argument('--inject', type=int, default=60, help='injected copies per dataset (default 60)')
    ap.add_argument('--pixels', default='0,16', help='grey-thumbnail sides to run with (0: layers only; default 0,16)')
    ap.add_argument('--size', type=int, default=64, help='network input side (default 64)')
    ap.add_argument('--json', default=None, help='write the results here too')
    a = ap.parse_args()
    from featviz.data.datasets import load_sample
    from featviz.tool.audit import audit
    res = {}
    for name in a.datasets.split(','):
        data, src, dst, kinds = inject(load_sample(name), a.inject)
        for side in (int(s) for s in a.pixels.split(',')):
            t0 = time.perf_counter()
            au = audit(data, 'resnet50', size=a.size, pixels=side or None)
            q = quality(au, src, dst, kinds)
            chosen = au.notes['layers']['near_duplicates']
            cands = {n: dict(cal_recall=round(c['calibrate']['recall'], 3), cal_precision=round(c['calibrate']['precision'], 3),
                             report_recall=round(c['report']['recall'], 3), report_fpr=round(c['report']['false_positive_rate'], 4),
                             threshold=round(c['calibrate']['threshold'], 4),
                             set_copies=[(round(c[d].get('set_copies_share', 0), 3), c[d].get('left_out_as_set_copies', 0)) for d in ('calibrate', 'report')])
                     for n, c in au.calibration.items() if 'calibrate' in c}
            joined = au.calibration.get('features or hash', {}).get('report')
            res[f'{name} pixels={side}'] = r = dict(chosen=chosen, candidates=cands, injected=q, seconds=round(time.perf_counter() - t0, 1),
                                                   joined_report=joined and dict(recall=joined['recall'], fpr=joined['false_positive_rate']),
                                                   warnings=au.notes.get('warnings'))
            print(f"== {name}, pixels={side}: chosen {chosen!r}; injected copies found {q['found']}/{q['injected']} "
                  f"(recall {q['recall']:.3f}, by kind {q['recall_by_kind']}), precision {q['precision']:.3f} of {q['flagged']} flagged; "
                  f"{r['seconds']} s", flush=True)
            for n, c in cands.items(): print(f"   {n}: {c}", flush=True)
            if joined: print(f"   features or hash (report draw): recall {joined['recall']:.3f}, fpr {joined['false_positive_rate']:.4f}")
    if a.json:
        with open(a.json, 'w') as f: json.dump(res, f, indent=1, default=str)


if __name__ == '__main__': main()
