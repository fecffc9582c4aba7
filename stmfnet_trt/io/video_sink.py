"""Frames into an H.264 video file (.mp4, .mkv, .mov), with the input's audio alongside.

Choices, and why:

- Codec: H.264 by libx264 (the PyAV wheels bundle it), ``crf`` 18 by default: visually
  lossless for most content, so the interpolated frames are judged, not the encoder. An FFmpeg
  build without libx264 falls back to MPEG-4 Part 2 (``mpeg4``, fixed quantiser 3), and the
  codec used is logged.
- Speed: libx264's ``preset`` (``medium`` by default, as the ``ffmpeg`` tool's) and its threads
  (FFmpeg's choice by default: 1.5 per core) are the caller's to set. Without a model the encoder
  is the slowest stage of a run: a faster preset writes a bigger file of the same quality.
- Pixel format: yuv420p, which every player decodes. It needs even sides, so a frame with an
  odd width or height is written as yuv444p (H.264 High 4:4:4) instead: exactly the frame's
  size, no invented or lost pixels, but some hardware decoders and browsers cannot play it
  (a warning says so). ``mpeg4`` takes odd sizes in yuv420p.
- Colour: RGB is converted with the BT.709 matrix, limited range, and the stream is tagged
  so, so players and our reader (which honours the tag) invert it exactly.
- Frame rate: the stream's rate and time base are set from the exact fraction and frame ``i``
  gets timestamp ``i``, so 60000/1001 reads back as 60000/1001 (MP4/MOV; Matroska stores
  milliseconds, and our reader snaps the rate back to the standard one).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stmfnet_trt.core.errors import ParameterError, UserError
from stmfnet_trt.io.atomic import AtomicOutput
from stmfnet_trt.io.audio import AudioTransfer
from stmfnet_trt.io.frame_sink import FrameSink

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov"})
DEFAULT_CRF = 18
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
DEFAULT_PRESET = "medium"
H264_ENCODER = "libx264"
FALLBACK_ENCODER = "mpeg4"
_FALLBACK_QSCALE = 3
_FF_QP2LAMBDA = 118  # FFmpeg's quantiser-to-lambda factor, for mpeg4's fixed quality

# AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic BT709 = 1, AVCOL_RANGE_MPEG = 1
_BT709 = 1
_LIMITED_RANGE = 1


def check_encoder_options(preset: str, threads: int | None) -> None:
    """Refuse a preset libx264 does not have and a thread count below 1 (None: FFmpeg's choice)."""
    if preset not in X264_PRESETS:
        raise ParameterError("preset", f"must be one of {', '.join(X264_PRESETS)}; got {preset!r}")
    if threads is not None and threads < 1:
        raise ParameterError("encoder_threads", f"must be at least 1, got {threads}")


def encoder_settings(
    width: int, height: int, crf: int, preset: str = DEFAULT_PRESET
) -> tuple[str, str, dict[str, str]]:
    """Pick (codec, pixel format, encoder options) for a frame size (see module docstring)."""
    if H264_ENCODER in av.codecs_available:
        odd = width % 2 or height % 2
        if odd:
            log.warning(
                "%dx%d has an odd side, which yuv420p cannot hold: writing H.264 4:4:4 "
                "(yuv444p), which some hardware players and browsers cannot play",
                width,
                height,
            )
        return H264_ENCODER, "yuv444p" if odd else "yuv420p", {"crf": str(crf), "preset": preset}
    log.warning(
        "this FFmpeg build has no %s encoder; writing %s video instead", H264_ENCODER, FALLBACK_ENCODER
    )
    quality = str(_FALLBACK_QSCALE * _FF_QP2LAMBDA)
    return FALLBACK_ENCODER, "yuv420p", {"flags": "+qscale", "global_quality": quality}


class VideoSink(FrameSink):
    """Encodes frames into a temporary video file that ``close`` renames onto ``path``."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        audio_from: Path | None,
        crf: int,
        preset: str = DEFAULT_PRESET,
        threads: int | None = None,
        trim_audio: bool = False,
        overwrite: bool = False,
    ) -> None:
        super().__init__(AtomicOutput(path, directory=False, overwrite=overwrite), width, height, fps)
        self._trim_audio = trim_audio
        self._reformatter = av.video.reformatter.VideoReformatter()
        self._container: av.container.OutputContainer | None = None
        self._audio: AudioTransfer | None = None
        try:
            self._container = av.open(str(self._output.temp), "w")
            self._stream = self._add_video_stream(crf, preset, threads)
            self._audio = None if audio_from is None else AudioTransfer.attach(self._container, audio_from)
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(self, crf: int, preset: str, threads: int | None) -> av.VideoStream:
        codec, pix_fmt, options = encoder_settings(self.width, self.height, crf, preset)
        log.info(
            "%s: encoding %s %s, %dx%d at %s fps",
            self.path,
            codec,
            pix_fmt,
            self.width,
            self.height,
            self.fps,
        )
        stream = self._container.add_stream(codec, rate=self.fps, options=options)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, pix_fmt
        stream.time_base = 1 / self.fps
        context = stream.codec_context
        # FFmpeg's own default, as the ffmpeg tool leaves it: libx264 then encodes several frames at
        # once on its threads. PyAV's default (slice threads) makes it cut every frame into slices
        # encoded together while the caller waits: ~1.5x the CPU time of a 1080p run's encode.
        context.thread_type = "AUTO"
        if threads is not None:
            context.thread_count = threads
        context.colorspace = context.color_primaries = context.color_trc = _BT709
        context.color_range = _LIMITED_RANGE
        return stream

    def _write(self, frame: np.ndarray) -> None:
        # The array wrapped, not copied, and one swscale context for every frame: the same
        # bytes out as ``from_ndarray(...).reformat(...)``, which copied each frame and set up a
        # converter for it.
        picture = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")
        video_frame = self._reformatter.reformat(
            picture, format=self._stream.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG"
        )
        # Frame i at time i/fps. Not the stream's time base: the muxer replaces that with its
        # own (1/60000 for MP4 at 60000/1001 fps) once the header is written.
        video_frame.pts = self.frames_written
        video_frame.time_base = 1 / self.fps
        self._mux(self._stream.encode(video_frame))
        if self._audio is not None:
            self._audio.write_until((self.frames_written + 1) / self.fps)

    def _mux(self, packets: list[av.Packet]) -> None:
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as exc:
            raise UserError(f"{self.path}: writing the video failed ({exc.strerror})") from exc

    def _finish(self) -> None:
        self._mux(self._stream.encode(None))
        if self._audio is not None:
            self._audio.finish(Fraction(self.frames_written) / self.fps if self._trim_audio else None)
        try:  # writes the trailer (the MP4 index): a full disk often shows only here
            self._container.close()
        except av.error.FFmpegError as exc:
            raise UserError(f"{self.path}: finishing the video failed ({exc.strerror})") from exc

    def _release(self) -> None:
        if self._audio is not None:
            self._audio.close()
        if self._container is not None:
            self._container.close()
