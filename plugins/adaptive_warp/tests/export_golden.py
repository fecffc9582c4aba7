"""Write the warp test cases as small binary files that the C++ host tests read without Python.

Sources:
* ``tests/data/warp_cases.npz`` (golden cases from the spec: K = 5, dilation = 1), copied as they are;
* extra cases made here with the spec's literal loop port ``warp_loop`` (imported from
  ``reference_warp.py`` at generation time only): K = 3 with dilation 2 and C = 5, which also
  exercises a second channel chunk of the kernel's 4-channel accumulator.

File format (little endian), one case per file, read by ``warp_case_io.h`` and by
``tests/plugins/test_plugins_native.py``::

    8 bytes   magic b"SWCASE1\\0"
    int32     kernel_size
    int32     dilation
    5 times   int32 dims[4], then float32 data (C order):
              image (padded), weight, offset_v, offset_h, output

Run from the repository root after changing a case (the outputs are committed)::

    .venv/bin/python plugins/adaptive_warp/tests/export_golden.py
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

MAGIC = b"SWCASE1\0"
TENSORS = ("image", "weight", "offset_v", "offset_h", "output")
REPO = Path(__file__).resolve().parents[3]
DEFAULT_REFERENCE = Path("/work/shared/spec/tools/reference_warp.py")

# name -> (B, C, H, W, kernel_size, dilation, seed) of the cases computed here with warp_loop.
EXTRA_CASES = {
    "extra_k3_d2": (2, 5, 6, 7, 3, 2, 20251126),
}


def write_case(path: Path, kernel_size: int, dilation: int, arrays: dict[str, np.ndarray]) -> None:
    """Write one case in the format described in the module docstring."""
    with path.open("wb") as f:
        f.write(MAGIC)
        f.write(np.array([kernel_size, dilation], dtype="<i4").tobytes())
        for name in TENSORS:
            a = np.ascontiguousarray(arrays[name], dtype="<f4")
            if a.ndim != 4:
                raise ValueError(f"{path.name}: {name} must be 4-D, got shape {a.shape}")
            f.write(np.array(a.shape, dtype="<i4").tobytes())
            f.write(a.tobytes())


def load_reference(path: Path) -> ModuleType:
    """Import reference_warp.py from the spec (only needed to regenerate the extra cases)."""
    spec = importlib.util.spec_from_file_location("reference_warp", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import the reference warp from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_golden(npz_path: Path, out_dir: Path) -> list[Path]:
    """Copy the five spec cases (K = 5, dilation = 1)."""
    written = []
    with np.load(npz_path) as z:
        n = 0
        while f"case{n}_output" in z.files:
            arrays = {
                "image": z[f"case{n}_image_padded"],
                "weight": z[f"case{n}_weight"],
                "offset_v": z[f"case{n}_offset_v"],
                "offset_h": z[f"case{n}_offset_h"],
                "output": z[f"case{n}_output"],
            }
            path = out_dir / f"golden_case{n}.bin"
            write_case(path, 5, 1, arrays)
            written.append(path)
            n += 1
    return written


def export_extra(reference: ModuleType, out_dir: Path) -> list[Path]:
    """Random cases (softmax weights, negative fractions, far offsets) run through warp_loop."""
    written = []
    for name, (b, c, h, w, k, d, seed) in EXTRA_CASES.items():
        rng = np.random.default_rng(seed)
        image, weight, off_v, off_h = reference.random_case(rng, b, c, h, w, K=k, dilation=d)
        output = reference.warp_loop(image, weight, off_v, off_h, dilation=d)
        arrays = {"image": image, "weight": weight, "offset_v": off_v, "offset_h": off_h, "output": output}
        path = out_dir / f"{name}.bin"
        write_case(path, k, d, arrays)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", type=Path, default=REPO / "tests" / "data" / "warp_cases.npz")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="path of reference_warp.py")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    written = export_golden(args.npz, args.out) + export_extra(load_reference(args.reference), args.out)
    for path in written:
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
