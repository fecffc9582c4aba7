"""Evaluation on synthetic clips whose answers are known: metrics, baselines, skips, pictures, CLI."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from stmfnet_trt.cli.evaluate import add_eval_parser
from stmfnet_trt.evaluation.evaluate import EvalOptions, evaluate
from stmfnet_trt.evaluation.metrics import psnr, ssim
from stmfnet_trt.evaluation.minterpolate import find_ffmpeg
from stmfnet_trt.io.images import decode_image, to_rgb
from stmfnet_trt.runtime.backends.blend import BlendBackend

SIZE = 128
QUIET = EvalOptions(minterpolate=False, progress=False)


def ramp_clip(count: int = 15) -> list[np.ndarray]:
    """A horizontal gradient whose brightness rises 4 levels per frame: blending is exact."""
    gradient = np.tile(np.arange(SIZE, dtype=np.int64)[None, :, None], (SIZE, 1, 3))
    return [(gradient + 4 * k).astype(np.uint8) for k in range(count)]


def edge_clip(count: int = 15) -> list[np.ndarray]:
    """A black/white vertical edge moving one column to the right per frame."""
    frames = []
    for k in range(count):
        frame = np.full((SIZE, SIZE, 3), 255, np.uint8)
        frame[:, : 40 + k] = 0
        frames.append(frame)
    return frames


def test_psnr_known_values():
    a = np.full((16, 16, 3), 100, np.uint8)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 4) == pytest.approx(10 * math.log10(255**2 / 16))


def test_ssim_of_constant_frames_is_the_luminance_term():
    a, b = np.full((32, 32, 3), 100, np.uint8), np.full((32, 32, 3), 110, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1))


def test_ssim_drops_with_noise_and_is_symmetric():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    assert 0.5 < ssim(clean, noisy) < 0.99
    assert ssim(clean, noisy) == pytest.approx(ssim(noisy, clean))


def test_blending_is_exact_on_a_brightness_ramp(frame_folder):
    report = evaluate([frame_folder("ramp", ramp_clip())], BlendBackend(), QUIET)
    (clip,) = report.clips
    assert [s.frame for s in clip.scores] == [3, 5, 7, 9, 11]
    assert clip.mean("psnr", "model") == math.inf
    assert clip.mean("psnr", "blend") == math.inf
    assert clip.mean("ssim", "blend") == pytest.approx(1.0)
    # Repetition is 4 levels off everywhere.
    assert clip.mean("psnr", "repeat") == pytest.approx(10 * math.log10(255**2 / 16))
    assert report.to_json()["overall"]["blend"]["psnr"] == "inf"


def test_blending_a_moving_edge_has_the_known_error(frame_folder):
    report = evaluate([frame_folder("edge", edge_clip())], BlendBackend(), QUIET)
    (clip,) = report.clips
    # The blend is 128 in two columns where the truth is 0 and 255: MSE = (128^2 + 127^2) / width.
    assert clip.mean("psnr", "blend") == pytest.approx(10 * math.log10(255**2 * SIZE / (128**2 + 127**2)))
    # Repeating the previous frame gets one column wrong by 255.
    assert clip.mean("psnr", "repeat") == pytest.approx(10 * math.log10(SIZE))
    assert report.overall("psnr", "blend") == clip.mean("psnr", "blend")


def test_windows_with_a_scene_cut_are_not_scored(frame_folder):
    rng = np.random.default_rng(1)
    other = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    frames = edge_clip(15)[:8] + [other] * 7  # cut between frames 7 and 8
    report = evaluate([frame_folder("cut", frames)], BlendBackend(), QUIET)
    (clip,) = report.clips
    # Windows start at even frames 0..8; those starting at 2, 4, 6 span the cut; 8 lies after it.
    assert [s.frame for s in clip.scores] == [3, 11]
    assert clip.skipped_scene_cuts == 3


@pytest.mark.skipif(find_ffmpeg() is None, reason="ffmpeg binary not installed (Debian package ffmpeg)")
def test_minterpolate_beats_blending_on_a_pan(frame_folder):
    rng = np.random.default_rng(0)
    blocks = np.kron(rng.integers(0, 256, (SIZE // 8, (SIZE + 64) // 8, 3)), np.ones((8, 8, 1))).astype(
        np.uint8
    )
    frames = [np.ascontiguousarray(blocks[:, 48 - 3 * k : 48 - 3 * k + SIZE]) for k in range(15)]
    report = evaluate([frame_folder("pan", frames)], BlendBackend(), EvalOptions(progress=False))
    assert report.methods == ["model", "blend", "repeat", "minterpolate"]
    (clip,) = report.clips
    assert clip.mean("psnr", "minterpolate") > clip.mean("psnr", "blend") + 3


def test_missing_ffmpeg_is_a_note(frame_folder, monkeypatch):
    monkeypatch.setattr("stmfnet_trt.evaluation.evaluate.find_ffmpeg", lambda: None)
    report = evaluate([frame_folder("ramp", ramp_clip(9))], BlendBackend(), EvalOptions(progress=False))
    assert "minterpolate" not in report.methods
    assert any("ffmpeg not found" in note for note in report.notes)


def test_cli_writes_json_table_and_pictures(frame_folder, tmp_path, capsys):
    clip = frame_folder("edge", edge_clip())
    parser = argparse.ArgumentParser()
    add_eval_parser(parser.add_subparsers())
    out, pictures = tmp_path / "report.json", tmp_path / "pictures"
    args = parser.parse_args(
        [
            "eval",
            str(clip),
            "--backend",
            "blend",
            "--json",
            str(out),
            "--pictures",
            str(pictures),
            "--crop",
            "128x96",
            "-q",
            "--no-minterpolate",
        ]
    )
    args.handler(args)
    table = capsys.readouterr().out
    assert "edge" in table and "overall" in table
    report = json.loads(out.read_text())
    (entry,) = report["clips"]
    assert entry["size"] == [96, 128] and entry["scored_frames"] == 5
    kinds = {p["kind"]: p for p in entry["pictures"]}
    assert set(kinds) == {"worst", "median"}
    assert kinds["worst"]["panels"] == ["ground truth", "blend", "model", "|model - ground truth| x4"]
    image = to_rgb(decode_image(pictures / kinds["worst"]["file"].split("/")[-1]))
    assert image.shape == (128, 4 * 96 + 3 * 4, 3)  # four 96-wide panels, three 4-px gaps
