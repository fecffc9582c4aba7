"""Per-layer TensorRT timing: where an engine's time goes, with the warp plugin's share by name.

TensorRT reports each layer's time to an ``IProfiler`` attached to the execution context. Its
layer names are the ONNX node names (the exporter's module paths: ``/feature_extractor/...``),
fused layers joined by ``" + "``, graphs it compiled itself wrapped as ``{ForeignNode[a...b]}``,
and format conversions named ``Reformatting CopyNode for ...``. Mapping them back to the parts
of the network tells users whether the convolutions or the six warps dominate on their GPU, and
so whether INT8 (convolutions only) can pay.
"""

from __future__ import annotations

import importlib
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.flavours import FLAVOUR_MODULES
from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions

# First module of an exporter node path -> the part of the network it belongs to.
PARTS = (
    (re.compile(r"^AdaptiveWarp"), "warp (AdaptiveWarp plugin)"),
    (re.compile(r"^feature_extractor"), "feature extractor"),
    (re.compile(r"^dyntex_generator"), "3-D texture branch"),
    (re.compile(r"^scale_synthesis"), "GridNet synthesis"),
    (re.compile(r"^upsampler"), "upsamplers"),
    (re.compile(r"^module(Alpha|Beta|Weight|Occlusion)"), "kernel/offset heads"),
)
REFORMAT = "reformat / copies"
OTHER = "other (shape glue)"
_FOREIGN = re.compile(r"\{ForeignNode\[(.*?)(?:\.\.\.|\])")


def layer_part(name: str) -> str:
    """The network part a TensorRT layer or ONNX Runtime node name belongs to (a fused layer's
    first node decides); TensorRT's reformats and ONNX Runtime's NCHWc reorders are copies."""
    if name.startswith(("Reformatting CopyNode", "Reformat", "ReorderInput", "ReorderOutput")):
        return REFORMAT
    foreign = _FOREIGN.search(name)
    first = (foreign.group(1) if foreign else name).split(" + ")[0].strip()
    module = first.lstrip("/").split("/")[0]
    for pattern, part in PARTS:
        if pattern.match(module):
            return part
    return OTHER


@dataclass(frozen=True)
class LayerTime:
    name: str
    part: str
    median_ms: float
    share: float  # of the summed per-layer medians


def summarize(samples: dict[str, list[float]]) -> list[LayerTime]:
    """Median time per layer over the profiled runs, largest first, with its share of the total."""
    medians = {name: statistics.median(times) for name, times in samples.items() if times}
    total = sum(medians.values()) or 1.0
    layers = [LayerTime(n, layer_part(n), ms, ms / total) for n, ms in medians.items()]
    return sorted(layers, key=lambda layer: layer.median_ms, reverse=True)


def part_shares(layers: list[LayerTime]) -> dict[str, tuple[float, int]]:
    """Per network part: (milliseconds, layer count), largest first."""
    totals: dict[str, list[float]] = defaultdict(list)
    for layer in layers:
        totals[layer.part].append(layer.median_ms)
    ranked = sorted(totals.items(), key=lambda item: sum(item[1]), reverse=True)
    return {part: (sum(times), len(times)) for part, times in ranked}


def render(layers: list[LayerTime], top: int = 12) -> str:
    """Markdown: the time per network part, then the slowest layers."""
    total = sum(layer.median_ms for layer in layers) or 1.0
    lines = ["| part | layers | ms | share |", "|---|---|---|---|"]
    for part, (ms, count) in part_shares(layers).items():
        lines.append(f"| {part} | {count} | {ms:.3f} | {100 * ms / total:.1f} % |")
    lines += [
        "",
        f"slowest {min(top, len(layers))} layers:",
        "",
        "| layer | part | ms | share |",
        "|---|---|---|---|",
    ]
    for layer in layers[:top]:
        name = layer.name if len(layer.name) <= 70 else layer.name[:67] + "..."
        lines.append(f"| `{name}` | {layer.part} | {layer.median_ms:.3f} | {100 * layer.share:.1f} % |")
    return "\n".join(lines)


def profile_engine(engine: Path, windows: np.ndarray, iterations: int) -> dict[str, list[float]]:
    """Layer times (ms) of ``iterations`` profiled runs of an engine on ``windows`` (GPU).

    One unprofiled warm-up run first: the first run of a TensorRT-RTX engine JIT-compiles
    its kernels and would dominate every median.
    """

    with TensorRTBackend(TensorRTOptions(engine)) as backend:
        trt = importlib.import_module(FLAVOUR_MODULES[backend.description["flavour"]])

        class Collector(trt.IProfiler):
            def __init__(self) -> None:
                trt.IProfiler.__init__(self)
                self.samples: dict[str, list[float]] = defaultdict(list)

            def report_layer_time(self, layer_name: str, ms: float) -> None:
                self.samples[layer_name].append(ms)

        backend.interpolate(windows)
        collector = Collector()
        backend.context.profiler = collector
        for _ in range(iterations):
            backend.interpolate(windows)
        return dict(collector.samples)
