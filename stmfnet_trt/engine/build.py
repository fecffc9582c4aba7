"""``stmfnet-trt build``: ONNX -> serialized engine (classic TensorRT or TensorRT-RTX), cached.

Steps: validate, derive the engine's identity (see ``sidecar``), serve it from the engine cache
when the same inputs were built before, otherwise build in a child process (``worker``), store
engine + sidecar in the cache, and copy both to the output atomically. A failed or crashed build
leaves no engine file anywhere.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from stmfnet_trt.core.cache import cache_root
from stmfnet_trt.core.errors import OutputExistsError, Param, ParameterError, UserError
from stmfnet_trt.core.flavours import FLAVOUR_MODULES, FLAVOURS, RTX_TARGETS
from stmfnet_trt.core.upsample_conv_op import OP_NAME as CPU_ONLY_OP
from stmfnet_trt.engine import sidecar
from stmfnet_trt.engine.flavours import require_flavour, worker_environment
from stmfnet_trt.engine.request import BuildRequest
from stmfnet_trt.engine.worker import _device_info
from stmfnet_trt.io.atomic import atomic_output_path

BUILD_TIMEOUT_S = 3600
LOG_TAIL_CHARS = 2000
# A failed build is retried with the workspace it asked for, up to this much.
MAX_AUTO_WORKSPACE_MB = 65536
_OOM_REQUEST = re.compile(r"OutOfMemory \(Requested size was (\d+) bytes")


@dataclass(frozen=True)
class BuildResult:
    engine: Path
    sidecar: dict
    from_cache: bool
    log: str


def engine_cache_dir() -> Path:
    return cache_root() / "engines"


def timing_cache_path(tensorrt_version: str, device: dict[str, str]) -> Path:
    """One classic timing cache per TensorRT version and GPU model, shared by all builds.

    Kernel timing dominates a classic build; with the cache a rebuild at another precision or
    profile re-times only the layers it has not seen.
    """
    gpu = "".join(c if c.isalnum() else "-" for c in device.get("gpu", "gpu"))
    folder = engine_cache_dir() / "timing"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"trt{tensorrt_version}-{gpu}-sm{device.get('compute_capability', '')}.cache"


def _device_for(flavour: str) -> dict[str, str]:
    """Classic engines are tied to the build GPU; RTX engines to their target list instead."""
    if flavour == "rtx":
        return {}

    try:
        return _device_info()
    except Exception as exc:  # no CUDA binding, no driver, no device
        raise ParameterError(
            "flavour", f"tensorrt builds for the GPU it runs on, and none is usable here: {exc}"
        ) from None


def refuse_cpu_only_graph(onnx_path: Path) -> None:
    """Refuse a graph with ``UpsampleConv3x3`` nodes (the ``cpu`` export variant) with the fix.

    Op types are stored as plain UTF-8 in the protobuf, so a byte search answers without the onnx
    package, which a TensorRT-only install lacks.
    """
    if CPU_ONLY_OP.encode() in onnx_path.read_bytes():
        raise UserError(
            f"{onnx_path} is the cpu export variant: its {CPU_ONLY_OP} nodes run only in ONNX Runtime. "
            "For TensorRT export the plugin variant: `stmfnet-trt export --variant plugin`"
        )


def _check(request: BuildRequest) -> None:
    if request.flavour not in FLAVOURS:
        raise ParameterError("flavour", f"must be one of {FLAVOURS}, got {request.flavour!r}")
    if not Path(request.onnx).is_file():
        raise UserError(f"ONNX model not found: {request.onnx}")
    refuse_cpu_only_graph(Path(request.onnx))
    if not Path(request.plugin).is_file():
        raise UserError(f"plugin library not found: {request.plugin} (build it with `make plugins`)")
    bad = [sm for sm in request.rtx_targets if sm not in RTX_TARGETS]
    if request.flavour == "rtx" and (bad or not request.rtx_targets):
        raise ParameterError(
            "rtx_targets", f"must list TensorRT-RTX targets from {RTX_TARGETS}; got {request.rtx_targets}"
        )
    for profile in request.profiles:
        profile.validate()


class WorkspaceShortfall(UserError):
    """The builder asked for more workspace than the request's limit (and returned no engine)."""

    def __init__(self, needed_mb: int, log: str) -> None:
        super().__init__(f"the builder needs {needed_mb} MiB of workspace")
        self.needed_mb, self.log = needed_mb, log


def workspace_needed_mb(log: str) -> int | None:
    """The workspace (MiB, rounded up to whole GiB) a failed build asked for, if its log says.

    TensorRT-RTX: "Error Code 2: OutOfMemory (Requested size was 4302217360 bytes.)", seen when
    a 1x1152x2048 profile met the 4096 MiB default.
    """
    sizes = [int(match) for match in _OOM_REQUEST.findall(log)]
    if not sizes:
        return None
    return -(-max(sizes) // (1 << 30)) * 1024


def _build_with_workspace(request: BuildRequest, engine: Path) -> tuple[dict, str, int]:
    """``_run_worker``, retried once with the workspace a failed build asked for.

    Returns the report, the log and the workspace (MiB) the engine was built with. The retry is
    bounded (``MAX_AUTO_WORKSPACE_MB``); when it is not enough either, the error's first line says
    which ``workspace_mb`` to pass or to lower the profile.
    """
    try:
        return (*_run_worker(request, engine), request.workspace_mb)
    except WorkspaceShortfall as short:
        if short.needed_mb > MAX_AUTO_WORKSPACE_MB:
            raise _workspace_error(request, short) from None
        print(
            f"note: the builder needs {short.needed_mb} MiB of workspace, more than the "
            f"{request.workspace_mb} MiB given; retrying with {short.needed_mb} MiB "
            f"(pass --workspace {short.needed_mb} to skip the first try)",
            file=sys.stderr,
            flush=True,
        )
        retry = replace(request, workspace_mb=short.needed_mb)
        try:
            return (*_run_worker(retry, engine), retry.workspace_mb)
        except WorkspaceShortfall as again:
            raise _workspace_error(retry, again) from None


def _workspace_error(request: BuildRequest, short: WorkspaceShortfall) -> UserError:
    return UserError(
        f"engine build failed, nothing written: the builder needs {short.needed_mb} MiB of workspace "
        f"and had {request.workspace_mb} MiB: pass ",
        Param("workspace_mb", short.needed_mb),
        " (if the GPU has it) or lower the profile's largest shape (",
        Param("shapes"),
        f", now {request.profiles[0].max})\n--- build log (tail) ---\n{short.log.strip()}",
    )


def _run_worker(request: BuildRequest, engine: Path) -> tuple[dict, str]:
    """Build in a child process; return its report and log, or raise a clear UserError."""
    with tempfile.TemporaryDirectory(prefix="stmfnet-build-") as folder:
        request_file, report_file = Path(folder) / "request.json", Path(folder) / "report.json"
        request.write(request_file)
        try:
            process = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "stmfnet_trt.engine.worker",
                    str(request_file),
                    str(engine),
                    str(report_file),
                ],
                env=worker_environment(request.flavour),
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"engine build timed out after {BUILD_TIMEOUT_S} s") from exc
        log = (process.stdout + process.stderr)[-LOG_TAIL_CHARS:]
        report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    if process.returncode == 0 and engine.is_file():
        return report, log
    engine.unlink(missing_ok=True)
    needed = workspace_needed_mb(log)
    if needed is not None and needed > request.workspace_mb:
        raise WorkspaceShortfall(needed, log)
    if process.returncode < 0 or not report:
        reason = f"the TensorRT builder crashed (exit status {process.returncode})"
    else:
        reason = report.get("error", "unknown error")
    raise UserError(
        f"engine build failed, nothing written: {reason}\n--- build log (tail) ---\n{log.strip()}"
    )


def _verified_cache_entry(cached: Path) -> bool:
    """Whether the cache holds this engine with a sidecar it matches; a damaged or altered entry
    is not reused (engines are code) but rebuilt over."""
    if not cached.is_file():
        return False
    try:
        sidecar.verify_engine(cached)
    except UserError:
        return False
    return True


def build_engine(request: BuildRequest, output: Path | None, *, overwrite: bool = False) -> BuildResult:
    """Build (or fetch from the cache) the engine for ``request``; copy it to ``output`` if given."""
    _check(request)
    require_flavour(request.flavour)
    if output is not None and output.exists() and not overwrite:
        raise OutputExistsError(output)
    version = importlib.import_module(FLAVOUR_MODULES[request.flavour]).__version__
    device = _device_for(request.flavour)
    if request.flavour == "tensorrt" and request.timing_cache is None:
        request = replace(request, timing_cache=str(timing_cache_path(version, device)))
    fields = sidecar.identity(request, version, device)
    cached = engine_cache_dir() / sidecar.cache_key(fields)[:24] / "engine.plan"
    from_cache = _verified_cache_entry(cached)
    log = ""
    if not from_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output_path(cached, overwrite=True) as temp:
            report, log, workspace_mb = _build_with_workspace(request, temp)
            description = sidecar.complete(fields, temp, report.get("layers", {}), request.provenance)
            description["workspace_mb_used"] = workspace_mb
            sidecar.sidecar_path(cached).write_text(json.dumps(description, indent=2) + "\n")
    description = sidecar.verify_engine(cached)
    if output is None:
        return BuildResult(cached, description, from_cache, log)
    with atomic_output_path(sidecar.sidecar_path(output), overwrite=True) as temp:
        shutil.copyfile(sidecar.sidecar_path(cached), temp)
    with atomic_output_path(output, overwrite=True) as temp:
        shutil.copyfile(cached, temp)
    return BuildResult(output, description, from_cache, log)


def equivalent_commands(request: BuildRequest, engine: Path) -> list[str]:
    """The same build with the stock tools, for users who script TensorRT themselves.

    Classic: trtexec and Polygraphy. TensorRT-RTX: Polygraphy in its RTX mode (the SDK's own CLI
    is not in the wheels, so it is not printed unverified). Polygraphy has no option to embed the
    plugin in the engine: ship the library beside such an engine.
    """
    shapes = {
        kind: [
            f"{name}:{'x'.join(map(str, dims[i]))}"
            for name, dims in request.profiles[0].input_shapes().items()
        ]
        for i, kind in enumerate(("min", "opt", "max"))
    }
    polygraphy_shapes = " ".join(
        f"--trt-{kind}-shapes " + " ".join(s.replace(":", ":[").replace("x", ",") + "]" for s in shapes[kind])
        for kind in ("min", "opt", "max")
    )
    polygraphy = (
        f"polygraphy convert {request.onnx} --convert-to trt -o {engine} --plugins {request.plugin} "
        f"{polygraphy_shapes}"
    )
    if request.flavour == "rtx":
        targets = " ".join(f"{sm // 10}.{sm % 10}" for sm in request.rtx_targets)
        return [f"POLYGRAPHY_USE_TENSORRT_RTX=1 {polygraphy} --compute-capabilities {targets}"]
    return [
        f"trtexec --onnx={request.onnx} --saveEngine={engine} --stronglyTyped "
        + " ".join(f"--{kind}Shapes={','.join(shapes[kind])}" for kind in ("min", "opt", "max"))
        + f" --dynamicPlugins={request.plugin} --setPluginsToSerialize={request.plugin}"
        f" --memPoolSize=workspace:{request.workspace_mb}M",
        f"{polygraphy} --strongly-typed --pool-limit workspace:{request.workspace_mb << 20}",
    ]
