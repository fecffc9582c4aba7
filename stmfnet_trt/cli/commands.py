"""The subcommands: each one's name, one-line help and the module that defines the rest.

``main`` imports only the module of the command it runs: ``stmfnet-trt run`` does not load the
serving, training, benchmark or batch code, whose imports came before its first frame (a short
clip's run is mostly start-up and encoder; bench/pipeline.py measures it). What
``stmfnet-trt --help`` lists therefore lives here, in a module that imports nothing of the
package, and each command's module adds its own parser with ``Subcommand.add_to``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    module: str  # the cli module whose ``adder`` adds the full parser
    adder: str
    help: str
    description: str | None = None

    def add_to(self, subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
        """The command's parser, with its help, under ``subparsers`` (no arguments yet)."""
        return subparsers.add_parser(self.name, help=self.help, description=self.description)

    def add_full_parser(self, subparsers: argparse._SubParsersAction) -> None:
        """Import the command's module and let it add its parser with every argument."""
        getattr(importlib.import_module(self.module), self.adder)(subparsers)


SUBCOMMANDS = {
    command.name: command
    for command in (
        Subcommand(
            "run", "stmfnet_trt.cli.run", "add_run_parser", "interpolate a video or a folder of frames"
        ),
        Subcommand(
            "export",
            "stmfnet_trt.cli.export",
            "add_export_parser",
            "export a checkpoint to ONNX (checked, parity-tested)",
        ),
        Subcommand(
            "check",
            "stmfnet_trt.cli.export",
            "add_check_parser",
            "compare ONNX models with PyTorch and each other",
        ),
        Subcommand(
            "build",
            "stmfnet_trt.cli.build",
            "add_build_parser",
            "build a TensorRT or TensorRT-RTX engine from an ONNX model",
        ),
        Subcommand(
            "train",
            "stmfnet_trt.cli.train",
            "add_train_parser",
            "train ST-MFNet Mini (spec recipe; resumable)",
            "Trains on 7-frame windows of clips and on photos moved by synthetic motion.",
        ),
        Subcommand(
            "eval",
            "stmfnet_trt.cli.evaluate",
            "add_eval_parser",
            "score the model against blending, frame repetition and ffmpeg minterpolate",
            "Drops every other frame of each clip, interpolates it back and reports PSNR/SSIM.",
        ),
        Subcommand(
            "bench",
            "stmfnet_trt.cli.bench",
            "add_bench_parser",
            "latency p50/p90/p99, frames/s, peak memory and quality per backend and size",
        ),
        Subcommand(
            "serve",
            "stmfnet_trt.cli.serve",
            "add_serve_parser",
            "serve a backend on a Triton Inference Server (HTTP + gRPC, dynamic batching)",
        ),
        Subcommand(
            "triton-repo",
            "stmfnet_trt.cli.serve",
            "add_triton_repo_parser",
            "write a Triton model repository for an engine or ONNX",
        ),
        Subcommand(
            "batch",
            "stmfnet_trt.cli.batch",
            "add_batch_parser",
            "interpolate many videos on a Ray cluster (local, or RAY_ADDRESS)",
        ),
    )
}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs: its first word that is not an option (the top-level parser
    has only flags), when that names a command; None otherwise (``--help``, a typo)."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in SUBCOMMANDS else None
