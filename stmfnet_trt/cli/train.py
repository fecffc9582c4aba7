"""``stmfnet-trt train``: argument parsing only; torch is imported when the command runs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from stmfnet_trt.cli.arg_types import positive_float, positive_int
from stmfnet_trt.cli.commands import SUBCOMMANDS
from stmfnet_trt.train import PRECISIONS


def cmd_train(args: argparse.Namespace) -> None:
    """Train (or resume) a run and print where its weights are."""
    from stmfnet_trt.train.job import TrainSources, resolve_config, run_training
    from stmfnet_trt.train.trainer import BEST_CHECKPOINT, LAST_CHECKPOINT

    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    run_dir = Path(args.out)
    overrides = {
        "steps": args.steps,
        "crop": args.crop,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "max_side": args.max_side,
        "threads": args.threads,
        "workers": args.workers,
        "precision": args.precision,
    }
    config = resolve_config(run_dir, args.resume, args.config and Path(args.config), overrides)
    sources = TrainSources(
        data=[Path(p) for p in args.data],
        photos=[Path(p) for p in args.photos],
        teacher_dir=args.teacher_dir and Path(args.teacher_dir),
    )
    result = run_training(
        sources,
        run_dir,
        config,
        resume=args.resume,
        init_checkpoint=args.init and Path(args.init),
        progress=not args.quiet,
        device=args.device,
        time_limit_s=args.max_minutes and args.max_minutes * 60.0,
    )
    mean = sum(result.losses) / len(result.losses)
    if result.stopped_by_time_limit:
        print(
            f"stopped at the {args.max_minutes:g}-minute limit after step {result.end_step}: --resume goes on"
        )
    print(
        f"trained steps {result.start_step + 1}-{result.end_step} of {config.total_steps} "
        f"(mean loss {mean:.4g}); weights: {run_dir / LAST_CHECKPOINT}"
        + (
            f", best held-out PSNR {result.best_psnr:.2f} dB: {run_dir / BEST_CHECKPOINT}"
            if result.validations
            else ""
        )
    )


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on the main parser's subparsers and return its parser."""
    parser = SUBCOMMANDS["train"].add_to(subparsers)
    parser.add_argument(
        "--data",
        nargs="*",
        default=[],
        metavar="PATH",
        help="folder from scripts/fetch_training_data.py (clips/, photos/), video files or frame folders",
    )
    parser.add_argument(
        "--photos", nargs="*", default=[], metavar="PATH", help="more still images or folders"
    )
    parser.add_argument("--out", required=True, help="run folder: config, checkpoints, log")
    parser.add_argument("--config", help="JSON file of TrainConfig settings (flags below override it)")
    parser.add_argument(
        "--steps", type=positive_int, help="total optimiser steps (default: epochs x steps_per_epoch)"
    )
    parser.add_argument("--crop", type=positive_int, help="square training crop, multiple of 16 (spec: 256)")
    parser.add_argument("--batch-size", type=positive_int, help="samples per step (spec: 2)")
    parser.add_argument("--lr", type=float, help="initial learning rate (spec: 1e-3)")
    parser.add_argument("--seed", type=int, help="seed of weights and of every batch")
    parser.add_argument(
        "--max-side", type=positive_int, help="box-downscale clips and photos to this longer side"
    )
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="training forward in float32 (default) or under bfloat16 autocast (faster on GPUs)",
    )
    parser.add_argument(
        "--workers", type=int, help="processes making batches ahead (default 0; a GPU run wants several)"
    )
    parser.add_argument(
        "--max-minutes",
        type=positive_float,
        help="stop (with a checkpoint) after this long; --resume continues",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pth")
    parser.add_argument("--init", help="start from these weights (published format) instead of random ones")
    parser.add_argument(
        "--teacher-dir",
        help="distill from teacher frames DIR/<clip>/<frame:06d>.png (frame: the predicted index)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or data summary")
    parser.set_defaults(handler=cmd_train)
    return parser
