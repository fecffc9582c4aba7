"""bench/pipeline.py: the stage split of a cProfile run, the ratios, the commands. No timing assertions."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys

import numpy as np
import pytest
from bench_scripts import bench_script

from stmfnet_trt.cli import build_parser
from stmfnet_trt.core.errors import InputError
from stmfnet_trt.runtime.backends.blend import BlendBackend


@pytest.fixture(scope="module")
def pipeline():
    with bench_script("pipeline") as module:
        yield module


FLUSH = ("/repo/stmfnet_trt/runtime/scheduling/scheduler.py", 153, "flush")
HISTOGRAMS = ("/repo/stmfnet_trt/runtime/scheduling/scene.py", 33, "_histograms")
WRITE = ("/repo/stmfnet_trt/io/video_sink.py", 113, "_write")
DECODE = ("/repo/stmfnet_trt/io/video_source.py", 285, "_decode")


def entry(cumulative: float, callers: dict | None = None) -> tuple:
    """A ``pstats.Stats.stats`` value: (primitive calls, calls, own time, cumulative, callers)."""
    return (1, 1, 0.0, cumulative, callers or {})


def edge(cumulative: float) -> tuple:
    return (1, 1, 0.0, cumulative)


def test_waits_are_told_apart_by_the_function_that_waited(pipeline):
    get = ("/repo/stmfnet_trt/runtime/handoff.py", 44, "get_unless_stopped")
    consume = ("/repo/stmfnet_trt/runtime/handoff.py", 80, "_consume")
    run = ("/repo/stmfnet_trt/runtime/handoff.py", 108, "_run")
    stats = {
        ("/repo/stmfnet_trt/cli.py", 731, "main"): entry(4.0),
        ("/usr/lib/python3.11/threading.py", 971, "run"): entry(6.0),  # two threads, summed
        get: entry(2.5, {consume: edge(0.5), run: edge(2.0)}),
    }
    total, split = pipeline.stage_split(stats)
    assert total == 10.0
    assert split["waits: scheduler for decoded frames"] == pytest.approx(0.5)
    assert split["waits: encoder for frames"] == pytest.approx(2.0)


def test_every_thread_of_a_profiled_run_is_in_its_profile(pipeline):
    import cProfile
    import pstats
    import threading

    def spin():
        sum(range(10_000))

    main, run = cProfile.Profile(), threading.Thread.run
    with pipeline.profiled_threads() as profilers:
        worker = threading.Thread(target=spin, name="encode")
        main.runcall(lambda: (worker.start(), worker.join()))
    assert len(profilers) == 1 and threading.Thread.run is run  # restored after the block
    merged = pstats.Stats(main)
    merged.add(profilers[0])
    assert any(function == "spin" for (_, _, function) in merged.stats)


def test_stage_split_counts_nested_steps_once_and_the_rest_as_glue(pipeline):
    stats = {
        ("/repo/stmfnet_trt/cli/__init__.py", 731, "main"): entry(10.0),
        DECODE: entry(1.5),
        ("~", 0, "<method 'to_ndarray' of 'av.video.frame.VideoFrame' objects>"): entry(
            0.5, {DECODE: edge(0.5)}
        ),
        ("/venv/numpy/_core/shape_base.py", 378, "stack"): entry(
            3.3,
            {FLUSH: edge(3.0), HISTOGRAMS: edge(0.3)},  # only the scheduler's stacks build windows
        ),
        WRITE: entry(2.5),
        ("/repo/stmfnet_trt/io/video_sink.py", 131, "_finish"): entry(0.5),
        ("~", 0, "<method 'reformat' of 'av.video.frame.VideoFrame' objects>"): entry(
            1.0, {WRITE: edge(1.0)}
        ),
        ("/repo/stmfnet_trt/core/frames.py", 58, "to_video_frame"): entry(1.0),
    }
    total, split = pipeline.stage_split(stats)
    assert total == 10.0
    assert split["decode (demux + H.264)"] == pytest.approx(1.0)  # 1.5 less the RGB conversion inside
    assert split["YUV -> RGB uint8 (PyAV)"] == pytest.approx(0.5)
    assert split["window batches"] == pytest.approx(3.0)
    assert split["RGB -> YUV (PyAV reformat)"] == pytest.approx(1.0)
    assert split["encode (x264 + mux)"] == pytest.approx(2.0)  # 2.5 + 0.5 less the reformat
    assert split["to_video_frame (float32 -> uint8)"] == pytest.approx(1.0)
    assert split["backend (blend)"] == 0.0
    assert list(split)[-1] == pipeline.GLUE and split[pipeline.GLUE] == pytest.approx(1.5)  # 10 - 8.5
    assert sum(split.values()) == pytest.approx(total)


def result(pipeline, turns: list[tuple[float, float]]):
    return pipeline.SizeResult(
        size="720x1280",
        frames=60,
        long_frames=120,
        turns=[pipeline.Turn(ours, theirs) for ours, theirs in turns],
        peak_rss_bytes=400_000_000,
        long_peak_rss_bytes=440_000_000,
        profile_s=8.0,
        stages_s={"decode (demux + H.264)": 2.0, pipeline.GLUE: 6.0},
    )


def test_ratio_of_medians_with_the_range_of_turn_ratios(pipeline):
    r = result(pipeline, [(20.0, 50.0), (18.0, 72.0), (19.0, 40.0)])
    assert (r.ours_fps, r.baseline_fps) == (19.0, 50.0)
    assert r.ratio == pytest.approx(0.38) and r.rss_growth == pytest.approx(1.1)
    text = pipeline.render([r], "header")
    assert (
        "| 720x1280 | 19.0 | 50.0 | 0.38x | 0.25-0.47x | 400 MB (60 frames) | 440 MB (120 frames) | 1.10 |"
        in text
    )
    assert "| decode (demux + H.264) | 25.0% (2.00 s) |" in text
    assert "| total (thread seconds) | 8.00 s |" in text
    r.profile_wall_s, r.stages_s["waits: encoder for frames"] = 5.0, 1.5
    assert "| wall (inside `main`) | 5.00 s, 1.30 Python threads busy |" in pipeline.render([r], "header")


def test_ffmpeg_encodes_as_our_writer_does_and_ours_is_a_plain_x2_blend_run(pipeline, tmp_path):
    command = pipeline.baseline_command(tmp_path / "in.mp4", tmp_path / "out.mp4", (720, 1280), "framerate")
    assert command[command.index("-vf") + 1] == "framerate=fps=60"
    encoding = " ".join(command[command.index("-c:v") :])
    assert encoding == f"-c:v libx264 -pix_fmt yuv420p -crf 18 -preset medium {tmp_path / 'out.mp4'}"
    args = build_parser().parse_args(pipeline.ours_argv(tmp_path / "in.mp4", tmp_path / "out.mp4"))
    assert (args.command, args.backend, args.factor, args.batch_size) == ("run", "blend", 2, 1)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")
def test_every_stage_is_found_in_a_real_profile(pipeline, tmp_path):
    """The stages name functions of the pipeline; a rename must not turn a stage into a silent 0.
    (Some terms name what earlier revisions ran, for ``--rev``; each stage needs one found. A wait
    may last no measurable time on a clip this small, but its function must be there.)"""
    import pstats

    clip, profile = tmp_path / "clip.mp4", tmp_path / "run.pstats"
    subprocess.run(pipeline.clip_command(clip, (72, 96), 6), check=True)
    assert pipeline.worker(clip, tmp_path / "out.mp4", tmp_path / "report.json", profile) == 0
    stats = pstats.Stats(str(profile)).stats
    total, split = pipeline.stage_split(stats)
    assert total > 0 and split[pipeline.GLUE] > 0
    for stage in pipeline.STAGES:
        assert any(pipeline.term_found(stats, term) for term in stage.add), stage.name
        assert stage.name.startswith("waits") or split[stage.name] > 0, stage.name


# The means bench/pipeline.py measures must keep every frame bit-identical: the fast forms against
# the expressions they replaced.


def test_to_video_frame_gives_the_bytes_of_clip_scale_cast_transpose():
    from stmfnet_trt.core.frames import to_video_frame

    frame = np.random.default_rng(0).uniform(-0.2, 1.2, (3, 150, 52)).astype(np.float32)  # 2.3 blocks
    frame[0, 0, :6] = [np.nan, np.inf, -np.inf, 1.0000001, 0.99999994, 0.5 / 255]
    with np.errstate(invalid="ignore"):  # NaN's cast is whatever the C cast gives, in both forms
        reference = np.ascontiguousarray(
            (np.clip(frame, 0.0, 1.0) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
        )
        fast = to_video_frame(frame)
        in_video_order = to_video_frame(np.ascontiguousarray(frame.transpose(1, 2, 0)).transpose(2, 0, 1))
    assert fast.dtype == np.uint8 and fast.flags.c_contiguous and np.array_equal(fast, reference)
    assert np.array_equal(in_video_order, reference)  # a float frame (H, W, 3) in memory: same bytes
    assert np.array_equal(frame[0, 0, 1:3], [np.inf, -np.inf])  # the input is left alone
    for other in (frame[:, 1:71].astype(np.float64), (frame[:, 1:71] > 0.5).astype(np.int64)):  # no NaN
        expected = (np.clip(other, 0.0, 1.0) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
        assert np.array_equal(to_video_frame(other), expected)


class RangeRecorder(BlendBackend):
    """Records, per batch, the range the scheduler passed and the range a scan of the batch gives."""

    def __init__(self) -> None:
        self.seen: list[tuple[tuple[float, float] | None, tuple[float, float]]] = []

    def interpolate(self, windows, value_range=None):
        self.seen.append((value_range, (float(windows.min()), float(windows.max()))))
        return super().interpolate(windows, value_range)


@pytest.mark.parametrize(("factor", "batch_size"), [(2, 1), (4, 3), (8, 2)])
def test_the_scheduler_passes_each_batch_its_scanned_range(factor, batch_size):
    from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
    from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

    base = np.random.default_rng(2).uniform(0.2, 0.6, (3, 72, 80)).astype(np.float32)
    frames = [base + np.float32(0.03 * i) for i in range(8)]  # each frame its own range
    frames[5] = np.zeros_like(base)  # a cut on either side of it
    backend, stats = RangeRecorder(), SchedulerStats()
    out = list(interpolate_stream(iter(frames), backend, factor, SceneCutDetector(), batch_size, stats))
    assert (
        len(out) == factor * len(frames) and stats.scene_cuts > 0 and stats.windows >= len(backend.seen) > 1
    )
    assert all(passed == scanned for passed, scanned in backend.seen)


def test_an_out_of_range_frame_is_refused_with_the_batch_range_as_before():
    from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
    from stmfnet_trt.runtime.scheduling.scheduler import interpolate_stream

    frames = [np.full((3, 72, 80), value, np.float32) for value in (0.2, 0.3, 1.7, 0.4)]
    with pytest.raises(InputError, match=r"got range \[0\.2, 1\.7\]"):
        list(interpolate_stream(iter(frames), BlendBackend(), 2, SceneCutDetector(enabled=False), 4))


def test_the_before_runs_in_the_same_turns_and_its_speedup_is_per_turn(pipeline):
    r = result(pipeline, [(20.0, 50.0), (18.0, 72.0), (19.0, 40.0)])
    for turn, before in zip(r.turns, (10.0, 12.0, 9.5), strict=True):
        turn.before_fps = before
    r.before_profile_s, r.before_stages_s = 10.0, {"decode (demux + H.264)": 2.5, pipeline.GLUE: 7.5}
    assert (r.before_fps, r.before_ratio) == (10.0, pytest.approx(0.2))
    assert r.speedup == pytest.approx(2.0)  # median of 2.0, 1.5, 2.0: not 19 / 10
    text = pipeline.render([r], "header", "abc123")
    assert "| 720x1280 | 10.0 | 0.20x | 0.38x | 2.00x |" in text
    for turn, (ours, theirs) in zip(r.turns, ((3.0, 2.0), (3.2, 2.1), (2.9, 1.8)), strict=True):
        turn.ours_cpu_s, turn.baseline_cpu_s = ours, theirs
    assert "| 720x1280 | 3.00 | 2.00 | 0.67 |" in pipeline.render([r], "header", "abc123")
    assert "| stage | 720x1280, abc123 | 720x1280 |" in text
    assert "| decode (demux + H.264) | 25.0% (2.50 s) | 25.0% (2.00 s) |" in text


def test_the_wall_time_is_mains_before_and_after_the_cli_became_a_package(pipeline):
    for file in ("/repo/stmfnet_trt/cli.py", "/repo/stmfnet_trt/cli/__init__.py"):
        thread = ("/usr/lib/python3.11/threading.py", 971, "run")
        stats = {(file, 731, "main"): entry(4.0), thread: entry(6.0)}
        assert sum(pipeline.term_seconds(stats, main) for main in pipeline.MAINS) == 4.0
        assert pipeline.stage_split(stats)[0] == 10.0


def test_the_huge_pages_off_baseline_is_started_so_and_tabled_beside_the_stock_one(pipeline):
    probe = [
        sys.executable,
        "-c",
        "import sys; from stmfnet_trt.core.huge_pages import transparent_huge_pages_disabled as off; "
        "sys.exit(0 if off() else 3)",
    ]
    pipeline.timed(probe, huge_pages_off=True)  # raises on the probe's status 3
    allowed = subprocess.run(
        probe, preexec_fn=lambda: ctypes.CDLL(None).prctl(41, 0, 0, 0, 0)
    )  # the system's
    assert allowed.returncode == 3  # the probe can tell
    r = result(pipeline, [(20.0, 50.0), (18.0, 72.0), (19.0, 40.0)])
    for turn, fps in zip(r.turns, (25.0, 36.0, 20.0), strict=True):
        turn.baseline_thp_off_fps, turn.baseline_thp_off_cpu_s = fps, 2.0
    text = pipeline.render([r], "header")
    assert "| 720x1280 | 25.0 | 2.00 | 0.76x | 0.50-0.95x |" in text  # 19 / 25; 18 / 36 .. 19 / 20
