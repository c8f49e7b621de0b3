"""The package's shape holds: no import circle, modules a reader can take in, one home per name.

import-linter checks the layers (test/system/test_layers.py runs it); these checks read
the import graph (grimp, which import-linter brings) and the source in-process.
"""

import ast
import re

import grimp
import pytest

from emotion_perception.installed import config_file, share_dir
from emotion_perception.ros import interface

from conftest import ROOT

PACKAGE = ROOT / 'emotion_perception'
SOURCES = sorted(PACKAGE.rglob('*.py')) + sorted((ROOT / 'launch').glob('*.py'))
#: No module is longer than this...
MAX_LINES = 400
#: ...and one longer than this says in its docstring why it is one module.
EXPLAINED_LINES = 300
TOPICS = {value for name, value in vars(interface).items() if name.endswith(('_TOPIC',
                                                                           '_NAMESPACE'))}
#: Calls whose string argument would be a topic name typed in place.
TOPIC_CALLS = {'create_publisher', 'create_subscription', 'resolve_topic_name'}


def _cycles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import circles."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_circle():
    graph = grimp.build_graph('emotion_perception', cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_would_see_one():
    graph = grimp.ImportGraph()
    for module in ('p.a', 'p.b', 'p.c'):
        graph.add_module(module)
    graph.add_import(importer='p.a', imported='p.b')
    graph.add_import(importer='p.b', imported='p.c')
    assert _cycles(graph) == []
    graph.add_import(importer='p.c', imported='p.a')
    assert _cycles(graph) == [['p.a', 'p.b', 'p.c']]


@pytest.mark.parametrize('path', [p for p in SOURCES if p.parent.name != 'launch'],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short_enough_to_read(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES
    if lines > EXPLAINED_LINES:
        assert 'Why one module:' in (ast.get_docstring(ast.parse(path.read_text())) or '')


def test_topic_names_are_typed_only_in_the_interface_module():
    stray = []
    for path in SOURCES:
        if path == PACKAGE / 'ros' / 'interface.py':
            continue
        tree = ast.parse(path.read_text())
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = getattr(call.func, 'attr', getattr(call.func, 'id', ''))
            if name in TOPIC_CALLS:
                stray += [f'{path.relative_to(ROOT)}:{arg.lineno} {arg.value!r}'
                          for arg in call.args if isinstance(arg, ast.Constant)
                          and isinstance(arg.value, str)]
        stray += [f'{path.relative_to(ROOT)}: {m.group(0)}' for m in re.finditer(
            r"['\"](image_raw|faces)['\"]\s*[,)\]:]",
            path.read_text()) if path.parent.name == 'launch']
    assert stray == []
    assert {'image_raw', 'image_raw/compressed', 'faces', '/diagnostics'} <= TOPICS


def test_each_list_of_names_is_written_once():
    """Classifier names, Unity compat modes: one literal tuple or dict each."""
    patterns = {'classifiers': r"['\"]trained['\"],\s*['\"]fer['\"]|\{['\"]trained['\"]:",
                'compat modes': r"['\"]auto['\"],\s*['\"]stream['\"],\s*['\"]legacy['\"]"}
    for what, pattern in patterns.items():
        homes = [str(p.relative_to(ROOT)) for p in SOURCES if re.search(pattern, p.read_text())]
        assert len(homes) == 1, (what, homes)


def test_installed_files_are_found_in_the_checkout():
    assert share_dir('models') == ROOT / 'models'
    assert config_file('params.yaml') == ROOT / 'config' / 'params.yaml'
    assert config_file('params.yaml').is_file()


def test_the_architecture_table_names_every_module_of_every_room():
    rows = {}
    for line in (ROOT / 'docs' / 'architecture.md').read_text().splitlines():
        match = re.match(r'\| `(emotion_perception[\w/.]*)` \| (.+?) \| (.+) \|$', line)
        if match:
            rows[match.group(1)] = match.group(2)
    rooms = {str(p.parent.relative_to(ROOT)) for p in PACKAGE.rglob('__init__.py')}
    rooms -= {'emotion_perception'}
    assert rooms | {'emotion_perception/installed.py'} == set(rows)
    for room, holds in rows.items():
        folder = ROOT / room
        modules = {p.stem for p in folder.glob('*.py') if not p.stem.startswith('__')}
        named = set(re.findall(r'`(\w+)`', holds))
        assert modules <= named, (room, sorted(modules - named))
