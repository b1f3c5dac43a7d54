"""The README's warm-run table: each part's seconds from an empty cache (the committed run, `results/full-run.json`),
on the warm cache, and after editing chapter 05 (the run logs `benchmarks/warm_runs.sh` copies into OUT).

    python benchmarks/warm_table.py OUT     # prints the Markdown table
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from featviz.study.verdicts import seconds_by_part     # the README minutes table's grouping of notebooks into parts

def parts(log: dict) -> dict[str, float]:
    "Seconds per part of a run log: the foundation notebooks as one row, then each chapter and the home page."
    return {k: sum(v) for k, v in seconds_by_part(log['notebooks']).items()}

def meta(out: Path) -> dict[str, tuple]:
    "(wall seconds by `date`, load at start, load at end) of each command in OUT/meta.txt."
    rows = {}
    for line in (out/'meta.txt').read_text().splitlines():
        w = line.split(); rows[(w[0], w[1])] = (int(w[3]), w[5])
    return {k: (rows[(k, 'end')][0] - rows[(k, 'start')][0], rows[(k, 'start')][1], rows[(k, 'end')][1]) for k in ('warm', 'edit05')}

def main(out: str) -> str:
    out = Path(out)
    cold = json.loads((ROOT/'results'/'full-run.json').read_text())
    runs = [parts(cold), parts(json.loads((out/'warm-last.json').read_text())), parts(json.loads((out/'edit05-last.json').read_text()))]
    m = meta(out)
    n_found = len(seconds_by_part(cold['notebooks'])['foundation'])
    lines = ['| notebook | empty cache (the committed run) | warm cache, nothing changed | warm cache, chapter 05 edited |', '|---|---:|---:|---:|']
    for k in runs[0]:
        lines.append(f"| {f'foundation ({n_found} notebooks)' if k == 'foundation' else k} | " + ' | '.join(f"{r.get(k, float('nan')):,.0f} s" for r in runs) + ' |')
    lines.append(f"| **all notebooks (run log)** | " + ' | '.join(f"**{sum(r.values()) / 60:.1f} min**" for r in runs) + ' |')
    lines.append(f"| wall time of the command (`date`) | see the run above | {m['warm'][0]:,} s | {m['edit05'][0]:,} s |")
    lines.append(f"| load average (1 min) at the start / end | | {m['warm'][1]} / {m['warm'][2]} | {m['edit05'][1]} / {m['edit05'][2]} |")
    return '\n'.join(lines)

if __name__ == '__main__': print(main(sys.argv[1]))
