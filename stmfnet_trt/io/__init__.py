"""Video and frame-folder input/output for stmfnet-trt, through PyAV (FFmpeg).

Reading: ``open_source(path, fps=None, *, assume_constant_rate=False)`` gives a ``FrameSource``:
size, exact fps, frame count, audio presence, and RGB ``uint8`` frames in display order,
streamed, upright (a video's display matrix and an image's EXIF orientation applied). Inputs are
opened read-only; a variable-frame-rate video is refused unless ``assume_constant_rate``; frames
over 8192x8192 are refused from the header, before decoding.

Writing: ``open_sink(path, width, height, fps, audio_from=None, overwrite=False)`` gives a
``FrameSink`` writing H.264 video (with the input's audio) or PNG frames, atomically: the
output appears under its name only when ``close()`` succeeds.

    with open_source("in.mp4") as src:
        with open_sink("out.mp4", src.width, src.height, 2 * src.fps, audio_from=src.path) as dst:
            for frame in src:
                dst.write(frame)

Layer 3, beside ``model/`` (docs/ARCHITECTURE.md; tests/test_layers.py checks it): above
``core/``, ``plugins.py`` and ``weights.py``, below ``export/``. Modules: ``source`` /
``video_source`` / ``folder_source`` / ``frame_source`` (reading), ``sink`` / ``video_sink`` /
``folder_sink`` / ``frame_sink`` (writing), ``atomic`` (outputs that appear only when complete),
``audio``, ``orientation``, ``rates``, ``images`` (stills), ``y4m`` and ``yuv`` (frames in pipes).
"""

from stmfnet_trt.io.folder_source import DEFAULT_FOLDER_FPS
from stmfnet_trt.io.frame_sink import FrameSink
from stmfnet_trt.io.frame_source import FrameSource
from stmfnet_trt.io.sink import open_sink
from stmfnet_trt.io.source import open_source
from stmfnet_trt.io.video_sink import DEFAULT_CRF

__all__ = ["DEFAULT_CRF", "DEFAULT_FOLDER_FPS", "FrameSink", "FrameSource", "open_sink", "open_source"]
