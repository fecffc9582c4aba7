"""bench/wire.py: the counting relay, the plan of rows, the ratios and the table. No server here."""

from __future__ import annotations

import socket
import threading

import pytest
from bench_scripts import bench_script


@pytest.fixture(scope="module")
def wire():
    with bench_script("wire") as module:
        yield module


def echo_server() -> tuple[socket.socket, threading.Thread]:
    """A loopback server that sends back whatever it gets, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_the_relay_counts_every_byte_each_way(wire):
    listener, server = echo_server()
    relay = wire.CountingRelay(listener.getsockname()[1])
    payload = bytes(range(256)) * 12_000  # 3 MB: many reads on each side
    try:
        with socket.create_connection(("127.0.0.1", relay.port)) as client:
            sender = threading.Thread(
                target=lambda: (client.sendall(payload), client.shutdown(socket.SHUT_WR))
            )
            sender.start()
            received = bytearray()
            while data := client.recv(65536):
                received += data
            sender.join()
        assert received == payload
        assert relay.drained() == (len(payload), len(payload))
    finally:
        relay.close()
        listener.close()
        server.join(timeout=10)


def test_every_setup_is_measured_with_both_wires(wire):
    rows = wire.plan([(1080, 1920), (360, 640)])
    setups = {(r.size, r.factor, r.protocol) for r in rows}
    assert setups == {
        ((1080, 1920), 2, "grpc"),
        ((1080, 1920), 4, "grpc"),
        ((1080, 1920), 2, "http"),
        ((360, 640), 2, "grpc"),
        ((360, 640), 4, "grpc"),
    }
    assert all(
        {r.wire for r in rows if (r.size, r.factor, r.protocol) == s} == {"windows", "stream"} for s in setups
    )


def test_ratios_compare_each_row_with_the_windows_wire_of_its_setup(wire):
    def row(wire_name: str, factor: int, up: float, down: float) -> dict:
        return {
            "size": "1920x1080",
            "factor": factor,
            "protocol": "grpc",
            "wire": wire_name,
            "up_per_frame": up,
            "down_per_frame": down,
            "total_per_frame": up + down,
        }

    rows = [
        row("windows", 2, 100e6, 25e6),
        row("stream", 2, 5e6, 5e6),
        row("windows", 4, 90e6, 30e6),
        row("stream", 4, 3e6, 6e6),
    ]
    wire.add_ratios(rows)
    assert (rows[1]["up_fewer"], rows[1]["down_fewer"], rows[1]["total_fewer"]) == (20.0, 5.0, 12.5)
    assert (rows[3]["up_fewer"], rows[3]["down_fewer"]) == (30.0, 5.0)
    assert rows[0]["total_fewer"] == 1.0
    lines = wire.table(rows)
    assert lines[3] == "| 1920x1080 | x2 | grpc | stream | 5.00 | 5.00 | 10.00 | 20.0x / 5.0x / 12.5x |"
    assert lines[2].endswith("| 100.00 | 25.00 | 125.00 |  |")
