"""`stmfnet-trt run/export/check` end to end: real clips in, frame counts and rates out, and bad
input that fails with exit status 2, a clear message and nothing left behind."""

from __future__ import annotations

import shlex
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from stmfnet_trt.cli import main
from stmfnet_trt.io import open_source
from stmfnet_trt.io.images import encode_png

USER_ERROR = 2


def cli(command: str) -> int:
    """Run ``stmfnet-trt`` in-process with a shell-like argument string."""
    return main(shlex.split(command))


def read_back(path: Path) -> tuple[int, Fraction, tuple[int, int], bool]:
    with open_source(path) as source:
        return sum(1 for _ in source), source.fps, (source.width, source.height), source.has_audio


def leftovers(folder: Path) -> list[str]:
    """Hidden partial outputs that a failed run must not leave."""
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def write_frames(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, (height, width) in enumerate(sizes):
        (folder / f"frame{index}.png").write_bytes(
            encode_png(rng.integers(0, 255, (height, width, 3), np.uint8))
        )
    return folder


def test_run_doubles_frames_and_rate_of_a_real_clip(tmp_path, assets_dir, capsys):
    output = tmp_path / "out.mp4"
    clip = assets_dir / "carphone_12.mp4"
    status = cli(f"run {clip} -o {output} --backend torch --random-init --max-frames 4 --threads 2 -q")
    assert status == 0
    assert read_back(output) == (8, Fraction(60000, 1001), (176, 144), False)
    assert "3 windows interpolated" in capsys.readouterr().out
    assert leftovers(tmp_path) == []


def test_run_onnxruntime_backend_with_audio(tmp_path, assets_dir, exported):
    output = tmp_path / "demo_x2.mkv"
    status = cli(
        f"run {assets_dir / 'demo.mp4'} -o {output} --backend onnxruntime --onnx {exported['plugin']} -q"
    )
    assert status == 0
    frames, fps, size, has_audio = read_back(output)
    assert (frames, fps, size, has_audio) == (36, Fraction(50), (256, 144), True)


def test_run_max_frames_keeps_the_audio_of_the_part_it_reads(tmp_path, assets_dir):
    output = tmp_path / "part.mp4"
    status = cli(f"run {assets_dir / 'demo.mp4'} -o {output} --backend blend --max-frames 6 -q")
    assert status == 0
    assert read_back(output) == (12, Fraction(50), (256, 144), True)
    with av.open(str(output)) as container:
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(6 / 25, abs=0.05)  # of 0.72 s


@pytest.mark.parametrize(("factor", "frames"), [(4, 20), (8, 40)])
def test_run_factor_4_and_8_with_the_blend_baseline(tmp_path, assets_dir, factor, frames):
    output = tmp_path / "out"
    clip = assets_dir / "carphone_12.mp4"
    status = cli(f"run {clip} -o {output} --backend blend --factor {factor} --max-frames 5 -q")
    assert status == 0
    assert len(list(output.glob("*.png"))) == frames


def test_run_matches_backend_output_frame_for_frame(tmp_path):
    """The written frames are the backend's midpoints, quantised, in order (PNG: lossless).

    With the demo weights: random-init weights overshoot [0, 1] past the divergence margin here,
    and the scheduler rightly writes a blend instead (test_run_warns_when_the_network_diverges)."""
    from stmfnet_trt.core.frames import to_model_frame, to_video_frame
    from stmfnet_trt.runtime.backends.torch_backend import TorchBackend, TorchOptions
    from stmfnet_trt.runtime.scheduling.scheduler import VALID_OUTPUT_MARGIN
    from stmfnet_trt.weights import DEMO_CHECKPOINT

    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (9, 11, 3), np.uint8).repeat(8, 0).repeat(8, 1)[:72, :80]
    source = tmp_path / "frames"
    source.mkdir()
    frames = [np.roll(base, 3 * i, axis=1) for i in range(3)]
    for i, frame in enumerate(frames):
        (source / f"{i}.png").write_bytes(encode_png(frame))
    checkpoint = DEMO_CHECKPOINT
    output = tmp_path / "out"
    assert (
        cli(f"run {source} -o {output} --backend torch --checkpoint {checkpoint} --no-scene-detect -q") == 0
    )
    written = [np.asarray(f) for f in open_source(output)]
    assert (
        len(written) == 6 and np.array_equal(written[0], frames[0]) and np.array_equal(written[2], frames[1])
    )
    backend = TorchBackend(TorchOptions(checkpoint=checkpoint))
    window = np.stack([to_model_frame(frames[i]) for i in (0, 0, 1, 2)])[None]
    raw = backend.interpolate(window)[0]
    assert raw.min() > -VALID_OUTPUT_MARGIN and raw.max() < 1 + VALID_OUTPUT_MARGIN  # a real midpoint
    assert np.array_equal(written[1], to_video_frame(np.clip(raw, 0, 1)))


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def run_fails(command: str, capsys, message: str) -> None:
    assert cli(command) == USER_ERROR
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda d: write_file(d / "empty.mp4", b""), "empty"),
        (lambda d: write_file(d / "junk.mp4", np.random.default_rng(0).bytes(5000)), "junk.mp4"),
        (lambda d: write_frames(d / "one", [(72, 80)]), "need at least 2 frames"),
        (lambda d: write_frames(d / "mixed", [(72, 80), (72, 80), (80, 72)]), "frame2.png"),
        (lambda d: write_frames(d / "tiny", [(40, 40), (40, 40)]), "too small"),
        (lambda d: d / "missing.mp4", "missing.mp4"),
    ],
    ids=["empty-file", "garbage", "one-frame", "mixed-sizes", "too-small", "missing"],
)
def test_bad_inputs_fail_cleanly(tmp_path, capsys, make_input, message):
    source = make_input(tmp_path)
    output = tmp_path / "out.mp4"
    run_fails(f"run {source} -o {output} --backend blend -q", capsys, message)
    assert not output.exists() and leftovers(tmp_path) == []


def test_truncated_video_fails_cleanly(tmp_path, assets_dir, capsys):
    data = (assets_dir / "demo.mp4").read_bytes()
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    output = tmp_path / "out.mp4"
    run_fails(f"run {truncated} -o {output} --backend blend -q", capsys, "cut.mp4")
    assert not output.exists() and leftovers(tmp_path) == []


def test_checkpoint_with_wrong_keys_fails_cleanly(tmp_path, assets_dir, data_dir, capsys):
    state = torch.load(data_dir / "student_random_init.pth", weights_only=True)["state_dict"]
    state["surprise.weight"] = torch.zeros(1)
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, bad)
    output, clip = tmp_path / "out.mp4", assets_dir / "carphone_12.mp4"
    run_fails(
        f"run {clip} -o {output} --backend torch --checkpoint {bad} -q",
        capsys,
        "1 unexpected: surprise.weight",
    )
    assert not output.exists()


def test_no_checkpoint_is_never_silently_random(tmp_path, assets_dir, capsys, monkeypatch):
    from stmfnet_trt import weights

    monkeypatch.setattr(weights, "DEMO_CHECKPOINT", tmp_path / "absent.pth")
    clip = assets_dir / "carphone_12.mp4"
    run_fails(f"run {clip} -o {tmp_path / 'o.mp4'} --backend torch", capsys, "--random-init")


def test_existing_output_and_input_are_protected(tmp_path, assets_dir, capsys):
    source = assets_dir / "carphone_12.mp4"
    before = source.read_bytes()
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"precious")
    run_fails(f"run {source} -o {existing} --backend blend -q", capsys, "exists")
    assert existing.read_bytes() == b"precious"
    run_fails(f"run {source} -o {source} --backend blend --overwrite -q", capsys, "input")
    assert source.read_bytes() == before


def test_check_passes_for_a_faithful_export_and_fails_past_tolerance(exported, data_dir, assets_dir, capsys):
    checkpoint, clip = data_dir / "student_random_stats.pth", assets_dir / "carphone_12.mp4"
    command = (
        f"check {exported['plugin']} --against {exported['portable']} --checkpoint {checkpoint} "
        f"--sizes 128x256 --frames {clip}"
    )
    assert cli(command) == 0
    out = capsys.readouterr().out
    assert "6 custom AdaptiveWarp" in out and out.count("ok   ") == 4 and "PSNR" in out
    # the random-init weights are a different model: the check must say so and fail
    run_fails(f"check {exported['plugin']} --random-init --sizes 128x128", capsys, "failed parity")


def read_folder_frames(folder: Path) -> np.ndarray:
    with open_source(folder, fps=Fraction(25)) as source:
        return np.stack(list(source))


def test_run_warns_when_the_network_diverges(tmp_path, assets_dir, capsys, monkeypatch):
    from stmfnet_trt.runtime.backends import specs
    from stmfnet_trt.runtime.backends.blend import BlendBackend

    class Diverging(BlendBackend):
        def _interpolate(self, windows):
            return super()._interpolate(windows) * 300.0  # what the demo weights do on night-dark footage

    monkeypatch.setattr(specs, "BlendBackend", Diverging)  # what BlendSpec opens
    # PNG folders: the frames themselves are compared, with no lossy encoder between the two runs
    diverged, plain = tmp_path / "diverged", tmp_path / "plain"
    assert cli(f"run {assets_dir / 'carphone_12.mp4'} -o {diverged} --backend blend -q") == 0
    err = capsys.readouterr().err
    assert "WARNING: the network diverged in 11 of 11 windows" in err and "blends of their two" in err
    monkeypatch.setattr(specs, "BlendBackend", BlendBackend)
    assert cli(f"run {assets_dir / 'carphone_12.mp4'} -o {plain} --backend blend -q") == 0
    assert "diverged" not in capsys.readouterr().err
    # every diverged frame was replaced by the blend: the video equals the plain blend run's
    assert np.array_equal(read_folder_frames(diverged), read_folder_frames(plain))
