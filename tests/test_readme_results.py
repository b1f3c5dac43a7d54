"""The README's results are the last full run's (issue 15): the section between the README's results markers is
exactly what `featviz.study.verdicts.results_markdown` renders from `results/full-run.json`, that file records one complete
full run, and it is the run whose outputs the committed home page shows."""
import json
from pathlib import Path

from featviz.study.verdicts import README_END, README_START, results_markdown, replace_readme_results

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT/'results'/'full-run.json'

def _snapshot() -> dict:
    assert SNAPSHOT.is_file(), f"{SNAPSHOT.relative_to(ROOT)} is missing: after `featviz run --full` run scripts/readme_results.py"
    return json.loads(SNAPSHOT.read_text())

def test_readme_results_are_generated_from_the_snapshot():
    readme = (ROOT/'README.md').read_text()
    res = _snapshot()
    expected = replace_readme_results(readme, results_markdown(res))
    assert readme == expected, ("README's results differ from results/full-run.json: run `python scripts/readme_results.py` "
                                "after a full run, never edit the section by hand")
    assert readme.index(README_START) < readme.index(README_END)

def test_snapshot_is_one_complete_full_run():
    res = _snapshot()
    assert res['mode'] == 'full' and res['run_id'].startswith('full-')
    names = [n['path'] for n in res['notebooks']]
    chapters = sorted(p.name for p in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))
    if 'rules_hash' not in res:      # a run from before the release run (issue 24): chapter 09 was written after it
        chapters = [c for c in chapters if c != '09_audit.ipynb']
    assert set(chapters) <= set(names) and 'index.ipynb' in names, f"the run did not execute every chapter: {names}"
    assert res['verdicts'] and res['headline']

def test_home_page_shows_the_snapshot_run():
    res = _snapshot()
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    text = json.dumps([c.get('outputs', []) for c in nb['cells']])
    assert f"study run **{res['run_id']}**" in text, "the committed home page shows another run than results/full-run.json"

def _script():
    "scripts/readme_results.py as a module (it is not part of the package)."
    import importlib.util
    spec = importlib.util.spec_from_file_location('readme_results', ROOT/'scripts'/'readme_results.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_readme_minutes_table_is_the_snapshots():
    "The README's minutes per chapter are the snapshot run's (issue 29 item 3), and its total is the sum of the notebooks' seconds."
    res, rr = _snapshot(), _script()
    readme = (ROOT/'README.md').read_text()
    block = readme.split(rr.TIMES_START)[1].split(rr.TIMES_END)[0].strip()
    assert block == rr.times_markdown(res), "README's minutes table differs from results/full-run.json: run `python scripts/readme_results.py`"
    total = sum(n['seconds'] for n in res['notebooks']) / 60
    assert f"| **{total:.1f}** |" in block and f"run `{res['run_id']}`" in block
    assert block.count('\n| ') == len({n['path'].split('/')[0] if '/' in n['path'] else n['path'][:2] for n in res['notebooks']}) + 2   # header rule, a row per part, the total

SEEDS = ROOT/'results'/'finetune-seeds.json'
SEEDS_COMMAND = 'python scripts/finetune_seeds.py --seeds 0 1 2'

def test_readme_states_the_seed_spread_of_the_committed_runs():
    "The README names the seed script's command and, once seeds have finished, their accuracies as the per-seed files hold them."
    readme = ' '.join((ROOT/'README.md').read_text().split())          # the paragraph's line breaks do not matter
    assert f'`{SEEDS_COMMAND}`' in readme
    if not SEEDS.is_file(): return                                      # none finished yet: the README says so
    s = json.loads(SEEDS.read_text())
    acc = [json.loads((ROOT/'results'/'finetune-seeds'/f"seed-{r['seed']}.json").read_text())['test_accuracy'] for r in s['runs']]
    for a in acc: assert f'{100 * a:.2f} %' in readme, f"README lacks seed accuracy {100 * a:.2f} % of results/finetune-seeds/"
    if len(acc) > 1:
        mean, sd = sum(acc) / len(acc), (sum((a - sum(acc) / len(acc)) ** 2 for a in acc) / (len(acc) - 1)) ** 0.5
        assert f'{100 * mean:.2f} % ± {100 * sd:.2f}' in readme, "README's mean ± sd over seeds differs from results/finetune-seeds/"
