"""A minimal GStreamer application for the tests: run a pipeline description, report every error.

Run by the system Python (the one with PyGObject): ``python3 gst_app.py 'DESCRIPTION' [SECONDS]``.
Prints one ``ERROR <element>: <message>`` line per error message on the bus (collecting for a
moment after the first, so a second error would show), then ``EOS`` if the stream ended; exits 0
on EOS, 1 after errors, 3 when neither came in time. It always sets the pipeline to NULL.
gst-launch-1.0 1.22 itself sometimes hangs after an error during preroll (measured with a plain
qtdemux error: 3 in 30 runs), so the error tests use this instead.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

AFTER_FIRST_ERROR_S = 0.5


def main(description: str, seconds: float) -> int:
    Gst.init(None)
    pipeline = Gst.parse_launch(description)
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    errors = []
    try:
        message = bus.timed_pop_filtered(
            int(seconds * Gst.SECOND), Gst.MessageType.ERROR | Gst.MessageType.EOS
        )
        while message is not None and message.type == Gst.MessageType.ERROR:
            error, _ = message.parse_error()
            errors.append(f"ERROR {message.src.get_name()}: {error.message}")
            message = bus.timed_pop_filtered(int(AFTER_FIRST_ERROR_S * Gst.SECOND), Gst.MessageType.ERROR)
    finally:
        pipeline.set_state(Gst.State.NULL)
    print("\n".join(errors) if errors else ("EOS" if message is not None else "TIMEOUT"), flush=True)
    return 1 if errors else (0 if message is not None else 3)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0))
