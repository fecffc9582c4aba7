"""A real Triton server (``serve``) and real client runs (``--backend triton``) on loopback.

The server runs the random-init ONNX graph in ONNX Runtime; clients interpolate the first frames
of a clip through it and must write exactly the frames a local ONNX Runtime run writes.
"""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
import pytest
from helpers import start_client, start_server

from stmfnet_trt.io import open_source
from stmfnet_trt.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

FRAMES = 4  # 3 windows per client at x2: seconds on 2 cores
# On PYTHONPATH as sitecustomize.py: `import torch` (or any torch.*) fails in that process.
NO_TORCH = """import importlib.abc, sys


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "torch":
            raise ImportError(f"{name} is blocked: this process must run without torch")
        return None


sys.meta_path.insert(0, NoTorch())
"""
THREADS = "2"
CLIENT_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def onnx_model():
    from stmfnet_trt.export.cache import cached_onnx
    from stmfnet_trt.plugins import default_ort_variant as _default_variant

    return cached_onnx(None, _default_variant(), progress=False)


@pytest.fixture(scope="module")
def server(serve_python, onnx_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(
        serve_python, log, ["--backend", "onnxruntime", "--onnx", str(onnx_model), "--threads", THREADS]
    )
    yield server
    if server.process.poll() is None:
        server.kill()


def read_frames(folder) -> np.ndarray:
    with open_source(folder) as source:
        return np.stack(list(source))


def finish(client, timeout: float = CLIENT_TIMEOUT_S) -> tuple[int, str]:
    output, _ = client.communicate(timeout=timeout)
    return client.returncode, output


def test_two_concurrent_clients_equal_the_local_backend(
    server, serve_python, onnx_model, assets_dir, tmp_path
):
    source = assets_dir / "carphone_12.mp4"
    clients = {
        protocol: start_client(
            serve_python,
            source,
            tmp_path / protocol,
            server.url(protocol),
            "--protocol",
            protocol,
            "--max-frames",
            str(FRAMES),
        )
        for protocol in ("grpc", "http")
    }
    local = tmp_path / "local"
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(onnx_model, threads=int(THREADS)))
    interpolate_video(source, local, backend, RunOptions(max_frames=FRAMES, progress=False))
    expected = read_frames(local)
    assert len(expected) == 2 * FRAMES
    for protocol, client in clients.items():
        status, output = finish(client)
        assert status == 0, output
        got = read_frames(tmp_path / protocol)
        assert got.shape == expected.shape
        differing = [i for i in range(len(got)) if not np.array_equal(got[i], expected[i])]
        assert differing == [], f"{protocol} client differs from the local run at frames {differing}"
    assert "Infer function available as model" in server.output() or server.ready()


def test_health_endpoints_answer(server):
    import urllib.request

    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/stmfnet_mini/ready"):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}{path}", timeout=5) as reply:
            assert reply.status == 200


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_another_version_is_a_clear_error(server, serve_python, assets_dir, tmp_path, protocol):
    output = tmp_path / "out.mp4"
    client = start_client(
        serve_python,
        assets_dir / "carphone_12.mp4",
        output,
        server.url(protocol),
        "--protocol",
        protocol,
        "--model-version",
        "2",
    )
    status, text = finish(client, 60)
    assert status == 2
    assert "does not serve model 'stmfnet_mini' version 2" in text
    assert not output.exists()


def test_no_server_is_a_clear_error(serve_python, assets_dir, tmp_path):
    from helpers import free_ports

    output = tmp_path / "out.mp4"
    (port,) = free_ports(1)
    client = start_client(
        serve_python, assets_dir / "carphone_12.mp4", output, f"127.0.0.1:{port}", "--request-retries", "1"
    )
    status, text = finish(client, 60)
    assert status == 2
    assert (
        f"the Triton server at 127.0.0.1:{port} (grpc) did not answer a liveness check after 2 tries" in text
    )
    assert not output.exists()


def test_server_killed_mid_run_stops_the_client_and_leaves_nothing(
    serve_python, onnx_model, assets_dir, tmp_path
):
    server = start_server(
        serve_python,
        tmp_path / "doomed.log",
        ["--backend", "onnxruntime", "--onnx", str(onnx_model), "--threads", "1"],
    )
    output = tmp_path / "out.mp4"
    client = start_client(
        serve_python, assets_dir / "carphone_12.mp4", output, server.url("grpc"), "--request-retries", "1"
    )
    time.sleep(6)  # 11 windows of about a second each: the run is under way
    assert client.poll() is None, "the client finished before the server could be killed"
    server.kill()
    status, text = finish(client, 60)
    assert status == 2, text
    assert "did not answer an inference request" in text
    assert not output.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no partial file


def test_sigterm_stops_the_server_cleanly(serve_python, tmp_path):
    server = start_server(serve_python, tmp_path / "server.log", ["--backend", "blend"])
    assert server.terminate() == 0
    assert "server stopped" in server.output()
    assert not server.ready()


def test_the_triton_client_runs_end_to_end_where_torch_cannot_be_imported(
    server, serve_python, onnx_model, assets_dir, tmp_path
):
    """Item 4 of issue 20: the whole `--backend triton` run (parsers, decoding, scheduling, the
    client, encoding) in a process where `import torch` fails, equal to a local run."""
    blocker = tmp_path / "no_torch"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_TORCH)
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    probe = subprocess.run(
        [serve_python, "-c", "import torch"], env=env, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode != 0 and "torch is blocked" in probe.stderr, probe.stderr
    frames = 3
    source = assets_dir / "carphone_12.mp4"
    client = start_client(
        serve_python, source, tmp_path / "remote", server.url("grpc"), "--max-frames", str(frames), env=env
    )
    status, output = finish(client)
    assert status == 0, output
    backend = OnnxRuntimeBackend(OnnxRuntimeOptions(onnx_model, threads=int(THREADS)))
    interpolate_video(source, tmp_path / "local", backend, RunOptions(max_frames=frames, progress=False))
    remote, local = read_frames(tmp_path / "remote"), read_frames(tmp_path / "local")
    assert remote.shape == local.shape and len(local) == 2 * frames
    assert np.array_equal(remote, local)
