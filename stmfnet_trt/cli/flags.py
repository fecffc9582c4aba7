"""The CLI's one mapping from the library's parameter names to its flags.

Library errors name parameters (``tile``, ``workspace_mb``, ``overwrite=True``) because the
library is used from Python too; only the command line has flags. ``user_message`` writes an
error the way the CLI user should read it: every parameter the message names (``Param`` parts,
``ParameterError.parameter``) becomes the flag that sets it here, so ``TileOptions(100)`` reads
``--tile must be a positive multiple of 128, got 100`` on the command line and ``tile must be ...``
in Python. A parameter without a flag keeps its library name.
"""

from __future__ import annotations

from stmfnet_trt.core.errors import Param, UserError

# Library parameter (dataclass field or function argument) -> the flag of stmfnet_trt/cli/*.py
# that sets it. Several parameters can share a flag where two layers name one setting
# (BuildRequest.flavour and the API's BuildSpec.target are both --target).
PARAMETER_FLAGS: dict[str, str] = {
    # runtime: TileOptions, tiling (open_backend's tiles), batching, devices, frame rates
    "tile": "--tile",
    "tiles": "--tile",
    "overlap": "--tile-overlap",
    "batch_size": "--batch-size",
    "device": "--device",
    "threads": "--threads",
    "input_fps": "--fps",
    "assume_constant_rate": "--assume-cfr",
    # weights and models
    "checkpoint": "--checkpoint",
    "random_init_seed": "--random-init",
    "onnx": "--onnx",
    "model": "--onnx",  # OnnxRuntimeSpec.model
    "backend": "--backend",
    "url": "--url",
    # bench
    "plot": "--plot",
    "polygraphy": "--polygraphy",
    "engine": "--engine",
    "force_foreign_onnx": "--force-onnx",
    "variant": "--variant",
    # engine builds: BuildRequest, BuildSpec, ProfileShapes, the precision step
    "flavour": "--target",
    "target": "--target",
    "rtx_targets": "--sm",
    "shapes": "--shapes",
    "workspace_mb": "--workspace",
    "plugin": "--plugin",
    "precision": "--precision",
    "calib": "--calib",
    "onnx_only": "--onnx-only",
    "accept_quality_loss": "--accept-quality-loss",
    # serving: TritonOptions, ServeOptions, StreamStore
    "wire": "--wire",
    "max_streams": "--max-streams",
    "idle_s": "--stream-idle-timeout",
    "stream_idle_s": "--stream-idle-timeout",
    # outputs
    "output": "--output",
    "overwrite": "--overwrite",
    "preset": "--preset",
    "encoder_threads": "--encoder-threads",
    # train: run_training, resolve_config, TrainConfig
    "run_dir": "--out",
    "resume": "--resume",
    "init_checkpoint": "--init",
    "config_file": "--config",
    "steps": "--steps",
}


def flag_for(param: Param) -> str:
    """How the CLI writes ``param``: its flag, followed by the suggested value unless that is
    ``True`` (a switch: ``overwrite=True`` is ``--overwrite``); the library name where no flag
    sets it."""
    flag = PARAMETER_FLAGS.get(param.name)
    if flag is None:
        return str(param)
    if param.value is None or param.value is True:
        return flag
    return f"{flag} {param.value}"


def user_message(error: UserError) -> str:
    """``error``'s message for the command line: the parameters it names written as flags.

    The CLI prints this (not ``str(error)``) for every ``UserError`` it reports; errors that name
    no parameter read as ``str(error)``.
    """
    return error.spelled(flag_for)
