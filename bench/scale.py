"""Scale-out throughput against the local backend, as ratios measured in one run.

    python bench/scale.py [--frames 6] [--clips 2] [--threads 2]

Workload: ``--clips`` copies of the first ``--frames`` frames of ``assets/carphone_12.mp4``
(176x144, padded to 256x256), interpolated x2 by the random-init ONNX graph in ONNX Runtime
(speed does not depend on the weights). Every row does the same total work, with the same number
of CPU threads in total, and reports output frames per second and its ratio to the local row:

- local: ``interpolate_video`` with the ONNX Runtime backend, clip after clip, in this process;
- serve, 1 / 2 clients: a real Triton server (``serve``, ONNX Runtime with all threads) and
  ``--backend triton`` client processes, one taking all clips in turn or two splitting them;
  timed inside each client around its runs (process start-up and the server check excluded),
  wall time = the slowest client;
- batch, 1 / 2 workers: ``run_batch`` on a local Ray cluster (started beforehand), one worker
  with all threads or two with half each; timed around the job, so actor start-up and model
  loading are included, as a user waits for them.

Writes ``bench/results/scale.json`` and the ``scale`` section of ``bench/RESULTS.md``. Serve rows
need the serve environment (``scripts/make_serve_env.sh``), batch rows need ``ray``; missing ones
are reported as not measured.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "serve"))  # the server/client process helpers of the tests

from results import write_json, write_section  # noqa: E402

CLIP = ROOT / "assets" / "carphone_12.mp4"
_TIMED = re.compile(r"(\d+) frames in ([\d.]+) s")


def prepare_clips(folder: Path, count: int) -> list[Path]:
    """``count`` copies of the clip, so each has its own output name."""
    clips = []
    for index in range(count):
        clip = folder / f"clip{index}.mp4"
        shutil.copy(CLIP, clip)
        clips.append(clip)
    return clips


def time_local(model: Path, clips: list[Path], frames: int, threads: int, out: Path) -> tuple[int, float]:
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
    from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

    written = 0
    with OnnxRuntimeBackend(OnnxRuntimeOptions(model, threads=threads)) as backend:
        start = time.perf_counter()
        for clip in clips:
            options = RunOptions(max_frames=frames, progress=False)
            written += interpolate_video(clip, out / f"local_{clip.stem}.mp4", backend, options).output_frames
        return written, time.perf_counter() - start


def _client_share(python: str, url: str, clips: list[Path], frames: int, out: Path) -> tuple[int, float]:
    """One client: its clips in turn, each a client process; the timed spans summed."""
    from helpers import start_client

    written, seconds = 0, 0.0
    for clip in clips:
        process = start_client(python, clip, out / f"{clip.stem}.mp4", url, "--max-frames", str(frames))
        text, _ = process.communicate(timeout=1800)
        match = _TIMED.search(text)
        if process.returncode != 0 or match is None:
            raise RuntimeError(f"client failed ({process.returncode}):\n{text[-2000:]}")
        written += int(match.group(1))
        seconds += float(match.group(2))
    return written, seconds


def time_serve(
    python: str, model: Path, clips: list[Path], frames: int, clients: int, threads: int, out: Path
) -> tuple[int, float]:
    """Clips split among ``clients`` concurrent clients; wall time of the slowest."""
    from concurrent.futures import ThreadPoolExecutor

    from helpers import start_server

    backend = ["--backend", "onnxruntime", "--onnx", str(model), "--threads", str(threads)]
    server = start_server(python, out / f"server_{clients}.log", backend)
    try:
        folders = [out / f"serve{clients}_client{i}" for i in range(clients)]
        for folder in folders:
            folder.mkdir()
        with ThreadPoolExecutor(clients) as pool:
            shares = pool.map(
                lambda i: _client_share(python, server.url("grpc"), clips[i::clients], frames, folders[i]),
                range(clients),
            )
            results = list(shares)
    finally:
        server.terminate()
    return sum(w for w, _ in results), max(s for _, s in results)


def time_batch(model: Path, clips: list[Path], frames: int, workers: int, threads: int, out: Path):
    """``run_batch`` with ``workers`` actors sharing ``threads`` CPU threads."""
    from stmfnet_trt.batch.job import BatchOptions, run_batch
    from stmfnet_trt.io import open_sink, open_source
    from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions

    short = []
    for clip in clips:  # batch has no --max-frames: cut the clips to the same frames
        cut = out / f"batch{workers}_{clip.stem}.mp4"
        with open_source(clip) as source, open_sink(cut, source.width, source.height, source.fps) as sink:
            for frame in itertools.islice(source, frames):
                sink.write(frame)
        short.append(cut)
    factory = functools.partial(OnnxRuntimeBackend, OnnxRuntimeOptions(model, threads=threads // workers))
    options = BatchOptions(workers=workers, cpus_per_worker=threads / workers, progress=False)
    start = time.perf_counter()
    results = run_batch(short, out / f"batch{workers}", factory, options)
    seconds = time.perf_counter() - start
    failed = [r.error for r in results if r.error]
    if failed:
        raise RuntimeError(f"batch failed: {failed}")
    return sum(r.frames for r in results), seconds


def serve_python() -> str | None:
    from conftest import _serve_python

    return _serve_python()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6, help="input frames per clip")
    parser.add_argument("--clips", type=int, default=2, help="clips in the workload")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads in total, every row")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args()

    import onnxruntime

    from stmfnet_trt.export.cache import cached_onnx
    from stmfnet_trt.plugins import default_ort_variant as _default_variant

    variant = _default_variant()
    model = cached_onnx(None, variant)
    python = serve_python()
    try:
        import ray
    except ImportError:
        ray = None
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        clips = prepare_clips(out, args.clips)
        measured = {"local": time_local(model, clips, args.frames, args.threads, out)}
        for clients in (1, 2):
            label = f"serve, {clients} client{'s' * (clients > 1)}"
            measured[label] = (
                time_serve(python, model, clips, args.frames, clients, args.threads, out) if python else None
            )
        if ray is not None:
            ray.init(num_cpus=args.threads, include_dashboard=False, log_to_driver=False)
        for workers in (1, 2):
            label = f"batch, {workers} worker{'s' * (workers > 1)}"
            measured[label] = (
                time_batch(model, clips, args.frames, workers, args.threads, out) if ray is not None else None
            )
        if ray is not None:
            ray.shutdown()
    local_fps = measured["local"][0] / measured["local"][1]
    for label, value in measured.items():
        if value is None:
            rows.append({"setup": label, "measured": False})
            continue
        frames, seconds = value
        fps = frames / seconds
        rows.append(
            {
                "setup": label,
                "measured": True,
                "frames": frames,
                "seconds": seconds,
                "frames_per_s": fps,
                "vs_local": fps / local_fps,
            }
        )
    record = {
        "benchmark": "scale",
        "date": datetime.date.today().isoformat(),
        "device": f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads per row",
        "workload": f"{args.clips} x {args.frames} frames of {CLIP.name} (176x144 -> 256x256), x2, "
        f"random-init ONNX ({variant} variant)",
        "versions": {"onnxruntime": onnxruntime.__version__, "ray": ray.__version__ if ray else None},
        "rows": rows,
    }
    write_json(args.json, record)
    table = ["| setup | output frames | seconds | frames/s | vs local |", "|---|---|---|---|---|"]
    for r in rows:
        if r["measured"]:
            table.append(
                f"| {r['setup']} | {r['frames']} | {r['seconds']:.1f} | {r['frames_per_s']:.2f} | "
                f"{r['vs_local']:.2f}x |"
            )
        else:
            table.append(f"| {r['setup']} | not measured: its extra is not installed | | | |")
    header = f"Measured {record['date']} on {record['device']}; {record['workload']}."
    print("\n".join([header, "", *table]))
    write_section(HERE / "RESULTS.md", "scale", "\n".join([header, "", *table]))


if __name__ == "__main__":
    main()
