"""Transparent huge pages off for the commands that own their process (run, batch), never by the
library on import. Each check runs in a child process, which starts with huge pages allowed
(prctl's flag is inherited: the pytest process may have run a command in-process already)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from synthetic_media import panning_frames, write_frames

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="prctl(PR_SET_THP_DISABLE) is Linux's"
)

ALLOW_AGAIN = """
import ctypes
assert ctypes.CDLL(None).prctl(41, 0, 0, 0, 0) == 0  # PR_SET_THP_DISABLE off: the system's setting
from stmfnet_trt.core.huge_pages import transparent_huge_pages_disabled
assert not transparent_huge_pages_disabled()
"""


def run_child(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ALLOW_AGAIN) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_disabling_is_seen_by_the_kernel_and_inherited_by_children():
    out = run_child(
        """
        import subprocess, sys
        from stmfnet_trt.core.huge_pages import disable_transparent_huge_pages
        assert disable_transparent_huge_pages()
        assert transparent_huge_pages_disabled()
        child = "from stmfnet_trt.core.huge_pages import transparent_huge_pages_disabled as d; print(d())"
        print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout.strip())
        """
    )
    assert out.strip() == "True"


def test_the_library_leaves_the_setting_alone_on_import():
    run_child(
        """
        import stmfnet_trt, stmfnet_trt.api.interpolator, stmfnet_trt.io, stmfnet_trt.runtime.backends.specs
        assert not transparent_huge_pages_disabled()
        """
    )


@pytest.mark.parametrize("output", ["out.mp4", "frames_out"])
def test_run_turns_them_off_for_its_process(tmp_path: Path, output: str):
    source = write_frames(tmp_path / "in", panning_frames(3, size=128))
    run_child(
        f"""
        from stmfnet_trt.cli import main
        argv = ["run", {str(source)!r}, "-o", {str(tmp_path / output)!r}, "--fps", "25", "--backend", "blend"]
        assert main([*argv, "--quiet"]) == 0
        assert transparent_huge_pages_disabled()
        """
    )
