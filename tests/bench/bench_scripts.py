"""Helpers for the bench/ script tests: the scripts are files, not an importable package."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


@contextmanager
def bench_script(name: str) -> Iterator[ModuleType]:
    """Load ``bench/<name>.py`` as module ``name`` for the duration of the block.

    bench/ goes on sys.path (scripts import their sibling ``results`` module) and the module into
    sys.modules while it executes (dataclasses resolve their module then); both are undone after.
    """
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))
        del sys.modules[name]
