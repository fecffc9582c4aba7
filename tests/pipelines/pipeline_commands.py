"""The pipeline commands the README's "Pipelines" section shows, exactly; the tests run these
strings in a shell (``test_readme_shows_the_commands_the_tests_run`` keeps the two in step).

They run in a folder holding ``in.mp4`` (a small H.264 clip, constrained baseline so that
GStreamer's openh264 decoder reads it), with ``stmfnet-trt`` on PATH and, for gst-launch, the
settings ``python -m stmfnet_trt.gst`` prints.
"""

FFMPEG_BOTH_ENDS = (
    "ffmpeg -v error -i in.mp4 -f yuv4mpegpipe - | stmfnet-trt run - -o - --factor 2 -q"
    " | ffmpeg -v error -f yuv4mpegpipe -i - -c:v libx264 -pix_fmt yuv420p out.mp4"
)
LIVE_SOURCE_EARLY_READER = (
    "ffmpeg -v error -f lavfi -i testsrc=size=160x96:rate=25 -pix_fmt yuv420p -f yuv4mpegpipe -"
    " | stmfnet-trt run - -o - --backend blend -q | head -c 10000000 > head.y4m"
)
GST_ENVIRONMENT = 'eval "$(python -m stmfnet_trt.gst)"'
GST_TESTSRC_TO_FILE = (
    "gst-launch-1.0 -q videotestsrc num-buffers=50 ! video/x-raw,width=160,height=96,framerate=30000/1001"
    " ! stmfnetinterp backend=blend factor=4 ! y4menc ! filesink location=x4.y4m"
)
GST_DECODE_TO_MP4 = (
    "gst-launch-1.0 -q filesrc location=in.mp4 ! decodebin ! videoconvert ! stmfnetinterp factor=2"
    " ! videoconvert ! openh264enc ! h264parse ! mp4mux ! filesink location=gst_x2.mp4"
)
GST_TIMESTAMPS = (
    "gst-launch-1.0 -v videotestsrc num-buffers=20 ! video/x-raw,width=96,height=72,framerate=30000/1001"
    " ! stmfnetinterp backend=blend factor=4 ! fakesink silent=false"
)
README_COMMANDS = (
    FFMPEG_BOTH_ENDS,
    LIVE_SOURCE_EARLY_READER,
    GST_ENVIRONMENT,
    GST_TESTSRC_TO_FILE,
    GST_DECODE_TO_MP4,
    GST_TIMESTAMPS,
)
