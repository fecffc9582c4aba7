"""Helpers of the pip-install tests: build steps, and what the session fixtures (conftest.py) return.

The wheel is built once per session from an sdist, and a fresh venv gets only that wheel installed.

The build goes the way a release does (``make dist``): sdist, a wheel built from the unpacked sdist
by scikit-build-core and the project's CMake (both native libraries, the full CUDA target preset),
then ``auditwheel repair``. It reuses what the suite already has: the dev venv's build backend
(no build isolation, so no download of scikit-build-core) and the headers ``make plugins`` fetched
(``STMFNET_HEADERS_DIR``); the compile itself is fresh. The venv gets the repaired wheel by a plain
``pip install`` (its runtime dependencies and ``tensorrt-lean-cu13`` from the package index), with
a PATH that holds no compiler, CMake or nvcc, and is then used from a temporary working directory
so no source tree is importable.
"""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("cc", "gcc", "c++", "g++", "cmake", "nvcc", "ninja", "make")


def run_checked(command: list[str | Path], **kwargs) -> subprocess.CompletedProcess:
    """Run a build step; on failure the assertion shows its output, not only its exit status."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{output}"
    return result


@dataclass(frozen=True)
class BuiltDist:
    sdist: Path
    raw_wheel: Path  # as the backend wrote it (linux_x86_64)
    wheel: Path  # repaired by auditwheel (manylinux_2_X)
    audit: str  # `auditwheel show` of the raw wheel

    def names(self) -> list[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.namelist()


@dataclass(frozen=True)
class InstalledVenv:
    python: Path
    cli: Path
    env: dict[str, str]  # stripped PATH, no PYTHONPATH, an empty export cache
    cwd: Path  # a temporary folder: no source tree beside it
    cache: Path

    def run(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env={**self.env, **env},
        )

    def python_code(self, code: str, **env: str) -> subprocess.CompletedProcess:
        return self.run(self.python, "-c", code, **env)


def tensorrt_lean_requirement() -> str:
    """The dev venv's tensorrt-lean-cu13 version (already in pip's cache), else the latest."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"tensorrt-lean-cu13=={version('tensorrt-lean-cu13')}"
    except PackageNotFoundError:
        return "tensorrt-lean-cu13"
