"""docs/api.md runs as written: its ```python blocks, in order, in one namespace.

From a temporary folder holding a copy of assets/demo.mp4 (the page's paths are relative), so the
examples' outputs land there and not in the checkout.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def test_the_page_has_examples_of_every_part_of_the_api():
    code = "\n".join(BLOCK.findall(PAGE.read_text()))
    names = ("open_backend", "Interpolator", ".interpolate(", ".stream(", "interpolate_file", "evaluate")
    for name in (*names, "export_onnx", "build_engine"):
        assert name in code, name


def test_every_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path / "cache"))  # the build's precision cache
    (tmp_path / "assets").mkdir()
    shutil.copy(ROOT / "assets" / "demo.mp4", tmp_path / "assets" / "demo.mp4")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for index, block in enumerate(BLOCK.findall(PAGE.read_text())):
        exec(compile(block, f"docs/api.md block {index}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "factor must be one of (2, 4, 8), got 3" in printed
    assert "demo_x2.mp4: 36 frames at 50 fps" in printed
    assert (tmp_path / "demo_x2.mp4").is_file()
    assert "PSNR" in printed and "passed" in printed  # the export's parity and the FP16 gate
    assert (tmp_path / "model_fp16.onnx").is_file()
