"""Exported ONNX files cached per checkpoint, so a backend exports once and reuses.

Key: checkpoint sha256 (or the random-init seed), variant, opset, graph revision and package
version — the things that change the graph. Location: ``$STMFNET_TRT_CACHE`` or ``~/.cache/stmfnet-trt``.
The package's own exports of the demo weights (``weights.BUNDLED_ONNX_DIR``, same file names) are
looked up first, so the default weights run without torch right after ``pip install``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from stmfnet_trt.core.cache import cache_root, onnx_cache_key
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.weights import BUNDLED_ONNX_DIR, BUNDLED_VARIANTS, DEMO_CHECKPOINT


def cached_onnx(checkpoint: str | Path | None, variant: str, *, progress: bool = True) -> Path:
    """Path of the exported graph for ``checkpoint`` (None: random init), exporting on a miss.

    The package's bundled exports of the demo weights come first, then the user's cache. A hit
    needs no torch (the lean install runs cached graphs); a miss does, and says so.
    """
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise UserError(f"checkpoint not found: {checkpoint}")
    sha = "random-init" if checkpoint is None else file_sha256(checkpoint)
    key = onnx_cache_key(sha, variant)
    bundled = BUNDLED_ONNX_DIR / key
    if bundled.is_file():
        return bundled
    path = cache_root() / "onnx" / key
    if path.is_file():
        return path
    try:
        from stmfnet_trt.export.exporter import ExportOptions, export_onnx
    except ImportError as exc:  # the lean install: no onnx
        missing = exc.name
    else:
        missing = None if importlib.util.find_spec("torch") is not None else "torch"
    if missing is not None:
        raise UserError(
            f"exporting this checkpoint to ONNX needs the export extra ({missing} is not installed): "
            "pip install 'stmfnet-trt[export]', or pass a model exported elsewhere (",
            Param("onnx"),
            " FILE, or ",
            Param("engine"),
            " PLAN for TensorRT)",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f"exporting the {variant} ONNX graph once for this checkpoint -> {path}", flush=True)
    export_onnx(checkpoint, path, ExportOptions(variant=variant, overwrite=True))
    return path


def write_bundled_exports() -> list[Path]:
    """Re-export the demo weights' graphs shipped in the package (``make bundled-onnx``).

    Needs the export extra. Older bundled files go first, so the folder holds exactly the graphs
    the current key names (a version or GRAPH_REVISION bump renames them).
    """
    from stmfnet_trt.export.exporter import ExportOptions, export_onnx

    BUNDLED_ONNX_DIR.mkdir(exist_ok=True)
    for old in BUNDLED_ONNX_DIR.glob("*.onnx"):
        old.unlink()
    sha = file_sha256(DEMO_CHECKPOINT)
    return [
        export_onnx(
            DEMO_CHECKPOINT, BUNDLED_ONNX_DIR / onnx_cache_key(sha, variant), ExportOptions(variant)
        ).path
        for variant in BUNDLED_VARIANTS
    ]
