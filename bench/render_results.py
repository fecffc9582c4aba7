"""Render the `stmfnet-trt bench` JSON files of every device into bench/RESULTS.md.

Each device's run writes one file (``stmfnet-trt bench ... --json bench/results/bench-DEVICE.json``);
this script turns all of them into the ``bench`` section of RESULTS.md, one table per file with its
device, date and software versions, plus the per-layer profiles of `--layers` runs. Devices we
target but have not measured yet stay listed with the command that fills their row.

    python bench/render_results.py            # after adding or refreshing a JSON file
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from results import write_section  # noqa: E402

from stmfnet_trt.bench.layers import LayerTime, render  # noqa: E402
from stmfnet_trt.bench.report import table  # noqa: E402
from stmfnet_trt.bench.suite import BenchRecord, Row  # noqa: E402

# (device, the command to run there); a device row stays a template until its JSON exists.
TARGETS = {
    "cpu": (
        "CPU, 2 cores (this project's CI machines)",
        "stmfnet-trt bench --backends onnxruntime,torch,blend --sizes 256 --threads 2 "
        "--random-init --json bench/results/bench-cpu.json",
    ),
    "h100": (
        "NVIDIA H100, torch eager (a lent GPU session: no TensorRT could be installed there)",
        "scripts/gpu_session.sh (its bench stage: stmfnet-trt bench --backends torch,blend --device cuda "
        "--sizes 256 540p 720p 1080p 4k --json bench/results/bench-h100.json)",
    ),
    "h100-trt": (
        "NVIDIA H100, classic TensorRT engines",
        "for p in fp32 fp16 int8; do stmfnet-trt build model.onnx --precision $p --calib clip.mp4 "
        "--target tensorrt -o h100_$p.plan; done; stmfnet-trt bench --backends torch,blend --engines "
        "h100_fp32.plan h100_fp16.plan h100_int8.plan --sizes 540p 720p 1080p 4k --layers "
        "--json bench/results/bench-h100-trt.json",
    ),
    "rtx4090": (
        "GeForce RTX 4090 (TensorRT-RTX)",
        "the same with --target rtx --sm 89 -> bench/results/bench-rtx4090.json",
    ),
    "orin": (
        "Jetson AGX Orin, MAXN (TensorRT 10.3)",
        "the same with --target tensorrt on the board, sizes 540p 720p 1080p "
        "-> bench/results/bench-orin.json",
    ),
}


def render_file(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    profiles = data.pop("layer_profiles", {})
    record = BenchRecord(**{**data, "rows": [Row(**row) for row in data["rows"]]})
    lines = [f"### {path.stem.removeprefix('bench-')}", "", table(record)]
    if path.with_suffix(".png").is_file():  # written by the same run's --plot
        lines += ["", f"![latency per resolution]({path.parent.name}/{path.with_suffix('.png').name})"]
    for label, layers in profiles.items():
        lines += ["", f"Per-layer time, {label}:", "", render([LayerTime(**layer) for layer in layers])]
    return lines


def main() -> None:
    files = sorted((HERE / "results").glob("bench-*.json"))
    measured = {path.stem.removeprefix("bench-") for path in files}
    lines = [
        "Rendered by `python bench/render_results.py` from `bench/results/bench-*.json`. Ratios within one",
        "table were measured in one run; compare absolute times only within a device.",
        "",
        "| device | status | command that fills it |",
        "|---|---|---|",
    ]
    for key, (device, command) in TARGETS.items():
        status = "measured (below)" if key in measured else "**not measured yet**"
        lines.append(f"| {device} | {status} | `{command}` |")
    for path in files:
        lines += ["", *render_file(path)]
    write_section(HERE / "RESULTS.md", "bench", "\n".join(lines))
    print(f"rendered {len(files)} file(s) into {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
