"""The architecture as an import graph (issue 21): no import cycle, and no import from a lower
layer to a higher one. Read from the source with `ast`, as written: imports inside functions
count, imports under `if TYPE_CHECKING:` (hints only, never run) do not.

    0  core.files, core.throttle, core.i18n       shared helpers (core.i18n: the languages)
    1  core.convolution, core.model, core.runs    the science, the data, the run store
    2  core.training                              a run: config, loop, workers, CLI, jobs
    3  core.analysis                              what a trained run says
    4  dashboard, classroom                       Streamlit helpers; the classroom start
    5  pages                                      thin page scripts
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "dashboard", "classroom", "pages")
LAYERS = {
    "core.files": 0,
    "core.throttle": 0,
    "core.i18n": 0,
    "core.convolution": 1,
    "core.model": 1,
    "core.runs": 1,
    "core.training": 2,
    "core.quiz": 2,
    "core.train": 2,  # `python -m core.train`, the command line's old name
    "core": 2,  # the package's __init__
    "core.analysis": 3,
    "dashboard": 4,
    "classroom": 4,
    "pages": 5,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (REPO / package).rglob("*.py")
    }


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (a `from a.b import c` of a module c counts as a.b.c)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in modules}


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported(path, modules) - {name} for name, path in modules.items()}


def layer(module: str) -> int:
    best = max((key for key in LAYERS if module == key or module.startswith(key + ".")), key=len)
    return LAYERS[best]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strong(node)
    return found


def test_the_checker_finds_a_cycle_and_a_layer_break() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("core.training.loop") == 2 and layer("core.files") == 0
    assert layer("core.analysis.evaluate") > layer("core.training.steps") > layer("core.runs")


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in sorted(graph().items())
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert upward == []


def test_core_never_imports_streamlit() -> None:
    for name, path in project_modules().items():
        if name.startswith("core"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(n.split(".")[0] == "streamlit" for n in names), name


def test_core_is_six_packages_and_three_helpers() -> None:
    top = sorted(p.name for p in (REPO / "core").iterdir() if not p.name.startswith("__"))
    assert top == [
        "analysis",
        "convolution",
        "files.py",
        "i18n.py",
        "model",
        "quiz",
        "runs",
        "throttle.py",
        "train.py",
        "training",
    ]
