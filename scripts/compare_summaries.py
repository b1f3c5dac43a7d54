"""Compare the chapters' summaries of two study runs, timing fields excluded (issue 18: a restructuring must not change
the study's numbers).

    python scripts/compare_summaries.py CACHE_BEFORE CACHE_AFTER [--tol 0]

Each argument is a `FEATVIZ_CACHE` folder after `featviz run` (its `artifacts/<chapter>/summary.json`). Exit 0 when
every summary present in both is equal (numbers within `--tol`, default exactly equal), 1 otherwise, 2 on bad input.
"""
import argparse, json, math, re, sys
from pathlib import Path

TIMING = re.compile(r'second|(^|[ _])(secs?|s|time|timings|wall|minutes)$|^(time|wall)[ _]|^run_id$|^started|^finished')   # keys that measure time (or speed) or name the run

def differences(a, b, tol: float = 0.0, path: str = '') -> list[str]:
    "Where `a` and `b` differ (JSON values), keys that time the run skipped."
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if TIMING.search(str(k)): continue
            if k not in a or k not in b: out.append(f"{path}/{k}: only in {'after' if k not in a else 'before'}"); continue
            out += differences(a[k], b[k], tol, f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return [f"{path}: {len(a)} items before, {len(b)} after"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, tol, f"{path}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol: return []
        return [f"{path}: {a!r} before, {b!r} after"]
    return [] if a == b else [f"{path}: {a!r} before, {b!r} after"]

def summaries(cache: Path) -> dict[str, dict]:
    "`{chapter: summary}` of one run's artifact store."
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((cache/'artifacts').glob('*/summary.json'))}

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('before', type=Path); ap.add_argument('after', type=Path)
    ap.add_argument('--tol', type=float, default=0.0, help="largest absolute difference of numbers taken as equal (default 0)")
    a = ap.parse_args(argv)
    s0, s1 = summaries(a.before), summaries(a.after)
    if not s0 or not s1:
        print(f"no artifacts/*/summary.json under {a.before if not s0 else a.after}: pass FEATVIZ_CACHE folders of finished runs", file=sys.stderr)
        return 2
    bad = 0
    for ch in sorted(set(s0) | set(s1)):
        if ch not in s0 or ch not in s1: print(f"{ch}: only {'after' if ch not in s0 else 'before'}"); bad += 1; continue
        d = differences(s0[ch], s1[ch], a.tol)
        print(f"{ch}: {'equal' if not d else f'{len(d)} difference(s)'}" + ''.join(f"\n    {x}" for x in d[:20]))
        bad += bool(d)
    print(f"{len(set(s0) & set(s1)) - bad} of {len(set(s0) | set(s1))} chapter summaries equal (timing fields excluded, tol {a.tol})")
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
