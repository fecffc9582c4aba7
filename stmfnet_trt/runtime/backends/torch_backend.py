"""PyTorch backend: the reference model itself, on CPU or CUDA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stmfnet_trt.core.errors import ParameterError, UserError
from stmfnet_trt.core.frames import model_values
from stmfnet_trt.runtime.backend import Backend


@dataclass(frozen=True)
class TorchOptions:
    """How to build the torch backend.

    ``device`` "auto" picks CUDA when torch sees a GPU. ``threads`` caps intra-op CPU threads
    (None leaves torch's default). ``random_init_seed`` replaces the checkpoint with seeded
    random weights, for tests and plumbing checks only.
    """

    checkpoint: Path | None = None
    random_init_seed: int | None = None
    device: str = "auto"
    threads: int | None = None


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA GPU (False for the lean, torch-free install)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(device: str) -> str:
    """Map "auto" to cuda or cpu, and fail clearly when CUDA is asked for but absent."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(
            "device", "cuda was requested but torch sees no CUDA GPU (CPU build or no driver)"
        )
    if device != "cpu" and not device.startswith("cuda"):
        raise UserError(f"unknown device {device!r}: use cpu, cuda or cuda:N")
    return device


class TorchBackend(Backend):
    """Runs ``STMFNetMini`` in eval mode; the oracle the other backends are compared against.

    It converts windows itself (``converts_windows``): a uint8 batch goes to the device as uint8,
    a quarter of the bytes of float32 to copy (on the host, then to a GPU), and becomes float32
    there by looking each level up in a 256-entry table of ``model_values`` (v / 255 divided on
    the host), so the values are the host's exactly on any device. (Dividing by the scalar 255 on
    the device would not be: PyTorch's CUDA kernel multiplies by the reciprocal, which differs from
    the division for about half of the levels.)
    """

    name = "torch"
    converts_windows = True

    def __init__(self, options: TorchOptions) -> None:
        import torch

        from stmfnet_trt.model.checkpoint import load_model

        if options.threads is not None:
            torch.set_num_threads(options.threads)
        self.device = resolve_device(options.device)
        self.model = load_model(options.checkpoint, random_init_seed=options.random_init_seed).to(self.device)
        self._levels = torch.from_numpy(model_values(np.arange(256, dtype=np.uint8))).to(self.device)

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            # A view of the scheduler's ring is strided and read-only: copied here, in its dtype.
            batch = torch.from_numpy(np.require(windows, requirements=("C", "W"))).to(self.device)
            if batch.dtype == torch.uint8:
                batch = self._levels[batch.int()]
            out = self.model(*batch.unbind(dim=1))
            return out.float().cpu().numpy()
