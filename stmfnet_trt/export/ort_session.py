"""ONNX Runtime sessions for our graphs: providers, threads, and the custom-op library.

Shared by the ORT backend, export parity checks and ``stmfnet-trt check`` so that every ORT run
is configured the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.warp_op import OP_DOMAIN
from stmfnet_trt.plugins import PluginLibraryError, register_ort_ops

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def create_session(
    path: str | Path,
    *,
    threads: int | None = None,
    providers: tuple[str, ...] | None = None,
    custom_op_library: str | Path | None = None,
    configure: Callable[[Any], None] | None = None,
):
    """An ``InferenceSession`` with our custom-op library registered where it is built.

    ``providers`` defaults to the best of TensorRT, CUDA and CPU that this onnxruntime build
    offers (CPU only with the plain ``onnxruntime`` wheel). ``configure`` gets the
    ``SessionOptions`` last, before the session is built: profiling and benchmarks use it to try
    settings without a second copy of this function.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX model not found: {path}")
    options = ort.SessionOptions()
    # Idle intra-op threads sleep instead of spinning: with two threads on two cores that another
    # process keeps busy, spinning made a 256x256 frame 30 % slower (3.26 vs 2.54 s), and it starves
    # whatever else this process runs (decoding, encoding, a torch model); on idle cores it gains
    # ~nothing for this graph (~700 nodes per frame, each wake-up costs microseconds). See
    # bench/RESULTS.md.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No memory pattern: from the second run on it allocates one block for the whole plan next to
    # the arena chunks the first run left, nearly doubling peak RSS (544x960, 3 runs: 2.27 GB with,
    # 1.29 GB without, and no slower). The arena alone reuses its chunks run after run.
    options.enable_mem_pattern = False
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # Register our op library whenever it is built (cheap), instead of parsing the graph to see
    # whether it is needed: that would need the onnx package, which the lean install lacks.
    missing_library = None
    if custom_op_library is not None:
        options.register_custom_ops_library(str(custom_op_library))
    else:
        try:
            register_ort_ops(options)
        except PluginLibraryError as exc:
            missing_library = exc
    if configure is not None:
        configure(options)
    available = ort.get_available_providers()
    chosen = [p for p in (providers or PREFERRED_PROVIDERS) if p in available]
    if not chosen:
        raise UserError(f"none of the providers {providers} is available; this onnxruntime has {available}")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as exc:  # ORT raises its own exception types for invalid or foreign models
        if missing_library is not None and OP_DOMAIN in str(exc):
            raise UserError(
                f"{path} uses our custom ops (plugin or cpu variant) and their CPU library is not built or "
                f"does not load: {missing_library} Or export the portable variant."
            ) from exc
        raise UserError(f"ONNX Runtime cannot load {path}: {exc}") from exc
