"""Carrying an input's audio into the output video.

Frame interpolation keeps a video's duration, so the original soundtrack still fits. Its
packets are copied unchanged (no generation loss, no time spent) when the output container can
hold the codec (AAC in MP4/MKV/MOV: yes), and re-encoded to AAC otherwise (e.g. FLAC or Opus
into MOV). Audio is a courtesy: any audio problem is logged as a warning and the video is still
written, with no audio or with the audio up to the failure.

Whether a stream setup works is asked of FFmpeg itself, by writing a header into memory with
the same muxer first: a stream, once added to the real output, cannot be removed again, and a
muxer that refuses it would then fail the whole video.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

StreamFactory = Callable[[av.container.OutputContainer], av.AudioStream]


def _setup_works(format_name: str, add_stream: StreamFactory) -> bool:
    """Whether the ``format_name`` muxer accepts the stream ``add_stream`` creates."""
    with av.open(io.BytesIO(), "w", format=format_name) as probe:
        try:
            add_stream(probe)
            probe.start_encoding()
        except (av.error.FFmpegError, ValueError):
            return False
    return True


def _aac_like(source: av.AudioStream) -> StreamFactory:
    """A factory for an AAC stream with the source's sample rate and channel layout."""

    def add(container: av.container.OutputContainer) -> av.AudioStream:
        stream = container.add_stream("aac", rate=source.rate)
        stream.layout = source.layout
        return stream

    return add


def _video_start(container: av.container.InputContainer) -> Fraction:
    """Where the input's video starts, in seconds: audio is shifted by it to stay in sync with
    an output video that starts at 0."""
    for stream in container.streams.video:
        if stream.start_time is not None:
            return stream.start_time * stream.time_base
    return Fraction(0)


def has_audio(path: Path) -> bool:
    """Whether ``path`` is a media file with an audio stream (False for folders, unreadable files)."""
    if path.is_dir():
        return False
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


class AudioTransfer:
    """Moves the first audio stream of an input file into an output container.

    Call ``write_until(t)`` as the video reaches ``t`` seconds so that audio and video
    interleave in the file, and ``finish()`` once the video is done.
    """

    def __init__(self, source: av.container.InputContainer, out: av.AudioStream, *, reencode: bool) -> None:
        self._source = source
        self._in = source.streams.audio[0]
        self._out = out
        self._reencode = reencode
        self._offset = _video_start(source)
        self._packets: Iterator[av.Packet] = source.demux(self._in)
        self._pending: av.Packet | None = None
        self._position = Fraction(0)

    @classmethod
    def attach(cls, output: av.container.OutputContainer, audio_from: Path) -> AudioTransfer | None:
        """Add ``audio_from``'s audio to ``output`` (before its header is written), or return
        None after logging why there will be no audio."""
        if audio_from.is_dir():
            log.info("audio: %s is a frame folder, which has no audio", audio_from)
            return None
        try:
            source = av.open(str(audio_from), metadata_errors="replace")
        except (av.error.FFmpegError, OSError) as exc:
            log.warning("audio: cannot read %s (%s); writing the video without audio", audio_from, exc)
            return None
        if not source.streams.audio:
            log.info("audio: %s has no audio stream", audio_from)
            source.close()
            return None
        in_stream = source.streams.audio[0]
        codec, fmt = in_stream.codec_context.name, output.format.name

        def copy_of_input(container: av.container.OutputContainer) -> av.AudioStream:
            return container.add_stream_from_template(in_stream)

        if _setup_works(fmt, copy_of_input):
            log.info("audio: copying the %s stream of %s unchanged", codec, audio_from)
            return cls(source, copy_of_input(output), reencode=False)
        if _setup_works(fmt, _aac_like(in_stream)):
            log.info("audio: the %s format cannot hold %s audio; re-encoding it to AAC", fmt, codec)
            return cls(source, _aac_like(in_stream)(output), reencode=True)
        log.warning("audio: the %s format takes neither %s nor AAC audio; writing no audio", fmt, codec)
        source.close()
        return None

    def write_until(self, seconds: Fraction | None) -> None:
        """Mux the audio up to ``seconds`` of output time (all of it for None)."""
        output = self._out.container
        try:
            while True:
                if self._pending is None:
                    self._pending = next(self._packets, None)
                    if self._pending is None:
                        return
                packet = self._pending
                if packet.pts is not None:
                    start = packet.pts * packet.time_base - self._offset
                    if seconds is not None and start > seconds:
                        return
                    self._position = start
                self._pending = None
                output.mux(list(self._reencoded(packet) if self._reencode else self._copied(packet)))
        except av.error.FFmpegError as exc:
            log.warning("audio: stopped at %.2f s (%s); the video is complete", self._position, exc)
            self._packets = iter(())
            self._pending = None

    def finish(self, until: Fraction | None = None) -> None:
        """Mux the remaining audio (up to ``until`` seconds of output time if given, dropping the
        rest), flush the encoder if re-encoding, close the input."""
        self.write_until(until)
        if self._reencode:
            try:
                self._out.container.mux(self._out.encode(None))
            except av.error.FFmpegError as exc:
                log.warning("audio: flushing the AAC encoder failed (%s)", exc)
        self.close()

    def close(self) -> None:
        """Close the input file the audio is read from."""
        self._source.close()

    def _shift(self, time: int | None, time_base: Fraction) -> int | None:
        """Move a timestamp so that the input's video start becomes output time 0."""
        return None if time is None else time - round(self._offset / time_base)

    def _copied(self, packet: av.Packet) -> Iterable[av.Packet]:
        if packet.dts is None:  # the demuxer's final empty packet: nothing to copy
            return ()
        packet.pts = self._shift(packet.pts, packet.time_base)
        packet.dts = self._shift(packet.dts, packet.time_base)
        packet.stream = self._out
        return (packet,)

    def _reencoded(self, packet: av.Packet) -> Iterable[av.Packet]:
        for frame in self._in.decode(packet):  # the final empty packet flushes the decoder
            frame.pts = self._shift(frame.pts, frame.time_base)
            yield from self._out.encode(frame)
