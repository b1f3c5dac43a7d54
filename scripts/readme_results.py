"""Write the README's results section from the artifacts of the last full study run.

After `featviz run --full` (same FEATVIZ_CACHE), run from the repository root:

    python scripts/readme_results.py          # results/full-run.json + the README between its results markers
    python scripts/readme_results.py --check  # exit 1 if the README does not match results/full-run.json

It also writes the table of each chapter's minutes between the README's `<!-- times:start -->` / `<!-- times:end -->`
lines, from the same run log.

It reads the home page's saved results (`$FEATVIZ_CACHE/artifacts/index/results.json`: headline table, verdicts, run
id) and the run log (`run/last.json`: wall time per notebook), refuses anything that is not one complete full run,
and writes `results/full-run.json` (committed; with the commit whose code ran and the rules' hash), `results/pip-freeze.txt`
(the package versions of the environment that ran it) and the README section rendered by
`featviz.study.verdicts.results_markdown`. Run it before committing the run's outputs: it refuses a tree whose code differs
from HEAD (the notebooks may differ only in their outputs: check with `scripts/same_sources.py`).
"""
import argparse, json, subprocess, sys
from pathlib import Path

from featviz.core.config import get_settings
from featviz.core.store import atomic_write, get_store
from featviz.study.verdicts import results_markdown, replace_readme_results, seconds_by_part

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT, README = ROOT/'results'/'full-run.json', ROOT/'README.md'

def from_store() -> dict:
    "The last full run's results and per-notebook times, checked to be one complete full run."
    store = get_store(get_settings())
    for name in ('index/results', 'run/last'):
        if not store.exists(name, '.json'): sys.exit(f"no {name}.json in {store.root}: run `featviz run --full` first (same FEATVIZ_CACHE)")
    res, log = store.load_json('index/results'), store.load_json('run/last')
    if res['mode'] != 'full' or log['mode'] != 'full': sys.exit(f"the last run was in {log['mode']} mode: the README reports a full run")
    if not log['ok']: sys.exit(f"the last run failed ({log['failed']['path'] if log.get('failed') else '?'}): finish it with its resume command")
    if log.get('run_id') != res['run_id']:
        sys.exit(f"the home page's results come from run {res['run_id']} but the last run log is {log.get('run_id')}: re-run the home page "
                 f"(featviz run --full --only index) or the whole study")
    return dict(res, notebooks=log['notebooks'], started=log['started'], seconds=log['seconds'])

TIMES_START, TIMES_END, BUDGET_MIN = '<!-- times:start -->', '<!-- times:end -->', 100

def times_markdown(res: dict) -> str:
    "The README's table of the run's minutes per chapter (the foundation notebooks as one row), with the total and the budget."
    parts = seconds_by_part(res['notebooks'])
    total = sum(sum(v) for v in parts.values())
    rows = [f"| {k}{f' ({len(v)} notebooks)' if len(v) > 1 else ''} | {sum(v) / 60:.1f} | {100 * sum(v) / total:.0f} % |" for k, v in parts.items()]
    return '\n'.join([f"Minutes per chapter of run `{res['run_id']}` (its run log, `run/last.json`; written by `python scripts/readme_results.py`):", '',
                      '| part | minutes | share |', '|---|---:|---:|', *rows,
                      f"| **all {len(res['notebooks'])} notebooks** | **{total / 60:.1f}** | budget {BUDGET_MIN} min |",
                      '', f"Wall time of the whole command (from its run log's start to its end): {res['seconds'] / 60:.1f} min."])

def readme_text(readme: str, res: dict) -> str:
    "The README with its results section and its minutes table rendered from `res`."
    return replace_readme_results(replace_readme_results(readme, results_markdown(res)), times_markdown(res), TIMES_START, TIMES_END)

def _git(*args) -> str: return subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

def run_commit() -> str:
    "HEAD, checked to be the code that ran: no tracked file the study runs (the package, pyproject.toml) differs from it."
    changed = [l[3:] for l in _git('status', '--porcelain', '--untracked-files=no').splitlines()]
    code = [f for f in changed if not (f.startswith(('nbs/', 'results/', 'scripts/', 'tests/', 'benchmarks/')) or f == 'README.md')]
    if code: sys.exit(f"these files differ from HEAD, so HEAD is not the code that ran: {', '.join(code)}; commit or restore them first")
    return _git('rev-parse', 'HEAD').strip()

def freeze() -> str:
    "`pip freeze` of this environment, the editable featviz written as its name and version (no machine path)."
    import featviz
    lines = subprocess.run([sys.executable, '-m', 'pip', 'freeze'], capture_output=True, text=True, check=True).stdout.splitlines()
    keep = [l for l in lines if not l.startswith(('-e ', '# Editable')) and not l.lower().startswith('featviz')]
    return '\n'.join(sorted(keep + [f'featviz=={featviz.__version__}  # editable, the commit in full-run.json'], key=str.lower)) + '\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help="only check that the README matches results/full-run.json")
    a = ap.parse_args()
    if a.check:
        res = json.loads(SNAPSHOT.read_text())
        ok = readme_text(README.read_text(), res) == README.read_text()
        print('README results match results/full-run.json' if ok else 'README results differ from results/full-run.json: run scripts/readme_results.py')
        return 0 if ok else 1
    res = dict(from_store(), commit=run_commit())
    with atomic_write(SNAPSHOT.with_name('pip-freeze.txt'), 'w') as f: f.write(freeze())
    with atomic_write(SNAPSHOT, 'w') as f: f.write(json.dumps(res, indent=1, ensure_ascii=False) + '\n')
    text = readme_text(README.read_text(), res)
    with atomic_write(README, 'w') as f: f.write(text)
    print(f"wrote {SNAPSHOT.relative_to(ROOT)} and the README's results (run {res['run_id']})")
    return 0

if __name__ == '__main__': sys.exit(main())
