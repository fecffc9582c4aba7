"""Time the AdaptiveWarp CUDA kernel at full-scale warp shapes (GPU only).

Calls the kernel through the plugin library's C ABI on torch CUDA tensors (no TensorRT needed), at
1080p and 4K with the model's warp shape (C = 3, K = 5, dilation 1), FP32 and FP16 I/O, with and
without the fused tap softmax. Reports the median time, the effective bandwidth of the compulsory
traffic (weights + both offsets + image read once, output written once) and its share of the
device's peak DRAM bandwidth, plus the PyTorch oracle's time at FP32 for scale. The warp is
memory-bound: 3*K*K tap planes are read per output pixel against 3 channels written.

    .venv/bin/python bench/warp_kernel_gpu.py [--iters 50] [--out out/bench/warp_kernel_gpu.json]
    .venv/bin/python bench/warp_kernel_gpu.py --render bench/results/warp_kernel_h100.json

Without a CUDA device it prints why and exits 0 (nothing to measure). ``--render`` writes a saved
JSON into the ``warp_kernel_gpu`` section of bench/RESULTS.md (no GPU needed), so the results page
is made from the file a GPU session brought back.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from results import write_json, write_section  # noqa: E402

SIZES = {"1080p": (1080, 1920), "4K": (2160, 3840)}
CHANNELS, KERNEL_SIZE, DILATION = 3, 5, 1
CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36  # kHz
CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37  # bits


@dataclass
class Row:
    size: str
    dtype: str
    softmax: int
    ms: float
    gbytes: float
    gbps: float
    peak_fraction: float | None
    torch_oracle_ms: float | None
    max_abs_err_vs_oracle: float | None


def peak_dram_bandwidth(device_index: int) -> float | None:
    """Peak DRAM bandwidth in bytes/s from the driver (2 transfers per memory clock), or None."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    device, clock_khz, bus_bits = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGet(ctypes.byref(device), device_index) != 0:
        return None
    ok = (
        cuda.cuDeviceGetAttribute(ctypes.byref(clock_khz), CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, device) == 0
    )
    ok = (
        ok
        and cuda.cuDeviceGetAttribute(
            ctypes.byref(bus_bits), CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, device
        )
        == 0
    )
    return 2.0 * clock_khz.value * 1e3 * bus_bits.value / 8 if ok else None


def make_inputs(torch, height: int, width: int, dtype, seed: int = 0):
    """Model-like inputs: softmax weights (or their logits), fractional offsets of both signs."""
    gen = torch.Generator(device="cuda").manual_seed(seed)
    span = (KERNEL_SIZE - 1) * DILATION
    taps = (1, KERNEL_SIZE * KERNEL_SIZE, height, width)
    image = torch.rand((1, CHANNELS, height + span, width + span), generator=gen, device="cuda")
    logits = torch.randn(taps, generator=gen, device="cuda")
    off_v = torch.randn(taps, generator=gen, device="cuda") * 2.0
    off_h = torch.randn(taps, generator=gen, device="cuda") * 2.0
    return [t.to(dtype).contiguous() for t in (image, logits, off_v, off_h)]


def time_ms(torch, fn, warmup: int, iters: int) -> float:
    """Median of per-iteration CUDA-event times."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return float(np.median(times))


def compulsory_bytes(height: int, width: int, elem_bytes: int) -> int:
    span = (KERNEL_SIZE - 1) * DILATION
    taps = 3 * KERNEL_SIZE * KERNEL_SIZE * height * width
    image = CHANNELS * (height + span) * (width + span)
    out = CHANNELS * height * width
    return (taps + image + out) * elem_bytes


def measure(torch, launch, size: str, dtype, warmup: int, iters: int, peak: float | None) -> list[Row]:
    """Rows for one frame size and dtype: plain weights and fused softmax."""
    from stmfnet_trt.model.warp import adaptive_warp

    height, width = SIZES[size]
    codes = {torch.float32: 0, torch.float16: 1}
    stream = torch.cuda.current_stream().cuda_stream
    image, logits, off_v, off_h = make_inputs(torch, height, width, dtype)
    weight = torch.softmax(logits.float(), dim=1).to(dtype)
    out = torch.empty((1, CHANNELS, height, width), dtype=dtype, device="cuda")
    nbytes = compulsory_bytes(height, width, image.element_size())
    rows = []
    for softmax in (0, 1):
        inputs = (image, logits if softmax else weight, off_v, off_h)
        ptrs = [t.data_ptr() for t in (*inputs, out)]
        dims = (1, CHANNELS, height, width, KERNEL_SIZE, DILATION, softmax, codes[dtype])

        def kernel(ptrs=ptrs, dims=dims):
            rc = launch(*ptrs, *dims, stream)
            if rc != 0:
                raise RuntimeError(f"stmfnet_adaptive_warp_launch returned cudaError {rc}")

        ms = time_ms(torch, kernel, warmup, iters)
        oracle_ms = err = None
        if dtype == torch.float32:  # the oracle computes in FP32: compare and time it there

            def oracle(inputs=inputs, softmax=softmax):
                return adaptive_warp(*inputs, dilation=DILATION, softmax=bool(softmax))

            kernel()
            err = float((out - oracle()).abs().max())
            oracle_ms = round(time_ms(torch, oracle, 2, 5), 3)
        gbps = nbytes / (ms * 1e-3) / 1e9
        rows.append(
            Row(
                size=size,
                dtype=str(dtype).removeprefix("torch."),
                softmax=softmax,
                ms=round(ms, 4),
                gbytes=round(nbytes / 1e9, 4),
                gbps=round(gbps, 1),
                peak_fraction=round(gbps * 1e9 / peak, 3) if peak else None,
                torch_oracle_ms=oracle_ms,
                max_abs_err_vs_oracle=err,
            )
        )
    return rows


def _optional(value: float | None, fmt: str) -> str:
    """A measured number, or "-" where the row has none (e.g. no oracle at FP16)."""
    return "-" if value is None else format(value, fmt)


def _peak_text(report: dict) -> str:
    return f"{report['peak_dram_gbps']} GB/s" if report["peak_dram_gbps"] else "unknown"


def print_table(report: dict) -> None:
    print(f"{report['device']} (sm {report['compute_capability']}), peak DRAM {_peak_text(report)}")
    header = (
        f"{'size':6} {'dtype':8} {'softmax':7} {'ms':>8} {'GB':>7} {'GB/s':>8} {'of peak':>8} {'torch ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in report["rows"]:
        frac, oracle = _optional(r["peak_fraction"], ".0%"), _optional(r["torch_oracle_ms"], ".2f")
        cells = f"{r['size']:6} {r['dtype']:8} {r['softmax']:7} {r['ms']:8.3f} {r['gbytes']:7.3f}"
        err = _optional(r["max_abs_err_vs_oracle"], ".1e")
        print(f"{cells} {r['gbps']:8.1f} {frac:>8} {oracle:>9} {err:>8}")


def markdown(report: dict) -> str:
    """The RESULTS.md section for one report: its device, software and a row per case."""
    lines = [
        f"{report['device']} (sm {report['compute_capability']}, peak DRAM {_peak_text(report)}); torch "
        f"{report['torch']}, Python {report['python']}; median of {report['iters']} CUDA-event timings. "
        "GB: compulsory traffic (taps, offsets and image read once, output written once).",
        "",
        "| size | I/O | fused softmax | kernel ms | GB | GB/s | of peak | torch oracle ms | oracle / kernel "
        "| max abs vs oracle |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        oracle = r["torch_oracle_ms"]
        ratio = "-" if oracle is None else f"{oracle / r['ms']:.0f}x"
        lines.append(
            f"| {r['size']} | {r['dtype']} | {'yes' if r['softmax'] else 'no'} | {r['ms']:.3f} "
            f"| {r['gbytes']:.3f} | {r['gbps']:.0f} | {_optional(r['peak_fraction'], '.0%')} "
            f"| {_optional(oracle, '')} | {ratio} | {_optional(r['max_abs_err_vs_oracle'], '.1e')} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench" / "warp_kernel_gpu.json")
    parser.add_argument("--render", type=Path, help="write this saved JSON into bench/RESULTS.md and exit")
    args = parser.parse_args()
    if args.render:
        write_section(
            REPO / "bench" / "RESULTS.md", "warp_kernel_gpu", markdown(json.loads(args.render.read_text()))
        )
        print(f"rendered {args.render} into bench/RESULTS.md")
        return 0

    try:
        import torch
    except ImportError:
        print("warp_kernel_gpu: torch is not installed; nothing to measure")
        return 0
    if not torch.cuda.is_available():
        print("warp_kernel_gpu: no CUDA device visible to torch; this benchmark needs an NVIDIA GPU")
        return 0

    sys.path.insert(0, str(REPO))
    from stmfnet_trt.plugins import load_cuda_warp_launcher

    launch = load_cuda_warp_launcher()
    peak = peak_dram_bandwidth(torch.cuda.current_device())
    rows = []
    for size in SIZES:
        for dtype in (torch.float32, torch.float16):
            rows += measure(torch, launch, size, dtype, args.warmup, args.iters, peak)
            torch.cuda.empty_cache()

    device = torch.cuda.get_device_properties(torch.cuda.current_device())
    report = {
        "benchmark": "warp_kernel_gpu",
        "device": device.name,
        "compute_capability": f"{device.major}.{device.minor}",
        "peak_dram_gbps": round(peak / 1e9, 1) if peak else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "shape": {"batch": 1, "channels": CHANNELS, "kernel_size": KERNEL_SIZE, "dilation": DILATION},
        "iters": args.iters,
        "rows": [asdict(r) for r in rows],
    }
    write_json(args.out, report)
    print_table(report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
