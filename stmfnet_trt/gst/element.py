"""``stmfnetinterp``: a GStreamer element that multiplies a video's frame rate by 2, 4 or 8.

    videotestsrc ! video/x-raw,width=160,height=96,framerate=25/1 ! stmfnetinterp factor=2 ! ...

It runs the project's scheduler (``interpolate_stream``: four-frame windows, scene cuts, the
diverged-window fallback) with any backend ``stmfnet-trt run`` has, built by the CLI's own
backend table from the element's properties, so the frames are those ``run`` gives.

How it behaves, and why:

- **Caps.** RGB, I420, NV12, Y444 and GRAY8 in system memory, progressive, a fixed frame rate;
  the source pad has the same caps with ``factor`` x the rate. YUV is converted to RGB and back
  with the caps' colorimetry (BT.601/BT.709 matrix and range; other matrices by frame size) by
  the swscale calls the file path uses. Caps it cannot take (sides under 65 px, interlaced, a
  variable rate) post one error that says why; formats outside the template fail negotiation
  the usual way (put ``videoconvert`` in front).
- **Threads and memory.** The upstream thread converts each frame and hands it to a queue of
  ``QUEUE_FRAMES`` frames; a worker thread runs the scheduler and pushes the output downstream.
  When the backend is slower than real time the queue fills and the upstream thread waits:
  back-pressure, never an unbounded buffer and never a dropped input frame (dropping one would
  break the timeline). A live source then drops or a ``queue leaky=downstream`` in front can;
  output timestamps stay on the nominal grid so sinks with ``sync=true`` drop late frames per
  their QoS. The element reports its look-ahead in the LATENCY query.
- **Timestamps.** Output frame k gets ``t0 + k / (factor x rate)`` (exact integer arithmetic),
  its duration the distance to the next: exactly factor x the rate. ``t0`` is the first input
  buffer's timestamp after start or a flush; input gaps are not followed (a stream with dropped
  frames should pass ``videorate`` first).
- **EOS** drains the scheduler (the last frames and the held copy of the final frame) before it
  is forwarded; a caps change drains likewise; a flush (seek) discards what is queued.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import gi
import numpy as np

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, GObject, Gst, GstVideo  # noqa: E402

from stmfnet_trt.core.contract import check_frame_size  # noqa: E402
from stmfnet_trt.core.errors import UserError  # noqa: E402
from stmfnet_trt.core.frames import to_model_frame, to_video_frame  # noqa: E402
from stmfnet_trt.io.y4m import matrix_for_size  # noqa: E402
from stmfnet_trt.io.yuv import Colour, FrameConverter, PlaneLayout  # noqa: E402
from stmfnet_trt.runtime.backend import Backend  # noqa: E402
from stmfnet_trt.runtime.backends.specs import named_spec, open_backend  # noqa: E402
from stmfnet_trt.runtime.scheduling.scene import DEFAULT_THRESHOLD, SceneCutDetector  # noqa: E402
from stmfnet_trt.runtime.scheduling.scheduler import (  # noqa: E402
    SchedulerStats,
    interpolate_stream,
    levels_for_factor,
)

# GStreamer format -> FFmpeg pixel format (io/yuv.py's layouts).
FORMATS = {"RGB": "rgb24", "I420": "yuv420p", "NV12": "nv12", "Y444": "yuv444p", "GRAY8": "gray"}
CAPS = Gst.Caps.from_string(
    f"video/x-raw, format=(string){{ {', '.join(FORMATS)} }}, width=(int)[ 1, 32767 ], "
    "height=(int)[ 1, 32767 ], framerate=(fraction)[ 0/1, 2147483647/1 ]"
)
# Input frames waiting for the worker: enough to keep it busy, few enough to bound memory.
QUEUE_FRAMES = 4
_PUT_POLL_S = 0.1
_END = object()  # queue marker: drain and stop
# The ``model`` property, by backend: which file it names.
_MODEL_FIELDS = {"auto": "onnx", "onnxruntime": "onnx", "tensorrt": "engine", "torch": "checkpoint"}


def make_backend(name: str, model: str | None) -> Backend:
    """The backend ``stmfnet-trt run --backend NAME`` would use, with ``model`` as its file."""
    files = {}
    if model:
        if name not in _MODEL_FIELDS:
            raise UserError(f"backend {name} takes no model file")
        files[_MODEL_FIELDS[name]] = Path(model)
    return open_backend(named_spec(name, progress=False, **files))


def _colour(info: GstVideo.VideoInfo) -> Colour:
    """The caps' colorimetry and chroma siting as io/yuv.py's Colour (unknown matrix: by size)."""
    matrices = {GstVideo.VideoColorMatrix.BT601: "bt601", GstVideo.VideoColorMatrix.BT709: "bt709"}
    sitings = {"jpeg": "center", "mpeg2": "left", "dv": "topleft"}
    matrix = matrices.get(info.colorimetry.matrix, matrix_for_size(info.width, info.height))
    full = info.colorimetry.range.value_nick == "0-255"  # the enum member's name starts with a digit
    subsampled = info.finfo.name in ("I420", "NV12")
    siting = sitings.get(GstVideo.VideoChromaSite.to_string(info.chroma_site) or "") if subsampled else None
    return Colour(matrix, "full" if full else "limited", siting)


class _Frames:
    """Caps-derived facts about the frames: their layout, colour, rate and output timeline."""

    def __init__(self, caps: Gst.Caps, factor: int) -> None:
        info = GstVideo.VideoInfo.new_from_caps(caps)
        if info is None:
            raise UserError(f"caps {caps.to_string()} do not describe raw video")
        if info.interlace_mode != GstVideo.VideoInterlaceMode.PROGRESSIVE:
            raise UserError("interlaced video is not supported: deinterlace first (deinterlace ! ...)")
        if info.fps_n <= 0 or info.fps_d <= 0:
            raise UserError("the stream has no fixed frame rate (framerate=0/1): put videorate in front")
        check_frame_size(info.height, info.width)
        self.info = info
        self.layout = PlaneLayout(FORMATS[info.finfo.name], info.width, info.height)
        self.converter = FrameConverter(self.layout, _colour(info))
        self.rate_n, self.rate_d = info.fps_n * factor, info.fps_d
        out = caps.copy()
        out.set_value("framerate", Gst.Fraction(self.rate_n, self.rate_d))
        self.out_caps = out
        self.out_info = GstVideo.VideoInfo.new_from_caps(out)

    def to_model(self, buffer: Gst.Buffer) -> np.ndarray:
        """An input buffer -> a float32 (3, H, W) model frame (the buffer's own strides honoured)."""
        meta = GstVideo.buffer_get_video_meta(buffer) or self.info  # a decoder's own strides win
        offsets, strides = meta.offset, meta.stride
        planes_count = len(self.layout.planes)
        ok, mapped = buffer.map(Gst.MapFlags.READ)
        if not ok:
            raise UserError("cannot map an input buffer (not in system memory?)")
        try:
            planes = self.layout.strided(mapped.data, offsets[:planes_count], strides[:planes_count])
            return to_model_frame(self.converter.to_rgb(planes))
        finally:
            buffer.unmap(mapped)

    def to_buffer(self, frame: np.ndarray, index: int, t0: int) -> Gst.Buffer:
        """Output frame ``index`` as a buffer in the output caps' layout, on the exact time grid."""
        data = np.zeros(self.out_info.size, np.uint8)
        count = len(self.layout.planes)
        targets = self.layout.strided(data.data, self.out_info.offset[:count], self.out_info.stride[:count])
        planes = self.converter.to_planes(to_video_frame(frame))
        for target, plane in zip(targets, planes, strict=True):
            np.copyto(target, plane)
        buffer = Gst.Buffer.new_wrapped(data.tobytes())
        buffer.pts = t0 + self.time_of(index)
        buffer.duration = self.time_of(index + 1) - self.time_of(index)
        return buffer

    def time_of(self, index: int) -> int:
        """Nanoseconds from the first output frame to frame ``index``, rounded down, exactly."""
        return Gst.util_uint64_scale(index, Gst.SECOND * self.rate_d, self.rate_n)


class StmfnetInterp(Gst.Element):
    """The element; see the module docstring for its caps, threads, timestamps and EOS."""

    __gtype_name__ = "StmfnetInterp"
    __gstmetadata__ = (
        "ST-MFNet Mini frame interpolation",
        "Filter/Effect/Video",
        "Multiplies the frame rate by 2, 4 or 8 with ST-MFNet Mini (stmfnet-trt)",
        "stmfnet-trt developers",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, CAPS),
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, CAPS),
    )
    __gproperties__: ClassVar[dict[str, tuple]] = {
        "factor": (int, "factor", "frame-rate multiplier: 2, 4 or 8", 2, 8, 2, GObject.ParamFlags.READWRITE),
        "backend": (
            str,
            "backend",
            "auto, onnxruntime, tensorrt, torch, blend or triton (as `stmfnet-trt run --backend`)",
            "auto",
            GObject.ParamFlags.READWRITE,
        ),
        "model": (
            str,
            "model",
            "ONNX model (auto/onnxruntime), TensorRT engine (tensorrt) or checkpoint (torch); "
            "empty: the demo weights, exported once and cached",
            "",
            GObject.ParamFlags.READWRITE,
        ),
        "scene-threshold": (
            float,
            "scene threshold",
            "cut score from which a pair is copied, not interpolated (scores lie in [0, 1]: above 1 "
            "turns scene detection off)",
            0.0,
            2.0,
            DEFAULT_THRESHOLD,
            GObject.ParamFlags.READWRITE,
        ),
        "batch-size": (
            int,
            "batch size",
            "windows per inference call",
            1,
            64,
            1,
            GObject.ParamFlags.READWRITE,
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        self.settings = {"factor": 2, "backend": "auto", "model": "", "scene-threshold": DEFAULT_THRESHOLD}
        self.settings["batch-size"] = 1
        self.sinkpad = Gst.Pad.new_from_template(self.get_pad_template("sink"), "sink")
        self.sinkpad.set_chain_function_full(self._chain)
        self.sinkpad.set_event_function_full(self._sink_event)
        self.sinkpad.set_query_function_full(self._sink_query)
        self.add_pad(self.sinkpad)
        self.srcpad = Gst.Pad.new_from_template(self.get_pad_template("src"), "src")
        self.srcpad.set_query_function_full(self._src_query)
        self.add_pad(self.srcpad)
        self._backend: Backend | None = None
        self._frames: _Frames | None = None
        self._queue: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self._worker: threading.Thread | None = None
        self._flow = Gst.FlowReturn.OK
        self._flushing = False
        self._failed = False
        self._t0 = 0
        self.stats = SchedulerStats()  # windows, cuts, diverged windows so far: for applications

    # -- properties ---------------------------------------------------------------------------
    def do_get_property(self, prop: GObject.ParamSpec):
        return self.settings[prop.name]

    def do_set_property(self, prop: GObject.ParamSpec, value) -> None:
        self.settings[prop.name] = value  # checked at caps time, where an error can be posted

    # -- errors -------------------------------------------------------------------------------
    def _fail(self, text: str, debug: str = "") -> None:
        """Post the error for the application (gst-launch prints it and stops), once, and stop
        the stream quietly: from here on buffers get FLUSHING and EOS is not forwarded.

        Why quietly: a FlowReturn.ERROR or a refused CAPS event makes the source post a second,
        generic error ("Internal data stream error") and push EOS downstream; gst-launch 1.22
        then sometimes waits for a preroll that never comes (measured: 3 hangs in 30 runs). One
        cause reads as one error, and nothing hangs."""
        self._flow = Gst.FlowReturn.FLUSHING
        if self._failed:
            return
        self._failed = True
        error = GLib.Error.new_literal(
            Gst.StreamError.quark(), f"stmfnetinterp: {text}", Gst.StreamError.FAILED
        )
        self.post_message(Gst.Message.new_error(self, error, debug or text))

    # -- worker: the scheduler, fed by the queue ----------------------------------------------
    def _input(self) -> Iterator[np.ndarray]:
        while (item := self._queue.get()) is not _END:
            yield item

    def _work(self, frames: _Frames, backend: Backend) -> None:
        detector = SceneCutDetector(threshold=self.settings["scene-threshold"])
        try:
            output = interpolate_stream(
                self._input(),
                backend,
                self.settings["factor"],
                detector,
                self.settings["batch-size"],
                self.stats,
            )
            for index, frame in enumerate(output):
                flow = self.srcpad.push(frames.to_buffer(frame, index, self._t0))
                if flow != Gst.FlowReturn.OK:
                    self._flow = flow
                    break
        except UserError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug: say so, keep the traceback for GST_DEBUG / the app
            self._fail(f"internal error: {exc}", traceback.format_exc())
        finally:
            self._discard_queue()

    def _discard_queue(self) -> None:
        """Empty the queue so that a producer blocked on it returns (the worker stopped early)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _drain(self) -> None:
        """Let the worker finish every frame it was given, then forget it."""
        if self._worker is not None:
            self._put(_END)
            self._worker.join()
            self._worker = None

    def _interrupt(self) -> None:
        """Flushing: drop the queued frames and wake a worker waiting for input, so that it ends
        (its pushes now return FLUSHING)."""
        self._flushing = True
        while True:
            self._discard_queue()
            try:
                self._queue.put_nowait(_END)
                return
            except queue.Full:  # the upstream thread queued a frame in between
                continue

    def _join(self) -> None:
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        self._discard_queue()

    def _put(self, item: np.ndarray | object) -> None:
        """Queue an item, waiting while full; give up when flushing or the worker has stopped."""
        while not self._flushing and self._worker is not None and self._worker.is_alive():
            try:
                self._queue.put(item, timeout=_PUT_POLL_S)
                return
            except queue.Full:
                continue

    # -- pads ---------------------------------------------------------------------------------
    def _chain(self, pad: Gst.Pad, parent: Gst.Object, buffer: Gst.Buffer) -> Gst.FlowReturn:
        if self._flow != Gst.FlowReturn.OK:
            return self._flow
        if self._frames is None:
            self._fail("no caps before the first buffer")
            return self._flow
        if self._worker is None:
            self._t0 = buffer.pts if buffer.pts != Gst.CLOCK_TIME_NONE else 0
            self._worker = threading.Thread(
                target=self._work, args=(self._frames, self._backend), name="stmfnetinterp", daemon=True
            )
            self._worker.start()
        try:
            frame = self._frames.to_model(buffer)
        except UserError as exc:
            self._fail(str(exc))
            return self._flow
        self._put(frame)
        return self._flow

    def _set_caps(self, caps: Gst.Caps) -> bool:
        self._drain()
        try:
            frames = _Frames(caps, self.settings["factor"])
        except UserError as exc:
            self._fail(str(exc))
            return True  # taken, and refused by the error: see _fail
        self._frames = frames
        return self.srcpad.push_event(Gst.Event.new_caps(frames.out_caps))

    def _sink_event(self, pad: Gst.Pad, parent: Gst.Object, event: Gst.Event) -> bool:
        kind = event.type
        if kind == Gst.EventType.CAPS:
            return self._set_caps(event.parse_caps())
        if kind == Gst.EventType.EOS:
            if self._failed:  # the source's EOS after our error: downstream must not preroll on it
                return False
            self._drain()
        elif kind == Gst.EventType.FLUSH_START:
            ok = self.srcpad.push_event(event)  # downstream refuses buffers from here on
            self._interrupt()
            return ok
        elif kind == Gst.EventType.FLUSH_STOP:
            self._join()
            self._flushing, self._flow = False, Gst.FlowReturn.OK
        return self.srcpad.push_event(event)

    def _sink_query(self, pad: Gst.Pad, parent: Gst.Object, query: Gst.Query) -> bool:
        if query.type == Gst.QueryType.CAPS:
            wanted = query.parse_caps()
            query.set_caps_result(CAPS.intersect(wanted) if wanted is not None else CAPS)
            return True
        return pad.query_default(parent, query)

    def _src_query(self, pad: Gst.Pad, parent: Gst.Object, query: Gst.Query) -> bool:
        if query.type == Gst.QueryType.LATENCY and self._frames is not None:
            if not self.sinkpad.peer_query(query):
                return False
            live, low, high = query.parse_latency()
            # The window of pair (i, i+1) reaches frame i + 2, per x2 level, plus a batch.
            held = 2 * levels_for_factor(self.settings["factor"]) + self.settings["batch-size"] - 1
            added = Gst.util_uint64_scale(held, Gst.SECOND * self._frames.info.fps_d, self._frames.info.fps_n)
            query.set_latency(live, low + added, high if high == Gst.CLOCK_TIME_NONE else high + added)
            return True
        return pad.query_default(parent, query)

    def _start(self) -> bool:
        """Check the settings and build the backend, before any data: a bad property or model
        fails the state change with one error instead of failing every buffer."""
        try:
            levels_for_factor(self.settings["factor"])
            self._backend = make_backend(self.settings["backend"], self.settings["model"] or None)
        except UserError as exc:
            self._fail(str(exc))
            return False
        except Exception as exc:  # a bug: say so, keep the traceback for GST_DEBUG / the app
            self._fail(f"internal error: {exc}", traceback.format_exc())
            return False
        return True

    def do_change_state(self, transition: Gst.StateChange) -> Gst.StateChangeReturn:
        if transition == Gst.StateChange.READY_TO_PAUSED and not self._start():
            return Gst.StateChangeReturn.FAILURE
        if transition == Gst.StateChange.PAUSED_TO_READY:
            self._interrupt()
        result = Gst.Element.do_change_state(self, transition)
        if transition == Gst.StateChange.PAUSED_TO_READY:
            self._join()
            self._frames, self._flushing, self._flow, self._failed = None, False, Gst.FlowReturn.OK, False
            if self._backend is not None:
                self._backend.close()
                self._backend = None
        return result


GObject.type_register(StmfnetInterp)
