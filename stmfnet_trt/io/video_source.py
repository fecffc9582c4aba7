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

Nor may anything be silently wrong in what is read:

- Orientation: each frame is turned by its display matrix (``Orientation``), so phone video
  comes out upright in every output kind, and ``width``/``height`` are the upright size. The
  first frame is decoded when opening, because PyAV exposes the matrix only on frames.
- Variable frame rate is refused (``InputError``) unless ``assume_constant_rate``, judged by
  the presentation timestamps of the packets (``IntervalCheck``): the first
  ``TIMING_PREFIX_PACKETS`` when opening (demuxed, not decoded: a few MB), so the usual
  variable-rate files (phones, screen and browser recordings) are refused before any work;
  and every packet while decoding, from the packets the decoder reads anyway, so a rate that
  varies late (a dropped frame) raises before the last frame and an atomic sink never commits.
  The file is never read twice for it. Container indexes would avoid the payload reads, but
  PyAV exposes only their decode timestamps, which FFmpeg regenerates unevenly when it remuxes
  Matroska with B-frames into MP4 (measured: a 59.94 fps clip gave 16-17.4 ms): they would
  refuse constant-rate files.
"""

from __future__ import annotations

import logging
import re
import stat
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stmfnet_trt.core.errors import InputError, Param, UserError
from stmfnet_trt.io.frame_source import FrameSource, check_frame_pixels
from stmfnet_trt.io.orientation import Orientation, frame_orientation
from stmfnet_trt.io.rates import IntervalCheck, checked_rate, snap_standard_rate

log = logging.getLogger(__name__)

_MATROSKA_DURATION = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")
# Packets whose timestamps are checked when opening (the rest while decoding): about 10 s of
# video, a few MB, within which phone, screen and browser recordings already vary.
TIMING_PREFIX_PACKETS = 300


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
    """``av.open`` (read-only) with every failure turned into an InputError that names the file."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO would block, a device never end
            raise InputError(f"{path}: not a regular file (a device, FIFO or socket)")
        if status.st_size == 0:
            raise InputError(f"{path}: file is empty (0 bytes)")
        # Forged tags with invalid UTF-8 must not raise UnicodeDecodeError when read.
        return av.open(str(path), "r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot read ({exc.strerror})") from exc  # permission, EISDIR...
        reason = describe_broken_mp4(path) or f"not a video FFmpeg can read ({exc.strerror})"
        raise InputError(f"{path}: {reason}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def pick_video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    """The first video stream that is a real video, not cover art attached to audio.

    Raises:
        InputError: there is none, or FFmpeg has no decoder for it (PyAV then gives the stream
            no codec context: found by fuzzing, a damaged Matroska codec ID).
    """
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            if stream.codec_context is None:
                raise InputError(f"{path}: FFmpeg has no decoder for its video stream's codec")
            return stream
    kinds = sorted({stream.type for stream in container.streams}) or ["none"]
    raise InputError(f"{path}: no video stream (streams found: {', '.join(kinds)})")


def indexed_frames(container: av.container.InputContainer, stream: av.VideoStream) -> int | None:
    """Frames listed in the container's index where it lists every frame, else None.

    The MP4/MOV demuxer indexes each sample of the ``moov`` table when opening (fragmented
    MP4 announces no frame count and indexes only the fragments it has read: left out), the
    AVI demuxer each chunk of its ``idx1``/OpenDML index. Matroska indexes keyframes only.
    Entries FFmpeg marks as discarded (cut by an edit list) are never shown and not counted.
    """
    entries = stream.index_entries
    format_name = container.format.name
    complete = (format_name.startswith("mov,") and 0 < stream.frames == len(entries)) or (
        format_name == "avi" and len(entries) > 0
    )
    if not complete:
        return None
    return sum(1 for entry in entries if not entry.is_discard)


def announced_frames(stream: av.VideoStream, fps: Fraction, indexed: int | None) -> int | None:
    """Frame count the file's header promises: the complete index, else the sample count,
    else the Matroska DURATION tag.

    Only counts written by the muxer are used; durations FFmpeg estimates from the bit rate
    (MPEG-TS) are too rough to call a file truncated. The index comes first because AVI's
    frame count includes slots for frames a capture dropped (opencv's tree.avi: 444 slots,
    68 pictures).
    """
    if indexed:
        return indexed
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
    stream's colour matrix tag, BT.601 when untagged; PyAV 16 ignored the tag, 18 honours it)
    and turned upright by its display matrix.

    Frames are decoded lazily while iterating, so memory stays at a few frames whatever the
    video's length. Each iteration opens and reads the file from the start.

    Args:
        path: the video file.
        fps: a rate to use instead of the file's own.
        assume_constant_rate: accept variable-frame-rate input as if it were constant at its
            average rate (a warning says so) instead of refusing it.
    """

    def __init__(self, path: Path, fps: Fraction | None, *, assume_constant_rate: bool = False) -> None:
        self.path = path
        self.assume_constant_rate = assume_constant_rate
        self._rate_warned = False
        container = open_container(path)
        try:
            self._probe(container, fps)
        finally:
            container.close()

    def _probe(self, container: av.container.InputContainer, fps: Fraction | None) -> None:
        """Read size, rate, frame count and audio presence from the container's header, the
        orientation from the first frame, and the timing of the first packets."""
        stream = pick_video_stream(container, self.path)
        stored_width, stored_height = stream.codec_context.width, stream.codec_context.height
        check_frame_pixels(stored_width, stored_height, f"{self.path}: the video stream")
        stream_rate = stream.average_rate or stream.guessed_rate
        own_rate = snap_standard_rate(Fraction(stream_rate)) if stream_rate else fps
        if own_rate is None:
            raise InputError(f"{self.path}: the video does not state its frame rate; pass one (fps)")
        try:
            own_rate = checked_rate(own_rate, f"{self.path}: the video's frame rate {own_rate}")
        except UserError as exc:
            if fps is None:
                raise InputError(f"{exc}; pass the right one (fps)") from exc
            own_rate = fps  # a forged rate the caller overrides; counts then use the caller's
        self.fps = fps or own_rate
        self.fps_assumed = False
        # Counts are converted with the file's own rate: a caller's fps changes the timing of
        # the frames, not how many there are.
        indexed = indexed_frames(container, stream)
        self._announced = announced_frames(stream, own_rate, indexed)
        self.frame_count = self._announced or estimate_from_duration(container, own_rate)
        self.has_audio = bool(container.streams.audio)
        timing = IntervalCheck(stream.time_base)
        orientation = self._read_start(container, stream, timing)
        if self._check_timing(timing) and not (indexed or stream.frames > 0):
            # A count derived from the duration (Matroska) assumes one rate: not a frame count here.
            self._announced = None
            self.frame_count = estimate_from_duration(container, self.fps)
        self.width, self.height = orientation.display_size(stored_width, stored_height)

    def _read_start(
        self, container: av.container.InputContainer, stream: av.VideoStream, timing: IntervalCheck
    ) -> Orientation:
        """Decode the first frame for its orientation; feed ``timing`` the timestamps of the
        first ``TIMING_PREFIX_PACKETS`` packets, demuxed without decoding once the frame is
        out. Reading stops there, frame or not: a damaged file is never read whole to open it."""
        orientation: Orientation | None = None
        packets = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    timing.add(packet.pts)
                    packets += 1
                if orientation is None:
                    frames = stream.decode(packet)
                    orientation = self._orientation(frames[0]) if frames else None
                if packets >= TIMING_PREFIX_PACKETS:
                    break
        except av.error.FFmpegError:
            # Damage at the start is reported by iteration, with the frames read, like damage
            # anywhere else; opening reads only what the header promises.
            log.debug("%s: the first frame did not decode when opening", self.path, exc_info=True)
        # No frame (yet): the stored orientation, which iteration checks frame by frame.
        return orientation or Orientation()

    def _check_timing(self, timing: IntervalCheck) -> bool:
        """Refuse (or, if assumed constant, warn once about) timestamps that vary; True when they
        vary and were accepted."""
        if timing.regular or timing.spread is None:
            return False
        description = timing.spread.describe()
        if self.assume_constant_rate:
            if not self._rate_warned:
                log.warning("%s: variable frame rate (%s); read as %s fps", self.path, description, self.fps)
                self._rate_warned = True
            return True
        raise InputError(
            f"{self.path}: variable frame rate ({description}); as constant {self.fps} fps its motion and "
            "audio sync would change: convert it (ffmpeg -i IN -fps_mode cfr -r RATE OUT) or accept that "
            "with ",
            Param("assume_constant_rate", True),
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        container = open_container(self.path)
        try:
            yield from self._decode(container)
        finally:
            container.close()

    def _decode(self, container: av.container.InputContainer) -> Iterator[np.ndarray]:
        stream = pick_video_stream(container, self.path)
        stream.thread_type = "AUTO"
        timing = IntervalCheck(stream.time_base)
        to_rgb = av.video.reformatter.VideoReformatter()  # one swscale context for every frame
        count = 0
        try:
            # demux() ends with an empty packet; decoding it flushes the frames the decoder
            # still holds back for reordering: the last frames of the video.
            for packet in container.demux(stream):
                if packet.size:
                    timing.add(packet.pts)
                    self._check_timing(timing)
                for frame in stream.decode(packet):
                    yield self._upright(frame, count, to_rgb)
                    count += 1
        except av.error.FFmpegError as exc:
            raise InputError(
                f"{self.path}: corrupt or truncated video: decoding failed after {count} frames "
                f"({exc.strerror})"
            ) from exc
        timing.finish()
        self._check_timing(timing)
        self._check_complete(count)

    def _orientation(self, frame: av.VideoFrame) -> Orientation:
        """``frame_orientation``, with the file named in its error."""
        try:
            return frame_orientation(frame)
        except InputError as exc:
            raise InputError(f"{self.path}: {exc}") from exc

    def _upright(
        self, frame: av.VideoFrame, index: int, to_rgb: av.video.reformatter.VideoReformatter
    ) -> np.ndarray:
        """The frame as RGB (converted by ``to_rgb``), turned by its own display matrix, checked
        against the video's size."""
        orientation = self._orientation(frame)
        width, height = orientation.display_size(frame.width, frame.height)
        if (width, height) != (self.width, self.height):
            raise InputError(
                f"{self.path}: frame {index} is {width}x{height}, but the video started at "
                f"{self.width}x{self.height}; size changes are not supported"
            )
        return orientation.apply(to_rgb.reformat(frame, format="rgb24").to_ndarray())

    def _check_complete(self, count: int) -> None:
        """Raise if decoding ended well before the frame count the header announces."""
        if self._announced is None or count >= self._announced:
            return
        shortfall = self._announced - count
        message = f"{self.path}: decoded {count} frames but the file announces {self._announced}"
        if shortfall > max(1, self._announced // 100):
            raise InputError(f"{message}: the video is truncated or corrupt")
        log.warning("%s; the last %d frame(s) are missing", message, shortfall)
