"""``stmfnet-trt serve``: a real Triton Inference Server in front of any of our backends.

PyTriton (``nvidia-pytriton``) ships a ``tritonserver`` binary with its Python backend; this
module binds our ``Backend.interpolate`` to it under the wire contract of ``triton_model``
(the windows model), and a ``StreamStore`` (``streams``) under that of ``triton_stream_model``
(the stream model: each frame once, as uint8, the scheduler running here). Triton does the
serving work: HTTP and gRPC endpoints, health/ready (``/v2/health/ready``,
``/v2/models/NAME/ready``), metrics, and dynamic batching, which merges windows of the same size
from concurrent clients into one backend call.

Clients never reach tritonserver itself. It listens on loopback ports of its own, and what
clients reach is a front in this process (HTTP: aiohttp; gRPC: grpcio) that checks each request
before anything is sized by it, then relays it. Found by attacking it, not by reading about it:

- tritonserver 2.51 (the one PyTriton 0.7 ships) sizes an HTTP JSON tensor by its *declared*
  shape before reading any data and has no request-size option: 321 bytes declaring
  [1, 3, 100000, 100000] made it allocate 120 GB and die of std::bad_alloc. The front reads at
  most the bytes the frame and batch caps allow, checks names, types, shapes, sizes and values
  (``triton_model``), and refuses compressed bodies (a gzip bomb would be inflated past the caps).
- Errors from the Python backend reach clients as PyTriton's traceback with server paths; the
  front answers with one line (``triton_model.one_line_error``) and keeps the details in the log.
- Only what the client needs is relayed: health, model metadata/config/ready and inference.
  Repository control, shared memory, logging and tracing are not reachable from outside.
- A request with NaNs would fail every request the dynamic batcher merged it with (other
  clients' too), so values are checked in the front, per request, before batching.
- If tritonserver dies, ``serve_backend`` raises: ``serve`` must not exit 0 and fool a supervisor.

Two more things found by running it:

- The Python backend's stub process links ``libpython3.X.so`` and the system loader may pick a
  different build of that version than the interpreter running us (e.g. Debian's 3.11.2 next to
  a pyenv 3.11.7): the stub then fails with errors from mismatched stdlib internals. The running
  interpreter's ``LIBDIR`` is put first on ``LD_LIBRARY_PATH`` so the stub loads our libpython.
- PyTriton stops cleanly on SIGINT only; SIGTERM (what ``docker stop``, systemd and Kubernetes
  send) is routed to the same path, so in-flight requests finish and the workspace is removed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sysconfig
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import numpy as np

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.triton_model import (
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_VERSION,
    DEFAULT_QUEUE_DELAY_US,
    INPUT_NAMES,
    INTERNAL_ERROR,
    ITEM_BYTES,
    LOOPBACK,
    MAX_JSON_BODY_BYTES,
    OUTPUT_NAME,
    REFUSAL_MARK,
    WINDOW_DIMS,
    RequestLimits,
    RequestRefused,
    TensorDeclaration,
    check_infer_request,
    check_request_parameters,
    check_values,
    echo,
    http_infer_tensors,
    one_line_error,
)
from stmfnet_trt.runtime.backends.triton_stream_model import (
    DEFAULT_IDLE_S,
    DEFAULT_MAX_STREAMS,
    NUMPY_TYPES,
    STREAM_INPUTS,
    STREAM_OUTPUT_SPECS,
    STREAM_OUTPUTS,
    check_stream_request,
    http_stream_tensors,
    stream_model_name,
)
from stmfnet_trt.serve.streams import StreamStore

log = logging.getLogger(__name__)

_UPSTREAM_GONE = "the model server is not running"
_GRPC_SERVICE = "/inference.GRPCInferenceService/"
_GRPC_INFER = _GRPC_SERVICE + "ModelInfer"
# What a client needs (tritonclient's health, metadata and infer calls); nothing that changes
# the server (repository control, shared memory, logging, tracing) is relayed.
_GRPC_RELAYED = {
    _GRPC_SERVICE + method
    for method in (
        "ServerLive",
        "ServerReady",
        "ServerMetadata",
        "ModelReady",
        "ModelMetadata",
        "ModelConfig",
    )
} | {_GRPC_INFER}
_HTTP_READ = re.compile(
    r"/v2(/health/(live|ready))?|/v2/models/(?!stats$)[^/]+(/versions/[^/]+)?(/ready|/config)?"
)
_HTTP_INFER = re.compile(r"/v2/models/(?P<name>[^/]+)(/versions/(?P<version>[^/]+))?/infer")
_CHUNK = 1 << 20
_NO_DEADLINE_S = 365 * 24 * 3600.0
_GRPC_MAX_MESSAGE = 2**31 - 1
# A client trickling its body holds one of the max_batch_size inference slots: not for ever.
_BODY_TIMEOUT_S = 120.0


class ServerDiedError(UserError):
    """tritonserver stopped while serving (crashed, killed): ``serve`` exits non-zero."""


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve. Ports are Triton's defaults (HTTP 8000, gRPC 8001, metrics 8002);
    the host is loopback unless asked otherwise: the server has no authentication."""

    host: str = LOOPBACK
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    model_name: str = DEFAULT_MODEL_NAME
    model_version: int = DEFAULT_MODEL_VERSION
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US
    max_side: int = DEFAULT_MAX_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_streams: int = DEFAULT_MAX_STREAMS
    stream_idle_s: float = DEFAULT_IDLE_S
    limits: RequestLimits = field(init=False)

    def __post_init__(self) -> None:
        limits = RequestLimits(self.max_batch_size, self.max_side, self.max_pixels)
        object.__setattr__(self, "limits", limits)

    @property
    def stream_model(self) -> str:
        """The stream model's name (``triton_stream_model``), served next to the windows model."""
        return stream_model_name(self.model_name)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only ever means this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _stub_loads_our_libpython() -> None:
    """Put this interpreter's libpython first on LD_LIBRARY_PATH (see the module docstring)."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return
    libdir = sysconfig.get_config_var("LIBDIR")
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and libdir not in current.split(":"):
        os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{current}" if current else libdir


def _free_loopback_ports(count: int) -> list[int]:
    """Ports for tritonserver's own endpoints, which only the front talks to."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((LOOPBACK, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def make_infer_function(backend: Backend, limits: RequestLimits) -> Callable[..., dict[str, np.ndarray]]:
    """The batched callable Triton runs: four frame tensors (N, 3, H, W) -> ``{"middle": ...}``.

    The front has checked each request; this checks the merged batch again (the backstop for a
    stock client reaching tritonserver on loopback) and marks a refusal so that the front can
    give the client its one line. Other exceptions are bugs: PyTriton logs their traceback.
    """
    from pytriton.decorators import batch

    @batch
    def infer(**frames: np.ndarray) -> dict[str, np.ndarray]:
        try:
            declared = [
                TensorDeclaration(name, "FP32", list(frames[name].shape), frames[name].nbytes)
                for name in INPUT_NAMES
            ]
            check_infer_request(declared, limits)
            windows = np.stack([frames[name] for name in INPUT_NAMES], axis=1)
            middle = backend.interpolate(windows)
        except UserError as exc:
            raise RequestRefused(f"{REFUSAL_MARK}{exc}") from None
        return {OUTPUT_NAME: np.ascontiguousarray(middle, dtype=np.float32)}

    return infer


_DATATYPES = {np.dtype(numpy_type): datatype for datatype, numpy_type in NUMPY_TYPES.items()}


def make_stream_function(
    store: StreamStore, limits: RequestLimits
) -> Callable[..., list[dict[str, np.ndarray]]]:
    """The callable Triton runs for the stream model: each request to ``store.handle``.

    Like ``make_infer_function``: the request is checked again (the backstop for a client on
    loopback), and a refusal is marked for the front's one line."""

    def infer(requests) -> list[dict[str, np.ndarray]]:
        replies = []
        for request in requests:
            inputs = dict(request.items())
            try:
                declared = [
                    TensorDeclaration(name, _DATATYPES.get(a.dtype), list(a.shape), a.nbytes)
                    for name, a in inputs.items()
                ]
                check_stream_request(declared, limits)
                replies.append(store.handle(inputs))
            except UserError as exc:
                raise RequestRefused(f"{REFUSAL_MARK}{exc}") from None
        return replies

    return infer


def _served_model(name: str, version: str | None, options: ServeOptions) -> str:
    """The model a request is for; refused (404, as Triton would) for one this server does not serve."""
    if name not in (options.model_name, options.stream_model) or version not in (
        None,
        "",
        str(options.model_version),
    ):
        wanted = echo(name) + (f" version {echo(version)}" if version else "")
        raise RequestRefused(
            f"unknown model {wanted}: this server serves {options.model_name!r} and "
            f"{options.stream_model!r} version {options.model_version}",
            status=404,
        )
    return name


class _HttpFront:
    """The HTTP endpoint clients reach: checks, then relays to tritonserver's loopback port."""

    def __init__(self, options: ServeOptions, upstream_port: int, store: StreamStore) -> None:
        self.options = options
        self.upstream = f"http://{LOOPBACK}:{upstream_port}"
        self._store = store
        self._checks = {options.model_name: http_infer_tensors, options.stream_model: http_stream_tensors}
        self._stats_path = f"/v2/models/{options.stream_model}/streams"
        self._slots: asyncio.Semaphore | None = None
        self._session = None

    async def start(self):
        """Bind and start serving; returns the runner (its ``cleanup`` stops it)."""
        from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

        self._slots = asyncio.Semaphore(self.options.max_batch_size)
        self._session = ClientSession(
            connector=TCPConnector(limit=self.options.max_batch_size + 4),
            timeout=ClientTimeout(total=None),
            headers={"Accept-Encoding": "identity"},  # aiohttp asks for gzip by default
            auto_decompress=False,
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(lambda _: self._session.close())
        runner = web.AppRunner(app, access_log=None, auto_decompress=False)  # refused, not inflated
        await runner.setup()
        await web.TCPSite(runner, self.options.host, self.options.http_port).start()
        return runner

    async def handle(self, request):
        """Every request: one line for any refusal or failure, never a traceback."""
        from aiohttp import web

        try:
            if request.rel_url.raw_path != request.path:  # tritonserver routes on the raw form
                raise RequestRefused("percent-encoded paths are not served")
            if request.method == "GET" and request.path == self._stats_path:
                return web.json_response(self._store.stats())
            if request.method in ("GET", "HEAD") and _HTTP_READ.fullmatch(request.path):
                return await self._relay(request.method, request.path, None, {})
            infer = _HTTP_INFER.fullmatch(request.path)
            if request.method == "POST" and infer:
                model = _served_model(infer["name"], infer["version"], self.options)
                return await self._infer(request, self._checks[model])
            raise RequestRefused(
                f"{echo(request.method)} on this path is not served here (only health, model "
                "metadata, config and ready, and inference are)",
                status=404,
            )
        except RequestRefused as refusal:
            return web.json_response({"error": str(refusal)}, status=refusal.status)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("HTTP client went away: %s", exc)
            return web.json_response({"error": "the request body ended early"}, status=400)
        except Exception:  # a bug in the front: the log gets the traceback, the client one line
            log.exception("HTTP front failed on %s %s", request.method, request.path)
            return web.json_response({"error": INTERNAL_ERROR}, status=500)

    async def _infer(self, request, check: Callable[[bytes, int | None, RequestLimits], object]):
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            raise RequestRefused(f"compressed requests ({echo(encoding)}) are not accepted", status=415)
        header_length = request.headers.get("Inference-Header-Content-Length")
        if header_length is not None:
            try:
                header_length = int(header_length)
            except ValueError:
                raise RequestRefused("Inference-Header-Content-Length must be an integer") from None
        cap = MAX_JSON_BODY_BYTES if header_length is None else self.options.limits.max_body_bytes
        async with self._slots:
            try:
                body = await asyncio.wait_for(_read_capped(request, cap), _BODY_TIMEOUT_S)
            except TimeoutError:
                raise RequestRefused(
                    f"the request body took over {_BODY_TIMEOUT_S:.0f} s to arrive", status=408
                ) from None
            await asyncio.get_running_loop().run_in_executor(
                None, check, body, header_length, self.options.limits
            )
            headers = {"Content-Type": request.headers.get("Content-Type", "application/octet-stream")}
            if header_length is not None:
                headers["Inference-Header-Content-Length"] = str(header_length)
            return await self._relay("POST", request.path, body, headers)

    async def _relay(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        from aiohttp import ClientError, web

        try:
            async with self._session.request(
                method, self.upstream + path, data=body, headers=headers
            ) as reply:
                payload = await reply.read()
                kept = {
                    k: v
                    for k, v in reply.headers.items()
                    if k.lower() in ("content-type", "inference-header-content-length")
                }
                status = reply.status
        except ClientError:
            return web.json_response({"error": _UPSTREAM_GONE}, status=503)
        if status < 400:
            return web.Response(body=payload, status=status, headers=kept)
        text = payload.decode("utf-8", "replace")
        with suppress(ValueError, AttributeError):  # Triton's errors are {"error": "..."}
            text = str(json.loads(text).get("error", text))
        if REFUSAL_MARK in text:
            status = 400
        message = one_line_error(text)
        if message != text.strip():
            log.warning("tritonserver answered %s %s with %d: %s", method, path, status, text)
        return web.json_response({"error": message}, status=status)


async def _read_capped(request, cap: int) -> bytes:
    """The body, refused (413) as soon as it passes ``cap`` bytes, declared or not."""
    if request.content_length is not None and request.content_length > cap:
        raise RequestRefused(
            f"the request has {request.content_length} bytes; the limit is {cap}", status=413
        )
    chunks, total = [], 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        total += len(chunk)
        if total > cap:
            raise RequestRefused(f"the request passes the limit of {cap} bytes", status=413)
        chunks.append(chunk)
    if request.content_length is not None and total != request.content_length:
        raise RequestRefused("the request body ended early")
    return b"".join(chunks)


# Where a gRPC request carries each datatype's values when not as raw bytes.
_GRPC_CONTENTS = {
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "UINT8": "uint_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT64": "uint64_contents",
    "BOOL": "bool_contents",
}


def grpc_request_tensors(
    request, outputs: Sequence[str], max_inputs: int
) -> list[tuple[TensorDeclaration, bytes | Sequence]]:
    """A gRPC ModelInferRequest's inputs as declared, each with its data (raw bytes or typed
    contents), checked as ``triton_model.http_request_tensors`` checks an HTTP one."""
    check_request_parameters(
        {
            key: getattr(value, value.WhichOneof("parameter_choice") or "")
            for key, value in request.parameters.items()
        }
    )
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise RequestRefused(f"{len(request.inputs)} inputs but {len(raw)} raw_input_contents")
    if len(request.inputs) > max_inputs:
        raise RequestRefused(f"this model has {max_inputs} inputs; the request has {len(request.inputs)}")
    tensors: list[tuple[TensorDeclaration, bytes | Sequence]] = []
    for index, tensor in enumerate(request.inputs):
        if tensor.parameters:
            raise RequestRefused(f"input parameters are not served: {echo(sorted(tensor.parameters))}")
        field_name = _GRPC_CONTENTS.get(tensor.datatype)
        typed = {kind.name: values for kind, values in tensor.contents.ListFields()}
        if set(typed) - {field_name}:
            raise RequestRefused(
                f"input {echo(tensor.name)} is {echo(tensor.datatype)} but carries {echo(sorted(typed))}"
            )
        data = raw[index] if raw else typed.get(field_name, ())
        size = len(data) if raw else len(data) * ITEM_BYTES.get(tensor.datatype, 1)
        tensors.append((TensorDeclaration(tensor.name, tensor.datatype, list(tensor.shape), size), data))
    for output in request.outputs:
        if output.name not in outputs or output.parameters:
            raise RequestRefused(
                f"the outputs are {', '.join(outputs)}, without parameters; got {echo(output.name)}"
            )
    return tensors


def grpc_infer_tensors(request, limits: RequestLimits) -> None:
    """Check a gRPC request for the windows model as ``http_infer_tensors`` checks an HTTP one."""
    tensors = grpc_request_tensors(request, (OUTPUT_NAME,), len(INPUT_NAMES))
    check_infer_request([declared for declared, _ in tensors], limits)
    for tensor, data in tensors:  # each carries its shape's bytes: a whole number of floats
        values = np.frombuffer(data, "<f4") if isinstance(data, bytes) else np.asarray(data, np.float32)
        check_values(str(tensor.name), values)


def grpc_stream_tensors(request, limits: RequestLimits) -> None:
    """Check a gRPC request for the stream model (``triton_stream_model.check_stream_request``)."""
    tensors = grpc_request_tensors(request, STREAM_OUTPUTS, len(STREAM_INPUTS))
    check_stream_request([declared for declared, _ in tensors], limits)


class _GrpcFront:
    """The gRPC endpoint clients reach: a byte-level relay of the allowed methods, with the
    inference request parsed and checked first. grpcio refuses a message above the byte cap
    before it reaches us."""

    def __init__(self, options: ServeOptions, upstream_port: int) -> None:
        import grpc
        from tritonclient.grpc import service_pb2

        self.options = options
        self._grpc = grpc
        self._request_type = service_pb2.ModelInferRequest
        limits = options.limits
        # gRPC messages stop at 2 GiB whatever the caps say (a batch of 4K frames does not fit).
        # Replies are our models' own: a stream reply carries every output frame made since the
        # last request (up to about factor x (batch + 3) uint8 frames at a stream's end), so only
        # gRPC's own limit bounds them.
        request_bytes = min(limits.max_body_bytes, _GRPC_MAX_MESSAGE)
        reply_bytes = _GRPC_MAX_MESSAGE
        self._channel = grpc.insecure_channel(
            f"{LOOPBACK}:{upstream_port}",
            options=[
                ("grpc.max_send_message_length", request_bytes),
                ("grpc.max_receive_message_length", reply_bytes),
            ],
        )
        self._calls = {method: self._channel.unary_unary(method) for method in _GRPC_RELAYED}
        slots = options.max_batch_size + 4  # inference requests plus a few health checks
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=slots, thread_name_prefix="grpc-front"),
            handlers=[self],
            maximum_concurrent_rpcs=slots,
            options=[
                ("grpc.max_receive_message_length", request_bytes),
                ("grpc.max_send_message_length", reply_bytes),
            ],
        )
        host = f"[{options.host}]" if ":" in options.host else options.host
        try:
            self._server.add_insecure_port(f"{host}:{options.grpc_port}")
        except RuntimeError as exc:
            raise UserError(f"cannot listen for gRPC on {host}:{options.grpc_port}: {exc}") from None

    # grpc.GenericRpcHandler's one method (duck-typed: grpcio only calls it)
    def service(self, handler_call_details):
        method = handler_call_details.method
        if method not in _GRPC_RELAYED:
            return None  # grpcio answers UNIMPLEMENTED
        return self._grpc.unary_unary_rpc_method_handler(
            lambda raw, context: self._relay(method, raw, context)
        )

    def _relay(self, method: str, raw: bytes, context) -> bytes:
        grpc = self._grpc
        try:
            if method == _GRPC_INFER:
                self._check(raw)
            remaining = context.time_remaining()  # huge (not None) when the client set no deadline
            return self._calls[method](raw, timeout=remaining if remaining < _NO_DEADLINE_S else None)
        except RequestRefused as refusal:
            code = grpc.StatusCode.NOT_FOUND if refusal.status == 404 else grpc.StatusCode.INVALID_ARGUMENT
            context.abort(code, str(refusal))
        except grpc.RpcError as error:
            details = error.details() or ""
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                context.abort(grpc.StatusCode.UNAVAILABLE, _UPSTREAM_GONE)
            code = grpc.StatusCode.INVALID_ARGUMENT if REFUSAL_MARK in details else error.code()
            message = one_line_error(details)
            if message != details.strip():
                log.warning("tritonserver answered %s with %s: %s", method, error.code(), details)
            context.abort(code, message)
        except Exception:  # a bug in the front: grpcio would put its message in the reply
            log.exception("gRPC front failed on %s", method)
            context.abort(grpc.StatusCode.INTERNAL, INTERNAL_ERROR)
        raise AssertionError("unreachable: context.abort raises")

    def _check(self, raw: bytes) -> None:
        from google.protobuf.message import DecodeError

        try:
            request = self._request_type.FromString(raw)
        except (DecodeError, RecursionError):
            raise RequestRefused("the request is not a valid ModelInferRequest") from None
        model = _served_model(request.model_name, request.model_version, self.options)
        check = grpc_infer_tensors if model == self.options.model_name else grpc_stream_tensors
        check(request, self.options.limits)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=5).wait()
        self._channel.close()


@contextmanager
def _fronts(
    options: ServeOptions, http_upstream: int, grpc_upstream: int, store: StreamStore
) -> Iterator[None]:
    """Run the HTTP front (its own event loop thread) and the gRPC front while the block runs."""
    grpc_front = _GrpcFront(options, grpc_upstream)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-front", daemon=True)
    thread.start()
    try:
        try:
            runner = asyncio.run_coroutine_threadsafe(
                _HttpFront(options, http_upstream, store).start(), loop
            ).result()
        except OSError as exc:
            raise UserError(
                f"cannot listen for HTTP on {options.host}:{options.http_port}: {exc.strerror}"
            ) from None
        grpc_front.start()
        try:
            yield
        finally:
            grpc_front.stop()
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@contextmanager
def _stop_on_signals(stopped: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server (PyTriton stops cleanly on KeyboardInterrupt) and are
    recorded, so that any other end of serving is known to be a death."""

    def stop(signum: int, frame: object) -> None:
        stopped.set()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_backend(
    backend: Backend, options: ServeOptions, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve ``backend`` until SIGINT or SIGTERM; returns once the server has stopped cleanly,
    raises ServerDiedError if tritonserver stopped on its own."""
    try:
        from pytriton.exceptions import PyTritonError
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig
    except ImportError as exc:
        raise UserError(
            "serve needs the serve extra (nvidia-pytriton, which pins numpy<2): "
            "pip install 'stmfnet-trt[serve]', or scripts/make_serve_env.sh for a separate environment"
        ) from exc
    from pytriton.utils.workspace import CleanupWarning

    # When tritonserver dies, PyTriton warns at shutdown that the sockets of its workspace are gone
    # (as they must be), sometimes after our one-line error: noise with nothing for the user to do.
    warnings.filterwarnings("ignore", category=CleanupWarning)
    _stub_loads_our_libpython()
    http_upstream, grpc_upstream = _free_loopback_ports(2)
    config = TritonConfig(
        http_address=LOOPBACK,
        http_port=http_upstream,
        grpc_address=LOOPBACK,
        grpc_port=grpc_upstream,
        metrics_address=options.host,
        metrics_port=options.metrics_port,
        exit_timeout_secs=10,
    )
    tensors = [Tensor(name=name, dtype=np.float32, shape=WINDOW_DIMS) for name in INPUT_NAMES]
    model_config = ModelConfig(
        max_batch_size=options.max_batch_size,
        batcher=DynamicBatcher(max_queue_delay_microseconds=options.queue_delay_us),
    )
    stream_inputs = [
        Tensor(name=name, dtype=NUMPY_TYPES[spec.datatype], shape=spec.dims, optional=spec.optional)
        for name, spec in STREAM_INPUTS.items()
    ]
    stream_outputs = [
        Tensor(name=name, dtype=NUMPY_TYPES[spec.datatype], shape=spec.dims)
        for name, spec in STREAM_OUTPUT_SPECS.items()
    ]
    store = StreamStore(backend, options.limits, options.max_streams, options.stream_idle_s)
    stopped = threading.Event()
    with _stop_on_signals(stopped):
        try:
            with Triton(config=config) as triton:
                triton.bind(
                    model_name=options.model_name,
                    model_version=options.model_version,
                    infer_func=make_infer_function(backend, options.limits),
                    inputs=tensors,
                    outputs=[Tensor(name=OUTPUT_NAME, dtype=np.float32, shape=WINDOW_DIMS)],
                    config=model_config,
                    strict=True,
                )
                # No batching: each request feeds one stream, in order (``streams``).
                triton.bind(
                    model_name=options.stream_model,
                    model_version=options.model_version,
                    infer_func=make_stream_function(store, options.limits),
                    inputs=stream_inputs,
                    outputs=stream_outputs,
                    config=ModelConfig(batching=False),
                    strict=True,
                )
                store.start_reaper()
                with _fronts(options, http_upstream, grpc_upstream, store):
                    if on_ready is not None:
                        on_ready()
                    triton.serve(monitoring_period_s=1.0)
        except KeyboardInterrupt:
            log.info("stopping on a signal")
        except (PyTritonError, OSError) as exc:  # it did not start, or died loading the model
            if not stopped.is_set():
                raise ServerDiedError(
                    f"tritonserver failed to start ({type(exc).__name__}); its log above says why"
                ) from exc
        finally:
            store.close()
    if not stopped.is_set():
        raise ServerDiedError(
            "tritonserver stopped unexpectedly (its log above says why); the server is down"
        )
