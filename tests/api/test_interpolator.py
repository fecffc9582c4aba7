"""The Interpolator against the scheduler run of ``stmfnet-trt run``: same frames, same checks."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from cubic_backend import CubicBackend

import stmfnet_trt as st
from stmfnet_trt.core.frames import to_model_frame, to_video_frame
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.backends.specs import named_spec
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import interpolate_stream

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def smooth_clip(
    count: int, height: int = 130, width: int = 200, cut_at: int | None = None
) -> list[np.ndarray]:
    """Frames of a moving gradient (no cuts unless ``cut_at``), uint8 HxWx3."""
    ys, xs = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(count):
        shift = 40 if cut_at is not None and t >= cut_at else 0
        base = (xs + 3 * t + shift) % 256
        frame = np.stack([base, (ys + 2 * t) % 256, (xs + ys + t + 3 * shift) % 256], axis=-1)
        frames.append(frame.astype(np.uint8))
    return frames


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_frames_equal_the_schedulers_run_over_the_same_backend(factor):
    frames = smooth_clip(6)
    expected = [
        to_video_frame(f)
        for f in interpolate_stream(
            (to_model_frame(f) for f in frames), CubicBackend(), factor, SceneCutDetector()
        )
    ]
    with st.Interpolator(CubicBackend(), factor=factor) as interpolator:
        got = interpolator.interpolate(frames)
    assert len(got) == factor * len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert interpolator.stats.windows > 0


def test_float_frames_come_back_as_float_in_the_same_layout():
    frames = [f.astype(np.float32) / 255 for f in smooth_clip(3)]
    with st.Interpolator(st.BlendSpec()) as interpolator:
        out = interpolator.interpolate(frames)
    assert out[0].dtype == np.float32 and out[0].shape == frames[0].shape
    assert np.allclose(out[1], (frames[0] + frames[1]) / 2, atol=1e-6)
    assert np.array_equal(out[2], frames[1])


def test_stream_is_lazy():
    """The first output frames come before the input is exhausted (live sources, bounded memory)."""
    pulled = []

    def source():
        for index, frame in enumerate(smooth_clip(50)):
            pulled.append(index)
            yield frame

    with st.Interpolator(st.BlendSpec()) as interpolator:
        stream = interpolator.stream(source())
        first = [next(stream) for _ in range(4)]
    assert len(first) == 4 and max(pulled) < 10


def test_scene_cuts_are_copied_and_can_be_turned_off():
    frames = smooth_clip(6, cut_at=3)
    with st.Interpolator(st.BlendSpec()) as interpolator:
        out = interpolator.interpolate(frames)
    assert interpolator.stats.scene_cuts == 1
    assert np.array_equal(out[5], frames[2])  # the pair across the cut: the first frame again
    with st.Interpolator(st.BlendSpec(), scene_threshold=None) as interpolator:
        interpolator.interpolate(frames)
    assert interpolator.stats.scene_cuts == 0


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([np.zeros((130, 200), np.uint8)] * 2, r"frames\[0\] must be an HxWx3"),
        ([np.zeros((130, 200, 3), np.int16)] * 2, r"frames\[0\] must be uint8 or float"),
        ([np.zeros((130, 200, 3), np.uint8), np.zeros((130, 200, 3), np.float32)], r"frames\[1\] is float32"),
        ([np.zeros((130, 200, 3), np.uint8)], "at least 2"),
        ([np.zeros((40, 200, 3), np.uint8)] * 2, "too small"),
        # identical frames are copied, never windowed: only the frames' own check can refuse these
        ([np.full((130, 200, 3), 3.0, np.float32)] * 2, r"frames\[0\] values must lie in \[0, 1\]"),
        ([np.full((130, 200, 3), np.nan, np.float32)] * 2, r"frames\[0\] values must lie in \[0, 1\]"),
    ],
)
def test_unusable_frames_are_input_errors(frames, message):
    with st.Interpolator(st.BlendSpec()) as interpolator, pytest.raises(st.InputError, match=message):
        interpolator.interpolate(frames)


def test_the_backend_opens_on_first_use_and_a_file_run_checks_its_files_first(tmp_path):
    spec = st.OnnxRuntimeSpec(model=tmp_path / "missing.onnx")
    interpolator = st.Interpolator(spec)  # nothing opened yet
    with pytest.raises(st.InputError, match="no such file"):
        interpolator.interpolate_file(tmp_path / "missing.mp4", tmp_path / "out.mp4")
    with pytest.raises(st.UserError, match=r"missing\.onnx"):
        interpolator.interpolate(smooth_clip(2))


def test_a_callers_backend_is_not_closed():
    backend = BlendBackend()
    closed = []
    backend.close = lambda: closed.append(True)
    with st.Interpolator(backend) as interpolator:
        interpolator.interpolate(smooth_clip(2))
    assert closed == []


def test_interpolate_file_writes_what_run_writes(tmp_path):
    with st.Interpolator(st.BlendSpec(), factor=2) as interpolator:
        summary = interpolator.interpolate_file(ASSETS / "demo.mp4", tmp_path / "frames")
    written = sorted((tmp_path / "frames").glob("*.png"))
    assert summary.output_frames == len(written) == 36
    with pytest.raises(st.UserError, match="exists"):
        interpolator.interpolate_file(ASSETS / "demo.mp4", tmp_path / "frames")


def test_specs_are_plain_data():
    specs = [
        st.TorchSpec(device="cpu", threads=2),
        st.OnnxRuntimeSpec(model=Path("m.onnx"), threads=1),
        st.TensorRTSpec(engine=Path("e.plan")),
        st.TritonSpec(url="localhost:8001"),
        st.BlendSpec(),
    ]
    assert [pickle.loads(pickle.dumps(spec)) for spec in specs] == specs


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: st.OnnxRuntimeSpec(model=Path("m.onnx"), checkpoint=Path("c.pth")), "model"),
        (lambda: st.TorchSpec(checkpoint=Path("c.pth"), random_init_seed=0), "random_init_seed"),
        (lambda: st.TensorRTSpec(), "engine"),
        (lambda: named_spec("triton"), "url"),
        (lambda: named_spec("cuda-magic"), "backend"),
        (lambda: st.Interpolator(st.BlendSpec(), batch_size=0), "batch_size"),
        (lambda: st.open_backend(st.OnnxRuntimeSpec(random_init_seed=7)), "random_init_seed"),
        (lambda: st.BuildSpec(precision="int4"), "precision"),
        (lambda: st.BuildSpec(onnx_only=True), "onnx_only"),
    ],
)
def test_bad_settings_name_their_parameter(make, parameter):
    with pytest.raises(st.ParameterError) as caught:
        make()
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(parameter)
    assert "--" not in str(caught.value)


def test_named_specs_are_what_the_cli_names_mean():
    assert named_spec("blend") == st.BlendSpec()
    assert named_spec("onnxruntime", onnx=Path("m.onnx"), threads=2) == st.OnnxRuntimeSpec(
        model=Path("m.onnx"), threads=2
    )
    assert named_spec("auto", onnx=Path("m.onnx")) == st.OnnxRuntimeSpec(model=Path("m.onnx"))
    assert named_spec("auto", device="cpu") == st.OnnxRuntimeSpec()
    assert named_spec("tensorrt", engine=Path("e.plan")) == st.TensorRTSpec(engine=Path("e.plan"))


def test_the_facade_exports_what_it_lists():
    """Every public name is the function or class itself: none is also the name of a module right
    under stmfnet_trt (importing that module would set the package's attribute to the module,
    as ``stmfnet_trt.evaluate`` did once)."""
    import types

    from test_layers import MODULE_FILES

    assert set(st.__all__) == {"__version__", *st._EXPORTS}
    assert [name for name in st.__all__ if f"stmfnet_trt.{name}" in MODULE_FILES] == []
    assert not [name for name in st.__all__ if isinstance(getattr(st, name), types.ModuleType)]
    assert callable(st.evaluate) and callable(st.build_engine)
