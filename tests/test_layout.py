"""The package's shape: short modules, no import loops, folders that follow the causal chain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cxsim"
MAX_LINES = 500

# Folders (or modules) in chain order: each may import at module level only from its own
# layer or the layers above it. The distribution specs come before the scenario, which parses
# them; sampling needs the scenario, so it sits with the model; the Monte Carlo driver fills
# the result object the outputs define.
LAYERS = [
    ("cxsim._version", "cxsim.errors"),
    ("cxsim.uncertainty",),
    ("cxsim.scenario",),
    ("cxsim.uncertainty.sampling", "cxsim.model"),
    ("cxsim.outputs",),
    ("cxsim.montecarlo",),
    ("cxsim.analysis",),
    ("cxsim.calibrate",),
    ("cxsim.datasets",),
    ("cxsim.cli", "cxsim.__main__", "cxsim"),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def module_level_imports(path: Path, name: str) -> set[str]:
    """cxsim modules imported at module level (not under TYPE_CHECKING, not in functions)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cxsim")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("cxsim"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
    return found


def layer_of(name: str) -> int:
    best, depth = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    assert best is not None, name
    return best


MODULES = modules()
IMPORTS = {
    name: {m for m in module_level_imports(path, name) if m in MODULES}
    for name, path in MODULES.items()
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_can_be_read_in_one_sitting(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_no_import_loop_at_module_level():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in IMPORTS[node]:
            if state.get(nxt) == 1:
                pytest.fail("import loop: " + " -> ".join([*stack[stack.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(IMPORTS):
        if name not in state:
            visit(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_folders_import_only_from_earlier_links_of_the_chain(name):
    later = sorted(m for m in IMPORTS[name] if layer_of(m) > layer_of(name) and m != "cxsim")
    assert not later, f"{name} imports {later}, which come later in the chain"
