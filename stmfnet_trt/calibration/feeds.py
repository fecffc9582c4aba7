"""Inputs of the core graph, computed window by window from the full FP32 model.

The core (``split.split_core``) reads the four frames plus the warped frames that the cut-out
warp would have made. These come from running the complete FP32 model (our custom-op library
included, for the plugin variant) with the boundary tensors exposed as extra outputs, so the
calibration sees exactly the activations the deployed model sees. Windows are computed one at a
time: at 1080p one window's boundary tensors take ~300 MB.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from stmfnet_trt.core.contract import INPUT_NAMES
from stmfnet_trt.export.ort_session import create_session


def frame_feeds(window: np.ndarray) -> dict[str, np.ndarray]:
    """One (4, 3, H, W) window as the graph's four inputs, batch 1."""
    return {name: np.ascontiguousarray(window[i][None]) for i, name in enumerate(INPUT_NAMES)}


class BoundaryRunner:
    """Runs the full FP32 model and returns intermediate tensors along with the frames.

    All of ``tensors`` become graph outputs; each call fetches only those it names, so the big
    ones (head outputs at twice the frame size) are not copied out when not needed.
    """

    def __init__(self, model: onnx.ModelProto, tensors: Sequence[str], workdir: Path) -> None:
        exposed = onnx.ModelProto()
        exposed.CopyFrom(model)
        known = {o.name for o in exposed.graph.output}
        exposed.graph.output.extend(
            onnx.helper.make_empty_tensor_value_info(t) for t in tensors if t not in known
        )
        path = workdir / "fp32_exposed.onnx"
        onnx.save_model(exposed, str(path))
        self._session = create_session(path)

    def __call__(self, window: np.ndarray, tensors: Sequence[str]) -> dict[str, np.ndarray]:
        feeds = frame_feeds(window)
        values = self._session.run(list(tensors), feeds)
        return {**feeds, **dict(zip(tensors, values, strict=True))}


class CoreFeeds(CalibrationDataReader):
    """ONNX Runtime calibration reader over the windows: frames + warped frames, one per step."""

    def __init__(self, runner: BoundaryRunner, windows: np.ndarray, tensors: Sequence[str]) -> None:
        self._runner = runner
        self._windows = windows
        self._tensors = tuple(tensors)
        self._iterator: Iterator[np.ndarray] = iter(windows)

    def get_next(self) -> dict[str, np.ndarray] | None:
        window = next(self._iterator, None)
        return None if window is None else self._runner(window, self._tensors)

    def rewind(self) -> None:
        self._iterator = iter(self._windows)

    def __len__(self) -> int:
        return len(self._windows)
