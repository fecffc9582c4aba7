"""Bytes on the wire per interpolated frame: the windows wire (four float32 frames per window)
against the stream wire (each frame once, uint8), counted at the socket.

    python bench/wire.py [--sizes 1080x1920 360x640] [--frames 4 8] [--x4-frames 3 5]

Each row is a real ``serve`` (the blend backend: the bytes do not depend on what the model
computes, only on the frames' number and size) and ``run --backend triton`` client processes
whose connections go through a TCP relay in this process that counts the bytes each way: TCP
payload, so HTTP/1.1 or HTTP/2 framing, headers, the client's start-up checks (liveness, model
metadata) and the stream's end are all in; TCP/IP headers are not.

Per interpolated frame = per window the model ran (``SchedulerStats.windows`` of the same
run made locally). Each row runs two clip lengths (``--frames``, ``--x4-frames`` at x4) and
reports the *marginal* bytes: (bytes of the long run - bytes of the short run) / (windows of
the long run - windows of the short run), so the start-up checks and the ends of the clip
(frames sent without a window, the last flush) cancel: what a long stream costs per frame.
The whole-run totals are in the JSON.

The clip: the first frames of ``assets/carphone_12.mp4``, scaled up (nearest neighbour) to each
size: no cuts or identical pairs, so every window is sent by both wires.

Writes ``bench/results/wire.json`` and the ``wire`` section of ``bench/RESULTS.md``. Needs the
serve environment (``scripts/make_serve_env.sh``) for the server and clients.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import platform
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "serve"))  # the server/client process helpers of the tests

from results import parse_size, write_json, write_section  # noqa: E402

CLIP = ROOT / "assets" / "carphone_12.mp4"
HOST = "127.0.0.1"
_CHUNK = 1 << 20
MB = 1e6


@dataclass
class CountingRelay:
    """Forwards every connection made to ``port`` to ``target``, counting the bytes each way."""

    target: int
    up: int = 0
    down: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection((HOST, self.target))
            for source, sink, direction in ((client, server, "up"), (server, client, "down")):
                thread = threading.Thread(target=self._pump, args=(source, sink, direction), daemon=True)
                thread.start()
                with self._lock:
                    self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        """Copy one direction until it ends, then pass the end on (a half-close)."""
        buffer = bytearray(_CHUNK)
        with contextlib.suppress(OSError):  # a reset ends this direction as a close does
            while count := source.recv_into(buffer):
                sink.sendall(memoryview(buffer)[:count])
                with self._lock:
                    setattr(self, direction, getattr(self, direction) + count)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def drained(self) -> tuple[int, int]:
        """(up, down) once every connection so far has closed."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=60)
        return self.up, self.down

    def close(self) -> None:
        self._listener.close()


def write_clip(folder: Path, height: int, width: int, frames: int) -> None:
    """carphone's first ``frames`` frames scaled to ``height`` x ``width`` (nearest), as PNGs."""
    from stmfnet_trt.io import open_sink, open_source

    with open_source(CLIP) as source, open_sink(folder, width, height, source.fps) as sink:
        for frame in itertools.islice(source, frames):
            rows = np.arange(height) * frame.shape[0] // height
            columns = np.arange(width) * frame.shape[1] // width
            sink.write(np.ascontiguousarray(frame[rows][:, columns]))


def local_windows(clip: Path, factor: int, frames: int) -> int:
    """Windows a local run of the same frames interpolates (the blend backend; same scheduler)."""
    from stmfnet_trt.runtime.backends.blend import BlendBackend
    from stmfnet_trt.runtime.scheduling.video import RunOptions, interpolate_video

    with tempfile.TemporaryDirectory() as out:
        options = RunOptions(factor=factor, max_frames=frames, progress=False)
        return interpolate_video(clip, Path(out) / "local", BlendBackend(), options).stats.windows


@dataclass(frozen=True)
class Row:
    """One measured setup: frame size, factor, protocol and wire."""

    size: tuple[int, int]  # height, width
    factor: int
    protocol: str
    wire: str

    def client_bytes(self, python: str, server, clip: Path, frames: int, out: Path) -> tuple[int, int]:
        """(up, down) bytes of one client run of ``frames`` frames through a counting relay."""
        from helpers import start_client

        relay = CountingRelay(server.grpc_port if self.protocol == "grpc" else server.http_port)
        options = ("--protocol", self.protocol, "--wire", self.wire, "--factor", str(self.factor))
        try:
            process = start_client(
                python,
                clip,
                out / f"{self.size[0]}x{self.size[1]}_{self.wire}_{self.protocol}_x{self.factor}_{frames}",
                f"{HOST}:{relay.port}",
                *options,
                *("--max-frames", str(frames)),
            )
            text, _ = process.communicate(timeout=1800)
            if process.returncode != 0:
                raise RuntimeError(f"client failed ({process.returncode}):\n{text[-2000:]}")
            return relay.drained()
        finally:
            relay.close()

    def measure(self, python: str, server, clip: Path, lengths: list[int], out: Path) -> dict:
        """Marginal bytes per interpolated frame between the two clip lengths, and both runs."""
        runs = []
        for frames in lengths:
            up, down = self.client_bytes(python, server, clip, frames, out)
            windows = local_windows(clip, self.factor, frames)
            runs.append({"frames": frames, "windows": windows, "up": up, "down": down})
        short, long = runs
        windows = long["windows"] - short["windows"]
        up = (long["up"] - short["up"]) / windows
        down = (long["down"] - short["down"]) / windows
        height, width = self.size
        return {
            "size": f"{width}x{height}",
            "factor": self.factor,
            "protocol": self.protocol,
            "wire": self.wire,
            "runs": runs,
            "up_per_frame": up,
            "down_per_frame": down,
            "total_per_frame": up + down,
        }


def plan(sizes: list[tuple[int, int]]) -> list[Row]:
    """Both wires at x2 and x4 over gRPC at every size, and over HTTP at x2 at the first size."""
    rows = []
    for size in sizes:
        setups = [(2, "grpc"), (4, "grpc")] + ([(2, "http")] if size == sizes[0] else [])
        for (factor, protocol), wire in itertools.product(setups, ("windows", "stream")):
            rows.append(Row(size, factor, protocol, wire))
    return rows


def add_ratios(rows: list[dict]) -> None:
    """Each row's bytes as a ratio to the windows wire's in the same setup (``*_fewer``)."""
    same = ("size", "factor", "protocol")
    for row in rows:
        before = next(r for r in rows if r["wire"] == "windows" and all(r[k] == row[k] for k in same))
        for key in ("up", "down", "total"):
            row[f"{key}_fewer"] = before[f"{key}_per_frame"] / row[f"{key}_per_frame"]


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| size | factor | protocol | wire | MB up | MB down | MB total | fewer bytes: up / down / total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fewer = (
            ""
            if r["wire"] == "windows"
            else f"{r['up_fewer']:.1f}x / {r['down_fewer']:.1f}x / {r['total_fewer']:.1f}x"
        )
        megabytes = " | ".join(f"{r[f'{k}_per_frame'] / MB:.2f}" for k in ("up", "down", "total"))
        lines.append(
            f"| {r['size']} | x{r['factor']} | {r['protocol']} | {r['wire']} | {megabytes} | {fewer} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(1080, 1920), (360, 640)])
    parser.add_argument("--frames", nargs=2, type=int, default=[4, 8], help="the two clip lengths at x2")
    parser.add_argument("--x4-frames", nargs=2, type=int, default=[3, 5], help="the two clip lengths at x4")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "wire.json")
    args = parser.parse_args()

    from conftest import _serve_python
    from helpers import start_server

    python = _serve_python()
    if python is None:
        raise SystemExit("the serve environment is missing: run scripts/make_serve_env.sh")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        server = start_server(python, out / "server.log", ["--backend", "blend"])
        try:
            for row in plan(args.sizes):
                clip = out / f"clip_{row.size[0]}x{row.size[1]}"
                if not clip.exists():
                    write_clip(clip, *row.size, max(*args.frames, *args.x4_frames))
                lengths = args.frames if row.factor == 2 else args.x4_frames
                rows.append(row.measure(python, server, clip, lengths, out))
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "runs"}), flush=True)
        finally:
            server.terminate()
    add_ratios(rows)
    record = {
        "benchmark": "wire",
        "date": datetime.date.today().isoformat(),
        "device": f"loopback on {platform.machine()}; serve --backend blend",
        "workload": f"carphone_12.mp4 scaled to each size (nearest), no cuts; x2 over {args.frames[0]} and "
        f"{args.frames[1]} frames, x4 over {args.x4_frames[0]} and {args.x4_frames[1]}",
        "counted": "TCP payload bytes at a relay between client and server, both directions",
        "rows": rows,
    }
    write_json(args.json, record)
    header = (
        f"Measured {record['date']}, {record['device']}; {record['workload']}. Bytes per interpolated frame "
        "(per window the model runs), marginal between the two clip lengths; counted as TCP payload at a "
        "relay, both directions."
    )
    text = "\n".join([header, "", *table(rows)])
    print(text)
    write_section(HERE / "RESULTS.md", "wire", text)


if __name__ == "__main__":
    main()
