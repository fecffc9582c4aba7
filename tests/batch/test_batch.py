"""Ray batch jobs on a local 2-worker cluster equal single-machine runs, frame for frame.

One job over three clips (one with two scene cuts) and a corrupt one, with a backend that fails
the first chunk each worker gets: chunks are retried, the corrupt clip fails alone and leaves
nothing behind, and every other output equals ``interpolate_video`` with the same backend,
including the frames next to chunk borders (4-frame chunks).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from cubic_backend import CubicBackend

from stmfnet_trt.io import open_sink, open_source
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

ray = pytest.importorskip("ray", reason="the batch extra (ray) is not installed: pip install ray")

from stmfnet_trt.batch.job import BatchOptions, run_batch  # noqa: E402

FACTOR = 2
CHUNK_FRAMES = 4


class FirstCallFails(CubicBackend):
    """Cubic midpoints, except that the first call in each worker process raises."""

    calls = 0

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        if type(self).calls == 1:
            raise RuntimeError("injected failure of this worker's first chunk")
        return super()._interpolate(windows)


def read_frames(path: Path) -> np.ndarray:
    with open_source(path) as source:
        return np.stack(list(source))


@pytest.fixture(scope="module")
def clips(assets_dir, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    carphone = read_frames(assets_dir / "carphone_12.mp4")
    bunny = read_frames(assets_dir / "demo.mp4")[:, :, 40:216]
    shots = folder / "shots.mp4"  # carphone, bunny, carphone: two hard cuts
    with open_sink(shots, 176, 144, 25) as sink:
        for frame in [*carphone[:5], *bunny[:5], *carphone[5:10]]:
            sink.write(frame)
    data = bytearray((assets_dir / "carphone_12.mp4").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 1500] = np.random.default_rng(1).bytes(1500)
    corrupt = folder / "corrupt.mp4"  # opens fine, fails half-way through decoding
    corrupt.write_bytes(bytes(data))
    return {
        "demo": assets_dir / "demo.mp4",
        "carphone_12": assets_dir / "carphone_12.mp4",
        "shots": shots,
        "corrupt": corrupt,
    }


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Workers cannot import the tests' modules: ship these two by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.cloudpickle.register_pickle_by_value(sys.modules[CubicBackend.__module__])
    yield
    ray.shutdown()


# The frames each sink of this module was given, by output path: what batch and run computed,
# compared before the lossy H.264 encoder (two encodes of equal frames have differed by a few
# levels in long runs of the suite; the encoder is not what these tests are about).
WRITTEN: dict[Path, list[np.ndarray]] = {}


@pytest.fixture(scope="module", autouse=True)
def recorded_frames():
    original = FrameSink.write

    def recording_write(self, frame):
        WRITTEN.setdefault(Path(self.path), []).append(np.array(frame, copy=True))
        original(self, frame)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FrameSink, "write", recording_write)
        yield WRITTEN


@pytest.fixture(scope="module")
def job(local_cluster, clips, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("batch")
    options = BatchOptions(factor=FACTOR, chunk_frames=CHUNK_FRAMES, workers=2, retries=2, progress=False)
    sources = [clips[name] for name in ("demo", "corrupt", "carphone_12", "shots")]
    return out_dir, {r.source.stem: r for r in run_batch(sources, out_dir, FirstCallFails, options)}


@pytest.mark.parametrize("name", ["demo", "carphone_12", "shots"])
def test_outputs_equal_the_single_machine_run(job, clips, tmp_path, name):
    _, results = job
    result = results[name]
    assert result.error is None
    reference = tmp_path / f"{name}_run.mp4"
    interpolate_video(clips[name], reference, CubicBackend(), RunOptions(factor=FACTOR, progress=False))
    expected, got = WRITTEN[reference], WRITTEN[result.output]
    assert result.frames == len(expected) == len(got) == FACTOR * len(read_frames(clips[name]))
    assert len(read_frames(result.output)) == len(got)
    differing = [i for i in range(len(got)) if not np.array_equal(got[i], expected[i])]
    # On failure: how far each differing frame is, and whether this video's chunks were retried.
    how_far = [int(np.abs(got[i].astype(int) - expected[i]).max()) for i in differing]
    assert differing == [], (how_far, result.retries)
    with open_source(result.output) as written, open_source(reference) as ran:
        assert written.fps == ran.fps and written.has_audio == ran.has_audio


def test_audio_is_copied(job):
    _, results = job
    with open_source(results["demo"].output) as written:
        assert written.has_audio


def test_corrupt_clip_fails_alone_and_leaves_nothing(job):
    out_dir, results = job
    failed = results["corrupt"]
    assert failed.error is not None and "corrupt.mp4" in failed.error
    assert not failed.output.exists()
    assert sorted(os.listdir(out_dir)) == ["carphone_12_x2.mp4", "demo_x2.mp4", "shots_x2.mp4"]


def test_failed_chunks_were_retried(job):
    _, results = job
    assert sum(r.retries for r in results.values()) >= 1
    assert all(r.error is None for name, r in results.items() if name != "corrupt")
