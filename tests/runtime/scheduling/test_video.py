"""interpolate_video opens its input once and calls for the backend only after the files are
checked: the output path, the encoder settings and the input's first two frames."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_media import panning_frames, write_frames

from stmfnet_trt.core.errors import InputError, UserError
from stmfnet_trt.io import open_source
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video


class Opener:
    """A backend factory that records whether it was called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> BlendBackend:
        self.calls += 1
        return BlendBackend()


@pytest.fixture
def opened_sources(monkeypatch) -> list[Path]:
    """Every path ``interpolate_video`` opens as a source."""
    import stmfnet_trt.runtime.scheduling.video as video

    opened: list[Path] = []

    def recording(path, **kwargs):
        opened.append(Path(path))
        return open_source(path, **kwargs)

    monkeypatch.setattr(video, "open_source", recording)
    return opened


def test_the_input_is_opened_once_and_the_backend_after_its_first_frames(tmp_path, opened_sources):
    source = write_frames(tmp_path / "in", panning_frames(4, size=128))
    opener = Opener()
    summary = interpolate_video(source, tmp_path / "out", opener, RunOptions(input_fps=25, progress=False))
    assert (summary.input_frames, summary.output_frames) == (4, 8)
    assert opener.calls == 1 and opened_sources == [source]


@pytest.mark.parametrize(
    ("problem", "make", "error"),
    [
        (
            "one frame",
            lambda tmp: (write_frames(tmp / "in", panning_frames(1, size=128)), tmp / "out"),
            InputError,
        ),
        (
            "output is the input",
            lambda tmp: (write_frames(tmp / "in", panning_frames(3, size=128)),) * 2,
            UserError,
        ),
        ("missing input", lambda tmp: (tmp / "missing", tmp / "out"), UserError),
    ],
)
def test_nothing_opens_the_backend_when_the_files_are_wrong(tmp_path, problem, make, error):
    source, output = make(tmp_path)
    opener = Opener()
    with pytest.raises(error):  # --overwrite never lets the output replace the input
        interpolate_video(source, output, opener, RunOptions(input_fps=25, progress=False, overwrite=True))
    assert opener.calls == 0, problem
    assert not (tmp_path / "out").exists()
