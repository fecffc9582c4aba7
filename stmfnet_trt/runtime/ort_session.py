"""ONNX Runtime sessions for our graphs: providers, threads, and the custom-op library.

Shared by the ORT backend, export parity checks and ``stmfnet-trt check`` so that every ORT run
is configured the same way.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..warp_op import OP_DOMAIN, OP_NAME

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def graph_uses_custom_op(path: str | Path) -> bool:
    """Whether an ONNX file holds ``AdaptiveWarp`` nodes (the plugin variant)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends for a damaged file
        raise UserError(f"ONNX Runtime cannot load {path}: not a readable ONNX model ({exc})") from exc
    return any(node.op_type == OP_NAME and node.domain == OP_DOMAIN for node in model.graph.node)


def create_session(
    path: str | Path,
    *,
    threads: int | None = None,
    providers: tuple[str, ...] | None = None,
    custom_op_library: str | Path | None = None,
):
    """An ``InferenceSession`` with our custom ops registered when the graph needs them.

    ``providers`` defaults to the best of TensorRT, CUDA and CPU that this onnxruntime build
    offers (CPU only with the plain ``onnxruntime`` wheel).
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX model not found: {path}")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if custom_op_library is not None:
        options.register_custom_ops_library(str(custom_op_library))
    elif graph_uses_custom_op(path):
        from ..plugins import register_ort_ops

        register_ort_ops(options)
    available = ort.get_available_providers()
    chosen = [p for p in (providers or PREFERRED_PROVIDERS) if p in available]
    if not chosen:
        raise UserError(f"none of the providers {providers} is available; this onnxruntime has {available}")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as exc:  # ORT raises its own exception types for invalid or foreign models
        raise UserError(f"ONNX Runtime cannot load {path}: {exc}") from exc
