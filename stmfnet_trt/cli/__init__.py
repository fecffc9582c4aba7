"""``stmfnet-trt``: one command, a module per subcommand, each a thin layer over the library.

Every subcommand parses its flags, makes the library's spec (``cli.backends``, ``BuildSpec``...),
calls one library function and prints. ``main`` turns what the user or the environment got
wrong into one line and exit status 2 (a ``UserError``, an OS or codec error, running out of
memory), a signal into 128 + its number, and leaves anything else its traceback (a bug, status 1).
Library messages name parameters; ``cli.flags`` shows them as the flags that set them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

import av

from stmfnet_trt.cli.commands import SUBCOMMANDS, chosen_command
from stmfnet_trt.cli.flags import user_message
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.core.signals import Interrupted, describe_os_error, one_line, signals_as_exceptions
from stmfnet_trt.core.version import __version__

EXIT_USER_ERROR = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (with where to look) instead of the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only`` (a subcommand), that command's arguments and the
    other commands' names and help, without importing the other commands' modules."""
    parser = _OneLineParser(
        prog="stmfnet-trt",
        description="ST-MFNet Mini video frame interpolation: PyTorch, ONNX and TensorRT.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS.values():
        if only is None or command.name == only:
            command.add_full_parser(subparsers)
        else:
            command.add_to(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; every problem the user or the environment causes is one line.

    UserError, OS errors (a full disk, a permission, a vanished file), codec errors and running
    out of memory exit with status 2; SIGINT/SIGTERM/SIGHUP unwind like an error (temporary
    outputs removed) and exit with 128 + the signal number. Anything else is a bug: traceback,
    status 1.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=chosen_command(argv))
    args = parser.parse_args(argv)
    prefix = f"stmfnet-trt {args.command}: error:"
    try:
        with signals_as_exceptions():
            args.handler(args)
    except Interrupted as stop:
        print(
            f"stmfnet-trt {args.command}: stopped by {stop.name}; nothing half-written was left",
            file=sys.stderr,
        )
        return stop.exit_status
    except UserError as exc:
        print(f"{prefix} {one_line(user_message(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (OSError, av.error.FFmpegError) as exc:
        print(f"{prefix} {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print(
            f"{prefix} out of memory; try a smaller --batch-size, or --tile for frames this large",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    return 0
