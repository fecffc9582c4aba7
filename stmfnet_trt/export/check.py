"""``stmfnet-trt check``: how far an exported graph is from the PyTorch reference, and what it holds.

Runs the reference and one or more ONNX files on the same frames through Polygraphy's
``Comparator`` (random smooth frames at several sizes, plus real frames from a clip), reports
max abs, mean abs and PSNR per comparison, and fails a comparison the way an export's parity
check does (``parity.py``: outliers beyond the tolerance counted, PSNR floor).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME, pad_to_multiple
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.core.frames import random_frames, to_model_frame
from stmfnet_trt.core.warp_op import OP_DOMAIN, OP_NAME
from stmfnet_trt.export.exporter import op_histogram
from stmfnet_trt.export.ort_session import create_session
from stmfnet_trt.export.parity import ParityReport, reference_output
from stmfnet_trt.io import open_source


@dataclass(frozen=True)
class ModelSummary:
    """What an exported file holds: op counts, custom nodes, I/O shapes, our metadata."""

    path: Path
    ops: dict[str, int]
    custom_nodes: int
    inputs: dict[str, list[str | int]]
    outputs: dict[str, list[str | int]]
    metadata: dict[str, str]

    def render(self) -> str:
        def dims(shape):
            return "x".join(str(d) for d in shape)

        top = ", ".join(f"{op} {n}" for op, n in list(self.ops.items())[:12])
        lines = [
            f"model {self.path}: {sum(self.ops.values())} nodes, {self.custom_nodes} custom AdaptiveWarp",
            "  inputs:  " + ", ".join(f"{k} [{dims(v)}]" for k, v in self.inputs.items()),
            "  outputs: " + ", ".join(f"{k} [{dims(v)}]" for k, v in self.outputs.items()),
            f"  ops: {top}",
        ]
        lines += [f"  {k} = {v}" for k, v in self.metadata.items() if k.startswith("stmfnet_trt.")]
        return "\n".join(lines)


def summarize(path: str | Path) -> ModelSummary:
    """Read an ONNX file's structure without running it; a corrupt file is a clear error."""

    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX model not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError and friends for damaged files
        raise UserError(f"{path} is not a readable ONNX model: {exc}") from exc

    def shapes(values) -> dict[str, list[str | int]]:
        return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}

    return ModelSummary(
        path,
        op_histogram(model),
        sum(n.op_type == OP_NAME and n.domain == OP_DOMAIN for n in model.graph.node),
        shapes(model.graph.input),
        shapes(model.graph.output),
        {p.key: p.value for p in model.metadata_props},
    )


def _reference_runner(model):
    """A Polygraphy runner around the PyTorch reference (Polygraphy's own needs CUDA)."""
    from polygraphy.backend.base import BaseRunner
    from polygraphy.common import TensorMetadata

    class ReferenceRunner(BaseRunner):
        def __init__(self) -> None:
            super().__init__(name="pytorch-reference")

        def activate_impl(self) -> None:
            pass

        def get_input_metadata_impl(self):
            meta = TensorMetadata()
            for name in INPUT_NAMES:
                meta.add(name, np.float32, ["batch", 3, "height", "width"])
            return meta

        def infer_impl(self, feed_dict):
            frames = np.stack([feed_dict[name] for name in INPUT_NAMES], axis=1)
            start = time.perf_counter()
            out = reference_output(model, frames)
            self.inference_time = time.perf_counter() - start
            return OrderedDict([(OUTPUT_NAME, out)])

        def deactivate_impl(self) -> None:
            pass

    return ReferenceRunner()


def _onnx_runner(path: Path, threads: int | None):
    from polygraphy.backend.onnxrt import OnnxrtRunner

    return OnnxrtRunner(create_session(path, threads=threads), name=f"onnxruntime:{path.name}")


def real_frame_feeds(clip: str | Path, count: int = 1) -> list[dict[str, np.ndarray]]:
    """Windows of four consecutive frames from a clip, padded to the graph's contract."""

    with open_source(clip, assume_constant_rate=True) as source:  # only its first frames
        frames = []
        for frame in source:
            frames.append(to_model_frame(frame))
            if len(frames) == count + 3:
                break
    if len(frames) < 4:
        raise UserError(f"{clip}: need at least 4 frames for a real-frame check, found {len(frames)}")
    feeds = []
    for start in range(len(frames) - 3):
        window = pad_to_multiple(np.stack(frames[start : start + 4])[None])
        feeds.append({name: np.ascontiguousarray(window[:, i]) for i, name in enumerate(INPUT_NAMES)})
    return feeds


def random_feeds(sizes: list[tuple[int, int]], seed: int | None = None) -> list[dict[str, np.ndarray]]:

    rng = np.random.default_rng(seed)
    feeds = []
    for height, width in sizes:
        frames = random_frames((1, 4, 3, height, width), int(rng.integers(1 << 31)))
        feeds.append({name: np.ascontiguousarray(frames[:, i]) for i, name in enumerate(INPUT_NAMES)})
    return feeds


@dataclass(frozen=True)
class Comparison:
    """One input fed to two runners."""

    reference: str
    candidate: str
    report: ParityReport

    @property
    def passed(self) -> bool:
        return self.report.passed


def compare(
    onnx_paths: list[Path],
    feeds: list[dict[str, np.ndarray]],
    tolerance: float,
    reference_model=None,
    threads: int | None = None,
) -> list[Comparison]:
    """Run the reference (if given) and every ONNX file on ``feeds``; compare each to the first."""
    from polygraphy.comparator import Comparator
    from polygraphy.logger import G_LOGGER

    G_LOGGER.module_severity = G_LOGGER.WARNING  # we print our own table

    runners = [_reference_runner(reference_model)] if reference_model is not None else []
    runners += [_onnx_runner(p, threads) for p in onnx_paths]
    if len(runners) < 2:
        raise UserError(
            "nothing to compare: give a checkpoint (or ", Param("random_init_seed"), ") or a second ONNX file"
        )
    results = Comparator.run(runners, data_loader=feeds)
    comparisons = []
    name_a, iterations_a = results[0]
    for index in range(1, len(runners)):  # RunResults index by position, not by slice
        name_b, iterations_b = results[index]
        for feed, a, b in zip(feeds, iterations_a, iterations_b, strict=True):
            report = ParityReport.between(
                a[OUTPUT_NAME], b[OUTPUT_NAME], tolerance, feed[INPUT_NAMES[0]].shape
            )
            comparisons.append(Comparison(name_a, name_b, report))
    return comparisons
