"""Which wire ``--backend triton`` picks, against servers that do and do not serve the stream model
(a fake tritonclient: the server's answers are what matters here, not the transport)."""

from __future__ import annotations

import types

import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backends import triton_client as client_module
from stmfnet_trt.runtime.backends.triton_client import TritonBackend, TritonOptions
from stmfnet_trt.runtime.backends.triton_model import INPUT_NAMES, OUTPUT_NAME
from stmfnet_trt.runtime.backends.triton_stream_model import STREAM_INPUTS, STREAM_OUTPUT_SPECS

WINDOWS = {
    "inputs": [{"name": n, "datatype": "FP32", "shape": [-1, 3, -1, -1]} for n in INPUT_NAMES],
    "outputs": [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1, 3, -1, -1]}],
    "versions": ["1"],
}
STREAM = {
    "inputs": [{"name": n, "datatype": s.datatype, "shape": list(s.dims)} for n, s in STREAM_INPUTS.items()],
    "outputs": [
        {"name": n, "datatype": s.datatype, "shape": list(s.dims)} for n, s in STREAM_OUTPUT_SPECS.items()
    ],
}


def fake_tritonclient(models: dict[str, dict]):
    """A tritonclient.http stand-in whose server serves ``models`` (name -> metadata)."""

    class InferenceServerClient:
        def __init__(self, url, **kwargs) -> None:
            pass

        def is_server_live(self) -> bool:
            return True

        def is_model_ready(self, name, version="") -> bool:
            return name in models

        def get_model_metadata(self, name, version=""):
            return models[name]

        def close(self) -> None:
            pass

    return types.SimpleNamespace(InferenceServerClient=InferenceServerClient)


@pytest.fixture
def serving(monkeypatch):
    def serve(models: dict[str, dict]) -> None:
        monkeypatch.setattr(client_module, "_module", lambda protocol: fake_tritonclient(models))

    return serve


def backend(wire: str) -> TritonBackend:
    return TritonBackend(TritonOptions(url="x:8000", protocol="http", wire=wire))


@pytest.mark.parametrize(
    ("models", "wire", "streams"),
    [
        ({"stmfnet_mini": WINDOWS, "stmfnet_mini_stream": STREAM}, "auto", True),
        ({"stmfnet_mini": WINDOWS, "stmfnet_mini_stream": STREAM}, "windows", False),
        ({"stmfnet_mini": WINDOWS}, "auto", False),  # a stock tritonserver on a triton-repo
    ],
)
def test_the_wire_follows_what_the_server_serves(serving, models, wire, streams):
    serving(models)
    with backend(wire) as triton:
        assert triton.takes_video_frames is streams


def test_asking_for_streams_from_a_server_without_them_is_one_clear_error(serving):
    serving({"stmfnet_mini": WINDOWS})
    with pytest.raises(UserError, match="does not serve the stream model 'stmfnet_mini_stream'"):
        backend("stream")


def test_a_stream_model_with_other_tensors_is_refused(serving):
    other = {**STREAM, "inputs": STREAM["inputs"][:-1]}
    serving({"stmfnet_mini": WINDOWS, "stmfnet_mini_stream": other})
    with pytest.raises(UserError, match="not our stream model's"):
        backend("auto")


def test_an_unknown_wire_is_refused(serving):
    serving({"stmfnet_mini": WINDOWS})
    with pytest.raises(UserError, match="wire must be one of auto, stream, windows, got 'udp'"):
        backend("udp")
