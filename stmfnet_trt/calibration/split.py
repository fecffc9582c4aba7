"""Cut the warp region out of a graph for a precision tool, and put it back afterwards.

ModelOpt's calibration runs the whole graph in ONNX Runtime and cannot load our custom-op
library, and AutoCast needs TensorRT to type a custom op. Neither needs to see the warp, which
stays FP32 anyway. So the tools get the *core*: the graph without the warp region, whose
boundary tensors become extra graph inputs (the warped frames) and outputs (everything the
warp reads). It holds no custom op, so it runs in plain ONNX Runtime, and no tool can place a
cast or a Q/DQ pair inside the warp because the warp is not there. ``rejoin`` puts the
original FP32 nodes back between the same tensor names.

The same code handles both variants: the plugin variant's six AdaptiveWarp nodes and the
portable variant's ~7700 index-arithmetic nodes are both just "the region".
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
import onnx

from stmfnet_trt.calibration.warp_region import WarpRegion

REGION_INITIALIZER_PREFIX = "warp_region::"


TensorType = tuple[int, tuple[int, ...]]  # ONNX element type, concrete dims


def boundary_types(
    model: onnx.ModelProto,
    region: WarpRegion,
    frame_shape: tuple[int, int],
    observed: Mapping[str, np.ndarray],
) -> dict[str, TensorType]:
    """Concrete types of the core's I/O at one window of ``frame_shape`` (batch 1).

    The core gets static shapes on purpose: the tools run ONNX Runtime's symbolic shape
    inference, which takes ~20 s on symbolic H and W and well under a second on numbers.
    Warp inputs come from ONNX shape inference with fixed frame sizes (everything before the
    warp is standard ops); tensors after the custom op (the warp's outputs, the model's
    output) from one run of the full model (``observed``).
    """
    from stmfnet_trt.export.op_schemas import register_op_schemas

    register_op_schemas()
    static = onnx.ModelProto()
    static.CopyFrom(model)
    for value in static.graph.input:
        dims = value.type.tensor_type.shape.dim
        for dim, size in zip(dims, (1, 3, *frame_shape), strict=True):
            dim.dim_value = size
    inferred = onnx.shape_inference.infer_shapes(static, data_prop=True)
    types: dict[str, TensorType] = {}
    for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        tensor = value.type.tensor_type
        if all(d.HasField("dim_value") for d in tensor.shape.dim):
            types[value.name] = (tensor.elem_type, tuple(d.dim_value for d in tensor.shape.dim))
    for name, array in observed.items():
        types[name] = (onnx.helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)
    needed = [*(i.name for i in model.graph.input), *(o.name for o in model.graph.output)]
    unknown = [n for n in [*needed, *region.inputs, *region.outputs] if n not in types]
    if unknown:
        raise RuntimeError(f"cannot infer static shapes of warp boundary tensors such as {unknown[:3]}")
    return types


def _value_info(name: str, types: Mapping[str, TensorType]) -> onnx.ValueInfoProto:
    elem, dims = types[name]
    return onnx.helper.make_tensor_value_info(name, elem, list(dims))


def split_core(
    model: onnx.ModelProto, region: WarpRegion, types: Mapping[str, TensorType]
) -> onnx.ModelProto:
    """The graph without ``region``, its I/O typed statically by ``types``.

    Its inputs are the frames and the warp's outputs, its outputs the model's output and
    everything the warp reads. Initializers only the warp reads stay behind with it.
    """
    graph = model.graph
    core_nodes = [n for n in graph.node if n.name not in region.nodes]
    core_reads = {name for node in core_nodes for name in node.input}
    initializers = [init for init in graph.initializer if init.name in core_reads]
    inputs = [*(i.name for i in graph.input), *region.outputs]
    outputs = [*(o.name for o in graph.output), *region.inputs]
    core = onnx.helper.make_graph(
        core_nodes,
        graph.name,
        [_value_info(name, types) for name in inputs],
        [_value_info(name, types) for name in outputs],
        initializer=initializers,
    )
    standard = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return onnx.helper.make_model(core, opset_imports=standard, ir_version=model.ir_version)


def _region_nodes(model: onnx.ModelProto, region: WarpRegion) -> tuple[list[onnx.NodeProto], list]:
    """Copies of the region's nodes reading private copies of their initializers."""
    initializers = {init.name: init for init in model.graph.initializer}
    nodes, private = [], {}
    for original in model.graph.node:
        if original.name not in region.nodes:
            continue
        node = onnx.NodeProto()
        node.CopyFrom(original)
        for index, name in enumerate(node.input):
            if name in initializers:
                renamed = REGION_INITIALIZER_PREFIX + name
                if renamed not in private:
                    private[renamed] = onnx.TensorProto()
                    private[renamed].CopyFrom(initializers[name])
                    private[renamed].name = renamed
                node.input[index] = renamed
        nodes.append(node)
    return nodes, list(private.values())


def _toposort(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    """Order nodes so that every input is made before it is read (Kahn; ties keep list order)."""
    waiting = [{i for i in node.input if i and i not in available} for node in nodes]
    readers: dict[str, list[int]] = defaultdict(list)
    for index, names in enumerate(waiting):
        for name in names:
            readers[name].append(index)
    ready = [index for index, names in enumerate(waiting) if not names]
    heapq.heapify(ready)
    ordered = []
    while ready:
        index = heapq.heappop(ready)
        ordered.append(nodes[index])
        for name in nodes[index].output:
            for reader in readers.pop(name, ()):
                waiting[reader].discard(name)
                if not waiting[reader]:
                    heapq.heappush(ready, reader)
    if len(ordered) != len(nodes):
        missing = sorted(set().union(*waiting))[:5]
        raise RuntimeError(f"rejoined graph is not connected; unresolved tensors such as {missing}")
    return ordered


def rejoin(core: onnx.ModelProto, original: onnx.ModelProto, region: WarpRegion) -> onnx.ModelProto:
    """Put the original FP32 warp region back into a converted ``core``.

    The boundary tensors keep their names through the tools (checked here): the region reads
    ``region.inputs`` from the core and writes ``region.outputs`` where the core read its
    extra inputs. Opsets: the core's standard opset (tools may raise it) plus the original's
    custom domains. Metadata: the original's.
    """
    graph = core.graph
    made = {o for n in graph.node for o in n.output} | {i.name for i in graph.input}
    lost = [name for name in region.inputs if name not in made]
    if lost:
        raise RuntimeError(f"the precision tool renamed or removed warp inputs, e.g. {lost[:3]}")
    region_nodes, region_initializers = _region_nodes(original, region)
    inputs, outputs = list(original.graph.input), list(original.graph.output)
    initializers = [*graph.initializer, *region_initializers]
    available = {i.name for i in inputs} | {i.name for i in initializers}
    nodes = _toposort([*graph.node, *region_nodes], available)
    # The core's shapes are static (one window size): drop them, the graph stays dynamic. The
    # custom op has no ONNX shape function: keep the exporter's declared (rank-4) shapes of the
    # region's tensors, or ONNX Runtime cannot type the Concat after it.
    made_by_region = {o for n in region_nodes for o in n.output}
    value_info = [v for v in original.graph.value_info if v.name in made_by_region]
    merged = onnx.helper.make_graph(
        nodes, graph.name, inputs, outputs, initializer=initializers, value_info=value_info
    )
    opsets = {o.domain: o.version for o in original.opset_import}
    opsets.update({o.domain: o.version for o in core.opset_import})
    result = onnx.helper.make_model(
        merged,
        opset_imports=[onnx.helper.make_opsetid(domain, version) for domain, version in opsets.items()],
        ir_version=max(core.ir_version, original.ir_version),
    )
    result.metadata_props.extend(original.metadata_props)
    result.producer_name, result.producer_version = original.producer_name, original.producer_version
    return result
