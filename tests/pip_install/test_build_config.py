"""The build's promises that need no wheel: one line when headers cannot be fetched, and an editable
(developer) install that runs no CMake, so `make setup` stays fast and needs no compiler."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from wheel_install import REPO


def test_a_header_fetch_that_fails_stops_the_configure_with_one_line_naming_the_option(tmp_path):
    result = subprocess.run(
        [
            "cmake",
            "-S",
            REPO,
            "-B",
            tmp_path / "build",
            "-DSTMFNET_BUILD_TRT_PLUGIN=OFF",
            f"-DSTMFNET_HEADERS_DIR={tmp_path / 'headers'}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "STMFNET_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"},  # nothing listens
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "could not be fetched" in line]
    assert len(lines) == 1, result.stderr
    line = lines[0].strip()
    assert line.startswith("ONNX Runtime headers could not be fetched by scripts/fetch_ort_headers.sh"), line
    assert "-DORT_INCLUDE_DIR=<dir> (pip: -C cmake.define.ORT_INCLUDE_DIR=<dir>)" in line


def test_the_editable_install_builds_without_cmake_or_a_compiler(tmp_path):
    """scikit-build-core's editable hook, run with a PATH that has no cmake, cc or nvcc."""
    code = (
        "import sys\nfrom scikit_build_core.build import build_editable\nprint(build_editable(sys.argv[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, tmp_path],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / result.stdout.split()[-1]) as wheel:
        names = wheel.namelist()
    assert not [n for n in names if n.endswith(".so")], names
    assert any(n.endswith(".pth") for n in names), names
