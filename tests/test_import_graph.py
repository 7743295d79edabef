"""The shape of the import graph (../shared/DESIGN.md, "Which way imports flow"), imports inside
functions included: no module imports itself through others, core imports nothing of the
pipeline nor an environment package, and no two packages import each other.

`KNOWN_PACKAGE_CYCLES` lists the package cycles left (issue 12), each with the edges that make
it; a new cycle fails, and so does a listed one that is gone (remove it from the list).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

KNOWN_PACKAGE_CYCLES: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (ROOT / "rlgen").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _graph() -> dict[str, set[str]]:
    """module -> the rlgen modules it imports (top level or inside functions), TYPE_CHECKING ones included."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                target = resolve(name) if name.startswith("rlgen.") else None
                if target and target != module:
                    edges[module].add(target)
    return edges


def _external(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (ROOT / "rlgen" / parts[1]).is_dir() else module


def test_no_module_imports_itself_through_others():
    edges = _graph()
    circles = []
    for start in edges:  # a depth-first search from each module, looking for a way back to it
        stack, seen = [(start, (start,))], set()
        while stack:
            module, path = stack.pop()
            for target in edges[module]:
                if target == start:
                    circles.append(" -> ".join((*path, start)))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))
    assert not circles, circles[:5]


def test_core_imports_nothing_of_the_pipeline_nor_an_environment():
    edges = _graph()
    for module, path in _modules().items():
        if module.startswith("rlgen.core"):
            assert all(t.startswith("rlgen.core") for t in edges[module]), (module, edges[module])
            assert "rlgen_envs" not in _external(path), module


def test_packages_import_each_other_one_way():
    edges = _graph()
    package_edges = {(_package(m), _package(t)) for m, targets in edges.items() for t in targets}
    cycles = {tuple(sorted((a, b))) for a, b in package_edges if a != b and (b, a) in package_edges}
    assert cycles == KNOWN_PACKAGE_CYCLES, f"new: {cycles - KNOWN_PACKAGE_CYCLES}; gone: {KNOWN_PACKAGE_CYCLES - cycles}"


def test_collection_training_and_evaluation_import_none_of_each_other():
    """The stages meet in `rlgen.experiment`, `rlgen.sweep` and the CLI, which compose them:
    training selects checkpoints with `rlgen.worlds.play`, not through the evaluation stage."""
    stages = ("rlgen.collect", "rlgen.train", "rlgen.evaluate")

    def stage(module: str) -> str | None:
        return next((s for s in stages if module == s or module.startswith(s + ".")), None)

    crossing = sorted(
        f"{m} -> {t}" for m, targets in _graph().items() for t in targets if stage(m) and stage(t) and stage(m) != stage(t)
    )
    assert not crossing, crossing
