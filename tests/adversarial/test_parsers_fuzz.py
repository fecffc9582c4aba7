"""Property-based attacks on the parsers that read what a user or a stranger hands us (issue 20,
item 6): engine sidecars, the ONNX export stamp and interface, our folder marker, and the one-line
rendering of OS errors. Each either accepts its input or refuses it with one ``UserError`` line;
nothing else may escape. Bounded for CI: a few hundred examples, a deadline per example.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stmfnet_trt.core.contract import (
    CONTRACT_TEXT,
    INPUT_NAMES,
    META_CHECKPOINT_SHA256,
    META_CONTRACT,
    META_VARIANT,
    OUTPUT_NAME,
    TensorInfo,
    check_export_contract,
)
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.signals import describe_os_error
from stmfnet_trt.engine.sidecar import EngineTrustError, parse_sidecar
from stmfnet_trt.io.atomic import OUTPUT_MARKER, folder_entries_of_ours

BOUNDED = settings(
    max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_subnormal=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
SIDECAR_KEYS = [
    "flavour",
    "tensorrt_version",
    "engine_sha256",
    "profiles",
    "plugin_sha256",
    "builder",
    "layers",
]
sidecars = st.dictionaries(st.sampled_from(SIDECAR_KEYS) | st.text(max_size=8), json_values, max_size=8)


def _one_line(error: Exception) -> None:
    assert "\n" not in str(error) and str(error).strip()


@BOUNDED
@given(st.one_of(sidecars.map(json.dumps), st.text(max_size=200), st.binary(max_size=200).map(repr)))
def test_a_sidecar_parses_or_is_refused_in_one_line(text):
    try:
        parsed = parse_sidecar(text, Path("engine.plan.json"))
    except EngineTrustError as error:
        _one_line(error)
        return
    assert isinstance(parsed, dict) and isinstance(parsed["engine_sha256"], str)


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_a_deeply_nested_sidecar_is_refused_not_a_recursion_error(depth):
    with pytest.raises(EngineTrustError):
        parse_sidecar("[" * depth + "]" * depth, Path("engine.plan.json"))


dims = st.one_of(st.integers(-2, 5), st.sampled_from(["N", "H", "W", ""]), st.none())
tensors = st.builds(
    TensorInfo,
    st.sampled_from([*INPUT_NAMES, OUTPUT_NAME, "x", ""]),
    st.sampled_from(["tensor(float)", "tensor(float16)", "tensor(int64)", "seq(tensor(float))"]),
    st.lists(dims, max_size=6).map(tuple),
)
stamps = st.dictionaries(
    st.sampled_from([META_VARIANT, META_CHECKPOINT_SHA256, META_CONTRACT, "other"]),
    st.sampled_from(["plugin", "cpu", "portable", "", "ab" * 32, CONTRACT_TEXT, "x" * 300]),
)


@BOUNDED
@given(stamps, st.lists(tensors, max_size=6), st.lists(tensors, max_size=3), st.booleans())
def test_the_export_contract_check_accepts_or_refuses_in_one_line(metadata, inputs, outputs, force):
    try:
        check_export_contract("m.onnx", metadata, inputs, outputs, force=force)
    except UserError as error:
        _one_line(error)
        return
    assert tuple(t.name for t in inputs) == INPUT_NAMES and [t.name for t in outputs] == [OUTPUT_NAME]
    assert all(t.dtype == "tensor(float)" and len(t.shape) == 4 for t in [*inputs, *outputs])
    assert force or (metadata.get(META_CONTRACT) == CONTRACT_TEXT and metadata.get(META_CHECKPOINT_SHA256))


@BOUNDED
@given(st.one_of(json_values.map(json.dumps), st.binary(max_size=100).map(lambda b: b.decode("latin-1"))))
def test_a_folder_marker_is_ours_only_when_it_lists_names(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("marker")
    (folder / OUTPUT_MARKER).write_text(content, encoding="latin-1")
    entries = folder_entries_of_ours(folder)
    assert entries is None or all(isinstance(name, str) for name in entries)


@BOUNDED
@given(
    st.one_of(st.none(), st.sampled_from([errno.ENOSPC, errno.EACCES, errno.EIO, 0, -1, 10_000])),
    st.one_of(st.none(), st.text(max_size=50)),
    st.one_of(st.none(), st.text(max_size=50)),
)
def test_an_os_error_renders_as_one_line(code, reason, filename):
    error = OSError(code, reason) if code is not None and reason is not None else OSError(reason or "")
    error.filename = filename
    line = describe_os_error(error)
    assert isinstance(line, str) and line.strip() and "\n" not in line
