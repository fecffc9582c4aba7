"""Loading and saving checkpoints in the published layout.

The official code writes ``{"epoch": n, "state_dict": OrderedDict}`` with plain module paths;
users also have bare state dicts and DataParallel dumps (``module.`` prefix). Loading is strict:
every missing, unexpected or mis-shaped key is named in one error, because a silently partial
load produces plausible-looking but wrong frames.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from stmfnet_trt.core.errors import CheckpointError
from stmfnet_trt.core.hashing import file_sha256  # noqa: F401  (re-exported: callers import it from here)
from stmfnet_trt.model.network import STMFNetMini

STATE_DICT_KEY = "state_dict"
MAX_KEYS_LISTED = 8
# How torch.load(weights_only=True) says the pickle names a Python object it will not build
# (a class or a function such as os.system); other refusals are damaged or foreign bytes.
# ("unsupported GLOBAL posix.system", "Unsupported global: GLOBAL getattr was not an allowed ...").
WEIGHTS_ONLY_REFUSAL = "GLOBAL "


def load_checkpoint_file(path: str | Path) -> object:
    """``torch.load`` a checkpoint safely: tensors and plain containers only, never arbitrary code.

    A file that holds other Python objects is refused, and the error does not relay PyTorch's
    advice to retry with ``weights_only=False``: for a file from elsewhere that would run
    whatever code it carries.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if WEIGHTS_ONLY_REFUSAL not in str(exc):
            raise CheckpointError(f"cannot read checkpoint {path}: not a PyTorch checkpoint") from exc
        raise CheckpointError(
            f"{path} holds Python objects besides tensors, which stmfnet-trt will not unpickle (loading "
            "them can run code); save the weights as a state dict of tensors ({'state_dict': ...})"
        ) from exc
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"cannot read checkpoint {path}: {first_line}") from exc


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint file and return its float32 state dict with official key names."""
    return extract_state_dict(load_checkpoint_file(path), source=str(path))


def extract_state_dict(blob: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Accept ``{"state_dict": ...}`` or a bare state dict; strip ``module.``; floats to float32."""
    if isinstance(blob, Mapping) and STATE_DICT_KEY in blob:
        blob = blob[STATE_DICT_KEY]
    if not isinstance(blob, Mapping) or not all(isinstance(v, torch.Tensor) for v in blob.values()):
        raise CheckpointError(f"{source}: expected a state dict (or {{'state_dict': ...}}) of tensors")
    state = {}
    for key, value in blob.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        state[name] = value.float() if value.is_floating_point() else value
    return state


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_KEYS_LISTED])
    more = len(keys) - MAX_KEYS_LISTED
    return shown + (f" (+{more} more)" if more > 0 else "")


def check_state_dict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise one CheckpointError naming every missing, unexpected and mis-shaped key."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_listed(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {_listed(unexpected)}")
    if misshaped:
        problems.append(f"{len(misshaped)} with wrong shape: {_listed(misshaped)}")
    if problems:
        raise CheckpointError(f"{source} does not fit ST-MFNet Mini: " + "; ".join(problems))


def load_model(
    path: str | Path | None = None,
    *,
    strict: bool = True,
    fused_softmax: bool = False,
    random_init_seed: int | None = None,
) -> STMFNetMini:
    """Build the model in eval mode from a checkpoint file, or with seeded random weights.

    Exactly one of ``path`` and ``random_init_seed`` must be given: random weights are never a
    silent fallback.
    """
    if (path is None) == (random_init_seed is None):
        raise CheckpointError("give either a checkpoint path or a random-init seed")
    if path is None:
        torch.manual_seed(random_init_seed)
        return STMFNetMini(fused_softmax=fused_softmax).eval()
    model = STMFNetMini(fused_softmax=fused_softmax)
    state = read_state_dict(path)
    if strict:
        check_state_dict(model, state, str(path))
    model.load_state_dict(state, strict=strict)
    return model.eval()


def save_checkpoint(
    path: str | Path, model: torch.nn.Module, *, epoch: int = 0, half: bool = False, **extra: object
) -> None:
    """Write the published layout atomically; ``half`` stores floats as FP16 (loaded back as FP32)."""
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }
    path = Path(path)
    temp = path.with_name(f".{path.name}.partial")
    torch.save({"epoch": epoch, STATE_DICT_KEY: state, **extra}, temp)
    temp.replace(path)
