"""Where ONNX Runtime spends its time on our graphs: kernel time summed by op type.

    python bench/ort_profile.py [--variant cpu|plugin|portable | --model FILE] [--sizes 256x256 544x960]
                                [--runs 3] [--threads 2] [--json bench/results/ort_profile.json]
                                [--section NAME] [--label TEXT]

Runs the graph with ONNX Runtime's own profiler (``SessionOptions.enable_profiling``), one warm-up
run and ``--runs`` profiled runs per size, and sums each node's kernel time by op type and by part
of the network (node names are the exporter's module paths), with the arithmetic of every
convolution (from the shapes the profiler records, and from the model where ORT pre-packed a weight
and recorded none) and the rate it ran at. The tables say which op types and which parts are worth
optimising; the floor line says how fast a run could be if every convolution ran as fast as the
fastest one does on this machine, the other kernels unchanged. The
per-run wall time (``model_run``) next to the summed kernel time shows how much goes to scheduling
and copies between the kernels. ``--section`` also writes the tables into bench/RESULTS.md (e.g. a
before/after pair of sections).
Speed does not depend on the weights, so random-init weights are used unless ``--model`` is given.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import parse_size, write_json, write_section  # noqa: E402

from stmfnet_trt.core.contract import VARIANTS  # noqa: E402

CONV_OPS = ("Conv", "FusedConv", "ConvTranspose")
MIN_PEAK_NODE_MS = 2.0  # shorter conv nodes are too noisy to take the machine's peak rate from


@dataclass(frozen=True)
class OpTypeTime:
    """Kernel time of all nodes of one op type (or network part), per run."""

    op_type: str
    nodes: int
    ms_per_run: float
    share: float
    gflop: float = 0.0  # convolution arithmetic per run (2 FLOP per multiply-add)


@dataclass(frozen=True)
class Profile:
    size: str
    runs: int
    wall_ms_per_run: float
    kernel_ms_per_run: float
    op_types: list[OpTypeTime]
    parts: list[OpTypeTime]  # the same sums by network part (``op_type`` holds the part)
    peak_conv_gflops: float = 0.0  # the fastest conv node's rate (nodes >= MIN_PEAK_NODE_MS)

    @property
    def conv_gflop(self) -> float:
        return sum(row.gflop for row in self.op_types)

    @property
    def floor_ms(self) -> float | None:
        """Kernel time per run with every convolution at ``peak_conv_gflops``, the rest as measured;
        None when no conv node ran long enough to take a peak from (small sizes)."""
        if not self.peak_conv_gflops:
            return None
        conv_ms = sum(row.ms_per_run for row in self.op_types if row.op_type in CONV_OPS)
        return self.kernel_ms_per_run - conv_ms + 1000.0 * self.conv_gflop / self.peak_conv_gflops


def conv_weights(model: Path) -> dict[str, list[int]]:
    """Weight shape of every convolution node whose weight is an initializer, by node name.

    ORT's CPU ConvTranspose (group 1) pre-packs its weight at session start and frees the
    initializer; its profiler then records the node's inputs without it (input and bias only), so
    the shape has to come from the model.
    """
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    shapes = {tensor.name: list(tensor.dims) for tensor in graph.initializer}
    return {
        node.name: shapes[node.input[1]]
        for node in graph.node
        if node.op_type in CONV_OPS and len(node.input) > 1 and node.input[1] in shapes
    }


def conv_gflop(args: dict, packed_weight: list[int] | None = None) -> float:
    """GFLOP of one Conv / FusedConv / ConvTranspose node from the shapes ORT's profiler records:
    every weight meets every output position (input position for a transposed conv) once.

    ``packed_weight`` is the weight's shape for a node whose recorded inputs lack it (pre-packed: a
    weight has spatial dims, a bias has none); such a node without one is an error, not 0 GFLOP.
    """
    shapes = [next(iter(shape.values())) for shape in args["input_type_shape"]]
    output = next(iter(args["output_type_shape"][0].values()))
    recorded = len(shapes) > 1 and len(shapes[1]) > 2
    weight = shapes[1] if recorded else packed_weight
    if weight is None:
        raise ValueError(
            f"a {args['op_name']} node's profile records no weight (pre-packed by ORT): pass its shape"
        )
    rank = len(weight) - 2  # spatial dims; blocked (NCHWc) tensors carry a trailing block dim
    positions = shapes[0] if args["op_name"] == "ConvTranspose" else output
    return 2.0 * output[0] * math.prod(weight) * math.prod(positions[2 : 2 + rank]) / 1e9


def _ranked(
    totals: dict[str, float],
    nodes: dict[str, set[str]],
    gflop: dict[str, float],
    runs: int,
    kernel_ms: float,
) -> list[OpTypeTime]:
    """Per-run rows, largest first, with their share of the kernel time."""
    return [
        OpTypeTime(key, len(nodes[key]), total / runs, total / runs / kernel_ms, gflop[key] / runs)
        for key, total in sorted(totals.items(), key=lambda item: -item[1])
    ]


def summarize_trace(
    events: list[dict], runs: int, size: str, weights: dict[str, list[int]] | None = None
) -> Profile:
    """Sum ORT trace events (``cat == "Node"``, ``*_kernel_time``) by op type and network part.

    The warm-up run is excluded: it carries one-off allocations and oneDNN primitive creation.
    ``model_run`` events give the wall time of each ``session.run``. ``weights`` (``conv_weights``)
    holds the weight shapes of nodes whose profile lacks them.
    """
    weights = weights or {}
    from stmfnet_trt.bench.layers import layer_part

    model_runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    first_timed = sorted(e["ts"] for e in model_runs)[-runs]
    time_ms = {"type": collections.defaultdict(float), "part": collections.defaultdict(float)}
    gflop = {"type": collections.defaultdict(float), "part": collections.defaultdict(float)}
    nodes = {"type": collections.defaultdict(set), "part": collections.defaultdict(set)}
    node_ms: dict[str, float] = collections.defaultdict(float)
    node_gflop: dict[str, float] = {}
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    for event in kernels:
        if event["ts"] < first_timed:
            continue
        name, op_type = event["name"], event["args"]["op_name"]
        node_name = name.removesuffix("_kernel_time")
        work = conv_gflop(event["args"], weights.get(node_name)) if op_type in CONV_OPS else 0.0
        for table, key in (("type", op_type), ("part", layer_part(node_name))):
            time_ms[table][key] += event["dur"] / 1000.0
            gflop[table][key] += work
            nodes[table][key].add(name)
        node_ms[name] += event["dur"] / 1000.0
        if work:
            node_gflop[name] = work
    kernel_ms = sum(time_ms["type"].values()) / runs
    wall_ms = sum(e["dur"] for e in model_runs if e["ts"] >= first_timed) / 1000.0 / runs
    rates = [
        work / (node_ms[name] / runs) * 1000.0  # work is one run's; node_ms sums every run
        for name, work in node_gflop.items()
        if node_ms[name] / runs >= MIN_PEAK_NODE_MS
    ]
    ranked = {
        table: _ranked(time_ms[table], nodes[table], gflop[table], runs, kernel_ms) for table in time_ms
    }
    return Profile(size, runs, wall_ms, kernel_ms, ranked["type"], ranked["part"], max(rates, default=0.0))


def profile_model(model: Path, size: tuple[int, int], runs: int, threads: int) -> Profile:
    """One session with profiling on: a warm-up run, then ``runs`` profiled runs."""
    from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME
    from stmfnet_trt.core.frames import random_frames
    from stmfnet_trt.export.ort_session import create_session

    with tempfile.TemporaryDirectory() as folder:

        def enable_profiling(options) -> None:
            options.enable_profiling = True
            options.profile_file_prefix = str(Path(folder) / "ort")

        session = create_session(model, threads=threads, configure=enable_profiling)
        frames = random_frames((1, 4, 3, *size), seed=0)
        feeds = {name: frames[:, i].copy() for i, name in enumerate(INPUT_NAMES)}
        for _ in range(runs + 1):
            session.run([OUTPUT_NAME], feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    return summarize_trace(events, runs, f"{size[0]}x{size[1]}", conv_weights(model))


def _rate(gflop: float, ms: float) -> str:
    """Convolution GFLOP/s of a row, blank for rows without convolutions."""
    return f"{1000.0 * gflop / ms:.0f}" if gflop and ms else ""


def _table(heading: str, rows: list[OpTypeTime], top: int) -> list[str]:
    """Markdown rows of the ``top`` entries, the rest folded into one row."""
    lines = [
        f"| {heading} | nodes | ms/run | share of kernel time | conv GFLOP | conv GFLOP/s |",
        "|---|---|---|---|---|---|",
    ]
    shown, rest = rows[:top], rows[top:]
    if rest:
        shown.append(
            OpTypeTime(
                f"other ({len(rest)})",
                sum(r.nodes for r in rest),
                sum(r.ms_per_run for r in rest),
                sum(r.share for r in rest),
                sum(r.gflop for r in rest),
            )
        )
    lines += [
        f"| {r.op_type} | {r.nodes} | {r.ms_per_run:.1f} | {r.share:.1%} | "
        f"{f'{r.gflop:.2f}' if r.gflop else ''} | {_rate(r.gflop, r.ms_per_run)} |"
        for r in shown
    ]
    return lines


def render(profile: Profile, top: int) -> str:
    """Markdown: kernel time by op type, then by network part, then the floor line."""
    lines = [
        f"{profile.size}: {profile.wall_ms_per_run:.0f} ms per run (wall), "
        f"{profile.kernel_ms_per_run:.0f} ms in kernels; mean of {profile.runs} profiled runs",
        "",
        *_table("op type", profile.op_types, top),
        "",
        *_table("network part", profile.parts, top),
    ]
    if profile.floor_ms is not None:
        lines += [
            "",
            f"Floor: {profile.conv_gflop:.1f} GFLOP of convolutions per run; the fastest conv node ran at "
            f"{profile.peak_conv_gflops:.0f} GFLOP/s. With every convolution that fast and the other "
            f"kernels as measured, a run would take {profile.floor_ms:.0f} ms "
            f"(measured: {profile.kernel_ms_per_run:.0f} ms in kernels).",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--variant", choices=VARIANTS, default="cpu")
    source.add_argument("--model", type=Path, help="an exported .onnx instead of the cached random-init one")
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(256, 256), (544, 960)])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=12, help="op types listed before 'other'")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "ort_profile.json")
    parser.add_argument("--section", help="also write the tables into this section of bench/RESULTS.md")
    parser.add_argument("--label", default="", help="what was profiled (e.g. which build), for the header")
    args = parser.parse_args()

    import onnxruntime

    from stmfnet_trt.export.cache import cached_onnx

    model = args.model or cached_onnx(None, args.variant)
    profiles = [profile_model(model, size, args.runs, args.threads) for size in args.sizes]
    header = (
        (f"{args.label}: " if args.label else "")
        + f"ORT profile of `{model.name}`, {datetime.date.today().isoformat()}, onnxruntime "
        f"{onnxruntime.__version__}, {args.threads} threads; kernel time summed by op type."
    )
    text = "\n\n".join([header, *(render(p, args.top) for p in profiles)])
    print(text)
    record = {
        "benchmark": "ort_profile",
        "date": datetime.date.today().isoformat(),
        "model": model.name,
        "label": args.label,
        "threads": args.threads,
        "onnxruntime": onnxruntime.__version__,
        "profiles": [asdict(p) | {"conv_gflop": p.conv_gflop, "floor_ms": p.floor_ms} for p in profiles],
    }
    write_json(args.json, record)
    if args.section:
        write_section(HERE / "RESULTS.md", args.section, text)


if __name__ == "__main__":
    main()
