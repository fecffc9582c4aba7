"""The ``triton`` backend: windows go to a Triton server, middle frames come back.

A laptop or an edge box runs decoding, scheduling and encoding; a GPU server (``stmfnet-trt
serve``, or a stock ``tritonserver`` on a ``triton-repo`` repository) runs the model.

- Several requests in flight: each batch from the scheduler is split into requests of
  ``windows_per_request`` windows, sent by up to ``in_flight`` threads at once (one client per
  thread: tritonclient's clients are not shared across threads), so network and server queueing
  overlap, and the server's dynamic batcher can merge them with other clients' requests.
- Failures: every request has a timeout; a request that fails for a reason that can pass (server
  unreachable, connection reset, timeout, server overloaded) is retried ``retries`` times with a
  growing pause, then the run stops with a one-line error naming the server. Anything else (the
  server refusing the input, the model gone) stops at once. The video sink is atomic, so a run
  that stops leaves no partial output.
- The server is checked once, when the backend is built: it must be up, serve the model and
  version asked for, and that model's tensors must be the contract's; otherwise the error says
  what the server does serve.
- Two wires (``wire``). ``stream`` (``triton_stream_model``; ``run``, ``batch``, ``run - -o -``
  and ``Interpolator.stream`` of uint8 frames use it through ``interpolate_rgb``) sends each
  video frame once, as uint8, to the server's stream model, which runs the scheduler there and
  answers with the output frames as uint8: 17x fewer bytes up than four float32 frames per
  window at 1080p x2 (bench/wire.py), and the same frames, since the server converts and
  schedules with ``run``'s own functions. One request at a time per stream, in order.
  ``windows`` (``triton_model``) sends four float32 frames per window, several requests in
  flight, to the model alone: what a stock tritonserver on a ``triton-repo`` repository serves,
  and what ``eval`` and tiled runs use (they hand over windows, not a stream). ``auto``: stream
  where the server serves it.
- Pads to multiples of 128 and crops back, like every local backend, so the frames equal the
  local backend's exactly when the server runs the same model in FP32.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.contract import pad_to_multiple
from stmfnet_trt.core.errors import Param, ParameterError, UserError
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends.triton_model import (
    DEFAULT_MODEL_NAME,
    INPUT_NAMES,
    OUTPUT_NAME,
    REFUSAL_MARK,
    TRITON_DATATYPE,
    one_line_error,
)
from stmfnet_trt.runtime.backends.triton_stream_client import stream_frames
from stmfnet_trt.runtime.backends.triton_stream_model import (
    STREAM_INPUTS,
    STREAM_OUTPUT_SPECS,
    STREAM_OUTPUTS,
    WIRES,
    StreamSettings,
    stream_model_name,
)
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats

log = logging.getLogger(__name__)

PROTOCOLS = ("grpc", "http")
# gRPC status codes and HTTP statuses that say "try again later", not "this request is wrong".
_RETRYABLE_GRPC = {"StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.RESOURCE_EXHAUSTED"}
_RETRYABLE_HTTP = {"502", "503", "504"}


class ServerUnavailableError(UserError):
    """The Triton server cannot be reached, or stopped answering, after the allowed retries."""


@dataclass(frozen=True)
class TritonOptions:
    """How to reach the server. ``model_version`` "" lets the server pick (its newest)."""

    url: str
    protocol: str = "grpc"
    model_name: str = DEFAULT_MODEL_NAME
    model_version: str = ""
    in_flight: int = 4
    windows_per_request: int = 1
    timeout_s: float = 120.0
    retries: int = 2
    retry_pause_s: float = 0.5
    wire: str = "auto"


def _module(protocol: str):
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    try:
        if protocol == "grpc":
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
    except ImportError as exc:
        raise UserError(
            f"the triton backend needs tritonclient[{protocol}]: pip install 'stmfnet-trt[triton-client]'"
        ) from exc
    return module


def _is_retryable(error: BaseException) -> bool:
    """Connection trouble, timeouts and overload pass; a refused request does not (gRPC's own
    "message larger than max" is RESOURCE_EXHAUSTED too, but sending it again cannot help)."""
    from tritonclient.utils import InferenceServerException

    if isinstance(error, InferenceServerException):
        status = str(error.status())
        if "larger than max" in _describe(error):
            return False
        return status in _RETRYABLE_GRPC or status in _RETRYABLE_HTTP
    return isinstance(error, (OSError, TimeoutError)) or type(error).__name__ == "Timeout"


def _describe(error: BaseException) -> str:
    """One line of what the server said: ours already is; a stock Triton's Python backend sends a
    traceback, reduced to the refusal line it carries or a generic sentence."""
    message = error.message() if hasattr(error, "message") and callable(error.message) else str(error)
    text = str(message)
    if REFUSAL_MARK in text or "Traceback" in text:
        return one_line_error(text)
    return " ".join(text.split())[:300] or type(error).__name__


class TritonBackend(Backend):
    """Sends windows to ``options.url`` (see the module docstring)."""

    name = "triton"

    def __init__(self, options: TritonOptions) -> None:
        if options.in_flight < 1 or options.windows_per_request < 1 or options.retries < 0:
            raise UserError("in_flight and windows_per_request must be at least 1, retries at least 0")
        if options.wire not in WIRES:
            raise ParameterError("wire", f"must be one of {', '.join(WIRES)}, got {options.wire!r}")
        self.options = options
        self.stream_model = stream_model_name(options.model_name)
        self._module = _module(options.protocol)
        self._local = threading.local()
        self._clients: list = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=options.in_flight, thread_name_prefix="triton-client")
        try:
            self.served_version = self._check_server()
            self.takes_video_frames = options.wire != "windows" and self._check_stream_model()
        except BaseException:
            self.close()
            raise

    @property
    def _where(self) -> str:
        return f"the Triton server at {self.options.url} ({self.options.protocol})"

    def _client(self):
        """This thread's client (created on first use)."""
        client = getattr(self._local, "client", None)
        if client is None:
            if self.options.protocol == "http":
                client = self._module.InferenceServerClient(
                    self.options.url,
                    connection_timeout=self.options.timeout_s,
                    network_timeout=self.options.timeout_s,
                )
            else:
                client = self._module.InferenceServerClient(self.options.url)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _call(self, what: str, function, *args, **kwargs):
        """``function(*args)`` with the bounded retry; errors become one-line UserErrors."""
        for attempt in range(self.options.retries + 1):
            try:
                return function(*args, **kwargs)
            except Exception as exc:  # tritonclient raises its own, socket and gevent errors
                if not _is_retryable(exc):
                    raise UserError(f"{self._where} refused {what}: {_describe(exc)}") from exc
                if attempt == self.options.retries:
                    raise ServerUnavailableError(
                        f"{self._where} did not answer {what} after {attempt + 1} tries "
                        f"({_describe(exc)}); is it running? start one with `stmfnet-trt serve`"
                    ) from exc
                pause = self.options.retry_pause_s * 2**attempt
                log.warning(
                    "%s: %s failed (%s); retrying in %.1f s", self._where, what, _describe(exc), pause
                )
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _metadata(self, name: str, version: str) -> tuple[dict, dict, dict]:
        """A served model's metadata, and its inputs and outputs as {name: (datatype, shape)}."""
        metadata = self._call("a metadata request", self._client().get_model_metadata, name, version)
        if not isinstance(metadata, dict):  # gRPC returns a protobuf message
            from google.protobuf.json_format import MessageToDict

            metadata = MessageToDict(metadata, preserving_proto_field_name=True)

        def tensors(kind: str) -> dict:
            return {t["name"]: (t["datatype"], [int(d) for d in t["shape"]]) for t in metadata.get(kind, [])}

        return metadata, tensors("inputs"), tensors("outputs")

    def _check_server(self) -> str:
        """Server up, model and version served, tensors as in the contract; returns the version."""
        client = self._client()
        name, version = self.options.model_name, self.options.model_version
        self._call("a liveness check", client.is_server_live)
        if not self._call("a readiness check", client.is_model_ready, name, version):
            wanted = f"model {name!r}" + (f" version {version}" if version else "")
            raise UserError(
                f"{self._where} does not serve {wanted} (or it is not loaded yet){self._served()}"
            )
        metadata, found, found_out = self._metadata(name, version)
        expected_shape = (TRITON_DATATYPE, [-1, 3, -1, -1])
        if (
            found != dict.fromkeys(INPUT_NAMES, expected_shape)
            or found_out.get(OUTPUT_NAME) != expected_shape
        ):
            raise UserError(
                f"{self._where} serves {name!r} with tensors {found} -> {found_out}, not ours "
                f"({', '.join(INPUT_NAMES)} -> {OUTPUT_NAME}, {TRITON_DATATYPE} [N, 3, H, W])"
            )
        return version or max(metadata.get("versions", ["?"]), key=lambda v: (len(v), v))

    def _check_stream_model(self) -> bool:
        """Whether the server serves the stream model (``triton_stream_model``) with our tensors;
        a server without it is an error for ``wire="stream"``, the windows wire for ``auto``."""
        name, version = self.stream_model, self.options.model_version
        if not self._call("a readiness check", self._client().is_model_ready, name, version):
            if self.options.wire == "stream":
                raise UserError(
                    f"{self._where} does not serve the stream model {name!r} (a stock tritonserver "
                    "has only the model): use ",
                    Param("wire", "windows"),
                    ", or serve with `stmfnet-trt serve`",
                )
            log.info("%s has no stream model %r: sending windows", self._where, name)
            return False
        _, found, found_out = self._metadata(name, version)
        expected = {n: (spec.datatype, list(spec.dims)) for n, spec in STREAM_INPUTS.items()}
        expected_out = {n: (spec.datatype, list(spec.dims)) for n, spec in STREAM_OUTPUT_SPECS.items()}
        if found != expected or found_out != expected_out:
            raise UserError(
                f"{self._where} serves {name!r} with tensors {found} -> {found_out}, not our stream "
                "model's (is the server another version of stmfnet-trt?)"
            )
        return True

    def _served(self) -> str:
        """'; it serves: a (1), b (2)' where the server lets us list its models, else ''."""
        try:
            index = self._client().get_model_repository_index()
        except Exception:  # the repository API is often restricted (PyTriton protects it)
            return ""
        if not isinstance(index, dict) and hasattr(index, "models"):
            index = [{"name": m.name, "version": m.version, "state": m.state} for m in index.models]
        listed = ", ".join(
            f"{m.get('name')} (version {m.get('version') or '?'}, {m.get('state')})" for m in index
        )
        return f"; it serves: {listed or 'nothing'}"

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        client = self._client()
        inputs = []
        for index, name in enumerate(INPUT_NAMES):
            tensor = self._module.InferInput(name, list(batch[:, index].shape), TRITON_DATATYPE)
            tensor.set_data_from_numpy(np.ascontiguousarray(batch[:, index]))
            inputs.append(tensor)
        outputs = [self._module.InferRequestedOutput(OUTPUT_NAME)]
        kwargs = {"client_timeout": self.options.timeout_s} if self.options.protocol == "grpc" else {}
        what = f"an inference request ({len(batch)} windows)"
        result = self._call(
            what,
            client.infer,
            self.options.model_name,
            inputs,
            model_version=self.options.model_version,
            outputs=outputs,
            **kwargs,
        )
        return result.as_numpy(OUTPUT_NAME)

    def _stream_request(self, inputs: dict[str, np.ndarray], what: str, retry: bool) -> dict[str, np.ndarray]:
        """One stream request (``stream_client.Call``): tensors in, ``frames`` and ``order`` out."""
        client = self._client()
        tensors = []
        for name, array in inputs.items():
            tensor = self._module.InferInput(name, list(array.shape), STREAM_INPUTS[name].datatype)
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        outputs = [self._module.InferRequestedOutput(name) for name in STREAM_OUTPUTS]
        kwargs = {"client_timeout": self.options.timeout_s} if self.options.protocol == "grpc" else {}
        arguments = (self.stream_model, tensors)
        options = {"model_version": self.options.model_version, "outputs": outputs, **kwargs}
        if retry:
            result = self._call(what, client.infer, *arguments, **options)
        else:
            result = client.infer(*arguments, **options)
        return {name: result.as_numpy(name) for name in STREAM_OUTPUTS}

    def interpolate_rgb(
        self,
        frames: Iterable[np.ndarray],
        factor: int,
        detector: SceneCutDetector,
        batch_size: int = 1,
        stats: SchedulerStats | None = None,
    ) -> Iterator[np.ndarray]:
        """The scheduler's ``interpolate_rgb`` on the stream wire (``takes_video_frames``)."""
        settings = StreamSettings(factor, batch_size, detector)
        return stream_frames(self._stream_request, frames, settings, stats)

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        height, width = windows.shape[-2:]
        padded = pad_to_multiple(windows)
        step = self.options.windows_per_request
        parts = [padded[i : i + step] for i in range(0, len(padded), step)]
        middle = np.concatenate(list(self._pool.map(self._infer, parts)))
        return middle[:, :, :height, :width]

    def close(self) -> None:
        """Stop the request threads and close every connection."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
