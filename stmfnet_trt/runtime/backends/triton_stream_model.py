"""The stream wire as Triton sees it: a second model that takes each video frame once, as uint8.

The windows model (``triton_model``) takes four float32 frames per window: about 100 MB per
interpolated 1080p frame, though consecutive windows share three frames and x4/x8 reuse the
frames of earlier levels. The stream model (``<name>_stream``) runs the scheduler on the server
instead: a client opens a stream, sends its video frames in order, each once, as the decoder gives
them (uint8 RGB, H x W x 3, unpadded), and gets back the output frames as the encoder wants them
(uint8). So the frames are ``run``'s frames bit for bit: the server converts them with the same
functions (``to_model_frame``/``to_video_frame``) and runs the same ``interpolate_stream``, scene
cuts and all levels, on the same backend.

Inputs (no batch dimension; PyTriton 0.7 has no sequence batcher, so the stream is named by
``stream_id``, a number the client draws, like Triton's correlation id):

    stream_id    UINT64 [1]        which stream
    frame_index  INT64  [1]        requests this stream has had (0 opens it); the same index
                                   again repeats the last request (a retry): same reply
    frame        UINT8  [H, W, 3]  the next frame (optional: absent with ``end`` or ``cancel``)
    end          BOOL   [1]        no more frames: finish the stream and forget it (optional)
    cancel       BOOL   [1]        forget the stream now, with no reply frames (optional)
    factor, batch_size (INT32 [1]), scene_threshold (FP64 [1]: the Python float itself, so
    that a cut is decided as ``run`` decides it), scene_detect (BOOL [1]):
                                   ``run``'s settings, on the opening request only

Outputs:

    frames  UINT8 [K, H, W, 3]  the output frames the client does not have yet, each once
    order   INT64 [4 + M]       the stream's scheduler counts so far (``STATS_FIELDS``), then one
                                code per output frame, in order: ``c >= 0`` is the frame the client
                                sent as request ``c`` (an original passing through, named, not sent
                                back; only one of the last ``StreamSettings.source_hold``),
                                ``c < 0`` is ``frames[-c - 1]``

PyTriton 0.7 cannot send a tensor with no elements (its shared-memory copy fails on a zero in the
shape), so a reply without new frames carries one 1x1 frame that ``order`` never names.

Pure Python and numpy: the checks run in the front before tritonserver sizes anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from stmfnet_trt.core.contract import check_frame_size, padded_size
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.runtime.backends.triton_model import (
    ITEM_BYTES,
    RequestLimits,
    RequestRefused,
    TensorDeclaration,
    echo,
    http_request_tensors,
)
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SUPPORTED_FACTORS, SchedulerStats

STREAM_SUFFIX = "_stream"
# What ``--backend triton`` sends: ``stream`` (this model), ``windows`` (``triton_model``'s, the only
# one a stock tritonserver on a ``triton-repo`` repository has), or ``auto``: stream where served.
WIRES = ("auto", "stream", "windows")
DEFAULT_MAX_STREAMS = 4
DEFAULT_IDLE_S = 60.0
FRAME = "frame"
FRAMES = "frames"
ORDER = "order"
STREAM_OUTPUTS = (FRAMES, ORDER)
STATS_FIELDS = tuple(f.name for f in fields(SchedulerStats))
# What a reply without new frames carries in ``frames``: PyTriton cannot send an empty tensor.
NO_FRAMES = np.zeros((1, 1, 1, 3), np.uint8)
CHANNELS_LAST = 3


@dataclass(frozen=True)
class InputSpec:
    """One input of the stream model: Triton datatype, dims (-1: any), and whether it is optional."""

    datatype: str
    dims: tuple[int, ...]
    optional: bool = False


STREAM_INPUTS: dict[str, InputSpec] = {
    "stream_id": InputSpec("UINT64", (1,)),
    "frame_index": InputSpec("INT64", (1,)),
    FRAME: InputSpec("UINT8", (-1, -1, CHANNELS_LAST), optional=True),
    "end": InputSpec("BOOL", (1,), optional=True),
    "cancel": InputSpec("BOOL", (1,), optional=True),
    "factor": InputSpec("INT32", (1,), optional=True),
    "batch_size": InputSpec("INT32", (1,), optional=True),
    "scene_threshold": InputSpec("FP64", (1,), optional=True),
    "scene_detect": InputSpec("BOOL", (1,), optional=True),
}
SETTINGS_INPUTS = ("factor", "batch_size", "scene_threshold", "scene_detect")
STREAM_OUTPUT_SPECS: dict[str, InputSpec] = {
    FRAMES: InputSpec("UINT8", (-1, -1, -1, CHANNELS_LAST)),
    ORDER: InputSpec("INT64", (-1,)),
}
NUMPY_TYPES = {
    "UINT8": np.uint8,
    "BOOL": np.bool_,
    "INT32": np.int32,
    "FP32": np.float32,
    "INT64": np.int64,
    "UINT64": np.uint64,
    "FP64": np.float64,
}


def stream_model_name(model_name: str) -> str:
    """The stream model served next to the windows model ``model_name``."""
    return model_name + STREAM_SUFFIX


@dataclass(frozen=True)
class StreamSettings:
    """What a stream runs with: ``run``'s factor, batch size and scene-cut detector."""

    factor: int = 2
    batch_size: int = 1
    detector: SceneCutDetector = field(default_factory=SceneCutDetector)

    @property
    def source_hold(self) -> int:
        """How many of its last frames the client keeps, so that the server may name them instead
        of sending their pixels back. An original leaves the scheduler a few frames after it
        arrives (its window reaches two frames ahead, one more for the cut check, and each level
        waits for a batch): measured on carphone, at most batch + 2 frames later at x2, 1.5 x batch
        + 2 at x4, about 2 x batch at x8. One older than this comes back as pixels: correct, only
        bigger."""
        return 2 * self.batch_size + 4

    def as_inputs(self) -> dict[str, np.ndarray]:
        """The opening request's settings tensors."""
        return {
            "factor": np.array([self.factor], np.int32),
            "batch_size": np.array([self.batch_size], np.int32),
            "scene_threshold": np.array([self.detector.threshold], np.float64),
            "scene_detect": np.array([self.detector.enabled]),
        }

    @classmethod
    def from_inputs(cls, inputs: dict[str, np.ndarray], limits: RequestLimits) -> StreamSettings:
        """The settings of an opening request, each checked (RequestRefused)."""
        missing = [name for name in SETTINGS_INPUTS if name not in inputs]
        if missing:
            raise RequestRefused(f"the opening request must carry {', '.join(missing)}")
        factor, batch = int(inputs["factor"][0]), int(inputs["batch_size"][0])
        if factor not in SUPPORTED_FACTORS:
            raise RequestRefused(f"factor must be one of {SUPPORTED_FACTORS}, got {factor}")
        if not 1 <= batch <= limits.max_batch_size:
            raise RequestRefused(f"batch_size must be 1..{limits.max_batch_size} on this server, got {batch}")
        threshold = float(inputs["scene_threshold"][0])
        try:
            detector = SceneCutDetector(threshold, enabled=bool(inputs["scene_detect"][0]))
        except UserError as exc:
            raise RequestRefused(str(exc)) from None
        return cls(factor, batch, detector)


def check_frame_shape(shape: Sequence[int], limits: RequestLimits) -> None:
    """A frame (H, W, 3) the server will pad and run: within the caps once padded, as the windows
    model's frames are, and not too small to pad."""
    height, width, channels = shape
    if channels != CHANNELS_LAST:
        raise RequestRefused(f"a frame must be H x W x {CHANNELS_LAST} (RGB), got {channels} channels")
    padded_height, padded_width = padded_size(height), padded_size(width)
    if max(padded_height, padded_width) > limits.max_side or padded_height * padded_width > limits.max_pixels:
        raise RequestRefused(
            f"frames of {height}x{width} (padded {padded_height}x{padded_width}) exceed this server's "
            f"limit (sides up to {limits.max_side}, {limits.max_pixels} pixels); send smaller frames",
            status=413,
        )
    try:
        check_frame_size(height, width)
    except InputError as exc:
        raise RequestRefused(str(exc)) from None


def _check_dims(name: str, spec: InputSpec, shape: object, limits: RequestLimits) -> tuple[int, ...]:
    if not isinstance(shape, (list, tuple)) or len(shape) != len(spec.dims):
        raise RequestRefused(f"input {name} must have {len(spec.dims)} dimensions, got {echo(shape)}")
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise RequestRefused(f"input {name} has a shape of non-integers: {echo(shape)}")
    if min(shape) < 1:
        raise RequestRefused(f"input {name} has a dimension below 1: {echo(shape)}")
    if any(want not in (-1, got) for want, got in zip(spec.dims, shape, strict=True)):
        raise RequestRefused(f"input {name} must have shape {list(spec.dims)}, got {echo(shape)}")
    if name == FRAME:
        check_frame_shape(shape, limits)
    return tuple(shape)


def check_stream_request(tensors: Sequence[TensorDeclaration], limits: RequestLimits) -> None:
    """Refuse (RequestRefused) inputs the stream model does not have, a datatype or shape other
    than its own, a frame beyond ``limits``, or a tensor not carrying exactly its shape's bytes.

    What the values mean (which stream, which index) is checked by the stream store, which
    knows the streams."""
    names = [t.name for t in tensors]
    if not all(isinstance(n, str) and n in STREAM_INPUTS for n in names) or len(set(names)) != len(names):
        raise RequestRefused(
            f"inputs must be among {', '.join(STREAM_INPUTS)} (each at most once); got {echo(names)}"
        )
    missing = [n for n, spec in STREAM_INPUTS.items() if not spec.optional and n not in names]
    if missing:
        raise RequestRefused(f"a stream request must carry {', '.join(missing)}")
    for tensor in tensors:
        spec = STREAM_INPUTS[tensor.name]
        if tensor.datatype != spec.datatype:
            raise RequestRefused(f"input {tensor.name} must be {spec.datatype}, got {echo(tensor.datatype)}")
        shape = _check_dims(tensor.name, spec, tensor.shape, limits)
        expected = math.prod(shape) * ITEM_BYTES[spec.datatype]
        if tensor.data_bytes != expected:
            raise RequestRefused(
                f"input {tensor.name} declares {echo(list(shape))} ({expected} bytes) but carries "
                f"{tensor.data_bytes} bytes"
            )


def http_stream_tensors(body: bytes, header_length: int | None, limits: RequestLimits) -> None:
    """Check an HTTP infer request for the stream model (``triton_model.http_request_tensors``, then
    ``check_stream_request``)."""
    tensors = http_request_tensors(body, header_length, STREAM_OUTPUTS, len(STREAM_INPUTS))
    check_stream_request([declared for declared, _ in tensors], limits)


__all__ = [
    "DEFAULT_IDLE_S",
    "DEFAULT_MAX_STREAMS",
    "FRAME",
    "FRAMES",
    "NO_FRAMES",
    "NUMPY_TYPES",
    "ORDER",
    "STATS_FIELDS",
    "STREAM_INPUTS",
    "STREAM_OUTPUTS",
    "STREAM_OUTPUT_SPECS",
    "WIRES",
    "InputSpec",
    "StreamSettings",
    "check_frame_shape",
    "check_stream_request",
    "http_stream_tensors",
    "stream_model_name",
]
