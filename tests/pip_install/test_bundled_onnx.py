"""The demo weights' exported graphs in stmfnet_trt/weights/onnx/ are current (else `make bundled-onnx`).

They are committed so that a wheel runs the default weights without torch. Stale means: a file name
that is not today's cache key (new weights, opset, GRAPH_REVISION or package version), metadata
that disagrees, or a graph whose output no longer matches the PyTorch model within the export's own
parity rule (an exporter change without a GRAPH_REVISION bump).
"""

from __future__ import annotations

import onnx
import pytest

from stmfnet_trt.core.cache import onnx_cache_key
from stmfnet_trt.core.contract import META_CHECKPOINT_SHA256, META_OPSET, META_VARIANT, META_VERSION, OPSET
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.export.cache import cached_onnx
from stmfnet_trt.export.parity import PARITY_TOLERANCE, check_parity
from stmfnet_trt.weights import BUNDLED_ONNX_DIR, BUNDLED_VARIANTS, DEMO_CHECKPOINT

STALE = "stale bundled exports: run `make bundled-onnx` and commit stmfnet_trt/weights/onnx/"


def test_bundled_folder_holds_exactly_the_current_keys_and_the_cache_finds_them_first(tmp_path, monkeypatch):
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path))
    sha = file_sha256(DEMO_CHECKPOINT)
    expected = {onnx_cache_key(sha, variant) for variant in BUNDLED_VARIANTS}
    assert {p.name for p in BUNDLED_ONNX_DIR.iterdir()} == expected, STALE
    for variant in BUNDLED_VARIANTS:
        assert cached_onnx(DEMO_CHECKPOINT, variant, progress=False) == BUNDLED_ONNX_DIR / onnx_cache_key(
            sha, variant
        )
    assert not list(tmp_path.rglob("*")), "a bundled graph was exported again into the user cache"


@pytest.fixture(scope="module")
def reference():
    from stmfnet_trt.model.checkpoint import load_model

    return load_model(DEMO_CHECKPOINT)


@pytest.mark.parametrize("variant", BUNDLED_VARIANTS)
def test_bundled_graph_metadata_and_output_match_the_checkpoint(variant, reference):
    from stmfnet_trt.core.version import __version__

    path = BUNDLED_ONNX_DIR / onnx_cache_key(file_sha256(DEMO_CHECKPOINT), variant)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert (meta[META_VARIANT], meta[META_CHECKPOINT_SHA256], meta[META_OPSET], meta[META_VERSION]) == (
        variant,
        file_sha256(DEMO_CHECKPOINT),
        str(OPSET),
        __version__,
    ), STALE
    report = check_parity(path, reference, (128, 256), PARITY_TOLERANCE)
    assert report.passed, f"{STALE}: {report.summary()}"
