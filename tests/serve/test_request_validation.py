"""Property-based tests of the request check that ``serve`` runs before tritonserver sees a request.

Whatever a client sends, the check either accepts a request that fits the contract and the
limits, or refuses it with one line (RequestRefused); never another exception, never an
allocation sized by a declared shape. Bounded for CI: a few hundred examples, seconds each.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stmfnet_trt.runtime.backends.triton_model import (
    INPUT_NAMES,
    INTERNAL_ERROR,
    MAX_HEADER_BYTES,
    REFUSAL_MARK,
    RequestLimits,
    RequestRefused,
    TensorDeclaration,
    check_infer_request,
    check_request_parameters,
    http_infer_tensors,
    one_line_error,
)

LIMITS = RequestLimits(max_batch_size=2, max_side=256, max_pixels=256 * 192)
BOUNDED = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

dims = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-2, 300),
    st.booleans(),
    st.floats(allow_nan=True, allow_subnormal=False),
    st.text(max_size=3),
    st.none(),
)
shapes = st.one_of(st.lists(dims, max_size=6), st.tuples(dims, dims, dims, dims), dims)


def binary_body(arrays: dict[str, np.ndarray], extra: dict | None = None) -> tuple[bytes, int]:
    """A KServe v2 binary request: JSON header, then each tensor's little-endian bytes."""
    header = {
        "inputs": [
            {
                "name": name,
                "datatype": "FP32",
                "shape": list(array.shape),
                "parameters": {"binary_data_size": array.nbytes},
            }
            for name, array in arrays.items()
        ],
        **(extra or {}),
    }
    text = json.dumps(header).encode()
    return text + b"".join(a.astype("<f4").tobytes() for a in arrays.values()), len(text)


@st.composite
def valid_windows(draw) -> dict[str, np.ndarray]:
    batch = draw(st.integers(1, LIMITS.max_batch_size))
    height = draw(st.sampled_from([65, 128, 130, 192, 256]))
    width = draw(st.sampled_from([65, 100, 128, 192]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {name: rng.random((batch, 3, height, width), dtype=np.float32) for name in INPUT_NAMES}


@BOUNDED
@given(
    shape=shapes,
    data_bytes=st.integers(-10, 10**12),
    exact=st.booleans(),
    datatype=st.sampled_from(["FP32", "FP32", "FP16", "", 3]),
)
def test_any_declared_shape_is_accepted_within_limits_or_refused(shape, data_bytes, exact, datatype):
    if exact and isinstance(shape, (list, tuple)) and all(type(d) is int for d in shape):
        data_bytes = math.prod(shape) * 4  # the bytes match: only the shape can be wrong
    declared = [TensorDeclaration(name, datatype, shape, data_bytes) for name in INPUT_NAMES]
    try:
        batch, channels, height, width = check_infer_request(declared, LIMITS)
    except RequestRefused as refusal:
        assert "\n" not in str(refusal)
        return
    assert datatype == "FP32" and channels == 3
    assert 1 <= batch <= LIMITS.max_batch_size
    assert max(height, width) <= LIMITS.max_side and height * width <= LIMITS.max_pixels
    assert data_bytes == batch * 3 * height * width * 4


@BOUNDED
@given(
    batch=st.integers(-1, 4),
    channels=st.integers(2, 4),
    height=st.integers(-1, 400),
    width=st.integers(-1, 400),
)
def test_a_request_carrying_its_bytes_is_accepted_exactly_when_it_fits(batch, channels, height, width):
    shape = [batch, channels, height, width]
    declared = [TensorDeclaration(n, "FP32", shape, max(0, math.prod(shape)) * 4) for n in INPUT_NAMES]
    fits = (
        1 <= batch <= LIMITS.max_batch_size
        and channels == 3
        and all(s >= 65 for s in (height, width))  # reflect padding needs a side > 64
        and max(height, width) <= LIMITS.max_side
        and height * width <= LIMITS.max_pixels
    )
    if fits:
        assert check_infer_request(declared, LIMITS) == tuple(shape)
    else:
        with pytest.raises(RequestRefused):
            check_infer_request(declared, LIMITS)


@BOUNDED
@given(body=st.binary(max_size=2048), header_length=st.one_of(st.none(), st.integers(-5, 4096)))
def test_arbitrary_bytes_are_refused_with_one_line(body, header_length):
    with pytest.raises(RequestRefused) as refusal:
        http_infer_tensors(body, header_length, LIMITS)
    assert "\n" not in str(refusal.value) and len(str(refusal.value)) < 400


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_subnormal=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
input_like = st.fixed_dictionaries(
    {
        "name": st.sampled_from([*INPUT_NAMES, "x"]),
        "datatype": st.sampled_from(["FP32", "INT8"]),
        "shape": shapes,
    },
    optional={"data": json_values, "parameters": json_values},
)


@BOUNDED
@given(
    header=st.fixed_dictionaries(
        {"inputs": st.lists(input_like, max_size=5)},
        optional={"outputs": json_values, "parameters": json_values},
    )
)
def test_json_requests_of_any_structure_never_escape_the_check(header):
    body = json.dumps(header).encode()
    try:
        result = http_infer_tensors(body, None, LIMITS)
    except RequestRefused:
        return
    assert [t.name for t, _ in result] == [i["name"] for i in header["inputs"]]


@BOUNDED
@given(
    parameters=st.dictionaries(
        st.sampled_from(["priority", "timeout", "binary_data_output", "x"]), json_values
    )
)
def test_request_parameters_are_accepted_only_with_the_types_triton_reads(parameters):
    try:
        check_request_parameters(parameters)
    except RequestRefused:
        return
    for key, value in parameters.items():
        if key == "binary_data_output":
            assert isinstance(value, bool)
        else:
            assert key in ("priority", "timeout") and type(value) is int and 0 <= value < 2**64


@BOUNDED
@given(windows=valid_windows())
def test_valid_binary_requests_pass_and_carry_their_values(windows):
    body, header_length = binary_body(
        windows, {"outputs": [{"name": "middle", "parameters": {"binary_data": True}}]}
    )
    result = http_infer_tensors(body, header_length, LIMITS)
    assert [t.name for t, _ in result] == list(windows)
    for (tensor, values), array in zip(result, windows.values(), strict=True):
        assert tensor.shape == list(array.shape)
        np.testing.assert_array_equal(values.reshape(array.shape), array)


@BOUNDED
@given(
    windows=valid_windows(),
    where=st.integers(0, 3),
    bad=st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.5, 2.0]),
)
def test_a_value_outside_the_image_range_is_refused(windows, where, bad):
    name = INPUT_NAMES[where]
    windows[name].flat[len(windows[name].flat) // 2] = bad
    body, header_length = binary_body(windows)
    with pytest.raises(RequestRefused, match=f"input {name} values must lie in"):
        http_infer_tensors(body, header_length, LIMITS)


@BOUNDED
@given(
    batch=st.integers(1, 10**6),
    height=st.integers(1, 10**6),
    width=st.integers(1, 10**6),
    json_data=st.booleans(),
)
def test_declared_sizes_allocate_nothing(batch, height, width, json_data):
    """A small request declaring a huge tensor is refused with no allocation sized by it."""
    shape = [batch, 3, height, width]
    if json_data:
        inputs = [{"name": n, "datatype": "FP32", "shape": shape, "data": [0.5]} for n in INPUT_NAMES]
        body, header_length = json.dumps({"inputs": inputs}).encode(), None
    else:
        size = math.prod(shape) * 4
        params = {"binary_data_size": size}
        inputs = [{"name": n, "datatype": "FP32", "shape": shape, "parameters": params} for n in INPUT_NAMES]
        body = json.dumps({"inputs": inputs}).encode()
        header_length = len(body)
    tracemalloc.start()
    try:
        with pytest.raises(RequestRefused):
            http_infer_tensors(body, header_length, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024


def test_the_crash_request_of_issue_20_is_refused_by_the_frame_cap():
    inputs = [
        {"name": n, "shape": [1, 3, 100000, 100000], "datatype": "FP32", "data": [0]} for n in INPUT_NAMES
    ]
    with pytest.raises(RequestRefused, match="exceed this server's limit") as refusal:
        http_infer_tensors(json.dumps({"inputs": inputs}).encode(), None, RequestLimits())
    assert refusal.value.status == 413


@BOUNDED
@given(text=st.text(max_size=600))
def test_server_errors_reach_clients_as_one_line_without_internals(text):
    message = one_line_error(text)
    assert "\n" not in message and "\r" not in message and len(message) <= 300
    assert "Traceback" not in message and ".py" not in message


@BOUNDED
@given(
    message=st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1, max_size=200)
)
def test_a_marked_refusal_inside_a_traceback_comes_out_alone(message):
    wrapped = (
        "Failed to process the request(s) for model 'stmfnet_mini_0_0', message: TritonModelException: "
        'Traceback (most recent call last):\n  File "/work/x/server.py", line 80, in infer\n'
        "stmfnet_trt.runtime.backends.triton_model.RequestRefused: "
        f"{REFUSAL_MARK}{message}\n\nAt:\n  /tmp/f/1/model.py(501)"
    )
    assert one_line_error(wrapped) == (" ".join(message.split())[:300] or INTERNAL_ERROR)


def test_limits_bound_the_bytes_of_a_request():
    limits = RequestLimits(max_batch_size=3, max_side=512, max_pixels=512 * 256)
    assert limits.max_tensor_bytes == 3 * 3 * 512 * 256 * 4
    assert limits.max_body_bytes == 4 * limits.max_tensor_bytes + MAX_HEADER_BYTES
    for bad in (0, -1, True, 2.5):
        with pytest.raises(Exception, match="must be an integer >= 1"):
            RequestLimits(max_side=bad)
