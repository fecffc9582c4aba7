"""The one protocol every backend implements, and the checks they all share.

A backend answers a single call: interpolate a batch of four-frame windows (N, 4, 3, H, W) into
their middle frames (N, 3, H, W, float32). Windows are float32 in [0, 1], or uint8 as decoded,
value v standing for v / 255 (``core.frames.model_values``): the scheduler hands decoded frames on
in uint8, a quarter of the bytes to copy and check, and the conversion happens once, where a float
is needed. Decoding, windows, scene cuts, padding policy and encoding live once, in the scheduler,
not in each backend.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from stmfnet_trt.core.closeable import Closeable
from stmfnet_trt.core.contract import check_frame_size
from stmfnet_trt.core.errors import InputError
from stmfnet_trt.core.frames import contiguous_model_values

WINDOW_FRAMES = 4
CHANNELS = 3
# Frames are images in [0, 1]; a little slack admits float rounding from earlier stages.
VALUE_SLACK = 1e-3


def check_windows(windows: np.ndarray, value_range: tuple[float, float] | None = None) -> None:
    """Reject anything that is not a float32 (N, 4, 3, H, W) batch of images in [0, 1] or a uint8
    one (every uint8 value is an image value).

    ``value_range`` is a float batch's (min, max) where the caller measured it already (the
    scheduler measures each frame once; a batch holds a frame in up to four windows); otherwise the
    batch is scanned here.
    """
    if not isinstance(windows, np.ndarray):
        raise InputError(f"windows must be a numpy array, got {type(windows).__name__}")
    if windows.ndim != 5 or windows.shape[1] != WINDOW_FRAMES or windows.shape[2] != CHANNELS:
        raise InputError(
            f"windows must have shape (N, {WINDOW_FRAMES}, {CHANNELS}, H, W) (four RGB frames per "
            f"window); got {windows.shape}"
        )
    if windows.shape[0] == 0:
        raise InputError("windows is empty (N = 0)")
    if windows.dtype not in (np.float32, np.uint8):
        raise InputError(f"windows must be float32 (or uint8 as decoded), got {windows.dtype}")
    check_frame_size(windows.shape[3], windows.shape[4])
    if windows.dtype == np.uint8:
        return
    low, high = value_range if value_range is not None else (float(windows.min()), float(windows.max()))
    check_value_range(low, high, "frame values")


def check_value_range(low: float, high: float, what: str) -> None:
    """Refuse a (min, max) outside [0, 1] (give or take ``VALUE_SLACK``) or not finite."""
    if not (low >= -VALUE_SLACK and high <= 1 + VALUE_SLACK) or not np.isfinite(low + high):
        raise InputError(f"{what} must lie in [0, 1]; got range [{low:.4g}, {high:.4g}]")


class Backend(Closeable, abc.ABC):
    """Base of every backend: validation once here, the work in ``_interpolate``.

    Backends are context managers so that device memory, sessions or server connections are
    released deterministically.
    """

    name: str = "backend"
    # Optional capability: the backend runs a whole x2 level of a frame stream itself
    # (``double_frame_rate``), yielding exactly the scheduler's frames; the TensorRT backend does,
    # keeping frames on the GPU. Declared here so the scheduler asks the flag, not ``getattr``.
    runs_own_x2_level: bool = False
    # Optional capability: the backend takes a whole stream of uint8 video frames and returns the
    # output frames as uint8 (``interpolate_rgb``), exactly the scheduler's; the Triton client
    # does where the server runs the scheduler (its stream wire: each frame sent once, as uint8).
    takes_video_frames: bool = False
    # Optional capability: ``_interpolate`` takes the windows as the caller gave them, float32 or
    # uint8, in any memory layout (views into the scheduler's frame ring, valid during the call),
    # and reads them through ``model_values``, its frames bit-identical to those of the float32
    # batch. Without it, a backend gets a C-contiguous float32 batch, converted here.
    converts_windows: bool = False

    def interpolate(self, windows: np.ndarray, value_range: tuple[float, float] | None = None) -> np.ndarray:
        """Middle frames (N, 3, H, W) float32 of ``windows``; not clamped (the network's output).

        The array is the caller's: writable and sharing no memory with ``windows`` (a backend's
        view of its input, or a read-only array, is copied), so the scheduler clamps it in place
        instead of into another frame-sized array. ``value_range``: a float batch's (min, max),
        from a caller that measured every frame in it (``check_windows``); left out, the batch is
        scanned.
        """
        check_windows(windows, value_range)
        given = windows if self.converts_windows else contiguous_model_values(windows)
        out = self._interpolate(given)
        expected = (windows.shape[0], CHANNELS, *windows.shape[3:])
        if out.shape != expected:
            raise RuntimeError(f"{self.name} backend returned {out.shape}, expected {expected}")
        if not out.flags.writeable or np.may_share_memory(out, given):
            out = out.copy()
        return out

    def double_frame_rate(
        self, frames: Iterable[np.ndarray], detector: Any, batch_size: int, stats: Any
    ) -> Iterator[np.ndarray]:
        """The scheduler's x2 level run by the backend (only where ``runs_own_x2_level``).

        ``detector`` and ``stats`` are the scheduler's ``SceneCutDetector`` and ``SchedulerStats``
        (typed loosely: this protocol sits below the scheduling layer that defines them).
        """
        raise NotImplementedError(f"the {self.name} backend runs no x2 level of its own")

    def interpolate_rgb(
        self, frames: Iterable[np.ndarray], factor: int, detector: Any, batch_size: int, stats: Any
    ) -> Iterator[np.ndarray]:
        """``factor`` x the uint8 (H, W, 3) frames, as uint8 (only where ``takes_video_frames``).

        Typed loosely as ``double_frame_rate`` is: ``detector`` and ``stats`` are the scheduler's.
        """
        raise NotImplementedError(f"the {self.name} backend takes no video frames of its own")

    @abc.abstractmethod
    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        """Backend-specific inference on a validated batch (contiguous float32 unless
        ``converts_windows``); returns a new array, not one the backend keeps and rewrites."""
