"""Write the README's results section from the artifacts of the last full study run.

After `featviz run --full` (same FEATVIZ_CACHE), run from the repository root:

    python scripts/readme_results.py          # results/full-run.json + the README between its results markers
    python scripts/readme_results.py --check  # exit 1 if the README does not match results/full-run.json

It reads the home page's saved results (`$FEATVIZ_CACHE/artifacts/index/results.json`: headline table, verdicts, run
id) and the run log (`run/last.json`: wall time per notebook), refuses anything that is not one complete full run,
and writes `results/full-run.json` (committed; with the commit whose code ran and the rules' hash), `results/pip-freeze.txt`
(the package versions of the environment that ran it) and the README section rendered by
`featviz.study.verdicts.results_markdown`. Run it before committing the run's outputs: it refuses a tree whose code differs
from HEAD (only the notebooks' outputs, `results/` and the README may have changed).
"""
import argparse, json, subprocess, sys
from pathlib import Path

from featviz.core.config import get_settings
from featviz.core.store import atomic_write, get_store
from featviz.study.verdicts import results_markdown, replace_readme_results

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

def _git(*args) -> str: return subprocess.run(['git', *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

def run_commit() -> str:
    "HEAD, checked to be the code that ran: every changed tracked file is a notebook under nbs/, in results/ or the README."
    changed = [l[3:] for l in _git('status', '--porcelain', '--untracked-files=no').splitlines()]
    code = [f for f in changed if not (f.startswith(('nbs/', 'results/')) and f.endswith(('.ipynb', '.json', '.txt')) or f == 'README.md')]
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
        ok = replace_readme_results(README.read_text(), results_markdown(res)) == README.read_text()
        print('README results match results/full-run.json' if ok else 'README results differ from results/full-run.json: run scripts/readme_results.py')
        return 0 if ok else 1
    res = dict(from_store(), commit=run_commit())
    with atomic_write(SNAPSHOT.with_name('pip-freeze.txt'), 'w') as f: f.write(freeze())
    with atomic_write(SNAPSHOT, 'w') as f: f.write(json.dumps(res, indent=1, ensure_ascii=False) + '\n')
    text = replace_readme_results(README.read_text(), results_markdown(res))
    with atomic_write(README, 'w') as f: f.write(text)
    print(f"wrote {SNAPSHOT.relative_to(ROOT)} and the README's results (run {res['run_id']})")
    return 0

if __name__ == '__main__': sys.exit(main())
