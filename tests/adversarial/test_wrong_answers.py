"""Nothing silently wrong (issue 20, item 2): files and outputs that would give wrong frames with
exit status 0 are refused, or their windows replaced and counted, and the user is told.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from hostile_cli import STAMP, assert_one_line_error, foreign_onnx, run_cli
from onnx import TensorProto

from stmfnet_trt.core.contract import INPUT_NAMES, META_CONTRACT
from stmfnet_trt.io import open_source
from stmfnet_trt.model.checkpoint import load_checkpoint_file
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, settled


def test_an_onnx_file_without_our_metadata_is_refused_unless_forced(tmp_path, short_clip):
    model = foreign_onnx(tmp_path / "theirs.onnx")
    refused = run_cli(
        "run", short_clip, "-o", tmp_path / "a.mp4", "--backend", "onnxruntime", "--onnx", model
    )
    assert "carries no stmfnet-trt export metadata" in assert_one_line_error(refused)
    assert not (tmp_path / "a.mp4").exists()
    forced = run_cli(
        "run",
        short_clip,
        "-o",
        tmp_path / "b.mp4",
        "--backend",
        "onnxruntime",
        "--onnx",
        model,
        "--force-onnx",
        "-q",
    )
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"names": ("a", "b", "c", "d")}, "inputs are"),
        ({"names": INPUT_NAMES[:3]}, "inputs are"),
        ({"output_type": TensorProto.INT64}, "expected float32"),
        ({"output_type": TensorProto.FLOAT16}, "expected float32"),
    ],
)
def test_an_onnx_file_off_the_contract_is_refused_even_when_forced(tmp_path, short_clip, kwargs, problem):
    model = foreign_onnx(tmp_path / "off.onnx", metadata=STAMP, **kwargs)
    result = run_cli(
        "run",
        short_clip,
        "-o",
        tmp_path / "o.mp4",
        "--backend",
        "onnxruntime",
        "--onnx",
        model,
        "--force-onnx",
    )
    line = assert_one_line_error(result)
    assert "does not follow the export contract" in line and problem in line


def test_an_export_for_another_interface_is_refused(tmp_path, short_clip):
    model = foreign_onnx(tmp_path / "old.onnx", metadata={**STAMP, META_CONTRACT: "inputs in 0..255"})
    result = run_cli("run", short_clip, "-o", tmp_path / "o.mp4", "--backend", "onnxruntime", "--onnx", model)
    assert "another interface" in assert_one_line_error(result)


def test_a_model_that_outputs_nan_gets_blends_and_a_warning_not_black_frames(tmp_path, short_clip):
    model = foreign_onnx(tmp_path / "nan.onnx", maths="nan", metadata=STAMP)
    out = tmp_path / "out"
    result = run_cli("run", short_clip, "-o", out, "--backend", "onnxruntime", "--onnx", model, "-q")
    assert result.returncode == 0, result.stderr
    assert "diverged in 5 of 5 windows" in result.stderr
    with open_source(short_clip) as source:
        inputs = [frame.astype(np.float32) for frame in source]
    with open_source(out, fps=50) as written:
        frames = list(written)
    for index in range(5):  # every middle is the blend of its neighbours, not black
        blend = (inputs[index] + inputs[index + 1]) / 2
        assert np.abs(frames[2 * index + 1].astype(np.float32) - blend).max() <= 1.0


@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf])
def test_settled_treats_any_non_finite_value_as_divergence(poison):
    first, second = np.zeros((3, 4, 4), np.float32), np.ones((3, 4, 4), np.float32)
    raw = np.full((3, 4, 4), 0.5, np.float32)
    raw[1, 2, 3] = poison
    stats = SchedulerStats()
    assert np.array_equal(settled(raw, first, second, stats), np.full((3, 4, 4), 0.5, np.float32))
    assert stats.diverged_windows == 1
    finite = np.full((3, 4, 4), 0.25, np.float32)
    assert np.array_equal(settled(finite, first, second, stats), finite)  # a finite window stays
    assert stats.diverged_windows == 1


def test_check_without_a_checkpoint_refuses_an_export_of_other_weights(tmp_path):
    model = foreign_onnx(tmp_path / "other.onnx", metadata=STAMP)
    result = run_cli("check", model)
    line = assert_one_line_error(result)
    assert "not from the demo weights" in line and "--checkpoint" in line


class _Payload:
    """Unpickling this would create ``marker``: proof that the checkpoint ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path, short_clip):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "extra": _Payload(marker)}, evil)
    result = run_cli("run", short_clip, "-o", tmp_path / "o.mp4", "--backend", "torch", "--checkpoint", evil)
    line = assert_one_line_error(result)
    assert "will not unpickle" in line and "weights_only" not in result.stderr
    assert not marker.exists()
    with pytest.raises(Exception, match="will not unpickle"):
        load_checkpoint_file(evil)  # what train --resume reads through
    assert not marker.exists()


@pytest.mark.parametrize(
    ("problem", "make"),
    [
        ("missing input", lambda tmp, clip: ("missing.mp4", tmp / "o.mp4")),
        ("existing output", lambda tmp, clip: (clip, clip)),
        ("output over the input folder", lambda tmp, clip: (clip, tmp)),
    ],
)
def test_bad_paths_are_refused_before_any_export(tmp_path, short_clip, problem, make):
    cache = tmp_path / "cache"
    source, output = make(tmp_path, short_clip)
    result = run_cli("run", source, "-o", output, "--backend", "onnxruntime", STMFNET_TRT_CACHE=str(cache))
    assert_one_line_error(result)
    assert not (cache / "onnx").exists() or os.listdir(cache / "onnx") == [], problem


def _variable_rate_clip(path: Path) -> Path:
    """20 frames at 30 fps then 20 at 15 fps, millisecond timestamps (a phone saving power)."""
    times = [i / 30 for i in range(20)] + [20 / 30 + i / 15 for i in range(20)]
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264")
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for t in times:
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (144, 176, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_variable_frame_rate_is_refused_unless_constant_rate_is_accepted(tmp_path):
    clip = _variable_rate_clip(tmp_path / "phone.mkv")
    refused = run_cli("run", clip, "-o", tmp_path / "a.mp4", "--backend", "blend", "-q")
    line = assert_one_line_error(refused)
    assert "variable frame rate" in line and "--assume-cfr" in line
    accepted = run_cli("run", clip, "-o", tmp_path / "b.mp4", "--backend", "blend", "-q", "--assume-cfr")
    assert accepted.returncode == 0, accepted.stderr
    with open_source(tmp_path / "b.mp4") as written:
        assert sum(1 for _ in written) == 80
