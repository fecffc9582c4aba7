"""The model as Triton sees it: name, version, tensors, and what a request may ask of it.

It is the export contract (``export.contract``) with Triton's batch dimension in front: inputs
``frame0`` .. ``frame3`` and output ``middle``, FP32, dims ``[3, -1, -1]`` per window, H and W
multiples of 128. The client pads and crops (as every local backend does), so a stock Triton
running the ONNX graph or the engine directly and ``stmfnet-trt serve`` answer the same requests.

The second half is the request check that ``serve`` runs in front of tritonserver (see
``server``): a request names its tensors' shapes before it carries their data, and tritonserver
allocates by the declared shape (an HTTP JSON request declaring [1, 3, 100000, 100000] made it
allocate 120 GB and die), so shapes, sizes and values are checked here, by plain Python on
numbers and bytes, before anything is sized by them. Pure Python and numpy, no Triton packages:
the property-based tests run it in the main environment.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stmfnet_trt.core.contract import INPUT_NAMES, OUTPUT_NAME, check_frame_size
from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.runtime.backend import CHANNELS, VALUE_SLACK

LOOPBACK = "127.0.0.1"  # where serve listens unless told otherwise: it has no authentication
DEFAULT_MODEL_NAME = "stmfnet_mini"
DEFAULT_MODEL_VERSION = 1
TRITON_DATATYPE = "FP32"
CONFIG_DATATYPE = "TYPE_FP32"
WINDOW_DIMS = (3, -1, -1)  # per window; Triton adds the batch dimension
DEFAULT_MAX_BATCH_SIZE = 8
DEFAULT_QUEUE_DELAY_US = 2000
# Frame size caps, on the frames as sent (the client pads to multiples of 128): DCI 4K
# (4096x2160) padded is 4096x2176, the largest standard video frame; every 4K UHD, 1080p or
# portrait clip fits. The model needs ~2.3 GB per megapixel per window in ONNX Runtime, so a
# frame this size already costs ~20 GB; a larger one is a mistake or an attack.
DEFAULT_MAX_SIDE = 4096
DEFAULT_MAX_PIXELS = 4096 * 2176
FP32_BYTES = 4
# Bytes per element of the datatypes our models take (a JSON number or boolean stands for one).
ITEM_BYTES = {"UINT8": 1, "BOOL": 1, "INT32": 4, "FP32": 4, "INT64": 8, "UINT64": 8, "FP64": 8}
# The JSON part of a request (names, shapes, parameters) is small; tensors travel as binary.
MAX_HEADER_BYTES = 64 * 1024
# A request whose tensors are JSON numbers is parsed whole (a Python float per value, ~30 bytes
# for every 2 of text), so it gets its own, smaller cap: use binary tensors for real frames.
MAX_JSON_BODY_BYTES = 32 * 1024 * 1024
# Marks a refusal inside whatever Triton wraps around an error (PyTriton adds a traceback and
# the Python backend the stub's path): the front reads the one line after the mark.
REFUSAL_MARK = "<<stmfnet-trt refused>>"
_MAX_ECHO = 40  # characters of a client's own strings echoed back in a message
_MAX_MESSAGE = 300
INTERNAL_ERROR = "the server failed on this request (an internal error; its log has the details)"
_PATH_LIKE = re.compile(r"(?:/[\w.@+-]+){2,}|\w+\.py\b")


class RequestRefused(UserError):
    """A request the server will not run; ``str()`` is one line for the client, no internals.

    ``status`` is the HTTP status it is answered with; gRPC gets the matching code.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask for; the bytes limits follow from the frame and batch caps."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_side: int = DEFAULT_MAX_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_side", "max_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name} must be an integer >= 1, got {value!r}")

    @property
    def max_tensor_bytes(self) -> int:
        """Bytes of the largest allowed tensor: a full batch of the largest allowed frames."""
        return self.max_batch_size * CHANNELS * self.max_pixels * FP32_BYTES

    @property
    def max_body_bytes(self) -> int:
        """Bytes of the largest allowed request: four such tensors and a header."""
        return len(INPUT_NAMES) * self.max_tensor_bytes + MAX_HEADER_BYTES


@dataclass(frozen=True)
class TensorDeclaration:
    """One input as a request declares it, before any check (hence ``object`` fields).

    ``data_bytes`` is what the request actually carries for it (binary bytes, or 4 per JSON
    number), so a shape that promises more than was sent is caught without sizing anything by it.
    """

    name: object
    datatype: object
    shape: object
    data_bytes: int


def echo(value: object) -> str:
    """A client-supplied value, short and printable, for a message."""
    text = repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."


def _check_shape(name: str, shape: object, limits: RequestLimits) -> tuple[int, int, int, int]:
    """Rank, types, positivity, channels, batch and size caps of one input's declared shape."""
    if not isinstance(shape, (list, tuple)) or len(shape) != 4:
        raise RequestRefused(f"input {name} must have shape [N, {CHANNELS}, H, W], got {echo(shape)}")
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise RequestRefused(f"input {name} has a shape of non-integers: {echo(shape)}")
    batch, channels, height, width = shape
    if min(shape) < 1:
        raise RequestRefused(f"input {name} has a dimension below 1: {echo(shape)}")
    if channels != CHANNELS:
        raise RequestRefused(f"input {name} must have {CHANNELS} channels (RGB), got {channels}")
    if batch > limits.max_batch_size:
        raise RequestRefused(
            f"input {name} holds {batch} windows; this server takes at most {limits.max_batch_size} "
            "per request"
        )
    if max(height, width) > limits.max_side or height * width > limits.max_pixels:
        raise RequestRefused(
            f"frames of {echo(height)}x{echo(width)} exceed this server's limit (sides up to "
            f"{limits.max_side}, {limits.max_pixels} pixels); send smaller frames or tiles",
            status=413,
        )
    try:
        check_frame_size(height, width)
    except InputError as exc:
        raise RequestRefused(str(exc)) from None
    return batch, channels, height, width


def check_infer_request(
    tensors: Sequence[TensorDeclaration], limits: RequestLimits
) -> tuple[int, int, int, int]:
    """Refuse (RequestRefused) anything but the contract's four FP32 [N, 3, H, W] inputs, alike,
    within ``limits``, each carrying exactly its shape's bytes; returns that shape."""
    names = [t.name for t in tensors]
    if sorted(map(str, names)) != sorted(INPUT_NAMES) or not all(isinstance(n, str) for n in names):
        raise RequestRefused(f"inputs must be {', '.join(INPUT_NAMES)} (each once); got {echo(names)}")
    shapes = []
    for tensor in tensors:
        name = str(tensor.name)
        if tensor.datatype != TRITON_DATATYPE:
            raise RequestRefused(f"input {name} must be {TRITON_DATATYPE}, got {echo(tensor.datatype)}")
        shape = _check_shape(name, tensor.shape, limits)
        expected = math.prod(shape) * FP32_BYTES
        if tensor.data_bytes != expected:
            raise RequestRefused(
                f"input {name} declares {echo(list(shape))} ({expected} bytes) but carries "
                f"{tensor.data_bytes} bytes"
            )
        shapes.append(shape)
    if len(set(shapes)) != 1:
        raise RequestRefused(f"the four frames must have one shape; got {echo(sorted(set(shapes)))}")
    return shapes[0]


def check_values(name: str, values: np.ndarray) -> None:
    """Frames are images in [0, 1] (as ``check_windows`` wants them): refuse NaN, inf and the rest."""
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -VALUE_SLACK or high > 1 + VALUE_SLACK:
        raise RequestRefused(f"input {name} values must lie in [0, 1]; got range [{low:.4g}, {high:.4g}]")


def _count_numbers(data: object, booleans: bool = False) -> int:
    """Numbers (or, with ``booleans``, true/false) in a (nested) JSON array; anything else in it
    is refused. Iterative: no recursion."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif (
            isinstance(item, bool)
            if booleans
            else isinstance(item, (int, float)) and not isinstance(item, bool)
        ):
            count += 1
        else:
            kind = "booleans" if booleans else "numbers"
            raise RequestRefused(f"tensor data must be {kind}, found {echo(item)}")
    return count


def _flat_numbers(data: object) -> np.ndarray:
    """A nested JSON array's numbers in order (row-major, as Triton reads them)."""
    flat, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return np.asarray(flat, dtype=np.float64)


def _refuse_constant(token: str) -> float:
    raise RequestRefused(f"the request is not valid JSON ({token} is not a JSON number)")


def parse_json_header(text: bytes) -> dict:
    """The JSON part of an HTTP request as a dict; malformed, nested too deep or not an object:
    refused."""
    try:
        header = json.loads(text, parse_constant=_refuse_constant)
    except RequestRefused:
        raise
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise RequestRefused("the request is not valid JSON") from None
    if not isinstance(header, dict):
        raise RequestRefused("the request must be a JSON object")
    return header


_REQUEST_KEYS = {"id", "parameters", "inputs", "outputs"}
# Request parameters Triton reads for a model without sequence batching, with the type it insists
# on: it answers any other type with a 500, as if the server had failed.
_REQUEST_PARAMETERS = {"priority": int, "timeout": int, "binary_data_output": bool}


def check_request_parameters(parameters: dict) -> None:
    """Only ``priority`` and ``timeout`` (integers in [0, 2^64)) and ``binary_data_output`` (a
    boolean) may be set on a request; refused otherwise."""
    for key, value in parameters.items():
        kind = _REQUEST_PARAMETERS.get(key)
        if kind is None:
            raise RequestRefused(
                f"request parameter {echo(key)} is not served (only {', '.join(_REQUEST_PARAMETERS)})"
            )
        if kind is bool and not isinstance(value, bool):
            raise RequestRefused(f"request parameter {key} must be true or false, got {echo(value)}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64):
            raise RequestRefused(
                f"request parameter {key} must be an integer in [0, 2^64), got {echo(value)}"
            )


_INPUT_KEYS = {"name", "datatype", "shape", "parameters", "data"}


def _check_outputs(outputs: object, names: Sequence[str]) -> None:
    """Only the model's outputs ``names`` may be asked for, each at most once, binary or not;
    shared memory and classification are not served."""
    listed = ", ".join(names)
    if not isinstance(outputs, list) or len(outputs) > len(names):
        raise RequestRefused(f"outputs must be a list naming only {listed}")
    asked = [output.get("name") if isinstance(output, dict) else None for output in outputs]
    if not all(name in names for name in asked) or len(set(asked)) != len(asked):
        only = f"the only output is {listed}" if len(names) == 1 else f"the outputs are {listed}"
        raise RequestRefused(f"{only}; got {echo(outputs)}")
    for output in outputs:
        parameters = output.get("parameters", {})
        if not isinstance(parameters, dict) or set(parameters) - {"binary_data"}:
            raise RequestRefused(
                f"output parameters other than binary_data are not served: {echo(parameters)}"
            )


def http_request_tensors(
    body: bytes, header_length: int | None, outputs: Sequence[str], max_inputs: int
) -> list[tuple[TensorDeclaration, memoryview | object]]:
    """Parse an HTTP infer request's body (KServe v2: a JSON header, then binary tensors when
    ``header_length`` says where it ends) into its inputs as declared, each with its data: a view
    into ``body`` for a binary tensor, the JSON value otherwise. Checked: the request's structure,
    parameters, at most ``max_inputs`` inputs, only ``outputs`` asked for, and each tensor's bytes
    against the body; shapes and datatypes are the model's check."""
    if header_length is None:
        header_length = len(body)
        if header_length > MAX_JSON_BODY_BYTES:
            raise RequestRefused(
                f"a JSON-only request may be at most {MAX_JSON_BODY_BYTES} bytes; send binary tensors",
                status=413,
            )
    elif not 0 < header_length <= min(len(body), MAX_HEADER_BYTES):
        raise RequestRefused(f"Inference-Header-Content-Length {header_length} does not fit the body")
    header = parse_json_header(body[:header_length])
    if set(header) - _REQUEST_KEYS:
        raise RequestRefused(f"unknown request fields: {echo(sorted(set(header) - _REQUEST_KEYS))}")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise RequestRefused("inputs must be a list of objects")
    if len(inputs) > max_inputs:
        raise RequestRefused(f"this model has {max_inputs} inputs; the request has {len(inputs)}")
    parameters = header.get("parameters", {})
    if not isinstance(parameters, dict):
        raise RequestRefused("the request's parameters must be an object")
    check_request_parameters(parameters)
    if "outputs" in header:
        _check_outputs(header["outputs"], outputs)
    tensors: list[tuple[TensorDeclaration, memoryview | object]] = []
    offset = header_length
    for item in inputs:
        if set(item) - _INPUT_KEYS:
            raise RequestRefused(f"unknown input fields: {echo(sorted(set(item) - _INPUT_KEYS))}")
        parameters = item.get("parameters", {})
        if not isinstance(parameters, dict) or set(parameters) - {"binary_data_size"}:
            raise RequestRefused(
                f"input parameters other than binary_data_size are not served: {echo(parameters)}"
            )
        size = parameters.get("binary_data_size")
        if ("data" in item) == (size is not None):
            raise RequestRefused(f"input {echo(item.get('name'))} must carry either data or binary_data_size")
        datatype = item.get("datatype")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= len(body) - offset:
                raise RequestRefused(f"binary_data_size {echo(size)} does not fit the body")
            source: memoryview | object = memoryview(body)[offset : offset + size]
            offset += size
        else:
            source = item["data"]
            count = _count_numbers(source, booleans=datatype == "BOOL")
            size = count * ITEM_BYTES.get(datatype, FP32_BYTES) if isinstance(datatype, str) else count
        tensors.append((TensorDeclaration(item.get("name"), datatype, item.get("shape"), size), source))
    if offset != len(body):
        raise RequestRefused(f"the body has {len(body) - offset} bytes beyond its declared tensors")
    return tensors


def http_infer_tensors(
    body: bytes, header_length: int | None, limits: RequestLimits
) -> list[tuple[TensorDeclaration, np.ndarray]]:
    """Check an HTTP infer request for the windows model and return its inputs with their values
    (views into ``body`` for binary tensors), checked in shape, size and range."""
    tensors = http_request_tensors(body, header_length, (OUTPUT_NAME,), len(INPUT_NAMES))
    check_infer_request([declared for declared, _ in tensors], limits)
    result = []
    for tensor, source in tensors:
        values = (
            np.frombuffer(source, dtype="<f4") if isinstance(source, memoryview) else _flat_numbers(source)
        )
        check_values(str(tensor.name), values)
        result.append((tensor, values))
    return result


def one_line_error(text: str) -> str:
    """What a client may see of a server error: our refusal line, else the error's first line if
    it reveals no paths or tracebacks, else a generic sentence (the log has the rest)."""
    marked = text.rfind(REFUSAL_MARK)
    if marked >= 0:
        line = (text[marked + len(REFUSAL_MARK) :].splitlines() or [""])[0]
        return " ".join(line.split())[:_MAX_MESSAGE] or INTERNAL_ERROR
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or "Traceback" in text or _PATH_LIKE.search(text):
        return INTERNAL_ERROR
    return " ".join(lines[0].split())[:_MAX_MESSAGE]


__all__ = [
    "CONFIG_DATATYPE",
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_VERSION",
    "DEFAULT_QUEUE_DELAY_US",
    "INPUT_NAMES",
    "INTERNAL_ERROR",
    "ITEM_BYTES",
    "LOOPBACK",
    "OUTPUT_NAME",
    "REFUSAL_MARK",
    "TRITON_DATATYPE",
    "WINDOW_DIMS",
    "RequestLimits",
    "RequestRefused",
    "TensorDeclaration",
    "check_infer_request",
    "check_request_parameters",
    "check_values",
    "http_infer_tensors",
    "http_request_tensors",
    "one_line_error",
]
