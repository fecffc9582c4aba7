"""The shared first half of every precision pass: an FP32 export's core, ready for a tool.

Finds the warp region, runs the full FP32 model once on the first window to type the warp's
boundary, cuts the region out and saves the core in a private temporary folder (the ModelOpt
passes write next to their input and may rewrite it). Also hands out the runner that computes
the core's inputs for any window.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from stmfnet_trt.calibration.feeds import BoundaryRunner, CoreFeeds
from stmfnet_trt.calibration.split import boundary_types, rejoin, split_core
from stmfnet_trt.calibration.warp_region import WarpRegion, find_warp_region
from stmfnet_trt.core.contract import META_PREFIX, OUTPUT_NAME
from stmfnet_trt.core.errors import UserError

META_PRECISION = META_PREFIX + "precision"


@dataclass(frozen=True)
class PreparedCore:
    """A core graph saved at ``path`` inside the scratch folder ``work``."""

    model: onnx.ModelProto
    region: WarpRegion
    core: onnx.ModelProto
    path: Path
    work: Path
    runner: BoundaryRunner

    def feeds(self, windows: np.ndarray) -> CoreFeeds:
        """Calibration reader: the core's inputs for each window, computed when asked for."""
        return CoreFeeds(self.runner, windows, self.region.outputs)

    def rejoin(self, converted: onnx.ModelProto) -> onnx.ModelProto:
        """The full model again, from a converted core."""
        return rejoin(converted, self.model, self.region)


def load_fp32(path: Path) -> onnx.ModelProto:
    """An FP32 export; UserError for a missing file or one that is already low precision."""
    if not path.is_file():
        raise UserError(f"ONNX model not found: {path}")
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    if META_PRECISION in meta or any(n.op_type == "QuantizeLinear" for n in model.graph.node):
        raise UserError(
            f"{path} is already a low-precision model ({meta.get(META_PRECISION, 'Q/DQ')}); "
            "start from the FP32 export"
        )
    return model


@contextmanager
def prepared_core(fp32_onnx: Path, windows: np.ndarray) -> Iterator[PreparedCore]:
    """The core of ``fp32_onnx`` with static shapes of ``windows`` (N, 4, 3, H, W)."""
    model = load_fp32(fp32_onnx)
    region = find_warp_region(model)
    with tempfile.TemporaryDirectory(prefix="stmfnet-precision-") as scratch:
        work = Path(scratch)
        runner = BoundaryRunner(model, region.outputs, work)
        observed = runner(windows[0], [*region.outputs, OUTPUT_NAME])
        core = split_core(model, region, boundary_types(model, region, windows.shape[-2:], observed))
        path = work / "core.onnx"
        onnx.save_model(core, str(path))
        yield PreparedCore(model, region, core, path, work, runner)
