"""PyTorch -> ONNX, with the checks every export must pass before the file appears.

Order: trace (torch.export, dynamic N/H/W), convert (torch.onnx, opset 18, our custom op), stamp
metadata, ``onnx.checker`` + shape inference, simplify (onnxslim; custom nodes must survive),
write to a temporary name, parity against the PyTorch reference in ONNX Runtime, rename.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from stmfnet_trt.core.contract import (
    CONTRACT_TEXT,
    CUSTOM_WARP_VARIANTS,
    INPUT_NAMES,
    META_CHECKPOINT_SHA256,
    META_CONTRACT,
    META_OPSET,
    META_VARIANT,
    META_VERSION,
    OPSET,
    OUTPUT_NAME,
    VARIANTS,
)
from stmfnet_trt.core.errors import OutputExistsError, ParameterError, UserError
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.core.upsample_conv_op import OP_NAME as UPSAMPLE_CONV_OP
from stmfnet_trt.core.version import __version__
from stmfnet_trt.core.warp_op import OP_DOMAIN, OP_NAME
from stmfnet_trt.export.parity import PARITY_TOLERANCE, ParityReport, check_parity
from stmfnet_trt.io.atomic import atomic_output_path
from stmfnet_trt.weights import RANDOM_INIT_SEED

# Example frames for tracing; any size obeying the contract gives the same graph.
TRACE_SHAPE = (1, 3, 256, 384)
# Custom nodes each variant's graph must hold: six warps (two frames x three scales); in the cpu
# variant also the twelve upsampling heads' tails (three roles x two frames x two scales).
EXPECTED_CUSTOM_NODES = {
    "plugin": {OP_NAME: 6, UPSAMPLE_CONV_OP: 0},
    "cpu": {OP_NAME: 6, UPSAMPLE_CONV_OP: 12},
    "portable": {OP_NAME: 0, UPSAMPLE_CONV_OP: 0},
}


@dataclass(frozen=True)
class ExportOptions:
    """``parity_size`` is (H, W) of the fresh random frames compared after export."""

    variant: str = "plugin"
    simplify: bool = True
    parity: bool = True
    parity_size: tuple[int, int] = (256, 384)
    parity_tolerance: float = PARITY_TOLERANCE
    overwrite: bool = False


@dataclass
class ExportReport:
    path: Path
    variant: str
    checkpoint_sha256: str
    seconds: float
    op_histogram: dict[str, int] = field(default_factory=dict)
    parity: ParityReport | None = None


def _trace(interpolator, variant: str) -> onnx.ModelProto:
    """TorchScript export with dynamic N, H, W (see ``contract.OPSET`` for why not dynamo)."""
    import io
    import warnings

    import torch

    if variant in CUSTOM_WARP_VARIANTS:
        from stmfnet_trt.export import upsample_conv, warp_custom_op  # noqa: F401 - register the ops' ONNX translations

    generator = torch.Generator().manual_seed(0)
    example = tuple(torch.rand(TRACE_SHAPE, generator=generator) for _ in INPUT_NAMES)
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter's deprecation notice and tracer warnings about Python
        # integers from shapes (the graph keeps shapes symbolic; parity checks the result).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            interpolator,
            example,
            buffer,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            custom_opsets={OP_DOMAIN: 1} if variant in CUSTOM_WARP_VARIANTS else None,
            do_constant_folding=True,
            dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue())


def op_histogram(model: onnx.ModelProto) -> dict[str, int]:
    """Node counts by op type (custom ops as ``domain::Op``)."""
    names = (
        f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in model.graph.node
    )
    return dict(collections.Counter(names).most_common())


def _stamp(model: onnx.ModelProto, variant: str, checkpoint_sha256: str) -> None:
    keep = [p for p in model.metadata_props if not p.key.startswith("stmfnet_trt.")]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in (
        (META_VARIANT, variant),
        (META_CHECKPOINT_SHA256, checkpoint_sha256),
        (META_OPSET, str(OPSET)),
        (META_VERSION, __version__),
        (META_CONTRACT, CONTRACT_TEXT),
    ):
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = "stmfnet-trt", __version__


def _custom_nodes(model: onnx.ModelProto, op_name: str) -> int:
    return sum(n.op_type == op_name and n.domain == OP_DOMAIN for n in model.graph.node)


def _check_and_simplify(model: onnx.ModelProto, variant: str, simplify: bool) -> onnx.ModelProto:
    from stmfnet_trt.export.op_schemas import register_op_schemas

    register_op_schemas()
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)
    expected = EXPECTED_CUSTOM_NODES[variant]
    found = {op: _custom_nodes(model, op) for op in expected}
    if found != expected:
        raise RuntimeError(f"{variant} export produced custom nodes {found}, expected {expected}")
    if simplify:
        import onnxslim

        model = onnxslim.slim(model)
        if {op: _custom_nodes(model, op) for op in expected} != expected:
            raise RuntimeError("onnxslim dropped custom nodes; export with simplify disabled")
        onnx.checker.check_model(model)
    return model


def export_onnx(
    checkpoint: str | Path | None,
    output: str | Path,
    options: ExportOptions = ExportOptions(),
) -> ExportReport:
    """Export a checkpoint (None: seeded random weights) to ``output`` as the chosen variant."""
    from stmfnet_trt.export.graph import prepare_for_variant
    from stmfnet_trt.model.checkpoint import load_model

    if options.variant not in VARIANTS:
        raise ParameterError("variant", f"must be one of {VARIANTS}, got {options.variant!r}")
    output = Path(output)
    if output.suffix != ".onnx":
        raise UserError(f"output must end in .onnx: {output}")
    if output.exists() and not options.overwrite:
        raise OutputExistsError(output)
    started = time.perf_counter()
    seed = RANDOM_INIT_SEED if checkpoint is None else None
    interpolator = prepare_for_variant(load_model(checkpoint, random_init_seed=seed), options.variant)
    sha = "random-init" if checkpoint is None else file_sha256(checkpoint)
    model = _check_and_simplify(_trace(interpolator, options.variant), options.variant, options.simplify)
    _stamp(model, options.variant, sha)
    report = ExportReport(output, options.variant, sha, 0.0, op_histogram(model))
    with atomic_output_path(output, overwrite=options.overwrite) as temp:
        onnx.save_model(model, str(temp))
        if options.parity:
            reference = load_model(checkpoint, random_init_seed=seed)
            report.parity = check_parity(temp, reference, options.parity_size, options.parity_tolerance)
            if not report.parity.passed:
                raise UserError(f"export parity failed, nothing written: {report.parity.summary()}")
    report.seconds = time.perf_counter() - started
    return report
