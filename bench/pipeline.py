"""The host pipeline of `stmfnet-trt run` against ffmpeg doing the same work, as ratios from one run.

    python bench/pipeline.py [--sizes 720x1280 1080x1920] [--frames 60] [--long-frames 120]
                             [--repeats 3] [--baseline framerate|minterpolate] [--rev REV] [--label TEXT]
                             [--json bench/results/pipeline.json] [--plot bench/results/pipeline.png]
                             [--section pipeline]

With the model taken out of the picture (``--backend blend``: the middle frame is the mean of the
two inner ones) a run is decode, conversions, windows, checks and encode: what must keep up with a
GPU that takes tens of milliseconds per frame. The reference is ffmpeg doing decode + frame
blending + encode with the codec, preset and CRF our writer uses (``encoder_settings``): its
``framerate`` filter at twice the rate passes every frame through and blends each neighbouring pair
50/50 at the midpoint (interp_start 15 < 128 < interp_end 240), with a scene-change test of its own,
which is exactly what ``run --backend blend`` x2 writes. (``minterpolate=mi_mode=blend`` blends the
same way but is the slower filter: ``--baseline minterpolate``.) ffmpeg blends in the clip's YUV;
our model works in RGB, so the YUV -> RGB -> YUV conversions are work only we do, and the profile
shows what they cost.

The clip is ffmpeg's ``testsrc2`` pattern (moving, no cuts, no identical frames) at 30 fps, encoded
with the same encoder settings, so the decode side is a typical H.264 clip of each size. Per size,
``--repeats`` turns run ours, ffmpeg, and ffmpeg started with transparent huge pages off (as ours
turns them off for itself: ``core/huge_pages.py``) back to back, rotating which goes first, and
each tool's output frames/s is output frames / wall seconds of its process (start-up included: a
user's run pays it too). The ratio is ours / ffmpeg of the medians, with the range of the per-turn
ratios; the huge-pages-off ffmpeg gives the same ratio on equal terms. Ours runs in a worker
process (this script, ``--worker``) that calls the ``stmfnet-trt`` entry point's ``main``
(``stmfnet_trt/console.py``) as the command does and reports its own peak RSS (VmHWM);
a second clip ``--long-frames`` long says whether that peak grows with the clip. One more worker run
per size under cProfile gives the per-stage split (``STAGES``), each stage the cumulative time of
the functions that do it, the rest being Python glue between them. Every Python thread of the run
is profiled (decoding and encoding run on threads of their own since issue 22), so the stages are
summed over threads, and the ``waits`` stages say who waited for whom: the scheduler for decoded
frames or for room in the encoder's queue (the encoder is then the slower side), the encoder for
frames (the scheduler is), the decoder for room. Seconds are thread seconds: their total exceeds
the run's wall time where threads overlap, and its share of the wall time is a row of its own.

``--rev REV`` adds our run as of an earlier commit (its ``stmfnet_trt`` unpacked from git) to every
turn, and its profile: a change's before and after measured in the same turns, where machine load
(which moves ffmpeg, using both cores, more than our mostly single-threaded run) cancels out.

Writes the JSON, the plot and a section of bench/RESULTS.md (``--section``).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import cProfile
import datetime
import importlib.util
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import parse_size, write_json, write_section  # noqa: E402

CLIP_FPS = 30
FACTOR = 2
BASELINE_FILTERS = {
    "framerate": "framerate=fps={fps}",
    "minterpolate": "minterpolate=fps={fps}:mi_mode=blend",
}
BUILTIN = "~"  # pstats' file name for C functions (numpy ufuncs, PyAV's Cython methods)


# ---------------------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Term:
    """A function's cumulative time in a cProfile run: ``function`` defined in a file ending with
    ``file`` (``BUILTIN`` for C functions), only through calls from ``caller_file`` when given
    (``np.stack`` builds windows in the scheduler but histograms in the scene detector), and from
    its function ``caller_function`` when given too (one queue helper waits in several places)."""

    file: str
    function: str
    caller_file: str | None = None
    caller_function: str | None = None


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: the sum of ``add`` less the nested ``subtract`` (so that a step
    inside another is counted once)."""

    name: str
    add: tuple[Term, ...]
    subtract: tuple[Term, ...] = ()


# PyAV's conversions: frame.reformat / to_ndarray(format=) before issue 22, then one reformatter per stream.
_FRAME_REFORMAT = "<method 'reformat' of 'av.video.frame.VideoFrame' objects>"
_REFORMATTER = "<method 'reformat' of 'av.video.reformatter.VideoReformatter' objects>"
_TO_NDARRAY = "<method 'to_ndarray' of 'av.video.frame.VideoFrame' objects>"
_TO_RGB = tuple(Term(BUILTIN, name, "io/video_source.py") for name in (_TO_NDARRAY, _REFORMATTER))
_TO_YUV = tuple(Term(BUILTIN, name, "io/video_sink.py") for name in (_FRAME_REFORMAT, _REFORMATTER))
_HANDOFF = "/handoff.py"
STAGES = (
    Stage("decode (demux + H.264)", (Term("io/video_source.py", "_decode"),), _TO_RGB),
    Stage("YUV -> RGB uint8 (PyAV)", _TO_RGB),
    Stage(
        "uint8 -> float32",  # every frame before issue 22 (to_model_frame), then where a backend reads it
        (
            Term("runtime/video.py", "to_model_frame"),
            Term("core/frames.py", "to_model_frame"),
            Term("/frames.py", "model_values"),
            Term("/frames.py", "contiguous_model_values", "runtime/backend.py"),
        ),
    ),
    Stage(
        "scene-cut scores",  # on whole frames before issue 22, then on one thumbnail per frame
        (
            Term("/scene.py", "is_cut"),
            Term("/scene.py", "thumbnail", "/scheduler.py"),
            Term("/scene.py", "is_cut_between"),
        ),
    ),
    Stage("identical-pair test", (Term("/scheduler.py", "needs_window"),)),
    Stage(
        "window batches",  # np.stack of np.stacks, then one copy per window frame, then a ring of frames
        (
            Term("numpy/_core/shape_base.py", "stack", "/scheduler.py"),
            Term("/scheduler.py", "window_batch"),
            Term("/window_ring.py", "place"),
            Term("/window_ring.py", "batch"),
        ),
    ),
    Stage(
        "input checks (check_windows)",  # with the frames' value ranges, measured once each since issue 22
        (
            Term("runtime/backend.py", "check_windows"),
            Term("/scheduler.py", "measure"),
            Term("/scheduler.py", "of_batch"),
        ),
    ),
    Stage(
        "backend (blend)",  # runtime/blend_backend.py before issue 21's layout, then backends/blend.py
        (Term("runtime/blend_backend.py", "_interpolate"), Term("backends/blend.py", "_interpolate")),
        (Term("/frames.py", "model_values", "backends/blend.py"),),
    ),
    Stage(
        # The last level's range test, clamp and conversion to uint8 are one pass since issue 22
        # (``settled_video``): then counted here, and the to_video_frame row is the other levels'.
        "settle (range test + clamp; last level: + to uint8)",
        (Term("/scheduler.py", "settled"), Term("/scheduler.py", "settled_video")),
        (Term("/scheduler.py", "settled", "/scheduler.py", "settled_video"),),
    ),
    Stage(
        "to_video_frame (float32 -> uint8)",
        (Term("runtime/video.py", "to_video_frame"), Term("core/frames.py", "to_video_frame")),
    ),
    Stage("RGB -> YUV (PyAV reformat)", _TO_YUV),
    Stage(
        "encode (x264 + mux)",
        (Term("io/video_sink.py", "_write"), Term("io/video_sink.py", "_finish")),
        _TO_YUV,
    ),
    Stage(
        "waits: scheduler for decoded frames", (Term(_HANDOFF, "get_unless_stopped", _HANDOFF, "_consume"),)
    ),
    Stage(
        "waits: scheduler for the encoder",  # room in its queue, then the last frames at the end
        (Term(_HANDOFF, "put_unless_stopped", _HANDOFF, "put"), Term(_HANDOFF, "finish")),
    ),
    Stage("waits: encoder for frames", (Term(_HANDOFF, "get_unless_stopped", _HANDOFF, "_run"),)),
    Stage("waits: decoder for room", (Term(_HANDOFF, "put_unless_stopped", _HANDOFF, "_produce"),)),
)
GLUE = "Python glue (generators, bookkeeping)"
# ``main`` in stmfnet_trt/cli.py before issue 21's layout, then in the cli package; every other
# Python thread runs under a profiler of its own (``profiled_threads``).
MAINS = (Term("stmfnet_trt/cli.py", "main"), Term("stmfnet_trt/cli/__init__.py", "main"))
ROOTS = (*MAINS, Term("threading.py", "run"))


def _calls(stats: dict, term: Term) -> Iterator[tuple[float, dict]]:
    """(cumulative seconds, callers) of every profiled function ``term`` names, whoever called it."""
    for (file, _, function), (_, _, _, cumulative, callers) in stats.items():
        if function == term.function and file.endswith(term.file):
            yield cumulative, callers


def _called_from(term: Term, caller: tuple[str, int, str]) -> bool:
    caller_file, _, caller_function = caller
    return caller_file.endswith(term.caller_file) and term.caller_function in (None, caller_function)


def term_seconds(stats: dict, term: Term) -> float:
    """Cumulative seconds of ``term`` in ``pstats.Stats.stats`` (recursion counted once by cProfile)."""
    if term.caller_file is None:
        return sum(cumulative for cumulative, _ in _calls(stats, term))
    return sum(
        edge[3]
        for _, callers in _calls(stats, term)
        for caller, edge in callers.items()
        if _called_from(term, caller)
    )


def term_found(stats: dict, term: Term) -> bool:
    """Whether the profile holds ``term``'s function (called from ``term``'s caller, if named)."""
    return any(
        term.caller_file is None or any(_called_from(term, caller) for caller in callers)
        for _, callers in _calls(stats, term)
    )


def stage_split(stats: dict) -> tuple[float, dict[str, float]]:
    """(thread seconds of the whole run, seconds per stage), the stages in pipeline order and the
    time no stage accounts for last, as ``GLUE``."""
    total = sum(term_seconds(stats, root) for root in ROOTS)
    split = {
        stage.name: sum(term_seconds(stats, t) for t in stage.add)
        - sum(term_seconds(stats, t) for t in stage.subtract)
        for stage in STAGES
    }
    split[GLUE] = total - sum(split.values())
    return total, split


# ---------------------------------------------------------------------------------------- commands


def encoder_arguments(width: int, height: int) -> list[str]:
    """ffmpeg's output options for what our video writer uses at this size: codec, pixel format and
    its options (libx264: preset and CRF), taken from ``encoder_settings`` so the two cannot drift."""
    from stmfnet_trt.io.video_sink import DEFAULT_CRF, encoder_settings

    codec, pix_fmt, options = encoder_settings(width, height, DEFAULT_CRF)
    arguments = ["-c:v", codec, "-pix_fmt", pix_fmt]
    for key, value in options.items():
        arguments += [f"-{key}", value]
    return arguments


def clip_command(path: Path, size: tuple[int, int], frames: int) -> list[str]:
    """ffmpeg command writing a ``frames`` long testsrc2 clip of ``size`` (height, width)."""
    height, width = size
    source = f"testsrc2=size={width}x{height}:rate={CLIP_FPS}"
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source,
        "-frames:v", str(frames), *encoder_arguments(width, height), str(path),
    ]  # fmt: skip


def baseline_command(clip: Path, output: Path, size: tuple[int, int], baseline: str) -> list[str]:
    """ffmpeg decoding ``clip``, blending it to ``FACTOR`` x its rate and encoding as we do."""
    height, width = size
    blend = BASELINE_FILTERS[baseline].format(fps=CLIP_FPS * FACTOR)
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), "-vf", blend,
        *encoder_arguments(width, height), str(output),
    ]  # fmt: skip


def ours_argv(clip: Path, output: Path) -> list[str]:
    """The CLI arguments of our run: x2 (the default factor), blend backend, everything else default."""
    return ["run", str(clip), "-o", str(output), "--backend", "blend", "--quiet", "--overwrite"]


def worker_command(
    clip: Path, output: Path, report: Path, profile: Path | None = None, tree: Path | None = None
) -> list[str]:
    """Our run in a worker process; with ``tree`` (a folder holding an ``stmfnet_trt`` package: an
    earlier commit's from ``--rev``) that package instead of the installed one: ``-S`` skips the
    site hooks (our editable install's finder would win over PYTHONPATH), and the folders this
    interpreter imports packages from (``package_paths``) follow the tree."""
    command = [str(Path(__file__).resolve()), "--worker", str(clip), str(output), str(report)]
    command += ["--profile", str(profile)] if profile else []
    if tree is None:
        return [sys.executable, *command]
    return [
        "env",
        f"PYTHONPATH={os.pathsep.join([str(tree), *package_paths()])}",
        sys.executable,
        "-S",
        *command,
    ]


def package_paths() -> list[str]:
    """This interpreter's import folders that hold no ``stmfnet_trt``: site-packages, and what its
    ``.pth`` files add (a venv that borrows another's packages), without this checkout."""
    return [entry for entry in sys.path if entry and not (Path(entry) / "stmfnet_trt").is_dir()]


def extract_package(rev: str, folder: Path) -> Path:
    """``stmfnet_trt`` as of git revision ``rev`` of this repository, unpacked under ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", "--format=tar", rev, "stmfnet_trt"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def installed_package() -> Path:
    """The folder of the ``stmfnet_trt`` the worker imports (this checkout, in a dev install)."""
    return Path(importlib.util.find_spec("stmfnet_trt").origin).parent


def compile_package(folder: Path) -> None:
    """Byte-compile a ``stmfnet_trt`` package, as pip does when it installs one, so that a run
    reads compiled modules as a user's does: in a checkout whose shell sets
    ``PYTHONDONTWRITEBYTECODE`` (this machine's does) each run compiled ~80 modules at start,
    ~40 ms that no installed copy pays."""
    if not compileall.compile_dir(folder, quiet=1):
        raise RuntimeError(f"{folder}: byte-compiling failed")


def peak_rss_bytes() -> int:
    """This process's RSS high-water mark (VmHWM, Linux); not ``ru_maxrss``, which Linux carries
    over fork and exec from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


@contextlib.contextmanager
def profiled_threads() -> Iterator[list[cProfile.Profile]]:
    """Every Python thread started in the block runs under a profiler of its own, listed in the
    yielded list (cProfile sees only the thread that enables it)."""
    profilers: list[cProfile.Profile] = []
    run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.runcall(run, thread)

    threading.Thread.run = profiled_run
    try:
        yield profilers
    finally:
        threading.Thread.run = run


def worker(clip: Path, output: Path, report: Path, profile: Path | None) -> int:
    """Run the ``stmfnet-trt`` entry point's ``main`` on ``clip`` (every thread under cProfile when
    ``profile`` is given, merged into one file), write this process's peak RSS to ``report`` and
    return the CLI's exit status."""
    try:  # the command's entry point (its process settings, then the CLI), since issue 22
        from stmfnet_trt.console import main
    except ImportError:  # an earlier commit's tree (--rev): the CLI was the entry point
        from stmfnet_trt.cli import main

    argv = ours_argv(clip, output)
    if profile is None:
        status = main(argv)
    else:
        profiler = cProfile.Profile()
        with profiled_threads() as threads:
            status = profiler.runcall(main, argv)
        merged = pstats.Stats(profiler)
        for thread in threads:
            merged.add(thread)
        merged.dump_stats(profile)
    report.write_text(json.dumps({"peak_rss_bytes": peak_rss_bytes()}))
    return status


def output_frames(path: Path) -> int:
    """Video frames in ``path``, counted from its packets (no decoding)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(result.stdout.strip())


def without_huge_pages() -> None:
    """In a child between fork and exec: transparent huge pages off (``prctl(PR_SET_THP_DISABLE)``),
    as ``stmfnet-trt run`` turns them off for itself (``core.huge_pages``)."""
    from stmfnet_trt.core.huge_pages import disable_transparent_huge_pages  # as the other imports here

    if not disable_transparent_huge_pages():
        raise OSError("prctl(PR_SET_THP_DISABLE) refused")


def timed(command: list[str], huge_pages_off: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of ``command`` from start to exit, CPU being user + system time of the
    process and all its threads, started with transparent huge pages off if ``huge_pages_off``; a
    failure is an error, not a row."""
    started, cpu = time.perf_counter(), os.times()
    preexec = without_huge_pages if huge_pages_off else None
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, preexec_fn=preexec)
    done = os.times()
    used = (done.children_user - cpu.children_user) + (done.children_system - cpu.children_system)
    return time.perf_counter() - started, used


# ---------------------------------------------------------------------------------------- results


@dataclass
class Turn:
    """One round of back-to-back runs: output frames/s of each tool (``before_fps``: ours as of
    ``--rev``, when given) and the CPU seconds each used."""

    ours_fps: float
    baseline_fps: float
    before_fps: float | None = None
    ours_cpu_s: float | None = None
    baseline_cpu_s: float | None = None
    # ffmpeg started with transparent huge pages off, as ours turns them off for itself
    baseline_thp_off_fps: float | None = None
    baseline_thp_off_cpu_s: float | None = None

    @property
    def ratio(self) -> float:
        return self.ours_fps / self.baseline_fps

    @property
    def before_ratio(self) -> float:
        return self.before_fps / self.baseline_fps

    @property
    def speedup(self) -> float:
        """Ours over ours as of ``--rev`` in the same turn: machine load cancels out."""
        return self.ours_fps / self.before_fps


@dataclass
class SizeResult:
    size: str
    frames: int
    long_frames: int
    turns: list[Turn]
    peak_rss_bytes: int  # ours, the largest over the turns on the ``frames`` clip
    long_peak_rss_bytes: int  # ours, on the ``long_frames`` clip
    profile_s: float  # the profiled run's thread seconds (``stage_split``)
    stages_s: dict[str, float]
    before_profile_s: float | None = None  # the same for ours as of ``--rev``
    before_stages_s: dict[str, float] | None = None
    profile_wall_s: float | None = None  # the profiled run's seconds inside ``main``
    before_profile_wall_s: float | None = None

    @property
    def before_fps(self) -> float:
        return statistics.median(t.before_fps for t in self.turns)

    @property
    def before_ratio(self) -> float:
        return self.before_fps / self.baseline_fps

    @property
    def speedup(self) -> float:
        return statistics.median(t.speedup for t in self.turns)

    @property
    def ours_fps(self) -> float:
        return statistics.median(t.ours_fps for t in self.turns)

    @property
    def ours_cpu_s(self) -> float:
        return statistics.median(t.ours_cpu_s for t in self.turns)

    @property
    def baseline_cpu_s(self) -> float:
        return statistics.median(t.baseline_cpu_s for t in self.turns)

    @property
    def baseline_fps(self) -> float:
        return statistics.median(t.baseline_fps for t in self.turns)

    @property
    def baseline_thp_off_fps(self) -> float:
        return statistics.median(t.baseline_thp_off_fps for t in self.turns)

    @property
    def baseline_thp_off_cpu_s(self) -> float:
        return statistics.median(t.baseline_thp_off_cpu_s for t in self.turns)

    @property
    def ratio(self) -> float:
        return self.ours_fps / self.baseline_fps

    @property
    def rss_growth(self) -> float:
        """Peak RSS on the long clip over the short one: 1.0 when memory is flat in clip length."""
        return self.long_peak_rss_bytes / self.peak_rss_bytes


def measure_size(size: tuple[int, int], args: argparse.Namespace, folder: Path) -> SizeResult:
    """Clips, interleaved turns, the long-clip RSS run and the profiled run of one size."""
    label = f"{size[0]}x{size[1]}"
    clips = {n: folder / f"{label}_{n}.mp4" for n in (args.frames, args.long_frames)}
    for frames, clip in clips.items():
        subprocess.run(clip_command(clip, size, frames), check=True)
    short = clips[args.frames]
    outputs = {name: folder / f"{name}.mp4" for name in ("ours", "baseline", "before")}
    report, before_report = folder / "report.json", folder / "before_report.json"
    outputs["baseline_thp_off"] = folder / "baseline_thp_off.mp4"
    commands = {
        "ours": worker_command(short, outputs["ours"], report),
        "baseline": baseline_command(short, outputs["baseline"], size, args.baseline),
        "baseline_thp_off": baseline_command(short, outputs["baseline_thp_off"], size, args.baseline),
    }
    if args.tree:
        commands["before"] = worker_command(short, outputs["before"], before_report, tree=args.tree)
    turns, peaks = [], []
    for turn in range(args.repeats):
        order = list(commands)[turn % len(commands) :] + list(commands)[: turn % len(commands)]  # rotated
        seconds = {name: timed(commands[name], huge_pages_off=name == "baseline_thp_off") for name in order}
        fps = {name: output_frames(outputs[name]) / seconds[name][0] for name in commands}
        peaks.append(json.loads(report.read_text())["peak_rss_bytes"])
        cpu = {name: used for name, (_, used) in seconds.items()}
        turns.append(
            Turn(
                fps["ours"],
                fps["baseline"],
                fps.get("before"),
                cpu["ours"],
                cpu["baseline"],
                fps["baseline_thp_off"],
                cpu["baseline_thp_off"],
            )
        )
        print(
            f"{label} turn {turn + 1}: " + ", ".join(f"{name} {value:.1f} fps" for name, value in fps.items())
        )
    timed(worker_command(clips[args.long_frames], outputs["ours"], report))
    long_peak = json.loads(report.read_text())["peak_rss_bytes"]
    total, stages, wall = profiled(short, folder)
    result = SizeResult(
        label, args.frames, args.long_frames, turns, max(peaks), long_peak, total, stages, profile_wall_s=wall
    )
    if args.tree:
        result.before_profile_s, result.before_stages_s, result.before_profile_wall_s = profiled(
            short, folder, args.tree
        )
    return result


def profiled(clip: Path, folder: Path, tree: Path | None = None) -> tuple[float, dict[str, float], float]:
    """``stage_split`` of one worker run on ``clip`` under cProfile, and its seconds in ``main``."""
    profile = folder / "profile.pstats"
    timed(worker_command(clip, folder / "profiled.mp4", folder / "profiled.json", profile, tree))
    stats = pstats.Stats(str(profile)).stats
    return *stage_split(stats), sum(term_seconds(stats, main) for main in MAINS)


def render(results: list[SizeResult], header: str, rev: str | None = None) -> str:
    """Markdown: speed and memory per size, then the per-stage split of each size's profiled run."""
    lines = [
        header,
        "",
        "| size | ours frames/s | ffmpeg frames/s | ratio (median) | per-turn ratios | "
        "peak RSS, short clip | peak RSS, long clip | long / short |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratios = sorted(t.ratio for t in r.turns)
        lines.append(
            f"| {r.size} | {r.ours_fps:.1f} | {r.baseline_fps:.1f} | {r.ratio:.2f}x | "
            f"{ratios[0]:.2f}-{ratios[-1]:.2f}x | {r.peak_rss_bytes / 1e6:.0f} MB ({r.frames} frames) | "
            f"{r.long_peak_rss_bytes / 1e6:.0f} MB ({r.long_frames} frames) | {r.rss_growth:.2f} |"
        )
    if results[0].turns[0].ours_cpu_s is not None:
        lines += [
            "",
            "CPU seconds of each run (user + system, every thread, median of the turns): on a machine "
            "whose cores are busy the frames/s ratio tends to their ratio, with idle cores to more "
            "where a tool keeps them busy:",
            "",
            "| size | ours CPU s | ffmpeg CPU s | ffmpeg / ours |",
            "|---|---|---|---|",
            *(
                f"| {r.size} | {r.ours_cpu_s:.2f} | {r.baseline_cpu_s:.2f} | "
                f"{r.baseline_cpu_s / r.ours_cpu_s:.2f} |"
                for r in results
            ),
        ]
    if results[0].turns[0].baseline_thp_off_fps is not None:
        lines += [
            "",
            "ffmpeg started with transparent huge pages off, as our run turns them off for itself "
            "(`core/huge_pages.py`), in the same turns: the ratio of the two programs on equal terms.",
            "",
            "| size | ffmpeg, huge pages off: frames/s | its CPU s | ours / it (median) | per-turn |",
            "|---|---|---|---|---|",
        ]
        for r in results:
            ratios = sorted(t.ours_fps / t.baseline_thp_off_fps for t in r.turns)
            lines.append(
                f"| {r.size} | {r.baseline_thp_off_fps:.1f} | {r.baseline_thp_off_cpu_s:.2f} | "
                f"{r.ours_fps / r.baseline_thp_off_fps:.2f}x | {ratios[0]:.2f}-{ratios[-1]:.2f}x |"
            )
    if results[0].before_stages_s is not None:
        lines += [
            "",
            f"In the same turns, ours as of {rev}:",
            "",
            "| size | before frames/s | before ratio | after ratio | after / before (median of turns) |",
            "|---|---|---|---|---|",
            *(
                f"| {r.size} | {r.before_fps:.1f} | {r.before_ratio:.2f}x | {r.ratio:.2f}x | "
                f"{r.speedup:.2f}x |"
                for r in results
            ),
        ]
    columns = stage_columns(results, rev)
    lines += [
        "",
        "Where our run's time goes (one cProfile run per size, every Python thread profiled: share of "
        "their summed seconds):",
        "",
        "| stage | " + " | ".join(label for label, _, _, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name in results[0].stages_s:
        cells = [
            f"{stages.get(name, 0.0) / total:.1%} ({stages.get(name, 0.0):.2f} s)"
            for _, total, _, stages in columns
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| total (thread seconds) | " + " | ".join(f"{total:.2f} s" for _, total, _, _ in columns) + " |"
    )
    if all(wall is not None for _, _, wall, _ in columns):
        cells = [
            f"{wall:.2f} s, {busy_threads(total, stages, wall):.2f} Python threads busy"
            for _, total, wall, stages in columns
        ]
        lines.append("| wall (inside `main`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def busy_threads(total: float, stages: dict[str, float], wall: float) -> float:
    """Python threads at work on average: their seconds outside the ``waits`` stages over wall seconds
    (the encoder's and decoder's own native threads are not profiled; the x264 call waits on them)."""
    waits = sum(seconds for name, seconds in stages.items() if name.startswith("waits"))
    return (total - waits) / wall


def stage_columns(
    results: list[SizeResult], rev: str | None
) -> list[tuple[str, float, float | None, dict[str, float]]]:
    """(label, thread seconds, wall seconds, stage split) of every profiled run: per size, ours as of
    ``rev`` first."""
    columns = []
    for r in results:
        if r.before_stages_s is not None:
            columns.append(
                (f"{r.size}, {rev}", r.before_profile_s, r.before_profile_wall_s, r.before_stages_s)
            )
        columns.append((r.size, r.profile_s, r.profile_wall_s, r.stages_s))
    return columns


def plot(results: list[SizeResult], path: Path, title: str, rev: str | None = None) -> None:
    """Output frames/s of both tools per size, and the stage split as stacked shares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (speed, split) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 2]})
    xs = range(len(results))
    bars = [
        ("stmfnet-trt run --backend blend", [r.ours_fps for r in results]),
        ("ffmpeg", [r.baseline_fps for r in results]),
    ]
    if results[0].turns[0].baseline_thp_off_fps is not None:
        bars.append(("ffmpeg, huge pages off", [r.baseline_thp_off_fps for r in results]))
    if results[0].before_stages_s is not None:
        bars.insert(0, (f"ours as of {rev}", [r.before_fps for r in results]))
    width = 0.8 / len(bars)
    for b, (label, values) in enumerate(bars):
        speed.bar([x + (b - (len(bars) - 1) / 2) * width for x in xs], values, width, label=label)
    speed.set_xticks(list(xs), [r.size for r in results])
    speed.set_ylabel("output frames/s")
    speed.legend(fontsize=8)
    speed.grid(axis="y", alpha=0.3)
    columns = stage_columns(results, rev)
    rows = range(len(columns))
    left = [0.0] * len(columns)
    colours = plt.get_cmap("tab20").colors
    for i, name in enumerate(results[0].stages_s):
        shares = [100 * stages.get(name, 0.0) / total for _, total, _, stages in columns]
        split.barh(list(rows), shares, left=left, label=name, color=colours[i % len(colours)])
        left = [a + b for a, b in zip(left, shares, strict=True)]
    split.set_yticks(list(rows), [label for label, _, _, _ in columns])
    split.set_xlabel("% of our run's thread seconds")
    split.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
    figure.suptitle(textwrap.fill(title, 160), fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def report(results: list[SizeResult], args: argparse.Namespace) -> None:
    """Table on stdout, JSON, plot and (with ``--section``) a section of RESULTS.md."""
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    header = (
        (f"{args.label}: " if args.label else "")
        + f"measured {datetime.date.today().isoformat()} on CPU {platform.machine()}, {os.cpu_count()} cores"
        f"{', shared with other jobs' if args.shared else ''}; "
        f"{f'before: ours as of {args.rev}, in the same turns; ' if args.rev else ''}"
        f"testsrc2 clips at {CLIP_FPS} fps, x{FACTOR}; "
        f"ffmpeg: `-vf {BASELINE_FILTERS[args.baseline].format(fps=CLIP_FPS * FACTOR)}` "
        f"({ffmpeg.split(' Copyright')[0]}), both `{' '.join(encoder_arguments(1080, 1920))}`; "
        f"median of {args.repeats} interleaved turns."
    )
    text = render(results, header, args.rev)
    if args.plot:
        plot(results, args.plot, header.split(";")[0], args.rev)
        text += f"\n\n![pipeline speed and stage split]({os.path.relpath(args.plot, HERE)})"
    print(text)
    record = {
        "benchmark": "pipeline",
        "date": datetime.date.today().isoformat(),
        "label": args.label,
        "baseline": BASELINE_FILTERS[args.baseline],
        "ffmpeg": ffmpeg,
        "shared_machine": args.shared,
        "rev": args.rev,
        "results": [
            asdict(r) | {"ours_fps": r.ours_fps, "baseline_fps": r.baseline_fps, "ratio": r.ratio}
            for r in results
        ],
    }
    write_json(args.json, record)
    if args.section:
        write_section(HERE / "RESULTS.md", args.section, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(720, 1280), (1080, 1920)])
    parser.add_argument("--frames", type=int, default=60, help="input frames of the timed clip")
    parser.add_argument("--long-frames", type=int, default=120, help="input frames of the peak-RSS check")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", choices=BASELINE_FILTERS, default="framerate")
    parser.add_argument(
        "--rev", help="also time our run as of this git revision (the commit before a change) in every turn"
    )
    parser.add_argument("--label", default="", help="what was measured (e.g. before/after which commit)")
    parser.add_argument("--shared", action="store_true", help="say that other jobs shared the machine")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "pipeline.json")
    parser.add_argument("--plot", type=Path, default=HERE / "results" / "pipeline.png")
    parser.add_argument("--section", help="also write the tables into this section of bench/RESULTS.md")
    parser.add_argument(
        "--worker", nargs=3, type=Path, metavar=("CLIP", "OUTPUT", "REPORT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--profile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.exit(worker(*args.worker, args.profile))
    with tempfile.TemporaryDirectory() as folder:
        args.tree = extract_package(args.rev, Path(folder) / "rev") if args.rev else None
        compile_package(installed_package())
        if args.tree:
            compile_package(args.tree / "stmfnet_trt")
        results = [measure_size(size, args, Path(folder)) for size in args.sizes]
    report(results, args)


if __name__ == "__main__":
    main()
