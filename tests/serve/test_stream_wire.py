"""The stream wire through a real ``serve`` (ONNX Runtime) on loopback.

Clients (``--backend triton``, tritonclient over gRPC and HTTP) must write exactly the frames a
local ONNX Runtime run writes, at x2 and x4, over a scene cut; two streams at once must each get
their own frames; a client that vanishes must have its stream closed by the server, which serves
on; hostile stream requests (sent here by hand, as raw HTTP) get one line each, never a crash,
never a wrong frame in a stream they target.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
import urllib.request
from http.client import HTTPConnection

import numpy as np
import pytest
from helpers import HOST, start_client, start_server

from stmfnet_trt.io import open_sink, open_source
from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
from stmfnet_trt.runtime.backends.triton_stream_client import decode_reply
from stmfnet_trt.runtime.backends.triton_stream_model import FRAMES, NUMPY_TYPES, ORDER, StreamSettings
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

THREADS = "2"
IDLE_S = 4
MAX_STREAMS = 2
STREAM = "/v2/models/stmfnet_mini_stream"
CLIENT_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def onnx_model():
    from stmfnet_trt.export.cache import cached_onnx
    from stmfnet_trt.plugins import default_ort_variant as _default_variant

    return cached_onnx(None, _default_variant(), progress=False)


@pytest.fixture(scope="module")
def server(serve_python, onnx_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("stream_server") / "server.log"
    server = start_server(
        serve_python,
        log,
        [
            *("--backend", "onnxruntime", "--onnx", str(onnx_model), "--threads", THREADS),
            *("--max-streams", str(MAX_STREAMS), "--stream-idle-timeout", str(IDLE_S)),
        ],
    )
    yield server
    if server.process.poll() is None:
        server.kill()


def stream_stats(server) -> dict:
    with urllib.request.urlopen(f"http://{HOST}:{server.http_port}{STREAM}/streams", timeout=10) as reply:
        return json.loads(reply.read())


def wait_for(server, condition, timeout: float) -> dict:
    """The stream stats once ``condition(stats)`` holds (or the last ones, after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = stream_stats(server)
        if condition(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def no_stream_left(request):
    """After each test: the server alive, serving, and holding no stream (none leaks into the next)."""
    yield
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        assert server.process.poll() is None, server.output()[-3000:]
        stats = wait_for(server, lambda s: s["streams"] == 0 and s["threads"] == 0, IDLE_S + 10)
        assert (stats["streams"], stats["threads"]) == (0, 0), stats


@pytest.fixture(scope="module")
def cut_clip(assets_dir, tmp_path_factory):
    """Three carphone frames, then a cut to two demo frames (cropped to carphone's size): PNGs."""
    with open_source(assets_dir / "carphone_12.mp4") as source:
        phone = list(itertools.islice(source, 3))
    with open_source(assets_dir / "demo.mp4") as source:
        demo = [np.ascontiguousarray(f[:, :176]) for f in itertools.islice(source, 2)]
    folder = tmp_path_factory.mktemp("clips") / "cut"
    with open_sink(folder, 176, 144, 25) as sink:
        for frame in [*phone, *demo]:
            sink.write(frame)
    return folder


def read_frames(folder) -> np.ndarray:
    with open_source(folder) as source:
        return np.stack(list(source))


def local_run(onnx_model, source, output, factor: int, frames: int | None = None) -> np.ndarray:
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(onnx_model, threads=int(THREADS)))
    options = RunOptions(factor=factor, max_frames=frames, progress=False)
    summary = interpolate_video(source, output, backend, options)
    return read_frames(output), summary.stats


def finish(client, timeout: float = CLIENT_TIMEOUT_S) -> tuple[int, str]:
    output, _ = client.communicate(timeout=timeout)
    return client.returncode, output


def differing(got: np.ndarray, expected: np.ndarray) -> list[int]:
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return [i for i in range(len(got)) if not np.array_equal(got[i], expected[i])]


@pytest.mark.parametrize(
    ("protocol", "factor", "wire"), [("grpc", 2, "stream"), ("http", 4, "stream"), ("grpc", 2, "windows")]
)
def test_clients_write_the_local_run_s_frames(
    server, serve_python, onnx_model, cut_clip, tmp_path, protocol, factor, wire
):
    before = stream_stats(server)
    client = start_client(
        serve_python,
        cut_clip,
        tmp_path / "remote",
        server.url(protocol),
        *("--protocol", protocol, "--factor", str(factor), "--wire", wire),
    )
    expected, stats = local_run(onnx_model, cut_clip, tmp_path / "local", factor)
    status, output = finish(client)
    assert status == 0, output
    assert stats.scene_cuts >= 1 and stats.windows >= 3, stats
    assert differing(read_frames(tmp_path / "remote"), expected) == []
    after = stream_stats(server)
    streams = 1 if wire == "stream" else 0
    assert (after["opened"] - before["opened"], after["ended"] - before["ended"]) == (streams, streams)


def test_two_concurrent_streams_each_get_their_own_frames(
    server, serve_python, onnx_model, assets_dir, cut_clip, tmp_path
):
    sources = {"phone": assets_dir / "carphone_12.mp4", "cut": cut_clip}
    frames = 5
    clients = {
        name: start_client(
            serve_python, source, tmp_path / name, server.url("grpc"), "--max-frames", str(frames)
        )
        for name, source in sources.items()
    }
    most = 0
    while any(client.poll() is None for client in clients.values()):
        most = max(most, stream_stats(server)["streams"])
        time.sleep(0.1)
    assert most == 2, "the two streams were never open at the same time"
    for name, client in clients.items():
        status, output = finish(client)
        assert status == 0, output
        expected, _ = local_run(onnx_model, sources[name], tmp_path / f"local_{name}", 2, frames)
        assert differing(read_frames(tmp_path / name), expected) == [], name


# -- raw HTTP: what a hostile or vanishing client can do ------------------------------------------


DATATYPES = {np.dtype(t): name for name, t in NUMPY_TYPES.items()}


def stream_request(inputs: dict[str, np.ndarray], outputs=(FRAMES, ORDER)) -> tuple[bytes, dict]:
    """A binary KServe v2 request for the stream model, as tritonclient would send it (each
    tensor declared with its array's datatype, right or wrong)."""
    header = {
        "inputs": [
            {
                "name": name,
                "shape": list(array.shape),
                "datatype": DATATYPES[array.dtype],
                "parameters": {"binary_data_size": array.nbytes},
            }
            for name, array in inputs.items()
        ],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in outputs],
    }
    text = json.dumps(header).encode()
    body = text + b"".join(np.ascontiguousarray(a).tobytes() for a in inputs.values())
    return body, {"Inference-Header-Content-Length": str(len(text))}


def post(server, body: bytes, headers: dict) -> tuple[int, bytes, dict]:
    connection = HTTPConnection(HOST, server.http_port, timeout=120)
    try:
        connection.request("POST", f"{STREAM}/infer", body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read(), reply.headers
    finally:
        connection.close()


def parse_reply(data: bytes, headers) -> dict[str, np.ndarray]:
    length = int(headers["Inference-Header-Content-Length"])
    header, offset, result = json.loads(data[:length]), length, {}
    for output in header["outputs"]:
        size = output["parameters"]["binary_data_size"]
        dtype = {"UINT8": np.uint8, "INT64": np.int64}[output["datatype"]]
        result[output["name"]] = np.frombuffer(data[offset : offset + size], dtype).reshape(output["shape"])
        offset += size
    return result


class RawStream:
    """One stream's requests, built by hand; ``send`` returns (status, reply or one-line error)."""

    def __init__(self, server, stream_id: int) -> None:
        self.server = server
        self.id = np.array([stream_id], np.uint64)

    def inputs(self, index: int, frame: np.ndarray | None = None, **extra) -> dict[str, np.ndarray]:
        inputs = {"stream_id": self.id, "frame_index": np.array([index], np.int64)}
        if frame is not None:
            inputs["frame"] = frame
        return {**inputs, **extra}

    def send(self, inputs: dict[str, np.ndarray], **request) -> tuple[int, object]:
        status, data, headers = post(self.server, *stream_request(inputs, **request))
        if status == 200:
            return status, parse_reply(data, headers)
        error = json.loads(data)["error"]
        assert "\n" not in error and "Traceback" not in error and ".py" not in error, error
        return status, error

    def open(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """Open the stream with ``run``'s default settings (x2, batch 1, cut detection)."""
        status, reply = self.send(self.inputs(0, frame, **StreamSettings().as_inputs()))
        assert status == 200, reply
        return reply


def clip_frames(folder, count: int) -> list[np.ndarray]:
    with open_source(folder) as source:
        return list(itertools.islice(source, count))


def test_a_client_that_vanishes_has_its_stream_closed_and_the_server_serves_on(
    server, serve_python, cut_clip, tmp_path
):
    frames = clip_frames(cut_clip, 3)
    before = stream_stats(server)
    between = RawStream(server, 11)  # stops between two requests
    between.open(frames[0])
    assert between.send(between.inputs(1, frames[1]))[0] == 200
    during = RawStream(server, 12)  # hangs up while its request is being answered
    during.open(frames[0])
    body, headers = stream_request(during.inputs(1, frames[1]))
    head = (
        f"POST {STREAM}/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    with socket.create_connection((HOST, server.http_port), timeout=30) as connection:
        connection.sendall(head + body)
    assert stream_stats(server)["streams"] == 2
    stats = wait_for(server, lambda s: s["streams"] == 0, IDLE_S + 10)
    assert (stats["streams"], stats["threads"]) == (0, 0), stats
    assert stats["evicted_idle"] - before["evicted_idle"] == 2, stats
    status, error = between.send(between.inputs(2, frames[2]))
    assert status == 400 and "stream 11 is not open" in error
    client = start_client(serve_python, cut_clip, tmp_path / "after", server.url("grpc"), "--max-frames", "3")
    assert finish(client)[0] == 0


def hostile_cases(frames: list[np.ndarray]) -> dict[str, tuple[dict, dict, int, str]]:
    """name -> (inputs, request options, status, fragment of the one-line error), for stream 21,
    which is open with one frame when these are sent."""
    raw = RawStream(None, 21)
    small = frames[0]
    settings = StreamSettings().as_inputs()
    return {
        "unknown_stream": (RawStream(None, 99).inputs(1, small), {}, 400, "stream 99 is not open"),
        "index_ahead": (raw.inputs(7, small), {}, 400, "expects frame_index 1 (or 0 to repeat"),
        "frame_of_another_size": (raw.inputs(1, small[:100]), {}, 400, "all frames must have one size"),
        "settings_mid_stream": (raw.inputs(1, small, **settings), {}, 400, "opening request only"),
        "no_frame_no_end": (raw.inputs(1), {}, 400, "carries a frame, or sets end or cancel"),
        "float_frame": (raw.inputs(1, small.astype(np.float32)), {}, 400, "must be UINT8, got 'FP32'"),
        "four_channels": (raw.inputs(1, np.zeros((144, 176, 4), np.uint8)), {}, 400, "must have shape"),
        "flat_frame": (raw.inputs(1, small.reshape(144, -1)), {}, 400, "must have 3 dimensions"),
        "no_stream_id": ({"frame_index": np.array([1], np.int64)}, {}, 400, "must carry stream_id"),
        "unknown_input": ({**raw.inputs(1, small), "frame0": small}, {}, 400, "inputs must be among"),
        "windows_output": (raw.inputs(1, small), {"outputs": ("middle",)}, 400, "the outputs are frames"),
        "huge_frame": (raw.inputs(1, np.zeros((5000, 10, 3), np.uint8)), {}, 413, "exceed this server's"),
        "tiny_frame": (raw.inputs(1, np.zeros((10, 10, 3), np.uint8)), {}, 400, "too small"),
        "bad_factor": (
            RawStream(None, 98).inputs(0, small, **{**settings, "factor": np.array([3], np.int32)}),
            {},
            400,
            "factor must be one of",
        ),
        "nan_threshold": (
            RawStream(None, 97).inputs(0, small, **{**settings, "scene_threshold": np.array([np.nan])}),
            {},
            400,
            "scene threshold",
        ),
    }


def test_hostile_stream_requests_get_one_line_and_the_stream_they_target_stays_right(
    server, onnx_model, cut_clip, tmp_path
):
    frames = clip_frames(cut_clip, 5)
    target = RawStream(server, 21)
    replies = [target.open(frames[0])]
    for name, (inputs, options, status, fragment) in hostile_cases(frames).items():
        got, error = target.send(inputs, **options)
        assert (got, fragment in str(error)) == (status, True), (name, got, error)
    full = [RawStream(server, 31 + i) for i in range(MAX_STREAMS - 1)]
    for stream in full:
        stream.open(frames[0])
    extra = RawStream(server, 41)
    status, error = extra.send(extra.inputs(0, frames[0], **StreamSettings().as_inputs()))
    assert status == 400 and f"limit of {MAX_STREAMS} open streams" in error, error
    for stream in full:
        assert stream.send(stream.inputs(0, cancel=np.array([True])))[0] == 200
    for index, frame in enumerate(frames[1:], start=1):
        status, reply = target.send(target.inputs(index, frame))
        assert status == 200, reply
        replies.append(reply)
    status, reply = target.send(target.inputs(len(frames), end=np.array([True])))
    assert status == 200, reply
    replies.append(reply)
    held = dict(enumerate(frames))
    decoded = [decode_reply(r, held, frames[0].shape) for r in replies]
    got = np.stack([f for output, _ in decoded for f in output])
    expected, expected_stats = local_run(onnx_model, cut_clip, tmp_path / "local", 2)
    assert differing(got, expected) == [] and decoded[-1][1] == expected_stats
