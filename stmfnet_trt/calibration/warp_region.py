"""Which nodes of an exported graph are "the warp", and which convolutions feed it.

Low precision must not touch the warp: its offsets become sampling positions (an FP16 offset
is off by up to 0.15 px, see ``plugins/adaptive_warp/README.md``), the portable variant turns
them into integer indices (Cast, Clip, GatherElements), and the AdaptiveWarp op takes one dtype
for all its inputs. So every precision pass first finds this region and keeps it in FP32.

The region is found from the graph, not from a list of names, and works for both variants:

1. seeds: the prediction heads' convolutions (``module{Weight,Alpha,Beta}{1,2}{,_ds,_us}``);
2. forward: every node reachable from a head output through *free* nodes: nodes outside any
   module scope (the TorchScript exporter names them ``/Op_N``: the warp is a function, not a
   module), plus ``Softmax`` (the tap softmax of the portable variant) and ``AdaptiveWarp``.
   Module-scoped nodes (GridNet, the texture branch) and convolutions stop the walk;
3. backward: free ancestors of the region that produce floating-point tensors (the replicate
   padding of the images and the half-scale resize). Integer shape arithmetic stays outside:
   it is exact in any precision.

The head convolutions whose outputs enter the region are the *output convolutions* of the
heads: offsets (Alpha, Beta) and tap logits (Weight).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import onnx

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.upsample_conv_op import OP_NAME as CPU_ONLY_OP
from stmfnet_trt.core.warp_op import OP_NAME

HEAD_SCOPE = re.compile(r"module(?P<role>Weight|Alpha|Beta)[12](?:_ds|_us)?")
WARPS = 6
CONV_TYPES = frozenset({"Conv", "ConvTranspose"})
_FREE_OP_TYPES = frozenset({"Softmax", OP_NAME})
_FLOAT_TYPES = frozenset({onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE})


@dataclass(frozen=True)
class WarpRegion:
    """The warp's nodes and its boundary, by name.

    ``inputs``: tensors made outside and read inside (head outputs, images, shapes);
    ``outputs``: tensors made inside and read outside (the warped frames, per scale).
    """

    nodes: frozenset[str]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    offset_convs: tuple[str, ...]
    weight_convs: tuple[str, ...]


def _is_free(node: onnx.NodeProto) -> bool:
    if node.op_type in CONV_TYPES:
        return False
    return node.op_type in _FREE_OP_TYPES or node.name.count("/") == 1


def _walk(start, region: dict[str, onnx.NodeProto], step) -> list[onnx.NodeProto]:
    """Add every free node reachable from ``start`` by ``step`` to ``region``; return the new ones."""
    added, pending = [], list(start)
    while pending:
        node = pending.pop()
        if node.name not in region and _is_free(node):
            region[node.name] = node
            added.append(node)
            pending += step(node)
    return added


def _float_tensors(model: onnx.ModelProto) -> set[str]:
    """Names of tensors that shape inference types as floating point."""
    from stmfnet_trt.export.op_schemas import register_op_schemas

    register_op_schemas()
    inferred = onnx.shape_inference.infer_shapes(model)
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    return {v.name for v in values if v.type.tensor_type.elem_type in _FLOAT_TYPES}


def find_warp_region(model: onnx.ModelProto) -> WarpRegion:
    """The warp region of an stmfnet-trt export (plugin or portable variant, the ones TensorRT
    builds); UserError for other graphs, the cpu variant included."""
    nodes = list(model.graph.node)
    if any(n.op_type == CPU_ONLY_OP for n in nodes):
        raise UserError(
            f"this is the cpu export variant ({CPU_ONLY_OP} nodes, ONNX Runtime only); FP16/INT8 models "
            "are made for TensorRT from the plugin or portable variant: `stmfnet-trt export --variant plugin`"
        )
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    producer = {out: node for node in nodes for out in node.output}
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    heads = [n for n in nodes if n.op_type in CONV_TYPES and HEAD_SCOPE.search(n.name)]

    floats = _float_tensors(model)
    region: dict[str, onnx.NodeProto] = {}
    forward = [c for head in heads for c in consumers[head.output[0]]]
    while forward:
        backward = []
        for node in _walk(forward, region, lambda n: [c for o in n.output for c in consumers[o]]):
            backward += [producer[i] for i in node.input if i in producer]
        upstream = _walk(
            [n for n in backward if all(o in floats for o in n.output)],
            region,
            lambda n: [
                p for p in (producer.get(i) for i in n.input) if p and all(o in floats for o in p.output)
            ],
        )
        forward = [c for node in upstream for o in node.output for c in consumers[o]]

    made_inside = {out for node in region.values() for out in node.output}
    read_inside = {name for node in region.values() for name in node.input if name}
    outside = [n for n in nodes if n.name not in region]
    made_outside = {out for node in outside for out in node.output}
    read_outside = {name for node in outside for name in node.input} | {o.name for o in model.graph.output}
    feeding = [n for n in heads if n.output[0] in read_inside]
    weight_convs = tuple(n.name for n in feeding if HEAD_SCOPE.search(n.name)["role"] == "Weight")
    offset_convs = tuple(n.name for n in feeding if n.name not in weight_convs)
    warp = WarpRegion(
        nodes=frozenset(region),
        inputs=tuple(sorted(read_inside & made_outside)),
        outputs=tuple(sorted(made_inside & read_outside)),
        offset_convs=offset_convs,
        weight_convs=weight_convs,
    )
    _check(warp, region.values())
    return warp


def _check(warp: WarpRegion, nodes) -> None:
    """Refuse graphs whose warp does not look like ours rather than mis-assign precisions."""
    custom = sum(n.op_type == OP_NAME for n in nodes)
    softmax = sum(n.op_type == "Softmax" for n in nodes)
    if (
        WARPS not in (custom, softmax)
        or len(warp.offset_convs) != 2 * WARPS
        or len(warp.weight_convs) != WARPS
    ):
        raise UserError(
            f"cannot find the {WARPS} warps of an stmfnet-trt export in this graph (found {custom} {OP_NAME} "
            f"nodes, {softmax} tap softmaxes, {len(warp.offset_convs)} offset and {len(warp.weight_convs)} "
            "weight head outputs); low-precision builds need an ONNX file written by `stmfnet-trt export`"
        )
    if not warp.outputs:
        raise UserError("the warp region of this graph has no outputs; is it an stmfnet-trt export?")
