"""CPU speed and memory of every way to run the model, as ratios measured in one run.

    python bench/cpu.py [--sizes 256x256 544x960 720x1280] [--repeats 5] [--threads 2]
                        [--backends NAME ...] [--max-pixels "NAME=PIXELS" ...]
                        [--json bench/results/cpu.json] [--plot bench/results/cpu.png]

Backends: torch eager (the reference), torch.compile (inductor; the 8-tap upsampler stays eager,
inductor fails on it), ONNX Runtime on the portable graph (standard ops only), ONNX Runtime on the
plugin graph (our AdaptiveWarp CPU op with the fused tap softmax), ONNX Runtime on the cpu graph
(the plugin graph with the heads' upsample + 3x3 conv tails as UpsampleConv3x3 nodes: what `run`
uses on a CPU).

Each backend runs in a worker process of its own, so its peak RSS (VmHWM) is its own and
its threads and caches cannot slow the others. Workers are warmed up one after the other (first
call: allocations, oneDNN primitives, torch.compile's compilation), then driven in turns
(A B C D A B C D ...), so machine noise hits every backend alike; the median over the turns is
reported with its ratio to torch eager from the same turns. Workers stay alive between their turns,
so a size runs as many backends side by side as memory allows: the next worker starts only while
the available memory exceeds the largest peak RSS seen so far; the others run in a later group
(the ``group`` column). A backend is skipped at sizes above its ``--max-pixels`` cap: by default
the torch ones above 544x960 (torch eager took ~50 s per frame and 4.8 GB there, both growing
with the pixel count); a run with a time budget can cap others.

Writes bench/results/cpu.json, the plot and the ``cpu`` section of bench/RESULTS.md. Speed does
not depend on the weights, so random-init weights are used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stmfnet_trt.bench.measure import peak_rss_bytes, rss_bytes

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import parse_size, write_json, write_section  # noqa: E402

EAGER = "torch eager"
COMPILE = "torch.compile"
ORT_VARIANTS = {"ORT portable": "portable", "ORT custom op": "plugin", "ORT CPU ops": "cpu"}
BACKENDS = (EAGER, COMPILE, *ORT_VARIANTS)
# torch eager: ~50 s per frame and 4.8 GB at 544x960 (2026-11-26); 720x1280 would take ~10 minutes
# of warm-up and turns for that one row.
DEFAULT_MAX_PIXELS = {EAGER: 544 * 960, COMPILE: 544 * 960}
MEMORY_MARGIN = 1.2  # start another worker only with 20 % headroom over the largest RSS seen


# ---------------------------------------------------------------------------------------- worker


def build_backend(name: str, threads: int, model: Path | None):
    """The backend ``name`` as the stmfnet-trt runtime builds it (ORT workers never import torch)."""
    if name in ORT_VARIANTS:
        from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions

        return OnnxRuntimeBackend(OnnxRuntimeOptions(model, threads=threads))
    from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions

    backend = TorchBackend(TorchOptions(random_init_seed=0, device="cpu", threads=threads))
    if name == COMPILE:
        import torch

        # Inductor fails on the upsampler's pad + strided interleave ("vr must not be None").
        upsampler = backend.model.upsampler
        upsampler.forward = torch.compiler.disable(upsampler.forward)
        backend.model = torch.compile(backend.model)
    return backend


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def worker(name: str, size: tuple[int, int], threads: int, model: Path | None) -> None:
    """Build, warm up, then answer ``run`` lines with a timing and anything else with the peak RSS."""
    from stmfnet_trt.core.frames import random_frames

    window = random_frames((1, 4, 3, *size), seed=0)
    try:
        started = time.perf_counter()
        backend = build_backend(name, threads, model)
        backend.interpolate(window)
    except Exception as exc:  # report any failure (inductor, ORT, memory) as a skipped row
        say({"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"})
        return
    say({"warmup_s": time.perf_counter() - started})
    for line in sys.stdin:
        if line.strip() != "run":
            break
        started = time.perf_counter()
        backend.interpolate(window)
        say({"seconds": time.perf_counter() - started})
    say({"peak_rss_bytes": peak_rss_bytes()})


# ---------------------------------------------------------------------------------------- parent


@dataclass
class Row:
    size: str
    backend: str
    status: str = "ok"  # or why the backend has no numbers at this size
    group: int = 0
    warmup_s: float | None = None
    samples_s: list[float] = field(default_factory=list)
    median_s: float | None = None
    speedup_vs_eager: float | None = None
    peak_rss_gb: float | None = None


class Worker:
    """One backend in its own process, driven line by line over pipes."""

    def __init__(self, row: Row, size: tuple[int, int], threads: int, model: Path | None) -> None:
        self.row = row
        command = [sys.executable, __file__, "--worker", row.backend, "--sizes", f"{size[0]}x{size[1]}"]
        command += ["--threads", str(threads)] + (["--model", str(model)] if model else [])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        reply = self._reply()
        if "warmup_s" in reply:
            row.warmup_s = reply["warmup_s"]
        else:
            row.status = f"skipped: {reply['error']}"

    @property
    def alive(self) -> bool:
        return self.row.status == "ok"

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if line:
            return json.loads(line)
        code = self.process.wait()
        reason = "killed (out of memory?)" if code == -9 else f"exit code {code}"
        return {"error": f"worker died: {reason}"}

    def _send(self, text: str) -> dict:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._reply()

    def run(self) -> None:
        reply = self._send("run")
        if "seconds" in reply:
            self.row.samples_s.append(reply["seconds"])
        else:
            self.row.status = f"skipped: {reply['error']}"

    def finish(self) -> None:
        if self.alive:
            reply = self._send("quit")
            self.row.peak_rss_gb = reply.get("peak_rss_bytes", 0) / 1e9
            self.row.median_s = statistics.median(self.row.samples_s)
        self.process.stdin.close()
        self.process.wait()


def available_memory_bytes() -> int:
    """MemAvailable of /proc/meminfo (Linux); a large number elsewhere (no grouping)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 50


def measure_size(
    size: tuple[int, int], backends: list[str], args: argparse.Namespace, models: dict[str, Path]
) -> list[Row]:
    """Every backend at one size: warm-up one by one, then interleaved turns within each group."""
    label = f"{size[0]}x{size[1]}"
    rows = [Row(label, name) for name in backends]
    pending = []
    for row in rows:
        cap = args.max_pixels.get(row.backend)
        if cap is not None and size[0] * size[1] > cap:
            default = DEFAULT_MAX_PIXELS.get(row.backend) == cap and row.backend not in args.capped
            why = "torch: ~50 s/frame at 544x960 already" if default else "time budget of this run"
            row.status = f"skipped: above its --max-pixels cap of {cap} ({why})"
        else:
            pending.append(row)
    group = 0
    while pending:
        group += 1
        workers: list[Worker] = []
        largest = 0
        while pending and (not workers or available_memory_bytes() > MEMORY_MARGIN * largest):
            row = pending.pop(0)
            row.group = group
            print(f"{label}: starting {row.backend} (group {group})", file=sys.stderr, flush=True)
            worker = Worker(row, size, args.threads, models.get(row.backend))
            if worker.alive:
                workers.append(worker)
                largest = max(largest, rss_bytes(worker.process.pid))
            else:
                worker.finish()
        for _ in range(args.repeats):
            for worker in workers:
                if worker.alive:
                    worker.run()
        for worker in workers:
            worker.finish()
    eager = next((r.median_s for r in rows if r.backend == EAGER and r.median_s), None)
    for row in rows:
        if eager and row.median_s:
            row.speedup_vs_eager = eager / row.median_s
    return rows


def render_table(rows: list[Row]) -> str:
    lines = [
        "| size | backend | median s/frame | frames/s | vs torch eager | peak RSS | group |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.median_s is None:
            lines.append(f"| {r.size} | {r.backend} | {r.status} | | | | |")
            continue
        ratio = f"{r.speedup_vs_eager:.2f}x" if r.speedup_vs_eager else "n/a (no eager row)"
        lines.append(
            f"| {r.size} | {r.backend} | {r.median_s:.3f} | {1 / r.median_s:.2f} | {ratio} | "
            f"{r.peak_rss_gb:.2f} GB | {r.group} |"
        )
    return "\n".join(lines)


def plot(rows: list[Row], path: Path, title: str) -> None:
    """Seconds per frame and peak RSS per size, one bar per backend (log scale: sizes differ 10x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys(r.size for r in rows))
    backends = list(dict.fromkeys(r.backend for r in rows))
    width = 0.8 / len(backends)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    panels = ((axes[0], "median_s", "seconds per frame"), (axes[1], "peak_rss_gb", "peak RSS (GB)"))
    for axis, key, label in panels:
        for b, backend in enumerate(backends):
            values = {r.size: getattr(r, key) for r in rows if r.backend == backend and getattr(r, key)}
            offset = (b - (len(backends) - 1) / 2) * width
            xs = [i + offset for i, size in enumerate(sizes) if size in values]
            axis.bar(xs, list(values.values()), width, label=backend)
        axis.set_xticks(range(len(sizes)), sizes)
        axis.set_yscale("log")
        axis.set_ylabel(label)
        axis.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def report(rows: list[Row], args: argparse.Namespace) -> None:
    """JSON, plot, table on stdout and (unless --no-results-md) a section of RESULTS.md."""
    import onnxruntime
    import torch

    device = f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads"
    record = {
        "benchmark": "cpu",
        "date": datetime.date.today().isoformat(),
        "device": device,
        "versions": {
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
        "repeats": args.repeats,
        "rows": [asdict(r) for r in rows],
    }
    write_json(args.json, record)
    header = (
        f"Measured {record['date']} on {device}; torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}; median of {args.repeats} interleaved turns after a warm-up, each "
        "backend in its own process (peak RSS is that process's)."
    )
    plot(rows, args.plot, header.split(";")[0])
    text = "\n".join([header, "", render_table(rows)])
    print(text, flush=True)
    if not args.no_results_md:
        relative = args.plot.resolve().relative_to(HERE.resolve())
        write_section(
            HERE / "RESULTS.md", args.section, f"{text}\n\n![CPU time and memory per backend]({relative})"
        )


def pixel_cap(text: str) -> tuple[str, int]:
    name, _, pixels = text.rpartition("=")
    if name not in BACKENDS or not pixels.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected BACKEND=PIXELS with BACKEND one of {BACKENDS}, got {text!r}"
        )
    return name, int(pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(256, 256), (544, 960), (720, 1280)])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--max-pixels",
        type=pixel_cap,
        nargs="+",
        default=[],
        help='"BACKEND=PIXELS": skip BACKEND at sizes above PIXELS (added to the torch defaults)',
    )
    parser.add_argument("--json", type=Path, default=HERE / "results" / "cpu.json")
    parser.add_argument("--plot", type=Path, default=HERE / "results" / "cpu.png")
    parser.add_argument("--section", default="cpu", help="section of bench/RESULTS.md to write")
    parser.add_argument("--no-results-md", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.capped = {name for name, _ in args.max_pixels}  # caps given here (vs the defaults)
    args.max_pixels = {**DEFAULT_MAX_PIXELS, **dict(args.max_pixels)}
    if args.worker:
        worker(args.worker, args.sizes[0], args.threads, args.model)
        return

    from stmfnet_trt.export.cache import cached_onnx

    # Exported (once, cached) here, so that ORT workers need neither torch nor the exporter.
    models = {name: cached_onnx(None, ORT_VARIANTS[name]) for name in args.backends if name in ORT_VARIANTS}
    rows: list[Row] = []
    for size in args.sizes:  # results are written after every size: a cut-short run keeps what it has
        rows += measure_size(size, args.backends, args, models)
        report(rows, args)


if __name__ == "__main__":
    main()
