"""Frames from a folder of PNG/JPEG images, one image per frame.

A folder is a sequence: a frame that silently went missing would shift every later one. So an
entry that is named like a frame but cannot be one (a broken or looping symlink, a folder or a
FIFO called ``x.png``) is refused by name rather than skipped, and so is a folder holding
images in another format (``.webp``, ``.heic``, ...); only hidden files (``.x.png``, editor
and OS clutter) and non-image files are left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from stmfnet_trt.core.errors import InputError
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.images import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)

# Image files carry no frame rate; this is the usual PAL/web rate, used only when the caller
# gives none (and then ``fps_assumed`` is True and a warning says so).
DEFAULT_FOLDER_FPS = Fraction(25)


def natural_sort_key(name: str) -> list[str | int]:
    r"""Sort key that orders digit runs by value: ``frame2`` before ``frame10``.

    ``re.split`` with a capturing group alternates text and digit runs, starting with text, so
    two keys always compare str with str and int with int. ``isdecimal`` matches exactly what
    ``\d`` matches; ``isdigit`` would also take a text run of superscripts ("1²2.png"),
    which ``int`` refuses.
    """
    return [int(part) if part.isdecimal() else part.casefold() for part in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """The PNG/JPEG files directly in ``folder``, naturally sorted; hidden files are skipped.

    Raises:
        InputError: the folder cannot be listed, holds images in another format, or an entry
            named like a frame is no regular file (symlinks to regular files are fine).
    """
    try:
        visible = sorted(
            (entry for entry in folder.iterdir() if not entry.name.startswith(".")),
            key=lambda entry: natural_sort_key(entry.name),
        )
    except OSError as exc:
        raise InputError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from exc
    others = [entry.name for entry in visible if entry.suffix.lower() in OTHER_IMAGE_SUFFIXES]
    if others:
        raise InputError(
            f"{folder}: holds {len(others)} image(s) in a format frame folders do not read, such as "
            f"{others[0]}; only PNG and JPEG are read: convert them, or move them out"
        )
    entries = [entry for entry in visible if entry.suffix.lower() in IMAGE_SUFFIXES]
    for entry in entries:  # in frame order, so that the first bad frame is the one named
        if not entry.is_file():  # is_file() follows symlinks and is False for loops/dangling ones
            raise InputError(
                f"{entry}: named like a frame but not a regular file (folder, FIFO or broken link)"
            )
    return entries


class FolderSource(FrameSource):
    """Every PNG/JPEG in a folder, in natural order; all must have the first image's size.

    Only the first image is decoded when opening; a later image of another size raises
    InputError naming that file when iteration reaches it, so a huge folder opens quickly.
    Sizes are compared upright (after EXIF orientation), as the frames are handed out.
    """

    def __init__(self, folder: Path, fps: Fraction | None) -> None:
        self.path = folder
        self._files = list_images(folder)
        if not self._files:
            raise InputError(f"{folder}: folder has no PNG or JPEG images")
        first = read_image(self._files[0]).rgb
        self.height, self.width = first.shape[:2]
        self.fps_assumed = fps is None
        self.fps = DEFAULT_FOLDER_FPS if fps is None else fps
        if self.fps_assumed:
            log.warning("%s: frame folders carry no frame rate; assuming %s fps", folder, self.fps)
        self.frame_count = len(self._files)
        self.has_audio = False

    def __iter__(self) -> Iterator[np.ndarray]:
        alpha_reported = False
        for image_path in self._files:
            picture = read_image(image_path)
            height, width = picture.rgb.shape[:2]
            if (width, height) != (self.width, self.height):
                raise InputError(
                    f"{image_path}: image is {width}x{height} but the first frame "
                    f"({self._files[0].name}) is {self.width}x{self.height}; all frames must be one size"
                )
            if not alpha_reported and picture.had_alpha:
                log.warning("%s: alpha channel ignored (frames are used as RGB)", image_path)
                alpha_reported = True
            yield picture.rgb
