"""``Interpolator``: frames in, x2/x4/x8 frames out, over any backend: clips, streams or files.

The one object a program needs: it opens the backend a spec describes (or takes one the caller
made), and runs the scheduler of ``stmfnet-trt run`` over NumPy frames: scene cuts copied rather
than blended across, a diverged window replaced by the blend of its two neighbours (and counted
in ``stats``), x4/x8 as chained x2 levels, tiling when asked. ``stream`` is lazy and holds a few
frames per level, so memory does not grow with the clip; ``interpolate`` collects a whole clip;
``interpolate_file`` is ``run`` from file to file (atomic output, audio kept).

Frames are HxWx3 RGB, either uint8 or floating point in [0, 1]; the output has the input's kind
(uint8 rounded to nearest, or float32 in [0, 1]).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from stmfnet_trt.core.contract import check_frame_size
from stmfnet_trt.core.errors import InputError, ParameterError
from stmfnet_trt.runtime.backend import Backend, check_value_range
from stmfnet_trt.runtime.backends.specs import BackendSpec, auto_spec, open_backend
from stmfnet_trt.runtime.backends.tiling import TiledBackend, TileOptions
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import (
    SchedulerStats,
    interpolate_rgb,
    interpolate_stream,
    levels_for_factor,
)
from stmfnet_trt.runtime.scheduling.video import (
    MIN_FRAMES,
    RunOptions,
    RunSummary,
    interpolate_video,
)


class Interpolator:
    """Frame interpolation with one backend; use it as a context manager (``with Interpolator(...)``).

    ``backend``: a spec (``OnnxRuntimeSpec()``, ``TensorRTSpec(engine=...)``...; default: torch on a
    CUDA GPU, else ONNX Runtime with the demo weights) or a ``Backend`` the caller opened (then the
    caller closes it). ``factor``: 2, 4 or 8. ``batch_size``: windows per inference call.
    ``scene_threshold``: cut score in [0, 1] above which a pair is copied, not interpolated (None:
    never). ``tiles``: run the model on overlapping square tiles (frames too big for memory).
    """

    def __init__(
        self,
        backend: BackendSpec | Backend | None = None,
        *,
        factor: int = 2,
        batch_size: int = 1,
        scene_threshold: float | None = DEFAULT_THRESHOLD,
        tiles: TileOptions | None = None,
    ) -> None:
        levels_for_factor(factor)
        if batch_size < 1:
            raise ParameterError("batch_size", f"must be >= 1, got {batch_size}")
        self.factor, self.batch_size = factor, batch_size
        self.detector = SceneCutDetector(
            threshold=DEFAULT_THRESHOLD if scene_threshold is None else scene_threshold,
            enabled=scene_threshold is not None,
        )
        self.stats = SchedulerStats()
        self.tiles = tiles
        self._owned = not isinstance(backend, Backend)
        self._spec = None if isinstance(backend, Backend) else (backend or auto_spec())
        self._backend: Backend | None = None
        if isinstance(backend, Backend):
            self._backend = backend if tiles is None else TiledBackend(backend, tiles)

    @property
    def backend(self) -> Backend:
        """The backend, opened from the spec on first use (a file run checks its input and
        output first, so a mistake there costs no model loading, export or engine build)."""
        if self._backend is None:
            assert self._spec is not None
            self._backend = open_backend(self._spec, tiles=self.tiles)
        return self._backend

    def close(self) -> None:
        """Release the backend (sessions, device memory, connections) if this object opened it."""
        if self._owned and self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> Interpolator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """``factor`` x the frames, lazily: each output frame as soon as it is known.

        Needs at least two input frames. ``stats`` counts windows, scene cuts, identical pairs and
        diverged windows over every call.
        """
        kind: list[np.dtype] = []
        checked = _checked(frames, kind)
        first = next(checked)  # records the frames' kind (and refuses an empty clip)
        frames = itertools.chain([first], checked)
        settings = (self.backend, self.factor, self.detector, self.batch_size, self.stats)
        if kind[0] == np.uint8:  # video frames: the way ``run`` takes them
            yield from interpolate_rgb(frames, *settings)
            return
        for frame in interpolate_stream((_float_frame(frame) for frame in frames), *settings):
            yield _rgb_float(frame)

    def interpolate(self, frames: Sequence[np.ndarray] | Iterable[np.ndarray]) -> list[np.ndarray]:
        """The whole clip at ``factor`` x its frame rate (``factor * len(frames)`` frames)."""
        return list(self.stream(frames))

    def interpolate_file(
        self,
        source: str | Path,
        output: str | Path,
        *,
        overwrite: bool = False,
        max_frames: int | None = None,
        input_fps: Fraction | None = None,
        assume_constant_rate: bool = False,
        progress: bool = False,
        preset: str | None = None,
        encoder_threads: int | None = None,
    ) -> RunSummary:
        """A video or frame folder to a video (H.264, audio kept) or a PNG folder, as ``run`` does.

        The output appears under its name only when complete; an existing one is replaced only
        with ``overwrite`` and never when it is an input or holds files we did not write.
        ``preset`` and ``encoder_threads`` set a video output's encoder (libx264's preset, default
        medium; its threads, default FFmpeg's choice).
        """
        options = RunOptions(
            factor=self.factor,
            batch_size=self.batch_size,
            max_frames=max_frames,
            scene_detector=self.detector,
            overwrite=overwrite,
            input_fps=input_fps,
            assume_constant_rate=assume_constant_rate,
            progress=progress,
            preset=preset,
            encoder_threads=encoder_threads,
        )
        # The backend opens once the files are checked (``interpolate_video``), not before.
        summary = interpolate_video(source, output, lambda: self.backend, options)
        self.stats.add(summary.stats)
        return summary


def _checked(frames: Iterable[np.ndarray], kind: list[np.dtype]) -> Iterator[np.ndarray]:
    """Frames as given, after checking each is HxWx3 and all are of one kind (recorded in ``kind``),
    float frames lie in [0, 1], the first is a size the model can pad, and there are at least two
    (as ``run`` requires)."""
    count = 0
    for count, frame in enumerate(frames, start=1):
        index = count - 1
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
            shape = getattr(frame, "shape", type(frame).__name__)
            raise InputError(f"frames[{index}] must be an HxWx3 RGB array, got {shape}")
        if frame.dtype != np.uint8 and not np.issubdtype(frame.dtype, np.floating):
            raise InputError(f"frames[{index}] must be uint8 or float in [0, 1], got {frame.dtype}")
        if not kind:
            check_frame_size(frame.shape[0], frame.shape[1])
            kind.append(np.dtype(np.uint8) if frame.dtype == np.uint8 else np.dtype(np.float32))
        elif (frame.dtype == np.uint8) != (kind[0] == np.uint8):
            raise InputError(f"frames[{index}] is {frame.dtype} where the frames before it are {kind[0]}")
        if frame.dtype != np.uint8:  # a copied pair never reaches a backend's check: check here
            check_value_range(float(frame.min()), float(frame.max()), f"frames[{index}] values")
        yield frame
    if count < MIN_FRAMES:
        raise InputError(f"need at least {MIN_FRAMES} frames to interpolate, got {count}")


def _float_frame(frame: np.ndarray) -> np.ndarray:
    """HxWx3 float in [0, 1] (checked by ``_checked``) -> the model's 3xHxW float32."""
    return np.ascontiguousarray(frame.transpose(2, 0, 1), dtype=np.float32)


def _rgb_float(frame: np.ndarray) -> np.ndarray:
    """The model's 3xHxW float32 -> HxWx3 float32 in [0, 1] (the scheduler clamps)."""
    return np.ascontiguousarray(frame.transpose(1, 2, 0))
