"""A full disk at each kind of output besides frames (issue 20, item 6): the whole-file writers
(ONNX exports, engines, cache entries, reports) through ``atomic_output_path``, the reports of
``eval`` and ``bench``, and the folder ``triton-repo`` writes. Each ends in one line, exit 2, the
previous file (if any) untouched, and no temporary or lock left beside it.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from hostile_cli import STAMP, foreign_onnx

from stmfnet_trt.cli import main
from stmfnet_trt.io.atomic import atomic_output_path


def _full_disk_after(limit: int):
    """A ``write_text`` that writes ``limit`` characters, then fails as a full disk does."""

    def write_text(self: Path, data: str, *args, **kwargs) -> int:
        with open(self, "w") as handle:
            handle.write(data[:limit])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    return write_text


@pytest.mark.parametrize("existing", [False, True])
def test_a_whole_file_writer_that_fills_the_disk_leaves_the_old_file(tmp_path, existing):
    final = tmp_path / "model.onnx"
    if existing:
        final.write_bytes(b"the previous export")
    with pytest.raises(OSError, match="No space left"), atomic_output_path(final, overwrite=True) as temp:
        temp.write_bytes(b"half of a new one")
        raise OSError(errno.ENOSPC, "No space left on device", str(temp))
    assert sorted(p.name for p in tmp_path.iterdir()) == (["model.onnx"] if existing else [])
    if existing:
        assert final.read_bytes() == b"the previous export"


@pytest.mark.parametrize(
    "command",
    [
        "eval {clip} --backend blend --no-minterpolate -q --json {out}/report.json",
        "bench --backends blend --sizes 128x128 --iterations 1 --warmup 0 --json {out}/bench.json",
    ],
)
def test_a_report_on_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path, short_clip, monkeypatch, capsys, command
):
    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setattr(Path, "write_text", _full_disk_after(10))
    status = main(command.format(clip=short_clip, out=out).split())
    stderr = capsys.readouterr().err
    assert status == 2 and "Traceback" not in stderr, stderr
    assert stderr.count("error:") == 1 and "No space left on device" in stderr, stderr
    assert list(out.iterdir()) == []


def test_a_model_repository_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    model = foreign_onnx(tmp_path / "model.onnx", metadata=STAMP)
    copies = []

    def copy_then_fill(source, target, *args, **kwargs):
        copies.append(target)
        shutil.copyfile(source, target)
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr("stmfnet_trt.serve.repository.shutil.copy2", copy_then_fill)
    status = main(["triton-repo", str(model), "-o", str(tmp_path / "repo")])
    stderr = capsys.readouterr().err
    assert copies and status == 2 and "Traceback" not in stderr, stderr
    assert stderr.count("error:") == 1 and "No space left on device" in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
