"""bench/ort_profile.py's trace summary: warm-up excluded, sums by op type and by network part."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def ort_profile():
    sys.path.insert(0, str(BENCH))  # the script imports its sibling ``results`` module
    spec = importlib.util.spec_from_file_location("ort_profile", BENCH / "ort_profile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ort_profile"] = module  # dataclasses resolve their module while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))
        del sys.modules["ort_profile"]


def node(name: str, op: str, ts: int, dur: int) -> dict:
    return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": op}}


def run_event(ts: int, dur: int) -> dict:
    return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur}


def test_trace_summary_by_op_type_and_part(ort_profile):
    events = [
        run_event(0, 9000),  # warm-up: its nodes are left out
        node("/scale_synthesis/lateral_0_0/f/f.1/Conv", "Conv", 10, 8000),
        run_event(10_000, 5000),
        node("/scale_synthesis/lateral_0_0/f/f.1/Conv", "Conv", 10_010, 2000),
        node("/moduleWeight1_us/moduleWeight1_us.7/Conv", "Conv", 10_020, 1000),
        node("/AdaptiveWarp", "AdaptiveWarp", 10_030, 1500),
        node("ReorderInput_token_1", "ReorderInput", 10_040, 500),
        run_event(20_000, 7000),
        node("/scale_synthesis/lateral_0_0/f/f.1/Conv", "Conv", 20_010, 4000),
        node("/moduleWeight1_us/moduleWeight1_us.7/Conv", "Conv", 20_020, 1000),
        node("/AdaptiveWarp", "AdaptiveWarp", 20_030, 1500),
        node("ReorderInput_token_1", "ReorderInput", 20_040, 500),
    ]
    profile = ort_profile.summarize_trace(events, runs=2, size="8x8")
    assert profile.wall_ms_per_run == pytest.approx(6.0)  # (5 + 7) ms / 2, warm-up excluded
    assert profile.kernel_ms_per_run == pytest.approx(6.0)  # (5 + 7) ms of kernels / 2
    by_type = {row.op_type: (row.nodes, row.ms_per_run) for row in profile.op_types}
    assert by_type == {"Conv": (2, 4.0), "AdaptiveWarp": (1, 1.5), "ReorderInput": (1, 0.5)}
    by_part = [(row.op_type, row.ms_per_run) for row in profile.parts]
    assert by_part == [
        ("GridNet synthesis", 3.0),
        ("warp (AdaptiveWarp plugin)", 1.5),
        ("kernel/offset heads", 1.0),
        ("reformat / copies", 0.5),
    ]
    assert sum(row.share for row in profile.parts) == pytest.approx(1.0)
    text = ort_profile.render(profile, top=2)
    assert "| network part | nodes | ms/run |" in text and "| other (2) | 2 | 1.5 | 25.0% |" in text
