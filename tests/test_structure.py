"The layout rules of the restructuring (issue 17): notebook names are module names, modules use each other's public names only, the package lists every module."
import ast, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS, LIB = ROOT/'nbs', ROOT/'featviz'
_re_exp = re.compile(r'^#\|\s*default_exp\s+(\S+)', re.MULTILINE)

def default_exp(nb: Path) -> str | None:
    "The `default_exp` of notebook `nb`, or None."
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if c['cell_type'] == 'code' and (m := _re_exp.search(src)): return m.group(1)
    return None

def expected_module(rel: Path) -> str:
    "What a notebook must be called for: foundation/NAME.ipynb -> NAME, NN_NAME.ipynb -> NAME."
    return rel.stem if len(rel.parts) > 1 else re.sub(r'^\d+_', '', rel.stem)

def modules() -> set[str]:
    return {p.stem for p in LIB.glob('*.py') if not p.name.startswith('_')}

NOTEBOOKS = sorted(p.relative_to(NBS) for p in NBS.rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))

@pytest.mark.parametrize('rel', NOTEBOOKS, ids=str)
def test_notebook_named_for_its_module(rel):
    exp = default_exp(NBS/rel)
    if exp is None: return                                   # chapters 02, 03, 06 and the index export nothing
    assert exp == expected_module(rel), (f"nbs/{rel} exports featviz/{exp}.py: name the notebook "
                                         f"{'foundation/' + exp if len(rel.parts) > 1 else 'NN_' + exp}.ipynb or change its default_exp")

def test_every_module_has_its_notebook():
    exported = {default_exp(NBS/rel) for rel in NOTEBOOKS} - {None}
    assert modules() == exported, f"modules without a notebook: {modules() - exported}; notebooks without a module: {exported - modules()}"

def test_foundation_names_have_no_numbers():
    assert [str(r) for r in NOTEBOOKS if len(r.parts) > 1 and re.match(r'\d', r.stem)] == []

def private_imports(py: Path) -> list[str]:
    "`module.name` for every private `_name` imported by `py` from a featviz module."
    bad = []
    for node in ast.walk(ast.parse(py.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or '').startswith('featviz')):
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]  # dunders are public
    return bad

def test_private_import_check_catches_one(tmp_path):
    (tmp_path/'m.py').write_text("from .data import _locate\nfrom featviz.store import get_store\nfrom os import _exit\n")
    assert private_imports(tmp_path/'m.py') == ['data._locate']

@pytest.mark.parametrize('py', sorted(LIB.glob('*.py')), ids=lambda p: p.name)
def test_no_private_imports_across_modules(py):
    assert private_imports(py) == [], f"{py.name} imports private names of other featviz modules: make them public"

def test_init_lists_every_module():
    doc = ast.get_docstring(ast.parse((LIB/'__init__.py').read_text())) or ''
    listed = set(re.findall(r'^- `featviz\.(\w+)`', doc, re.MULTILINE))
    assert listed == modules(), (f"featviz/__init__.py (written by nbdev-export from the module docstrings) misses "
                                 f"{sorted(modules() - listed)}: give those notebooks an `#| export` markdown cell")
