"Issue 18: every public name of featviz 0.0.1's flat modules is importable from the module the README's table names."
import importlib, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REMOVED = '(removed)'
BEFORE = json.loads((ROOT/'tests'/'fixtures'/'public_names_0.0.1.json').read_text())   # `__all__` of each module of 0.0.1

def moves() -> dict[str, tuple[str, dict[str, str]]]:
    "README's table: `{old module: (new module, {name: the other module it moved to})}`."
    text = (ROOT/'README.md').read_text()
    table = text[text.index('<!-- moves:start -->'):text.index('<!-- moves:end -->')]
    out = {}
    for old, new, extra in re.findall(r'^\| `([\w.]+)` \| `([\w.]+)`(?: \((.*)\))? \|$', table, re.MULTILINE):
        elsewhere = {}
        if (extra or '').startswith('removed:'):      # replaced names: `old`, now `new` ...; they must be gone
            for part in extra.removeprefix('removed:').split(';'):
                old_name, _, _ = part.partition(', now')
                for n in re.findall(r'`(\w+)`', old_name): elsewhere[n] = REMOVED
            extra = ''
        for group in filter(None, (extra or '').split(';')):
            names, _, mod = group.rpartition(':')
            for n in re.findall(r'`(\w+)`', names): elsewhere[n] = mod.strip().strip('`')
        out[old] = (new, elsewhere)
    return out

def test_the_table_covers_every_old_module():
    assert set(moves()) == set(BEFORE) and len(BEFORE) == 22

@pytest.mark.parametrize('old', sorted(BEFORE))
def test_public_names_importable_where_the_readme_says(old):
    new, elsewhere = moves()[old]
    missing = []
    for name in BEFORE[old]:
        if elsewhere.get(name) == REMOVED:
            assert not hasattr(importlib.import_module(new), name), f"{name} is listed as removed but still in {new}"
            continue
        mod = importlib.import_module(elsewhere.get(name, new))
        if not hasattr(mod, name): missing.append(f"{name} (looked in {elsewhere.get(name, new)})")
    assert missing == [], f"public names of {old} not found where README.md's table says: {missing}"
    if old == new: return
    try: pkg = importlib.import_module(old)
    except ModuleNotFoundError: return                                        # the flat module is gone, not a second copy
    assert hasattr(pkg, '__path__'), f"{old} is still a module beside {new}"  # featviz.data, featviz.study: now layers
    assert [n for n in BEFORE[old] if hasattr(pkg, n)] == [], f"the layer {old} re-exports its old module's names"
