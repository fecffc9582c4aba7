"""A real ``serve`` on loopback under hostile requests: none may crash it, reach past its limits,
or get more than one line back.

One server (the blend backend: no model time) with small limits (2 windows of at most 128x256)
takes every class of request the issue lists and more: malformed and truncated bodies, wrong
types, ranks and dims, NaN/inf, mismatched frames, declared shapes far beyond what was sent,
compressed bodies, unknown models, the APIs that change a server, and many at once. After each,
the same tritonserver process must still be serving.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pytest
from helpers import HOST, start_client, start_server, tritonserver_pid

NAMES = ("frame0", "frame1", "frame2", "frame3")
LIMITS = ["--max-batch-size", "2", "--max-side", "256", "--max-pixels", str(128 * 256)]
SMALL = [1, 3, 128, 128]
INFER = "/v2/models/stmfnet_mini/infer"
CLIENT_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def server(serve_python, tmp_path_factory):
    """Started with no --host: the default must be loopback."""
    log = tmp_path_factory.mktemp("adversarial") / "server.log"
    server = start_server(serve_python, log, ["--backend", "blend", *LIMITS], host=None)
    server.triton_pid = tritonserver_pid(server)
    yield server
    if server.process.poll() is None:
        server.terminate()


@pytest.fixture(autouse=True)
def still_serving(request):
    """After every test here: the same tritonserver is alive and the model ready."""
    yield
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        assert server.process.poll() is None, server.output()[-3000:]
        assert tritonserver_pid(server) == server.triton_pid, "tritonserver was replaced or died"
        assert server.ready()


def post(server, body: bytes, headers: dict | None = None, path: str = INFER, method: str = "POST"):
    connection = HTTPConnection(HOST, server.http_port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read(), reply.headers
    finally:
        connection.close()


def one_line_error(data: bytes) -> str:
    """The client-facing error: one line, no traceback, no server paths."""
    error = json.loads(data)["error"]
    assert "\n" not in error and "Traceback" not in error and ".py" not in error, error
    assert not re.search(r"(/[\w.-]+){2,}", error), error
    return error


def json_request(shape, data=None, names=NAMES, datatype="FP32", **extra) -> bytes:
    inputs = [
        {"name": n, "shape": shape, "datatype": datatype, "data": [0.5] if data is None else data}
        for n in names
    ]
    return json.dumps({"inputs": inputs, **extra}).encode()


def binary_request(arrays: list[np.ndarray], names=NAMES) -> tuple[bytes, dict]:
    header = {
        "inputs": [
            {
                "name": n,
                "shape": list(a.shape),
                "datatype": "FP32",
                "parameters": {"binary_data_size": a.nbytes},
            }
            for n, a in zip(names, arrays, strict=True)
        ],
        "outputs": [{"name": "middle", "parameters": {"binary_data": True}}],
    }
    text = json.dumps(header).encode()
    body = text + b"".join(a.astype("<f4").tobytes() for a in arrays)
    return body, {
        "Inference-Header-Content-Length": str(len(text)),
        "Content-Type": "application/octet-stream",
    }


def middle_of(data: bytes, headers, shape) -> np.ndarray:
    header_length = int(headers["Inference-Header-Content-Length"])
    return np.frombuffer(data[header_length:], dtype="<f4").reshape(shape)


def frames(shape=SMALL, values=(0.1, 0.3, 0.7, 0.9)) -> list[np.ndarray]:
    return [np.full(shape, v, dtype=np.float32) for v in values]


def with_value(value: float, index: int = 1) -> list[np.ndarray]:
    arrays = frames()
    arrays[index][0, 1, 5, 7] = value
    return arrays


def huge_binary_header() -> tuple[bytes, dict]:
    shape = [1, 3, 100000, 100000]
    header = {
        "inputs": [
            {"name": n, "shape": shape, "datatype": "FP32", "parameters": {"binary_data_size": 12 * 10**10}}
            for n in NAMES
        ]
    }
    text = json.dumps(header).encode()
    return text, {"Inference-Header-Content-Length": str(len(text))}


def trailing_bytes() -> tuple[bytes, dict]:
    body, headers = binary_request(frames())
    return body + b"\0" * 8, headers


HTTP_CASES = {
    # (body, headers, path, method) -> (status, fragment of the one-line error)
    "crash_request_of_issue_20": (
        (json_request([1, 3, 100000, 100000], [0]), {}, INFER, "POST"),
        (413, "exceed this server's limit"),
    ),
    "huge_declared_binary": (
        (*huge_binary_header(), INFER, "POST"),
        (400, "does not fit the body"),
    ),
    "malformed_json": ((b'{"inputs": [', {}, INFER, "POST"), (400, "not valid JSON")),
    "deep_nesting": ((b"[" * 200000, {}, INFER, "POST"), (400, "not valid JSON")),
    "not_an_object": ((b"[1, 2]", {}, INFER, "POST"), (400, "must be a JSON object")),
    "empty_body": ((b"", {}, INFER, "POST"), (400, "not valid JSON")),
    "nan_token": (
        (json_request(SMALL).replace(b"0.5", b"NaN"), {}, INFER, "POST"),
        (400, "not a JSON number"),
    ),
    "wrong_dtype": ((json_request(SMALL, datatype="FP16"), {}, INFER, "POST"), (400, "must be FP32")),
    "bytes_dtype": (
        (json_request(SMALL, ["x"], datatype="BYTES"), {}, INFER, "POST"),
        (400, "must be numbers"),
    ),
    "wrong_rank": ((json_request([3, 128, 128]), {}, INFER, "POST"), (400, "must have shape [N, 3, H, W]")),
    "negative_dim": ((json_request([1, 3, -128, 128]), {}, INFER, "POST"), (400, "dimension below 1")),
    "zero_batch": ((json_request([0, 3, 128, 128], []), {}, INFER, "POST"), (400, "dimension below 1")),
    "float_dim": ((json_request([1, 3, 128.0, 128]), {}, INFER, "POST"), (400, "non-integers")),
    "data_short_of_shape": (
        (json_request(SMALL, [0.5] * 10), {}, INFER, "POST"),
        (400, "but carries 40 bytes"),
    ),
    "frames_too_small": ((json_request([1, 3, 2, 2], [0.5] * 12), {}, INFER, "POST"), (400, "too small")),
    "three_inputs": ((json_request(SMALL, names=NAMES[:3]), {}, INFER, "POST"), (400, "inputs must be")),
    "duplicate_input": (
        (json_request(SMALL, names=("frame0", "frame0", "frame1", "frame2")), {}, INFER, "POST"),
        (400, "inputs must be"),
    ),
    "unknown_output": (
        (json_request(SMALL, outputs=[{"name": "secret"}]), {}, INFER, "POST"),
        (400, "the only output is middle"),
    ),
    "shared_memory_input": (
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "frame0",
                            "shape": SMALL,
                            "datatype": "FP32",
                            "parameters": {"shared_memory_region": "r"},
                        }
                    ]
                    * 4
                }
            ).encode(),
            {},
            INFER,
            "POST",
        ),
        (400, "not served"),
    ),
    "nan_binary": (
        (*binary_request(with_value(np.nan)), INFER, "POST"),
        (400, "frame1 values must lie in [0, 1]"),
    ),
    "inf_binary": (
        (*binary_request(with_value(np.inf, 3)), INFER, "POST"),
        (400, "frame3 values must lie in"),
    ),
    "out_of_range_binary": ((*binary_request(with_value(7.0)), INFER, "POST"), (400, "values must lie in")),
    "mismatched_frames": (
        (*binary_request([*frames()[:3], np.zeros([1, 3, 128, 256], np.float32)]), INFER, "POST"),
        (400, "must have one shape"),
    ),
    "batch_over_max": ((*binary_request(frames([3, 3, 128, 128])), INFER, "POST"), (400, "at most 2")),
    "pixels_over_max": ((*binary_request(frames([1, 3, 256, 256])), INFER, "POST"), (413, "exceed")),
    "bad_header_length": ((b"{}", {"Inference-Header-Content-Length": "x"}, INFER, "POST"), (400, "integer")),
    "header_length_past_body": (
        (b"{}", {"Inference-Header-Content-Length": "99"}, INFER, "POST"),
        (400, "does not fit the body"),
    ),
    "bytes_after_tensors": (
        (*trailing_bytes(), INFER, "POST"),
        (400, "beyond its declared tensors"),
    ),
    "negative_timeout": (
        (json_request(SMALL, parameters={"timeout": -1}), {}, INFER, "POST"),
        (400, "timeout must be an integer"),
    ),
    "huge_priority": (
        (json_request(SMALL, parameters={"priority": 10**30}), {}, INFER, "POST"),
        (400, "priority must be an integer"),
    ),
    "sequence_parameters": (
        (json_request(SMALL, parameters={"sequence_id": "x"}), {}, INFER, "POST"),
        (400, "request parameter 'sequence_id' is not served"),
    ),
    "gzip_body": (
        (b"\x1f\x8b" + b"\0" * 30, {"Content-Encoding": "gzip"}, INFER, "POST"),
        (415, "compressed"),
    ),
    "unknown_model": ((json_request(SMALL), {}, "/v2/models/other/infer", "POST"), (404, "unknown model")),
    "unknown_version": (
        (json_request(SMALL), {}, "/v2/models/stmfnet_mini/versions/7/infer", "POST"),
        (404, "unknown model"),
    ),
    "repository_unload": (
        (b"{}", {}, "/v2/repository/models/stmfnet_mini/unload", "POST"),
        (404, "not served"),
    ),
    "repository_index": ((b"{}", {}, "/v2/repository/index", "POST"), (404, "not served")),
    "shared_memory_register": (
        (b"{}", {}, "/v2/systemsharedmemory/region/r/register", "POST"),
        (404, "not served"),
    ),
    "logging_settings": ((b'{"log_verbose_level": 9}', {}, "/v2/logging", "POST"), (404, "not served")),
    "statistics": ((b"", {}, "/v2/models/stats", "GET"), (404, "not served")),
    "trace_settings": ((b"", {}, "/v2/trace/setting", "GET"), (404, "not served")),
    "percent_encoded_path": ((b"", {}, "/v2/models/st%61ts", "GET"), (400, "percent-encoded")),
    "path_traversal": ((b"", {}, "/v2/models/../../etc/passwd", "GET"), (404, "not served")),
}


@pytest.mark.parametrize("case", sorted(HTTP_CASES))
def test_hostile_http_requests_get_one_line_refusals(server, case):
    (body, headers, path, method), (status, fragment) = HTTP_CASES[case]
    got, data, _ = post(server, body, headers, path, method)
    message = one_line_error(data)
    assert (got, fragment in message) == (status, True), message


def test_a_valid_request_still_gets_the_right_middle(server):
    body, headers = binary_request(frames([2, 3, 128, 256]))
    status, data, reply_headers = post(server, body, headers)
    assert status == 200, data[:300]
    middle = middle_of(data, reply_headers, [2, 3, 128, 256])
    np.testing.assert_allclose(middle, 0.5, atol=1e-6)  # blend: (0.3 + 0.7) / 2


def test_unknown_model_metadata_is_triton_s_own_one_line(server):
    status, data, _ = post(server, b"", path="/v2/models/other", method="GET")
    assert status in (400, 404)
    assert "other" in one_line_error(data)


def raw_http(server, head: bytes, body: bytes, hang_up: bool = True) -> bytes:
    """Bytes on a socket, as no HTTP library would send them (then, with ``hang_up``, the end of
    the stream); the reply, if any, up to 4 KiB."""
    with socket.create_connection((HOST, server.http_port), timeout=30) as connection:
        connection.sendall(head + body)
        if hang_up:
            connection.shutdown(socket.SHUT_WR)
        try:
            return connection.recv(4096)
        except ConnectionResetError:  # closed with our bytes unread: a hang-up too
            return b""


def test_a_body_far_beyond_the_cap_is_refused_before_it_is_read(server):
    head = (
        f"POST {INFER} HTTP/1.1\r\nHost: x\r\nInference-Header-Content-Length: 10\r\n"
        f"Content-Length: {10**12}\r\n\r\n"
    ).encode()
    reply = raw_http(server, head, b"{}", hang_up=False)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_truncated_and_garbled_http_leave_the_server_serving(server):
    truncated = f"POST {INFER} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".encode()
    raw_http(server, truncated, b'{"inputs": [' + b"0," * 40)
    chunked_forever = f"POST {INFER} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    raw_http(server, chunked_forever, b"ffffffff\r\n" + b"0" * 1000)
    garbage = raw_http(server, b"\x00\xff GARBAGE / HTTP/9.9\r\n\r\n", b"", hang_up=False)
    huge_header = raw_http(
        server,
        b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100000 + b"\r\n\r\n",
        b"",
        hang_up=False,
    )
    assert re.match(rb"HTTP/1\.[01] 400 ", garbage), garbage[:200]
    for reply in (garbage, huge_header):  # aiohttp's own answer to what it cannot parse, or a hang-up
        assert reply == b"" or re.match(rb"HTTP/1\.[01] 4\d\d ", reply), reply[:200]
        assert b"Traceback" not in reply and not re.search(rb"(/[\w.-]+){2,}", reply), reply


def test_many_concurrent_requests_mixed_with_hostile_ones(server):
    """36 requests from 12 threads at once, a third each valid, NaN and huge: each gets its own
    answer (the NaNs must not fail the valid requests they could be batched with)."""
    valid = binary_request(frames([2, 3, 128, 128]))
    nan = binary_request(with_value(np.nan))
    huge = (json_request([1, 3, 100000, 100000], [0]), {})
    kinds = [("valid", valid), ("nan", nan), ("huge", huge)] * 12

    def send(kind_request):
        kind, (body, headers) = kind_request
        status, data, reply_headers = post(server, body, headers)
        if kind == "valid" and status == 200:
            return kind, status, float(np.abs(middle_of(data, reply_headers, [2, 3, 128, 128]) - 0.5).max())
        return kind, status, one_line_error(data)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, kinds))
    assert time.monotonic() - start < 120
    for kind, status, detail in results:
        expected = {"valid": 200, "nan": 400, "huge": 413}[kind]
        assert status == expected, (kind, status, detail)
        if kind == "valid":
            assert detail < 1e-6


GRPC_EXPECTED = {
    "huge_declared_shape": ("INVALID_ARGUMENT", "exceed this server's limit"),
    "negative_dims": ("INVALID_ARGUMENT", "dimension below 1"),
    "zero_batch": ("INVALID_ARGUMENT", "dimension below 1"),
    "wrong_rank": ("INVALID_ARGUMENT", "must have shape [N, 3, H, W]"),
    "wrong_dtype": ("INVALID_ARGUMENT", "must be FP32"),
    "nan_values": ("INVALID_ARGUMENT", "frame2 values must lie in [0, 1]"),
    "short_data": ("INVALID_ARGUMENT", "but carries 10 bytes"),
    "mismatched_frames": ("INVALID_ARGUMENT", "must have one shape"),
    "unknown_model": ("NOT_FOUND", "unknown model 'other'"),
    "garbage": ("INVALID_ARGUMENT", "not a valid ModelInferRequest"),
    "truncated": ("INVALID_ARGUMENT", "not a valid ModelInferRequest"),
    "over_byte_cap": ("RESOURCE_EXHAUSTED", "larger than max"),
    "stream": ("UNIMPLEMENTED", ""),
    "stream_typed_frame": ("INVALID_ARGUMENT", "input 'frame' is 'UINT8' but carries ['fp32_contents']"),
    "stream_not_open": ("INVALID_ARGUMENT", "stream 5 is not open"),
    "stream_flat_frame": ("INVALID_ARGUMENT", "input frame must have 3 dimensions"),
    "unload_model": ("UNIMPLEMENTED", ""),
    "shared_memory": ("UNIMPLEMENTED", ""),
}


def test_hostile_grpc_requests_get_one_line_refusals(server, serve_python):
    probe = Path(__file__).with_name("grpc_probe.py")
    result = subprocess.run(
        [serve_python, str(probe), server.url("grpc")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout)
    assert answers.pop("valid") == ["OK", [0.25, 0.25, 3 * 128 * 128]]  # the blend of frames of 0.25
    assert sorted(answers) == sorted(GRPC_EXPECTED)
    for case, (code, details) in answers.items():
        expected_code, fragment = GRPC_EXPECTED[case]
        assert (code, fragment in details, "\n" in details) == (expected_code, True, False), (case, details)


def test_a_client_sending_frames_over_the_limit_gets_one_line(server, serve_python, assets_dir, tmp_path):
    """carphone pads to 256x256, twice the server's 32768 pixels."""
    output = tmp_path / "out.mp4"
    client = start_client(
        serve_python, assets_dir / "carphone_12.mp4", output, server.url("http"), "--protocol", "http"
    )
    text, _ = client.communicate(timeout=CLIENT_TIMEOUT_S)
    assert client.returncode == 2, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "exceed this server's limit" in lines[0], text
    assert not output.exists()


# 127.0.0.1 as /proc/net/tcp writes it, and as tcp6 writes it on a dual-stack socket (grpcio's)
LOOPBACK_FORMS = {"0100007F", "0000000000000000FFFF00000100007F"}


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_default_address_is_loopback_only(server):
    announce = next(line for line in server.output().splitlines() if line.startswith("serving "))
    assert f"HTTP 127.0.0.1:{server.http_port}, gRPC 127.0.0.1:{server.grpc_port}" in announce
    assert "warning: listening on" not in server.output()
    for port in (server.http_port, server.grpc_port):
        assert listening_addresses(port) and listening_addresses(port) <= LOOPBACK_FORMS
    triton_args = Path(f"/proc/{server.triton_pid}/cmdline").read_bytes().split(b"\0")
    for flag in (b"--http-address", b"--grpc-address", b"--metrics-address"):
        assert triton_args[triton_args.index(flag) + 1] == b"127.0.0.1"
    private = int(triton_args[triton_args.index(b"--http-port") + 1])
    assert private != server.http_port and listening_addresses(private) <= LOOPBACK_FORMS


def test_serve_exits_non_zero_when_tritonserver_dies(serve_python, tmp_path):
    doomed = start_server(serve_python, tmp_path / "doomed.log", ["--backend", "blend"])
    triton = tritonserver_pid(doomed)
    assert triton is not None
    os.kill(triton, signal.SIGKILL)
    status = doomed.process.wait(timeout=60)
    assert status == 2, doomed.output()[-3000:]
    assert doomed.output().rstrip().splitlines()[-1] == (
        "error: tritonserver stopped unexpectedly (its log above says why); the server is down"
    ), doomed.output()[-2500:]
