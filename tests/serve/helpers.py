"""Start and stop real Triton servers and client runs (subprocesses on loopback) for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LAUNCH = Path(__file__).with_name("launch.py")
HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind((HOST, 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Server:
    process: subprocess.Popen
    http_port: int
    grpc_port: int
    log: Path

    def url(self, protocol: str) -> str:
        return f"{HOST}:{self.grpc_port if protocol == 'grpc' else self.http_port}"

    def ready(self, model: str = "stmfnet_mini") -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{HOST}:{self.http_port}/v2/models/{model}/ready", timeout=2
            ) as r:
                return r.status == 200
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as docker/systemd/Kubernetes stop a server; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (our process and its tritonserver): a crash."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start_server(
    python: str, log: Path, backend_args: list[str], startup_s: float = 120, host: str | None = HOST
) -> Server:
    """``serve`` on free ports, ready to answer; ``host`` None leaves the address to its default."""
    http_port, grpc_port, metrics_port = free_ports(3)
    command = [
        python,
        str(LAUNCH),
        "serve",
        *(["--host", host] if host else []),
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        "--metrics-port",
        str(metrics_port),
        *backend_args,
    ]
    handle = log.open("w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, http_port, grpc_port, log)
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()[-3000:]}")
        if server.ready():
            return server
        time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"server not ready after {startup_s} s:\n{server.output()[-3000:]}")


def start_client(
    python: str, source: Path, output: Path, url: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    command = [python, str(LAUNCH), "run", str(source), "-o", str(output), "--url", url, "-q", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def tritonserver_pid(server: Server) -> int | None:
    """The tritonserver child of a ``serve`` process, if it is running."""
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0].endswith(b"/tritonserver"):
                return int(child)
    return None
