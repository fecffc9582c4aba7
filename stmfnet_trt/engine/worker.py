"""Child process that parses an ONNX file and builds a serialized engine.

    python -m stmfnet_trt.engine.worker REQUEST.json ENGINE_OUT REPORT_OUT

TensorRT's ONNX parser and builder can abort the whole process (e.g. a plugin node they cannot
resolve) instead of raising, so the CLI never runs them in its own process. The report (JSON)
holds the parse errors, the network's layer types (to show the plugin layers), the TensorRT
version and, for classic TensorRT, the GPU the engine is built for.
"""

from __future__ import annotations

import collections
import importlib
import json
import os
import sys
from pathlib import Path

from stmfnet_trt.core.flavours import FLAVOUR_MODULES
from stmfnet_trt.engine.request import BuildRequest
from stmfnet_trt.runtime.cuda.binding import plugin_driver_problem
from stmfnet_trt.runtime.cuda.memory import current_device


def _device_info() -> dict[str, str]:
    """Name and compute capability of the GPU (classic TensorRT builds for the GPU it runs on).

    Through the runtime's binding choice (cuda-python or pycuda, ``$STMFNET_CUDA_BINDING``), so a
    machine with only pycuda (stock JetPack images) builds as well as it runs.
    """

    return current_device()


def _configure(trt, builder, request: BuildRequest, report: dict):
    config = builder.create_builder_config()
    if hasattr(trt, "MemoryPoolType"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, request.workspace_mb << 20)
    if request.embed_plugin:
        config.plugins_to_serialize = [request.plugin]
    if request.flavour == "rtx":
        config.num_compute_capabilities = len(request.rtx_targets)
        for index, sm in enumerate(request.rtx_targets):
            config.set_compute_capability(getattr(trt.ComputeCapability, f"SM{sm}"), index)
    else:
        report.update(_device_info())
        # The timing cache is reused across builds: kernel timings dominate classic build time.
        cache_path = Path(request.timing_cache) if request.timing_cache else None
        cache_bytes = cache_path.read_bytes() if cache_path and cache_path.is_file() else b""
        report["_timing_cache"] = config.create_timing_cache(cache_bytes)
        config.set_timing_cache(report["_timing_cache"], ignore_mismatch=False)
    for shapes in request.profiles:
        profile = builder.create_optimization_profile()
        for name, (low, opt, high) in shapes.input_shapes().items():
            profile.set_shape(name, low, opt, high)
        config.add_optimization_profile(profile)
    return config


def build(request: BuildRequest, engine_out: Path, report: dict) -> bool:
    trt = importlib.import_module(FLAVOUR_MODULES[request.flavour])
    report["version"] = trt.__version__
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    registry = builder.get_plugin_registry()
    registry.load_library(request.plugin)
    if registry.get_creator("AdaptiveWarp", "1", "stmfnet_trt") is None:
        report["error"] = f"plugin library {request.plugin} did not register AdaptiveWarp v1 (stmfnet_trt)"
        return False
    if request.flavour == "tensorrt":  # classic builds run the plugin's kernel to time it
        problem = plugin_driver_problem(request.plugin)
        if problem is not None:
            report["error"] = problem
            return False
    # Classic TensorRT 10 needs the flag for a strongly typed network; TensorRT-RTX (and 11) are
    # always strongly typed: precision comes from the ONNX graph, never from builder flags.
    flags = 0
    if request.flavour == "tensorrt" and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(request.onnx):
        report["error"] = "ONNX parser: " + "; ".join(
            parser.get_error(i).desc() for i in range(parser.num_errors)
        )
        return False
    layers = collections.Counter(
        str(network.get_layer(i).type).split(".")[-1] for i in range(network.num_layers)
    )
    report["layers"] = dict(layers)
    config = _configure(trt, builder, request, report)
    engine = builder.build_serialized_network(network, config)
    timing_cache = report.pop("_timing_cache", None)
    if engine is None:
        report["error"] = "the builder returned no engine (see the TensorRT log above)"
        return False
    engine_out.write_bytes(engine)
    if timing_cache is not None and request.timing_cache:
        # Replace, never write in place: a torn cache file would fail every later build.
        partial = Path(f"{request.timing_cache}.{os.getpid()}.partial")
        partial.write_bytes(timing_cache.serialize())
        os.replace(partial, request.timing_cache)
    report["engine_bytes"] = engine.nbytes
    return True


def main(argv: list[str]) -> int:
    request_path, engine_out, report_out = (Path(a) for a in argv)
    request = BuildRequest.from_json(request_path.read_text())
    report: dict = {}
    try:
        ok = build(request, engine_out, report)
    except Exception as exc:  # reported to the parent as a clear message, not a traceback
        report["error"] = f"{type(exc).__name__}: {exc}"
        ok = False
    report_out.write_text(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
