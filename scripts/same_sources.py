"""Check, cell by cell, that the notebooks carrying a run's outputs have the sources of the commit that ran.

    python scripts/same_sources.py RUN_COMMIT            # the working tree's notebooks against RUN_COMMIT
    python scripts/same_sources.py RUN_COMMIT OTHER      # the notebooks of commit OTHER against RUN_COMMIT

Every notebook under nbs/ in either side is compared: the same cells in the same order (ids, types, sources). Prints one
line per notebook that differs and exits 1 if any does; prints the count compared and exits 0 otherwise.
"""
import argparse, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _git(*args) -> str: return subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

def notebooks(commit: str | None) -> dict[str, str]:
    "Path → text of every notebook under nbs/ at `commit` (None: the working tree)."
    if commit is None: return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT/'nbs').rglob('*.ipynb')) if '.ipynb_checkpoints' not in p.parts}
    return {p: _git('show', f'{commit}:{p}') for p in _git('ls-tree', '-r', '--name-only', commit, 'nbs').split() if p.endswith('.ipynb')}

def cells(text: str) -> list[tuple]:
    "The (id, type, source) of each cell: what a run must not change."
    return [(c.get('id'), c['cell_type'], ''.join(c['source'])) for c in json.loads(text)['cells']]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run_commit'); ap.add_argument('other', nargs='?')
    a = ap.parse_args()
    ran, now = notebooks(a.run_commit), notebooks(a.other)
    bad = [f"{p}: only in {'the run commit' if p in ran else 'the outputs'}" for p in sorted(set(ran) ^ set(now))]
    for p in sorted(set(ran) & set(now)):
        x, y = cells(ran[p]), cells(now[p])
        diff = [i for i, (u, v) in enumerate(zip(x, y)) if u != v]
        if len(x) != len(y) or diff: bad.append(f"{p}: {len(x)} vs {len(y)} cells; differing cells {[x[i][0] for i in diff][:5]}")
    for line in bad: print(line)
    if not bad: print(f"{len(ran)} notebooks: every cell's source as at {a.run_commit[:7]}")
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
