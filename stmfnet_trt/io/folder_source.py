"""Frames from a folder of PNG/JPEG images, one image per frame."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from stmfnet_trt.errors import InputError
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.images import IMAGE_SUFFIXES, decode_image, has_alpha, to_rgb

log = logging.getLogger(__name__)

# Image files carry no frame rate; this is the usual PAL/web rate, used only when the caller
# gives none (and then ``fps_assumed`` is True and a warning says so).
DEFAULT_FOLDER_FPS = Fraction(25)


def natural_sort_key(name: str) -> list[str | int]:
    """Sort key that orders digit runs by value: ``frame2`` before ``frame10``.

    ``re.split`` with a capturing group alternates text and digit runs, starting with text, so
    two keys always compare str with str and int with int.
    """
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """The PNG/JPEG files directly in ``folder``, naturally sorted; hidden files are skipped."""
    images = [
        entry
        for entry in folder.iterdir()
        if entry.suffix.lower() in IMAGE_SUFFIXES and not entry.name.startswith(".") and entry.is_file()
    ]
    return sorted(images, key=lambda entry: natural_sort_key(entry.name))


class FolderSource(FrameSource):
    """Every PNG/JPEG in a folder, in natural order; all must have the first image's size.

    Only the first image is decoded when opening; a later image of another size raises
    InputError naming that file when iteration reaches it, so a huge folder opens quickly.
    """

    def __init__(self, folder: Path, fps: Fraction | None) -> None:
        self.path = folder
        self._files = list_images(folder)
        if not self._files:
            raise InputError(f"{folder}: folder has no PNG or JPEG images")
        first = decode_image(self._files[0])
        self.width, self.height = first.width, first.height
        self.fps_assumed = fps is None
        self.fps = DEFAULT_FOLDER_FPS if fps is None else fps
        if self.fps_assumed:
            log.warning("%s: frame folders carry no frame rate; assuming %s fps", folder, self.fps)
        self.frame_count = len(self._files)
        self.has_audio = False

    def __iter__(self) -> Iterator[np.ndarray]:
        alpha_reported = False
        for image_path in self._files:
            frame = decode_image(image_path)
            if (frame.width, frame.height) != (self.width, self.height):
                raise InputError(
                    f"{image_path}: image is {frame.width}x{frame.height} but the first frame "
                    f"({self._files[0].name}) is {self.width}x{self.height}; all frames must be one size"
                )
            if not alpha_reported and has_alpha(frame):
                log.warning("%s: alpha channel ignored (frames are used as RGB)", image_path)
                alpha_reported = True
            yield to_rgb(frame)
