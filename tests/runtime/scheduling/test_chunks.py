"""Chunked interpolation equals one pass over the whole clip, frame for frame.

The cubic backend reads all four frames of every window, so a chunk missing context (a wrong
outer frame) changes its output; blending would hide that.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cubic_backend import CubicBackend

from stmfnet_trt.core.frames import to_model_frame, to_video_frame
from stmfnet_trt.io import open_source
from stmfnet_trt.runtime.scheduling import chunks
from stmfnet_trt.runtime.scheduling.chunks import interpolate_chunk, plan_chunks
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import interpolate_stream

DETECTOR = SceneCutDetector()


@pytest.fixture(scope="module")
def shots(assets_dir) -> list[np.ndarray]:
    """Carphone, a Big Buck Bunny crop, carphone again: 7 + 6 + 5 frames with two hard cuts."""
    with open_source(assets_dir / "carphone_12.mp4") as source:
        carphone = list(source)
    with open_source(assets_dir / "demo.mp4") as source:
        bunny = [frame[:, 40:216] for frame in source]
    return carphone[:7] + bunny[:6] + carphone[7:12]


def whole_run(frames: list[np.ndarray], factor: int) -> np.ndarray:
    stream = interpolate_stream((to_model_frame(f) for f in frames), CubicBackend(), factor, DETECTOR)
    return np.stack([to_video_frame(f) for f in stream])


def chunked_run(frames: list[np.ndarray], factor: int, chunk_frames: int) -> tuple[np.ndarray, list]:
    outputs, plan = [], []
    for chunk, chunk_frames_ in plan_chunks(frames, factor, chunk_frames, DETECTOR):
        plan.append(chunk)
        outputs.append(interpolate_chunk(chunk_frames_, chunk, CubicBackend(), factor, DETECTOR))
    return np.concatenate(outputs), plan


def test_the_clip_has_the_two_cuts(shots):
    flags = [DETECTOR.is_cut(to_model_frame(a), to_model_frame(b)) for a, b in itertools.pairwise(shots)]
    assert [i + 1 for i, cut in enumerate(flags) if cut] == [7, 13]


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("chunk_frames", [1, 2, 3, 5, 100])
def test_chunks_reassemble_the_whole_run(shots, factor, chunk_frames):
    expected = whole_run(shots, factor)
    got, plan = chunked_run(shots, factor, chunk_frames)
    assert got.shape == expected.shape == (factor * len(shots), 144, 176, 3)
    mismatched = [i for i in range(len(got)) if not np.array_equal(got[i], expected[i])]
    assert mismatched == []
    assert [c.index for c in plan] == list(range(len(plan)))
    assert plan[0].start == 0 and plan[-1].stop == len(shots) and plan[-1].final
    assert all(a.stop == b.start for a, b in itertools.pairwise(plan))


def test_chunks_end_at_cuts_and_carry_no_context_across_them(shots):
    _, plan = chunked_run(shots, 2, 100)
    assert [(c.start, c.stop) for c in plan] == [(0, 7), (7, 13), (13, 18)]
    assert all(c.first == c.start and c.last == c.stop for c in plan)


def test_context_sizes_are_clipped_at_the_clip_ends(shots):
    _, plan = chunked_run(shots[:7], 4, 3)  # one shot, no cuts
    assert [(c.first, c.start, c.stop, c.last) for c in plan] == [(0, 0, 3, 6), (1, 3, 6, 7), (4, 6, 7, 7)]


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("side", [0, 1])
def test_one_frame_less_context_breaks_the_borders(shots, monkeypatch, factor, side):
    """The context is minimal, and the comparison above can fail: one frame less on either side
    and the frames next to chunk borders differ from the whole run."""
    levels = factor.bit_length() - 1
    smaller = list(chunks.context_frames(factor))
    smaller[side] -= 1
    monkeypatch.setitem(chunks._CONTEXT, levels, tuple(smaller))
    got, _ = chunked_run(shots, factor, 2)
    assert not np.array_equal(got, whole_run(shots, factor))
