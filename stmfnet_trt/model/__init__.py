"""PyTorch ST-MFNet Mini: the reference every other backend is checked against.

Public API: ``STMFNetMini`` (the network), ``load_model`` / ``save_checkpoint`` (published
checkpoint layout, strict loading), ``adaptive_warp`` (the warp oracle).
"""

from .checkpoint import load_model, save_checkpoint
from .network import STMFNetMini
from .warp import adaptive_warp

__all__ = ["STMFNetMini", "adaptive_warp", "load_model", "save_checkpoint"]
