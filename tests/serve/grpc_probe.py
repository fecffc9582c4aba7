"""Hostile gRPC requests against a server on loopback; prints {case: [status code, details]} as JSON.

Run in the serve environment (grpcio and tritonclient's protobuf messages live there); raw bytes
go through the channel, so malformed messages reach the server exactly as written here.

    python grpc_probe.py HOST:PORT
"""

from __future__ import annotations

import json
import sys

import grpc
import numpy as np
from tritonclient.grpc import service_pb2

SERVICE = "/inference.GRPCInferenceService/"
NAMES = ("frame0", "frame1", "frame2", "frame3")
MODEL = "stmfnet_mini"


def request(shape, data: list[bytes] | None = None, model: str = MODEL, datatype: str = "FP32") -> bytes:
    """A ModelInferRequest declaring ``shape`` for each frame, carrying ``data`` as raw contents."""
    message = service_pb2.ModelInferRequest(model_name=model)
    for name in NAMES:
        message.inputs.add(name=name, datatype=datatype, shape=shape)
    if data is not None:
        message.raw_input_contents.extend(data)
    return message.SerializeToString()


def stream_request(*inputs: tuple[str, str, list[int], bytes]) -> bytes:
    """A ModelInferRequest for the stream model: (name, datatype, shape, raw contents) each."""
    message = service_pb2.ModelInferRequest(model_name=MODEL + "_stream")
    for name, datatype, shape, data in inputs:
        message.inputs.add(name=name, datatype=datatype, shape=shape)
        message.raw_input_contents.append(data)
    return message.SerializeToString()


def frames(shape, value: float = 0.5) -> list[bytes]:
    return [np.full(shape, value, dtype="<f4").tobytes() for _ in NAMES]


def cases() -> dict[str, tuple[str, bytes]]:
    small = [1, 3, 128, 128]
    nan = frames(small)
    nan[2] = np.full(small, np.nan, dtype="<f4").tobytes()
    typed = service_pb2.ModelInferRequest(model_name=MODEL)
    for name in NAMES:
        tensor = typed.inputs.add(name=name, datatype="INT64", shape=small)
        tensor.contents.int64_contents.extend([0] * 4)
    mismatched = service_pb2.ModelInferRequest(model_name=MODEL)
    for index, name in enumerate(NAMES):
        mismatched.inputs.add(name=name, datatype="FP32", shape=[1, 3, 128, 128 if index else 256])
    mismatched.raw_input_contents.extend(
        np.zeros(s, "<f4").tobytes() for s in ([1, 3, 128, 256], *[[1, 3, 128, 128]] * 3)
    )
    typed_frame = service_pb2.ModelInferRequest(model_name=MODEL + "_stream")
    typed_frame.inputs.add(name="stream_id", datatype="UINT64", shape=[1]).contents.uint64_contents.append(5)
    typed_frame.inputs.add(name="frame_index", datatype="INT64", shape=[1]).contents.int64_contents.append(1)
    frame = typed_frame.inputs.add(name="frame", datatype="UINT8", shape=[128, 128, 3])
    frame.contents.fp32_contents.extend([0.5] * (128 * 128 * 3))
    stream_id = ("stream_id", "UINT64", [1], np.array([5], "<u8").tobytes())
    frame_index = ("frame_index", "INT64", [1], np.array([3], "<i8").tobytes())
    infer = SERVICE + "ModelInfer"
    return {
        "stream_typed_frame": (infer, typed_frame.SerializeToString()),
        "stream_not_open": (
            infer,
            stream_request(stream_id, frame_index, ("frame", "UINT8", [128, 128, 3], b"\0" * 128 * 128 * 3)),
        ),
        "stream_flat_frame": (
            infer,
            stream_request(stream_id, frame_index, ("frame", "UINT8", [128, 384], b"\0" * 128 * 384)),
        ),
        "valid": (infer, request(small, frames(small, 0.25))),
        "huge_declared_shape": (infer, request([1, 3, 100000, 100000], [b""] * 4)),
        "negative_dims": (infer, request([1, 3, -128, 128], [b""] * 4)),
        "zero_batch": (infer, request([0, 3, 128, 128], [b""] * 4)),
        "wrong_rank": (infer, request([3, 128, 128], frames([3, 128, 128]))),
        "wrong_dtype": (infer, typed.SerializeToString()),
        "nan_values": (infer, request(small, nan)),
        "short_data": (infer, request(small, [b"\0" * 10] * 4)),
        "mismatched_frames": (infer, mismatched.SerializeToString()),
        "unknown_model": (infer, request(small, frames(small), model="other")),
        "garbage": (infer, b"\xff\x00garbage" * 10),
        "truncated": (infer, request(small, frames(small))[:-100]),
        "over_byte_cap": (infer, request([2, 3, 256, 256], frames([2, 3, 256, 256]))),
        "stream": (SERVICE + "ModelStreamInfer", b""),
        "unload_model": (SERVICE + "RepositoryModelUnload", b""),
        "shared_memory": (SERVICE + "SystemSharedMemoryRegister", b""),
    }


def main() -> int:
    channel = grpc.insecure_channel(
        sys.argv[1], options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    )
    results = {}
    for name, (method, payload) in cases().items():
        call = channel.unary_unary(method) if name != "stream" else channel.stream_stream(method)
        try:
            reply = call(payload, timeout=30) if name != "stream" else list(call(iter([payload]), timeout=30))
        except grpc.RpcError as error:
            results[name] = [error.code().name, error.details()]
            continue
        if name == "valid":
            middle = service_pb2.ModelInferResponse.FromString(reply)
            values = np.frombuffer(middle.raw_output_contents[0], dtype="<f4")
            results[name] = ["OK", [float(values.min()), float(values.max()), int(values.size)]]
        else:
            results[name] = ["OK", ""]
    print(json.dumps(results))
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
