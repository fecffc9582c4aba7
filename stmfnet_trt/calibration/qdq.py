"""Reading and trimming the explicit Q/DQ of a quantized graph.

``quantized_inputs`` says which node inputs pass through a DequantizeLinear (what the tests
and the metadata check against the configured placement); ``keep_quantized`` removes the Q/DQ
from every node but a chosen few, giving back their FP32 inputs. With ``max`` (and
``entropy``) calibration each tensor's range depends only on the FP32 activations, so
quantizing a group alone is exactly the full quantization with everything else trimmed: one
calibration serves every row of the sensitivity report.
"""

from __future__ import annotations

from collections.abc import Collection

import onnx


def quantized_inputs(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Node name -> indices of its inputs produced by a DequantizeLinear (Q/DQ nodes excluded)."""
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    result = {}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        indices = [i for i, name in enumerate(node.input) if name in dequantized]
        if indices:
            result[node.name] = indices
    return result


def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes and initializers that nothing reads any more (the trimmed Q/DQ pairs)."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def keep_quantized(
    quantized: onnx.ModelProto, fp32: onnx.ModelProto, keep: Collection[str]
) -> onnx.ModelProto:
    """``quantized`` with Q/DQ left only on the nodes named in ``keep``.

    Every other quantized node reads the inputs it has in ``fp32`` (the graph that was
    quantized), FP32 weights included.
    """
    original = {n.name: n for n in fp32.graph.node}
    trimmed = onnx.ModelProto()
    trimmed.CopyFrom(quantized)
    have = {i.name for i in trimmed.graph.initializer}
    trim = set(quantized_inputs(quantized)) - set(keep)
    for node in trimmed.graph.node:
        if node.name in trim:
            node.input[:] = original[node.name].input
    trimmed.graph.initializer.extend(i for i in fp32.graph.initializer if i.name not in have)
    _prune(trimmed.graph)
    return trimmed
