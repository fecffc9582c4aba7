"""Every mistake a user can make is one line and exit status 2 (issue 20, item 5).

A table of hostile invocations, each run through ``main`` as the console script runs it: missing,
empty, foreign and damaged files in every slot that takes a path, options at and past their
edges, and subcommands given what another one takes. None may print a traceback, none may exit 0
or 1, and each must say in its one line what was wrong.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from stmfnet_trt.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, short_clip) -> Path:
    """A folder of hostile files, next to a good clip (``c.mp4``)."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "c.mp4").write_bytes(short_clip.read_bytes())
    (root / "text.mp4").write_text("hello")
    (root / "empty.mp4").write_bytes(b"")
    (root / "emptydir").mkdir()
    (root / "junk.onnx").write_bytes(b"junk")
    (root / "junk.plan").write_bytes(b"junk")
    (root / "junk.pth").write_bytes(b"junk")
    (root / "junk.json").write_text("{not json")
    (root / "notes.txt").write_text("the user's")
    (root / "half.mp4").write_bytes(short_clip.read_bytes()[: short_clip.stat().st_size // 3])
    return root


CASES = [
    # (command, words the one line must contain)
    ("run missing.mp4 -o o.mp4 --backend blend", "no such file"),
    ("run text.mp4 -o o.mp4 --backend blend", "not a video"),
    ("run empty.mp4 -o o.mp4 --backend blend", "empty"),
    ("run emptydir -o o.mp4 --backend blend", "no PNG or JPEG"),
    ("run half.mp4 -o o.mp4 --backend blend", "half.mp4"),
    ("run c.mp4 -o o.mp4 --backend blend --tile 100", "--tile"),
    ("run c.mp4 -o o.mp4 --backend blend --fps 0", "frame rate must be positive"),
    ("run c.mp4 -o o.mp4 --backend blend --fps x", "not a frame rate"),
    ("run c.mp4 -o o.mp4 --backend blend --factor 3", "invalid choice"),
    ("run c.mp4 -o o.mp4 --backend blend --batch-size 0", "must be >= 1"),
    ("run c.mp4 -o o.mp4 --backend blend --max-frames 1", "at least 2 frames"),
    ("run c.mp4 -o o.mp4 --backend blend --scene-threshold nan", "scene threshold"),
    ("run c.mp4 -o o.mp4 --backend blend --scene-threshold -1", "scene threshold"),
    ("run c.mp4 -o o.avi --backend blend", "unsupported output type"),
    ("run c.mp4 -o nodir/o.mp4 --backend blend", "does not exist"),
    ("run c.mp4 -o c.mp4 --backend blend --overwrite", "overwrite the input"),
    ("run c.mp4 -o o.mp4 --backend onnxruntime --onnx junk.onnx", "cannot load"),
    ("run c.mp4 -o o.mp4 --backend onnxruntime --onnx missing.onnx", "not found"),
    ("run c.mp4 -o o.mp4 --backend onnxruntime --onnx junk.onnx --checkpoint junk.pth", "drop --checkpoint"),
    ("run c.mp4 -o o.mp4 --backend tensorrt --engine junk.plan", "sidecar"),
    ("run c.mp4 -o o.mp4 --backend tensorrt --engine missing.plan", "not found"),
    ("run c.mp4 -o o.mp4 --backend torch --checkpoint junk.pth", "cannot read checkpoint"),
    ("run c.mp4 -o o.mp4 --backend torch --checkpoint emptydir", "checkpoint not found"),
    ("run c.mp4 -o o.mp4 --backend torch --random-init --checkpoint junk.pth", "exclude each other"),
    ("run c.mp4 -o o.mp4 --backend torch --random-init --device banana", "unknown device"),
    ("export --checkpoint junk.pth -o x.onnx", "cannot read checkpoint"),
    ("export --random-init -o x.txt", "must end in .onnx"),
    ("check missing.onnx", "not found"),
    ("check junk.onnx", "not a readable ONNX model"),
    ("build missing.onnx -o e.plan", "not found"),
    ("build junk.onnx -o e.plan --shapes 1x2x3", "--shapes"),
    ("build junk.onnx -o junk.onnx --overwrite", "overwrite the input"),
    ("build junk.onnx -o c.mp4", "already exists"),
    ("build junk.onnx -o e.plan --precision fp32 --onnx-only", "--onnx-only"),
    ("build junk.onnx -o e.plan --exclude junk.json --precision int8 --calib c.mp4", "junk.json"),
    ("eval missing.mp4 --backend blend", "no such file"),
    ("eval text.mp4 --backend blend", "not a video"),
    ("eval c.mp4 --backend blend --no-minterpolate --json /", "is a folder"),
    ("eval c.mp4 --backend blend --no-minterpolate --json c.mp4 --overwrite", "overwrite the input"),
    ("eval c.mp4 --backend blend --no-minterpolate --json notes.txt", "already exists"),
    ("bench --backends blend --sizes 128x128 --iterations 1 --json notes.txt", "already exists"),
    ("bench --backends blend --sizes 128x128 --iterations 1 --plot emptydir", "is a folder"),
    ("triton-repo missing.plan -o repo", "not found"),
    ("triton-repo junk.onnx -o repo", "junk.onnx"),
    ("triton-repo junk.plan -o repo", "sidecar"),
    ("train --data missing --out run1 --steps 1", "no such file"),
    ("bogus", "invalid choice"),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c for c, _ in CASES])
def test_hostile_invocation_is_one_line(files, monkeypatch, capsys, command, expected):
    monkeypatch.chdir(files)
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(files / "cache"))
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(shlex.split(command)))
    stderr = capsys.readouterr().err
    assert exited.value.code == 2, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and expected in errors[0], stderr
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []  # no temporaries
    assert (files / "notes.txt").read_text() == "the user's"
