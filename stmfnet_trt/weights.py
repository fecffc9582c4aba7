"""Where the default checkpoint lives, and what to say when there is none.

The published ST-MFNet Mini weights cannot be downloaded at run time, so the package carries
its own demo weights (``stmfnet_trt/weights/``), with their exported ONNX graphs so that a run
without torch needs no export. Without them a run given no ``checkpoint`` stops with this
message rather than producing frames from random weights.
"""

from __future__ import annotations

from pathlib import Path

from stmfnet_trt.core.errors import Param, UserError

DEMO_CHECKPOINT = Path(__file__).parent / "weights" / "stmfnet_mini_demo.pth"
# The demo weights' exported graphs, shipped so that an install without torch runs them (the cache
# looks here first; file names are the cache keys). `make bundled-onnx` rewrites them; tests/pip_install
# fails when they no longer match the checkpoint, the exporter's version or GRAPH_REVISION.
BUNDLED_ONNX_DIR = Path(__file__).parent / "weights" / "onnx"
# cpu: ONNX Runtime with our op library; plugin: TensorRT (engine_for_run); portable: ONNX Runtime
# where the op library does not load (plugins.default_ort_variant).
BUNDLED_VARIANTS = ("cpu", "plugin", "portable")
# Random-init weights (plumbing checks) are seeded; exports and their caches use this seed.
RANDOM_INIT_SEED = 0

# Parts of a UserError: the CLI writes the parameters as --checkpoint PATH and --random-init.
NO_CHECKPOINT_MESSAGE: tuple[str | Param, ...] = (
    "no checkpoint given and no demo weights are installed. Pass ",
    Param("checkpoint", "PATH"),
    " with a file in the published format ({'state_dict': ...}, e.g. models/stmfnet_mini.pth of the "
    "official ST-MFNet-Mini repository), or ",
    Param("random_init_seed"),
    " to check the plumbing with random weights (the frames will be garbage).",
)


def resolve_checkpoint(checkpoint: str | Path | None) -> Path:
    """The checkpoint to use: the given one, else the bundled demo weights, else a clear error."""
    if checkpoint is not None:
        return Path(checkpoint)
    if DEMO_CHECKPOINT.is_file():
        return DEMO_CHECKPOINT
    raise UserError(*NO_CHECKPOINT_MESSAGE)
