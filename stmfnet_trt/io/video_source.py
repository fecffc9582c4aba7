"""Frames from a video file, decoded by FFmpeg through PyAV, streamed one at a time.

Damaged files must not pass for short ones: interpolating a clip that silently lost its last
half would hand the user a wrong result with no hint why. Measured with PyAV 18 / FFmpeg 8:

- an MP4 cut short whose ``moov`` index sits at the end (the usual layout) cannot be opened at
  all: FFmpeg reports invalid data; ``describe_broken_mp4`` turns that into "no moov index";
- an MP4 with its index first ("faststart") cut short, or any MP4 with garbage bytes in the
  middle, fails in the decoder (``avcodec_send_packet``) unless frame threading is on, in which
  case the decoder just stops early;
- a Matroska file cut short or with garbage in the middle decodes without any error, only
  fewer frames.

So decode errors raise InputError with the number of frames read, and after the last frame the
count is checked against the count the file's header announces (MP4/MOV/AVI sample count,
Matroska ``DURATION`` tag): a shortfall of more than 1 % (at least 2 frames) raises InputError,
a smaller one is logged. Containers that announce no count (MPEG-TS, raw streams) get only the
decoder's check.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stmfnet_trt.errors import InputError
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.rates import snap_standard_rate

log = logging.getLogger(__name__)

_MATROSKA_DURATION = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")


def describe_broken_mp4(path: Path) -> str | None:
    """Explain why an MP4/MOV that FFmpeg refuses cannot be read, or None if it is no MP4.

    Walks the top-level boxes (4-byte size, 4-byte type; size 1 means a 64-bit size follows,
    size 0 means "to the end of the file"). A file that starts with ``ftyp`` but has no
    ``moov`` was cut short before its index was written.
    """
    file_size = path.stat().st_size
    box_types: list[bytes] = []
    offset = 0
    with path.open("rb") as stream:
        while offset + 8 <= file_size:
            stream.seek(offset)
            header = stream.read(16)
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:])[0]
            elif box_size == 0:
                box_size = file_size - offset
            if box_size < 8:
                break
            box_types.append(box_type)
            offset += box_size
    if not box_types or box_types[0] != b"ftyp":
        return None
    if b"moov" not in box_types:
        return (
            "truncated MP4/MOV: it has no 'moov' index (written last when a recording or copy "
            "finishes), so the file was cut short and its frames cannot be located"
        )
    if offset > file_size:
        return f"MP4/MOV cut short: its boxes announce {offset} bytes but the file has {file_size}"
    return None


def open_container(path: Path) -> av.container.InputContainer:
    """``av.open`` with every failure turned into an InputError that names the file."""
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        reason = describe_broken_mp4(path) or f"not a video FFmpeg can read ({exc.strerror})"
        raise InputError(f"{path}: {reason}") from exc


def pick_video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    """The first video stream that is a real video, not cover art attached to audio."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    kinds = sorted({stream.type for stream in container.streams}) or ["none"]
    raise InputError(f"{path}: no video stream (streams found: {', '.join(kinds)})")


def announced_frames(stream: av.VideoStream, fps: Fraction) -> int | None:
    """Frame count the file's header promises: sample count, else the Matroska DURATION tag.

    Only counts written by the muxer are used; durations FFmpeg estimates from the bit rate
    (MPEG-TS) are too rough to call a file truncated.
    """
    if stream.frames > 0:
        return stream.frames
    match = _MATROSKA_DURATION.match(stream.metadata.get("DURATION", ""))
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    duration = (int(hours) * 60 + int(minutes)) * 60 + Fraction(seconds)
    return round(duration * fps)


def estimate_from_duration(container: av.container.InputContainer, fps: Fraction) -> int | None:
    """Rough frame count from the container's duration (longest stream), or None."""
    if container.duration is None:
        return None
    return round(Fraction(container.duration, av.time_base) * fps)


class VideoSource(FrameSource):
    """The first video stream of a file; every frame converted to RGB (swscale, using the
    stream's colour matrix tag, BT.601 when untagged; PyAV 16 ignored the tag, 18 honours it).

    Frames are decoded lazily while iterating, so memory stays at a few frames whatever the
    video's length. Each iteration reads the file from the start.
    """

    def __init__(self, path: Path, fps: Fraction | None) -> None:
        self.path = path
        container = open_container(path)
        try:
            self._probe(container, fps)
        except BaseException:
            container.close()
            raise
        self._container: av.container.InputContainer | None = container

    def _probe(self, container: av.container.InputContainer, fps: Fraction | None) -> None:
        """Read size, rate, frame count and audio presence from the container's header."""
        stream = pick_video_stream(container, self.path)
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"{self.path}: the video stream has no frame size (damaged header)")
        stream_rate = stream.average_rate or stream.guessed_rate
        own_rate = snap_standard_rate(Fraction(stream_rate)) if stream_rate else fps
        if own_rate is None:
            raise InputError(f"{self.path}: the video does not state its frame rate; pass one (fps)")
        self.fps = fps or own_rate
        self.fps_assumed = False
        # Counts are converted with the file's own rate: a caller's fps changes the timing of
        # the frames, not how many there are.
        self._announced = announced_frames(stream, own_rate)
        self.frame_count = self._announced or estimate_from_duration(container, own_rate)
        self.has_audio = bool(container.streams.audio)

    def __iter__(self) -> Iterator[np.ndarray]:
        container, self._container = self._container or open_container(self.path), None
        try:
            yield from self._decode(container)
        finally:
            container.close()

    def _decode(self, container: av.container.InputContainer) -> Iterator[np.ndarray]:
        stream = pick_video_stream(container, self.path)
        stream.thread_type = "AUTO"
        count = 0
        try:
            # demux() ends with an empty packet; decoding it flushes the frames the decoder
            # still holds back for reordering: the last frames of the video.
            for packet in container.demux(stream):
                for frame in stream.decode(packet):
                    if (frame.width, frame.height) != (self.width, self.height):
                        raise InputError(
                            f"{self.path}: frame {count} is {frame.width}x{frame.height}, but the "
                            f"video started at {self.width}x{self.height}; size changes are not supported"
                        )
                    yield frame.to_ndarray(format="rgb24")
                    count += 1
        except av.error.FFmpegError as exc:
            raise InputError(
                f"{self.path}: corrupt or truncated video: decoding failed after {count} frames "
                f"({exc.strerror})"
            ) from exc
        self._check_complete(count)

    def _check_complete(self, count: int) -> None:
        """Raise if decoding ended well before the frame count the header announces."""
        if self._announced is None or count >= self._announced:
            return
        shortfall = self._announced - count
        message = f"{self.path}: decoded {count} frames but the file announces {self._announced}"
        if shortfall > max(1, self._announced // 100):
            raise InputError(f"{message}: the video is truncated or corrupt")
        log.warning("%s; the last %d frame(s) are missing", message, shortfall)

    def close(self) -> None:
        """Close the container opened for probing, if no iteration has taken it over."""
        if self._container is not None:
            self._container.close()
            self._container = None
