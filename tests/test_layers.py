"""The package's import rule (docs/ARCHITECTURE.md), read from the source: every import, module- or
function-level, goes to a lower layer or stays inside its own package; torch only where it is needed.

An ast walk rather than import-linter: the rule also says *when* a function may import a
package module (only to defer a heavy third-party import, never to dodge a cycle), which
import-linter cannot see. The test fails on the first file that breaks the rule, naming the
line, so a change that needs a new edge must move code or change the rule here, in review.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stmfnet_trt"

# Lowest first. An import must go to a strictly lower layer, or stay within the same unit (the
# longest prefix in this table that names the module). Units of one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("stmfnet_trt.core",),
    ("stmfnet_trt.plugins", "stmfnet_trt.weights"),
    ("stmfnet_trt.model", "stmfnet_trt.io"),
    ("stmfnet_trt.export",),
    ("stmfnet_trt.runtime.backend",),
    ("stmfnet_trt.runtime.scheduling",),
    ("stmfnet_trt.calibration",),
    ("stmfnet_trt.runtime.cuda",),
    ("stmfnet_trt.engine",),
    ("stmfnet_trt.runtime.backends",),
    ("stmfnet_trt.api",),
    ("stmfnet_trt.evaluation",),
    ("stmfnet_trt.serve", "stmfnet_trt.batch", "stmfnet_trt.bench", "stmfnet_trt.train", "stmfnet_trt.gst"),
    ("stmfnet_trt.cli",),
    ("stmfnet_trt",),
)

# Third-party imports that are heavy or optional: a function may import a package module lazily
# only when that module pulls one of these in at import time (the torch backend, the exporter).
HEAVY = frozenset(
    {"torch", "onnx", "onnxslim", "onnxruntime", "polygraphy", "modelopt", "tensorrt", "tensorrt_rtx"}
    | {"tensorrt_lean", "pycuda", "cuda", "ray", "pytriton", "tritonclient", "matplotlib", "gi"}
)

# The modules that may import torch at module level: the model, what traces or trains it, and the
# backend that runs it. Everything else (ONNX Runtime, TensorRT, Triton client, scheduling, io,
# the CLI itself) must import without torch.
TORCH_ALLOWED = (
    "stmfnet_trt.model",
    "stmfnet_trt.export.exporter",
    "stmfnet_trt.export.graph",
    "stmfnet_trt.export.rewrites",
    "stmfnet_trt.export.parity",
    "stmfnet_trt.export.upsample_conv",
    "stmfnet_trt.export.warp_custom_op",
    "stmfnet_trt.runtime.backends.torch_backend",
    "stmfnet_trt.train",
    "stmfnet_trt.calibration",
)


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (for ``from X import name``: X.name when that is a module)
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULE_FILES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def unit_of(module: str) -> tuple[int, str]:
    """(layer index, unit prefix) of a package module."""
    best: tuple[int, str] | None = None
    for index, units in enumerate(LAYERS):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (
                best is None or len(unit) > len(best[1])
            ):
                best = (index, unit)
    assert best is not None, module
    return best


def _resolve(module: str, names: list[str]) -> list[str]:
    """``from module import a, b``: the submodules among a, b, else module itself."""
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULE_FILES]
    return subs if len(subs) == len(names) else [*subs, module]


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: seen by type checkers, never imported at run time."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            hidden.update(id(child) for statement in node.body for child in ast.walk(statement))
    return hidden


@cache
def imports_of(module: str) -> tuple[tuple[Import, ...], frozenset[str]]:
    """Package imports of a module, and the top-level third-party names it imports at module level."""
    tree = ast.parse(MODULE_FILES[module].read_text(), str(MODULE_FILES[module]))
    inside = _function_nodes(tree)
    hidden = _type_checking_nodes(tree)
    found: list[Import] = []
    third_party: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{module}:{node.lineno}: relative import (ruff TID252 bans them)"
            targets = _resolve(node.module, [a.name for a in node.names])
        else:
            continue
        for target in targets:
            if target == "stmfnet_trt" or target.startswith("stmfnet_trt."):
                found.append(Import(module, target, node.lineno, id(node) in inside))
            elif id(node) not in inside:
                third_party.add(target.split(".")[0])
    return tuple(found), frozenset(third_party)


def _with_packages(module: str) -> set[str]:
    """``module`` and the packages above it: importing ``a.b.c`` runs ``a`` and ``a.b`` first."""
    parts = module.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)} & MODULE_FILES.keys()


def module_level_targets(module: str) -> set[str]:
    edges = imports_of(module)[0]
    targets = {e.target for e in edges if not e.in_function and e.target in MODULE_FILES}
    # A module's own packages are already importing when it runs: not an edge (nor a cycle).
    return set().union(*map(_with_packages, targets)) - _with_packages(module) if targets else set()


@cache
def heavy_at_import(module: str) -> frozenset[str]:
    """The HEAVY third-party modules importing ``module`` loads (following module-level imports)."""
    heavy, seen, todo = set(), _with_packages(module), [*_with_packages(module)]
    while todo:
        current = todo.pop()
        heavy |= imports_of(current)[1] & HEAVY
        for target in module_level_targets(current) - seen:
            seen.add(target)
            todo.append(target)
    return frozenset(heavy)


def import_cycle() -> list[str]:
    """One cycle of module-level imports (a module that needs itself half-initialised), or []."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = "open"
        path.append(module)
        for target in sorted(module_level_targets(module)):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = "done"
        path.pop()
        return []

    for module in sorted(MODULE_FILES):
        if module not in state and (found := visit(module)):
            return found
    return []


# The one exception to "lazily only for heavy": a backend spec imports the modules that open its
# backend when it opens one (``specs.OPENED_LAZILY``), so that a run loads only the backend it
# uses. Read from the module itself, so the list lives in one place; still lower layers only.
LAZY_OPENER = "stmfnet_trt.runtime.backends.specs"


@cache
def _opened_lazily() -> frozenset[str]:
    tree = ast.parse(MODULE_FILES[LAZY_OPENER].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "OPENED_LAZILY" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def opened_lazily(module: str, target: str) -> bool:
    return module == LAZY_OPENER and target in _opened_lazily()


def violations(module: str) -> list[str]:
    found: list[str] = []
    layer, unit = unit_of(module)
    for edge in imports_of(module)[0]:
        if edge.target not in MODULE_FILES:
            found.append(f"{module}:{edge.line} imports {edge.target}, which does not exist")
            continue
        target_layer, target_unit = unit_of(edge.target)
        where = f"{module}:{edge.line} ({unit}, layer {layer})"
        if target_unit != unit and target_layer >= layer:
            found.append(f"{where} imports {edge.target} ({target_unit}, layer {target_layer})")
        if edge.in_function and not heavy_at_import(edge.target) and not opened_lazily(module, edge.target):
            found.append(f"{where} imports {edge.target} inside a function, and it loads nothing heavy")
    return found


@pytest.mark.parametrize("module", sorted(MODULE_FILES))
def test_imports_follow_the_layers(module):
    assert violations(module) == []


@pytest.mark.parametrize("module", sorted(MODULE_FILES))
def test_torch_only_where_needed(module):
    direct = "torch" in imports_of(module)[1]
    allowed = module.startswith(TORCH_ALLOWED)
    assert allowed or not direct, f"{module} imports torch at module level"
    if not allowed:
        assert "torch" not in heavy_at_import(module), f"importing {module} loads torch"


def test_no_module_level_import_cycles():
    assert import_cycle() == []


def test_every_module_has_a_layer():
    assert set(map(lambda m: unit_of(m)[1], MODULE_FILES)) <= {u for units in LAYERS for u in units}


def test_the_rule_catches_an_upward_and_a_dodging_import(tmp_path, monkeypatch):
    """The checker itself: an upward import and a cycle-dodging function import are both reported."""
    fake = {
        "stmfnet_trt.core.fake": "from stmfnet_trt.cli import main\n",
        "stmfnet_trt.export.fake": "def f():\n    from stmfnet_trt.core.errors import UserError\n",
    }
    for name, text in fake.items():
        path = tmp_path / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        monkeypatch.setitem(MODULE_FILES, name, path)
    imports_of.cache_clear()
    heavy_at_import.cache_clear()
    try:
        cli_layer = unit_of("stmfnet_trt.cli")[0]
        assert violations("stmfnet_trt.core.fake") == [
            "stmfnet_trt.core.fake:1 (stmfnet_trt.core, layer 0) imports stmfnet_trt.cli "
            f"(stmfnet_trt.cli, layer {cli_layer})"
        ]
        assert violations("stmfnet_trt.export.fake") == [
            "stmfnet_trt.export.fake:2 (stmfnet_trt.export, layer 3) imports stmfnet_trt.core.errors "
            "inside a function, and it loads nothing heavy"
        ]
    finally:
        imports_of.cache_clear()
        heavy_at_import.cache_clear()


# What `pip install stmfnet-trt` brings (pyproject's dependencies): every other package is an extra.
BASE_INSTALL = frozenset({"onnxruntime"})
# The modules a base install runs: the command line (its parsers and run/eval/serve/batch/bench
# handlers) and the inference API.
BASE_INSTALL_MODULES = (
    "stmfnet_trt.cli",
    "stmfnet_trt.api.interpolator",
    "stmfnet_trt.runtime.backends.specs",
    "stmfnet_trt.serve.server",
)


@pytest.mark.parametrize("module", BASE_INSTALL_MODULES)
def test_the_command_line_and_the_inference_api_need_no_extra(module):
    assert heavy_at_import(module) <= BASE_INSTALL, module


def test_the_package_imports_with_every_extra_missing():
    """The facade, the CLI and its help in a process where torch, onnx, TensorRT, Triton... cannot
    be imported (the base install: the serving environment has no onnx, a Jetson image no torch)."""
    import subprocess

    blocked = sorted(HEAVY - BASE_INSTALL)
    code = (
        f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
        "import stmfnet_trt, stmfnet_trt.cli, stmfnet_trt.api.interpolator\n"
        "from stmfnet_trt.cli import main\n"
        "try:\n    main(['run', '--help'])\n"
        "except SystemExit as done:\n    assert done.code == 0, done.code\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage: stmfnet-trt run" in result.stdout


def test_only_the_spec_module_opens_the_listed_backend_modules_lazily():
    assert "stmfnet_trt.runtime.backends.tensorrt_backend" in _opened_lazily()
    assert opened_lazily(LAZY_OPENER, "stmfnet_trt.engine.for_run")
    assert not opened_lazily("stmfnet_trt.api.interpolator", "stmfnet_trt.engine.for_run")
    assert not opened_lazily(LAZY_OPENER, "stmfnet_trt.runtime.backends.blend")
