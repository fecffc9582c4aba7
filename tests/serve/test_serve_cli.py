"""``serve``'s options without a server: loopback by default, a warning when opened, the caps."""

from __future__ import annotations

import argparse

import pytest

from stmfnet_trt.cli.serve import add_serve_parser, cmd_serve
from stmfnet_trt.runtime.backends.triton_model import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, RequestLimits
from stmfnet_trt.serve import server


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", "--backend", "blend", *argv])


def test_defaults_are_loopback_and_4k_frames():
    args = parse()
    assert args.host == "127.0.0.1"
    assert (args.max_side, args.max_pixels, args.max_batch_size) == (4096, 4096 * 2176, 8)
    assert (DEFAULT_MAX_SIDE, DEFAULT_MAX_PIXELS) == (4096, 4096 * 2176)
    assert server.ServeOptions().host == "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("::", False), ("192.168.1.20", False), ("no-such-host.invalid", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert server.is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_the_bound_address_is_announced_and_an_open_one_warned_about(monkeypatch, capsys, host, warned):
    served = []

    def fake_serve(backend, options, on_ready=None):
        served.append(options)
        on_ready()

    monkeypatch.setattr("stmfnet_trt.cli.serve.serve_backend", fake_serve)
    cmd_serve(parse("--host", host, "--max-side", "1024", "--max-pixels", "500000"))
    out, err = capsys.readouterr()
    assert f"HTTP {host}:8000, gRPC {host}:8001, metrics {host}:8002" in out
    assert "frames up to 1024 px a side and 500000 pixels, 8 windows a request" in out
    assert ("warning: listening on" in err and "no authentication" in err) is warned
    assert served[0].limits == RequestLimits(max_batch_size=8, max_side=1024, max_pixels=500000)


def test_caps_must_be_positive():
    for option in ("--max-side", "--max-pixels", "--max-batch-size"):
        with pytest.raises(SystemExit):
            parse(option, "0")
