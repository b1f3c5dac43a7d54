"""The layout rules (issues 17 and 18): the package's folders are its layers, notebook path = module path, no import
cycle (imports inside functions counted), modules and chapters use each other's public names only, exported cells of
one idea, web assets as files."""
import ast, json, re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS, LIB = ROOT/'nbs', ROOT/'featviz'
LAYERS = ('core', 'data', 'engine', 'analysis', 'report', 'tool', 'study')   # bottom to top; `cli` is the command above them
_re_exp = re.compile(r'^#\|\s*default_exp\s+(\S+)', re.MULTILINE)

def cells(nb: Path) -> list[tuple[str, str]]:
    "`(cell type, source)` of every cell of notebook `nb`."
    return [(c['cell_type'], ''.join(c['source']) if isinstance(c['source'], list) else c['source'])
            for c in json.loads(nb.read_text())['cells']]

def default_exp(nb: Path) -> str | None:
    "The `default_exp` of notebook `nb`, or None."
    for kind, src in cells(nb):
        if kind == 'code' and (m := _re_exp.search(src)): return m.group(1)
    return None

def modules() -> set[str]:
    "Every module of the package as a dotted name below `featviz` ('core.config', 'cli'), private ones and packages aside."
    return {'.'.join(p.relative_to(LIB).with_suffix('').parts) for p in LIB.rglob('*.py')
            if not p.name.startswith('_') and '__pycache__' not in p.parts}

NOTEBOOKS = sorted(p.relative_to(NBS) for p in NBS.rglob('*.ipynb')
                   if not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))
CHAPTERS = [r for r in NOTEBOOKS if len(r.parts) == 1 and re.match(r'\d\d_', r.name)]

def test_the_walk_finds_the_tree():
    "The checks below walk `featviz/**` and `nbs/**`: they must see the layers, or they would pass on an empty list."
    assert {m.split('.')[0] for m in modules()} == {*LAYERS, 'cli'}
    assert {'core.config', 'engine.features', 'report.explorer', 'tool.explore', 'study.verdicts'} <= modules()
    assert len([r for r in NOTEBOOKS if r.parts[0] == 'foundation']) >= 18 and len(CHAPTERS) >= 9

def test_layers_are_folders():
    for layer in LAYERS:
        assert (LIB/layer/'__init__.py').is_file(), f"featviz/{layer}/ is not a package"
        assert ast.get_docstring(ast.parse((LIB/layer/'__init__.py').read_text())), f"featviz/{layer}/__init__.py says nothing of its layer"
    assert sorted(p.stem for p in LIB.glob('*.py') if not p.name.startswith('_')) == ['cli'], "only the command lives at the top"

@pytest.mark.parametrize('rel', [r for r in NOTEBOOKS if r.parts[0] == 'foundation'], ids=str)
def test_foundation_notebook_path_is_module_path(rel):
    "nbs/foundation/LAYER/NAME.ipynb exports featviz/LAYER/NAME.py (featviz.LAYER.NAME); foundation/cli.ipynb featviz/cli.py."
    want = '.'.join(rel.with_suffix('').parts[1:])
    assert default_exp(NBS/rel) == want, f"nbs/{rel} must export `{want}` (`#| default_exp {want}`): notebook path = module path"

@pytest.mark.parametrize('rel', CHAPTERS, ids=str)
def test_chapter_exports_into_its_layer(rel):
    "A chapter that exports, exports `LAYER.NAME` for its own NAME (00_baseline -> analysis.baseline)."
    exp = default_exp(NBS/rel)
    if exp is None: return                                   # chapters 02, 03, 06-08 export nothing
    layer, _, name = exp.partition('.')
    own = re.sub(r'^\d+_', '', rel.stem)
    assert layer in LAYERS and name == own, f"nbs/{rel} exports {exp}: use `<layer>.{own}`"

def test_every_module_has_its_notebook():
    exported = {default_exp(NBS/rel) for rel in NOTEBOOKS} - {None}
    assert modules() == exported, f"modules without a notebook: {modules() - exported}; notebooks without a module: {exported - modules()}"

def test_foundation_names_have_no_numbers():
    assert [str(r) for r in NOTEBOOKS if len(r.parts) > 1 and re.match(r'\d', r.stem)] == []

# ---------------------------------------------------------------- imports: public names only, no cycle
def private_imports(code: str) -> list[str]:
    "`module.name` for every private `_name` that `code` imports from a featviz module."
    bad = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or '').startswith('featviz')):
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]  # dunders are public
    return bad

def test_private_import_check_catches_one():
    assert private_imports("from .datasets import _locate\nfrom featviz.core.store import get_store\nfrom os import _exit\n") == ['datasets._locate']

@pytest.mark.parametrize('py', sorted(p for p in LIB.rglob('*.py') if '__pycache__' not in p.parts), ids=lambda p: p.relative_to(LIB).as_posix())
def test_no_private_imports_across_modules(py):
    assert private_imports(py.read_text()) == [], f"{py.relative_to(LIB)} imports private names of other featviz modules: make them public"

def notebook_code(nb: Path) -> str:
    "The Python of a notebook's code cells (magics and shell lines dropped)."
    return '\n'.join('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))) for kind, src in cells(nb) if kind == 'code')

@pytest.mark.parametrize('rel', NOTEBOOKS, ids=str)
def test_no_notebook_imports_private_names(rel):
    "Chapters and foundation notebooks use the library's public names (a notebook's own `_helpers` are its business)."
    assert private_imports(notebook_code(NBS/rel)) == [], f"nbs/{rel} imports private featviz names: make them public"

def import_graph() -> dict[str, set[str]]:
    "featviz's module graph as grimp (which import-linter uses) builds it: every import statement, inside functions too."
    grimp = pytest.importorskip('grimp', reason='grimp comes with import-linter: pip install -e ".[dev]"')
    g = grimp.build_graph('featviz')
    return {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}

def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    "The strongly connected components of more than one module (or a module importing itself): the import cycles."
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    names = sorted(set(graph) | {t for ts in graph.values() for t in ts}); ix = {n: i for i, n in enumerate(names)}
    edges = [(ix[a], ix[b]) for a, ts in graph.items() for b in ts]
    m = csr_matrix((np.ones(len(edges)), ([a for a, _ in edges], [b for _, b in edges])), shape=(len(names),) * 2)
    _, comp = connected_components(m, directed=True, connection='strong')
    groups = [[names[i] for i in np.flatnonzero(comp == c)] for c in np.unique(comp)]
    return [g for g in groups if len(g) > 1 or names.index(g[0]) in [b for a, b in edges if a == ix[g[0]]]]

def test_cycle_check_catches_one():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert cycles({'a': {'b'}, 'b': set()}) == []

def test_grimp_sees_imports_inside_functions(tmp_path, monkeypatch):
    "A deferred import must not hide a cycle: grimp records imports inside functions."
    pkg = tmp_path/'fvcycle'; pkg.mkdir()
    (pkg/'__init__.py').write_text(''); (pkg/'a.py').write_text('from fvcycle import b\n')
    (pkg/'b.py').write_text('def f():\n    from fvcycle import a\n    return a\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    grimp = pytest.importorskip('grimp')
    g = grimp.build_graph('fvcycle', cache_dir=None)
    assert cycles({m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}) == [['fvcycle.a', 'fvcycle.b']]

def test_featviz_has_no_import_cycle():
    found = cycles(import_graph())
    assert found == [], f"import cycles among featviz modules: {found}: move code down a layer or split the module"

def test_layers_point_down():
    "The same rule as the import-linter contract of pyproject.toml, so that pytest alone also enforces it."
    rank = {l: i for i, l in enumerate(LAYERS)} | {'cli': len(LAYERS)}
    side = {'tool', 'study'}                                   # independent: neither imports the other
    bad = []
    for a, ts in import_graph().items():
        la = a.split('.')[1] if a.count('.') else None
        for b in ts:
            lb = b.split('.')[1] if b.count('.') else None
            if la in rank and lb in rank and la != lb and (rank[lb] > rank[la] or {la, lb} == side): bad.append(f"{a} -> {b}")
    assert bad == [], f"imports that point up (or sideways between tool and study): {bad}"

# ---------------------------------------------------------------- cells of one idea, assets as files
def exported_cells() -> list[tuple[str, int, int]]:
    "`(notebook, lines, characters)` of every exported code cell."
    return [(str(rel), len(src.splitlines()), len(src)) for rel in NOTEBOOKS for kind, src in cells(NBS/rel)
            if kind == 'code' and re.match(r'#\|\s*export', src)]

def test_exported_cells_are_short():
    cs = exported_cells()
    assert len(cs) > 100
    long = [c for c in cs if c[1] > 60 or c[2] > 5000]
    assert long == [], f"exported cells over 60 lines or 5,000 characters (split them into cells of one idea): {long}"

_WEB = re.compile(r'<(html|div|script|style|svg|body)\b|\bfunction\s*\(|[{;]\s*[a-z-]+\s*:\s*[^;]+;', re.I)

def web_templates(code: str, min_lines: int = 21) -> list[int]:
    "Line numbers of string constants of `code` longer than 20 lines that read as HTML, JavaScript or CSS."
    return [n.lineno for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and n.value.count('\n') + 1 >= min_lines and len(_WEB.findall(n.value)) >= 3]

def test_web_template_check_catches_one():
    page = 'P = """<html>\n' + '<div style="a:b;">x</div>\n' * 25 + '</html>"""\n'
    assert web_templates(page) == [1] and web_templates('D = """' + 'prose line\n' * 30 + '"""') == []

@pytest.mark.parametrize('py', sorted(p for p in LIB.rglob('*.py') if '__pycache__' not in p.parts and p.name != '_modidx.py'),
                         ids=lambda p: p.relative_to(LIB).as_posix())
def test_no_web_templates_in_python(py):
    assert web_templates(py.read_text()) == [], f"{py.relative_to(LIB)} holds an HTML/JS/CSS template over 20 lines: move it to featviz/report/assets/"

def test_init_lists_every_module():
    doc = ast.get_docstring(ast.parse((LIB/'__init__.py').read_text())) or ''
    listed = set(re.findall(r'^- `featviz\.([\w.]+)`', doc, re.MULTILINE))
    assert listed == modules(), (f"featviz/__init__.py (written by nbdev-export from the module docstrings) misses "
                                 f"{sorted(modules() - listed)}: give those notebooks an `#| export` markdown cell")

def deferred_imports(code: str) -> list[tuple[int, str]]:
    "`(line, module)` of every import inside a function of `code`."
    out = []
    for f in ast.walk(ast.parse(code)):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [(n.lineno, ('featviz' if n.level else n.module) if isinstance(n, ast.ImportFrom) else n.names[0].name)
                    for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]   # a relative import is featviz's own
    return out

def test_deferred_import_check_catches_one():
    assert deferred_imports("import os\ndef f():\n    import numpy as np  # deferred\n    return np\n") == [(3, 'numpy')]
    assert deferred_imports("def f():\n    from .chapters import x  # hidden\n") == [(2, 'featviz')]

@pytest.mark.parametrize('py', sorted(p for p in LIB.rglob('*.py') if '__pycache__' not in p.parts and p.name != '_modidx.py'),
                         ids=lambda p: p.relative_to(LIB).as_posix())
def test_deferred_imports_are_third_party_and_say_why(py):
    "Issue 18: an import inside a function is a slow or optional third-party library, with a comment saying so."
    lines = py.read_text().splitlines()
    bad = [f"line {n}: {m}" for n, m in deferred_imports(py.read_text())
           if (m or '').split('.')[0] in ('featviz', '') or '#' not in lines[n - 1]]
    assert bad == [], f"{py.relative_to(LIB)}: imports inside functions that are featviz's own or say not why: {bad}"
