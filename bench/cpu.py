"""CPU speed of the ONNX paths against torch eager, as ratios measured in one run.

    python bench/onnx_cpu.py [--sizes 256x256 544x960] [--repeats 3] [--threads 2]

Backends: torch eager (the reference), ONNX Runtime on the portable graph, ONNX Runtime on the
plugin graph (our AdaptiveWarp CPU op, fused softmax). Each backend is warmed up once, then the
repeats are interleaved (A B C A B C ...) so that machine noise hits all alike; the median time
per interpolated frame is reported with its ratio to torch eager from the same run. Writes
``bench/results/onnx_cpu.json`` and the table in ``bench/RESULTS.md`` (between its markers).
Speed does not depend on the weights, so random-init weights are used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import write_section  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def build_backends(threads: int) -> dict:
    from stmfnet_trt.export.cache import cached_onnx
    from stmfnet_trt.runtime.onnxruntime_backend import OnnxRuntimeBackend, OnnxRuntimeOptions
    from stmfnet_trt.runtime.torch_backend import TorchBackend, TorchOptions

    return {
        "torch eager": TorchBackend(TorchOptions(random_init_seed=0, device="cpu", threads=threads)),
        "ORT portable": OnnxRuntimeBackend(
            OnnxRuntimeOptions(cached_onnx(None, "portable"), threads=threads)
        ),
        "ORT custom op": OnnxRuntimeBackend(OnnxRuntimeOptions(cached_onnx(None, "plugin"), threads=threads)),
    }


def measure(backends: dict, size: tuple[int, int], repeats: int) -> dict[str, list[float]]:
    from stmfnet_trt.export.exporter import random_frames

    window = random_frames((1, 4, 3, *size), seed=0)
    for backend in backends.values():
        backend.interpolate(window)  # warm-up: allocations, ORT arena, oneDNN primitives
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(repeats):
        for name, backend in backends.items():
            start = time.perf_counter()
            backend.interpolate(window)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(256, 256), (544, 960)])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "onnx_cpu.json")
    args = parser.parse_args()

    import onnxruntime
    import torch

    backends = build_backends(args.threads)
    rows = []
    for size in args.sizes:
        times = measure(backends, size, args.repeats)
        eager = statistics.median(times["torch eager"])
        for name, samples in times.items():
            median = statistics.median(samples)
            rows.append(
                {
                    "size": f"{size[0]}x{size[1]}",
                    "backend": name,
                    "median_s": median,
                    "frames_per_s": 1 / median,
                    "speedup_vs_eager": eager / median,
                    "samples_s": samples,
                }
            )
    record = {
        "benchmark": "onnx_cpu",
        "date": datetime.date.today().isoformat(),
        "device": f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads",
        "versions": {
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "repeats": args.repeats,
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    table = [
        "| size | backend | median s/frame | frames/s | speed-up vs torch eager |",
        "|---|---|---|---|---|",
    ]
    table += [
        f"| {r['size']} | {r['backend']} | {r['median_s']:.2f} | {r['frames_per_s']:.2f} | "
        f"{r['speedup_vs_eager']:.2f}x |"
        for r in rows
    ]
    header = (
        f"Measured {record['date']} on {record['device']}; torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}; median of {args.repeats} interleaved runs after warm-up."
    )
    print("\n".join([header, "", *table]))
    write_section(HERE / "RESULTS.md", "onnx_cpu", "\n".join([header, "", *table]))


if __name__ == "__main__":
    main()
