"""What ``--backend triton`` makes of a server's error text: one line, whatever the server sent."""

from __future__ import annotations

from stmfnet_trt.runtime.backends.triton_client import _describe
from stmfnet_trt.runtime.backends.triton_model import INTERNAL_ERROR, REFUSAL_MARK


class ServerError(Exception):
    """tritonclient's InferenceServerException as far as _describe sees it: a message()."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def message(self) -> str:
        return self.text


STOCK_PYTRITON_ERROR = (
    "Failed to process the request(s) for model 'stmfnet_mini_0_0', message: TritonModelException: "
    'Model execute error: Traceback (most recent call last):\n  File "/srv/app/server.py", line 80, in '
    "infer\n    raise InputError(\nstmfnet_trt.errors.InputError: frame height 2 is too small\n\n\nAt:\n"
    "  /tmp/folderiCFKtg/1/model.py(501): execute\n"
)


def test_a_traceback_from_a_server_without_our_front_is_not_shown():
    assert _describe(ServerError(STOCK_PYTRITON_ERROR)) == INTERNAL_ERROR


def test_a_marked_refusal_is_shown_alone():
    text = STOCK_PYTRITON_ERROR.replace("InputError: frame", f"RequestRefused: {REFUSAL_MARK}frame")
    assert _describe(ServerError(text)) == "frame height 2 is too small"


def test_a_one_line_error_is_kept_and_whitespace_folded():
    assert _describe(ServerError("unknown model 'x':\n  this server serves 'stmfnet_mini'")) == (
        "unknown model 'x': this server serves 'stmfnet_mini'"
    )
    assert _describe(ServerError("")) == "ServerError"
