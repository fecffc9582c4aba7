"""The overlapped TensorRT pipeline's logic, on the CPU, against a lazily run fake CUDA binding.

The fake runs queued work only when the host waits, in an adversarial stream order, so missing
event waits corrupt frames; every test compares with the scheduler bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from fake_cuda import FakeCuda, FakeLauncher, weighted

from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.cuda.trt_pipeline import idle_fraction, pipelined_level
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

SIZE = (3, 70, 130)  # padded to 128 x 256: the crop and the reflect pad both matter


class WeightedBackend(Backend):
    """The scheduler's reference: the fake engine's arithmetic through the per-batch path."""

    name = "weighted"

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        return weighted([windows[:, k] for k in range(4)], self.gain)


class PipelinedBackend(WeightedBackend):
    """Same arithmetic through the pipeline (as TensorRTBackend wires it), on a fake GPU."""

    runs_own_x2_level = True

    def __init__(
        self, cuda: FakeCuda, max_batch: int, mapped: bool = False, capacity=None, gain: float = 1.0
    ) -> None:
        self.cuda, self.launcher, self.max_batch = cuda, FakeLauncher(cuda, gain), max_batch
        self.mapped, self.capacity = mapped, capacity

    def double_frame_rate(self, frames, detector, batch_size, stats):
        batch = min(batch_size, self.max_batch)
        return pipelined_level(
            self.cuda, self.launcher, frames, detector, batch, stats, self.mapped, self.capacity
        )


def clip(count: int, cuts: tuple[int, ...] = (), repeat: int | None = None, seed: int = 0) -> list:
    """Random frames; a cut before each index in ``cuts`` (a jump in brightness), one repeat."""
    rng = np.random.default_rng(seed)
    frames, level = [], 0.0
    for index in range(count):
        if index in cuts:
            level = 0.6 - level
        frame = (level + 0.4 * rng.random(SIZE)).astype(np.float32)
        frames.append(frames[-1] if index == repeat else frame)
    return frames


def run(backend: Backend, frames, factor: int, batch_size: int) -> tuple[list[np.ndarray], SchedulerStats]:
    stats = SchedulerStats()
    detector = SceneCutDetector(threshold=0.2)
    out = list(interpolate_stream(iter(frames), backend, factor, detector, batch_size, stats))
    return out, stats


def assert_same_frames(frames, factor: int, batch: int, priority: str, capacity=None, gain: float = 1.0):
    expected, expected_stats = run(WeightedBackend(gain), frames, factor, batch)
    cuda = FakeCuda(priority)
    backend = PipelinedBackend(cuda, max_batch=batch, capacity=capacity, gain=gain)
    got, stats = run(backend, frames, factor, batch)
    assert len(got) == len(expected) == factor * len(frames)
    for index, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs by {np.abs(a - b).max()}"
    assert stats == expected_stats
    assert all(not stream.ops for stream in cuda.streams)
    assert len(cuda.allocations) == 0, "device or mapped memory leaked"
    return backend, stats


@pytest.mark.parametrize("priority", ["upload-first", "compute-first"])
@pytest.mark.parametrize(("batch", "capacity"), [(1, None), (3, None), (1, 5), (3, 7)])
def test_x2_with_cuts_and_a_repeat_matches_the_scheduler(priority, batch, capacity):
    """Smallest rings (max_batch + 4 slots) too: uploads then must wait for the slot's reader."""
    frames = clip(14, cuts=(5, 6), repeat=10)
    backend, stats = assert_same_frames(frames, 2, batch, priority, capacity)
    assert stats.scene_cuts == 2 and stats.identical_pairs == 1
    assert sum(backend.launcher.batches) == stats.windows == 10
    assert max(backend.launcher.batches) == batch


def test_diverged_windows_are_counted_and_blended_like_the_scheduler_does():
    """Raw outputs far outside [0, 1] (diverged weights) are counted on the pipeline's read-back too,
    and replaced by the same blends (assert_same_frames compares bit for bit)."""
    frames = clip(12, cuts=(6,))  # levels 0-0.4, then 0.6-1.0 from frame 6 on
    _, stats = assert_same_frames(frames, 2, 2, "compute-first", gain=2.0)
    # gain 2: the bright shot's windows reach ~2 (> 1.5); the dark shot's stay under 0.8
    assert stats.scene_cuts == 1 and stats.windows == 10
    assert stats.diverged_windows == 5


def test_long_run_wraps_the_ring_many_times_and_batches_fully():
    frames = clip(40)
    backend, _ = assert_same_frames(frames, 2, 4, "upload-first")
    assert backend.launcher.batches == [4] * 9 + [3]  # 39 windows, consecutive


def test_each_frame_is_uploaded_once():
    frames = clip(20, cuts=(9,))
    cuda = FakeCuda()
    list(interpolate_stream(iter(frames), PipelinedBackend(cuda, 2), 2, SceneCutDetector(threshold=0.2), 2))
    assert sum(call == "h2d" for call, _ in cuda.calls) == len(frames)


@pytest.mark.parametrize("factor", [4, 8])
def test_x4_x8_chain_pipelined_levels(factor):
    assert_same_frames(clip(5, cuts=(3,)), factor, 2, "compute-first")


def test_mapped_memory_skips_copies_and_matches():
    frames = clip(9)
    cuda = FakeCuda()
    expected, _ = run(WeightedBackend(), frames, 2, 2)
    got, _ = run(PipelinedBackend(cuda, 2, mapped=True), frames, 2, 2)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert not {"h2d", "d2h"} & {call for call, _ in cuda.calls}


def test_encoder_stopping_early_ends_the_threads_and_frees_memory():
    cuda = FakeCuda()
    stream = interpolate_stream(iter(clip(30)), PipelinedBackend(cuda, 2), 2, SceneCutDetector(), 2)
    first = [next(stream) for _ in range(5)]
    stream.close()
    assert len(first) == 5 and not cuda.allocations


def test_decode_errors_reach_the_encoder():
    def broken():
        yield from clip(6)
        raise OSError("decoder failed")

    with pytest.raises(OSError, match="decoder failed"):
        list(interpolate_stream(broken(), PipelinedBackend(FakeCuda(), 2), 2, SceneCutDetector(), 2))


def test_idle_fraction():
    assert idle_fraction([(0, 4), (6, 10)]) == pytest.approx(0.2)
    assert idle_fraction([(0, 5), (3, 10)]) == 0.0  # overlapping launches: never idle
    assert idle_fraction([]) == 0.0
