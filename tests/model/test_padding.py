"""Bottom/right reflect padding to a multiple of 128 and the crop back (spec §3).

The sizes themselves (the padded size, the smallest side) are the contract's: tests/core/test_contract.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stmfnet_trt.model.network import pad_frames


def test_pads_bottom_and_right_by_reflection_only():
    frame = torch.arange(96 * 160, dtype=torch.float32).view(1, 1, 96, 160)
    (padded,) = pad_frames([frame])
    assert padded.shape == (1, 1, 128, 256)
    assert torch.equal(padded[..., :96, :160], frame)  # top-left untouched: crop restores the input
    assert torch.equal(padded[..., 96, :160], frame[..., 94, :])  # mirror without the edge row
    assert torch.equal(padded[..., :96, 160], frame[..., :, 158])
    assert torch.equal(padded, F.pad(frame, (0, 96, 0, 32), mode="reflect"))


def test_multiples_of_128_are_left_alone():
    frame = torch.rand(1, 3, 128, 256)
    assert pad_frames([frame])[0] is frame


def test_model_output_keeps_a_non_multiple_size():
    from stmfnet_trt.model import STMFNetMini

    torch.manual_seed(0)
    model = STMFNetMini().eval()
    frames = [torch.rand(1, 3, 72, 136) for _ in range(4)]
    with torch.inference_mode():
        assert model(*frames).shape == (1, 3, 72, 136)
