"""Time one training step of ST-MFNet Mini per forward precision (fp32, bf16 autocast).

A lent GPU is minutes long, so a training leg first measures which precision gives more steps
in its minutes: the same fixed random batch, the same starting weights, a few warm-up steps
(cuDNN picks its algorithms then), then the median of ``--steps`` timed steps per precision,
each ending in a device synchronisation. Prints a table and writes JSON whose ``pick`` is the
precision to train with: bf16 only when it is at least ``--min-speedup`` times faster (its
rounding is a cost, so a small gain is not worth it). ``scripts/gpu_session.sh`` reads it.

    .venv/bin/python bench/train_step.py --device cuda --out out/bench/train_step.json
    .venv/bin/python bench/train_step.py --render bench/results/train_step_h200.json  # no GPU needed

Ratios only mean something within one run on one device; the JSON names the device.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from stmfnet_trt.evaluation.windows import WINDOW
from stmfnet_trt.model.network import STMFNetMini
from stmfnet_trt.train import PRECISIONS
from stmfnet_trt.train.config import TrainConfig
from stmfnet_trt.train.data import Batch, RepeatedBatch, split_window
from stmfnet_trt.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from results import write_json, write_section  # noqa: E402


def random_batch(batch_size: int, crop: int, seed: int = 0) -> Batch:
    """Uniform-noise training windows split as the trainer splits real ones."""
    generator = torch.Generator().manual_seed(seed)
    inputs, target = split_window(torch.rand(batch_size, WINDOW, 3, crop, crop, generator=generator))
    return Batch(inputs, target, teacher=None, has_teacher=torch.zeros(batch_size))


def time_steps(precision: str, device: torch.device, batch: Batch, warmup: int, steps: int) -> list[float]:
    """Seconds of each timed step, from the same initial weights for every precision."""
    torch.manual_seed(0)
    config = TrainConfig(crop=batch.target.shape[-1], batch_size=batch.target.shape[0], precision=precision)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(
            STMFNetMini(), RepeatedBatch(batch), config, Path(run_dir), progress=False, device=str(device)
        )
        seconds = []
        for index in range(warmup + steps):
            began = time.perf_counter()
            trainer.train_step()  # ends in loss.item(): the step's kernels have finished
            if index >= warmup:
                seconds.append(time.perf_counter() - began)
    return seconds


def markdown(record: dict) -> str:
    """The ``train_step`` section of bench/RESULTS.md from a saved record."""
    median = record["median_step_s"]
    rows = [
        f"| {p} | {median[p]:.3f} | {median['fp32'] / median[p]:.2f}x |" for p in PRECISIONS if p in median
    ]
    return "\n".join(
        [
            f"{record['device']}, torch {record['torch']}: one training step of batch {record['batch_size']}"
            f" x {record['crop']}x{record['crop']} crops, median of the timed steps (`bench/train_step.py`)."
            f" Trained with: **{record['pick']}**.",
            "",
            "| precision | s per step | vs fp32 |",
            "|---|---|---|",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--min-speedup", type=float, default=1.3)
    parser.add_argument("--out", type=Path, help="JSON file to write")
    parser.add_argument("--render", type=Path, help="write this saved JSON into bench/RESULTS.md and exit")
    args = parser.parse_args(argv)
    if args.render:
        record = json.loads(args.render.read_text())
        write_section(REPO / "bench" / "RESULTS.md", "train_step", markdown(record))
        print(f"rendered {args.render} into bench/RESULTS.md")
        return 0

    device = torch.device(args.device)
    batch = random_batch(args.batch_size, args.crop)
    median = {p: statistics.median(time_steps(p, device, batch, args.warmup, args.steps)) for p in PRECISIONS}
    speedup = median["fp32"] / median["bf16"]
    pick = "bf16" if speedup >= args.min_speedup else "fp32"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    record = {
        "device": name,
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "crop": args.crop,
        "median_step_s": median,
        "bf16_speedup": speedup,
        "pick": pick,
    }
    if args.out:
        write_json(args.out, record)
    print(markdown(record))
    print(f"(bf16 only at >= {args.min_speedup:g}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
