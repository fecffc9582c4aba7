"""Error classes that separate a user's mistake from a bug in stmfnet-trt.

Every error a caller can fix is a ``UserError`` (the packages add their own kinds of it:
``EngineTrustError``, ``QualityGateError``, ``OutputBusyError``...); ``StmfnetError`` is the base
of all of them. Library messages name the library's
parameters (``tile``, ``workspace_mb``), never command-line flags: a ``ParameterError`` carries
the parameter's name so that the CLI, and only the CLI, can show it as its flag. The CLI prints
a ``UserError`` as one clear line and exits with status 2; anything else is a bug and keeps its
traceback (exit status 1).

A message that names a parameter anywhere else than at its start (a remedy: "pass
``input_fps``", "use a smaller ``batch_size``") is built from parts, the parameters as ``Param``:
``UserError("the header states no frame rate: pass ", Param("input_fps"))``. ``str(error)``
writes each ``Param`` as the library spells it (``input_fps``, ``overwrite=True``);
``error.spelled(spell)`` lets the CLI write its flags instead (``cli/flags.py``), so the same
error reads right in Python and on the command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Param:
    """A parameter named inside a message: ``name``, or ``name=value`` when a value is suggested
    (``Param("overwrite", True)`` reads ``overwrite=True``; the CLI writes ``--overwrite``)."""

    name: str
    value: object = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}={self.value}"


class StmfnetError(Exception):
    """Base of every error stmfnet-trt raises on purpose."""


class UserError(StmfnetError):
    """Bad input, a missing file or an unsupported setting: the user can fix it.

    Made from one message, or from parts (text, ``Param`` and quoted ``UserError``s) when it
    names parameters: ``str()`` joins them with the library's spelling, ``spelled`` with another.
    """

    parts: tuple[str | Param | UserError, ...] = ()

    def __init__(self, *message: str | Param | UserError) -> None:
        super().__init__("".join(map(str, message)))
        self.parts = message

    def spelled(self, spell: Callable[[Param], str]) -> str:
        """The message with every parameter it names written as ``spell(param)`` (the CLI: its
        flag); a subclass that set its message without parts reads as ``str(self)``."""
        if not self.parts:
            return str(self)
        return "".join(_spelled(part, spell) for part in self.parts)


def _spelled(part: str | Param | UserError, spell: Callable[[Param], str]) -> str:
    if isinstance(part, Param):
        return spell(part)
    if isinstance(part, UserError):
        return part.spelled(spell)
    return part


class ParameterError(UserError):
    """A parameter's value is out of its range or conflicts with another one.

    ``str(error)`` reads ``"<parameter> <detail>"`` (``tile must be a positive multiple of 128, got
    100``); the CLI replaces the parameter with its flag (``--tile must be ...``). A detail that
    names other parameters is given as parts: ``ParameterError("resume", "...: drop ",
    Param("config_file"))``.
    """

    def __init__(self, parameter: str, *detail: str | Param | UserError) -> None:
        super().__init__(Param(parameter), " ", *detail)
        self.parameter = parameter
        self.detail = "".join(map(str, detail))

    def __reduce__(self) -> tuple:
        # Pickled across processes (Ray workers): rebuilt from its parts, not from the message.
        return type(self), (self.parameter, *self.parts[2:])


class OutputExistsError(UserError):
    """``path`` exists and ``overwrite`` is off: the one remedy is the ``overwrite`` parameter.

    The default message is ``"<path> exists; pass overwrite=True to replace it"`` (CLI:
    ``--overwrite``); a caller with its own wording passes it as parts, naming ``Param("overwrite",
    True)`` where the remedy goes.
    """

    def __init__(self, path: str | os.PathLike[str], *message: str | Param | UserError) -> None:
        super().__init__(*(message or (f"{path} exists; pass ", Param("overwrite", True), " to replace it")))
        self.path = Path(path)

    def __reduce__(self) -> tuple:
        return type(self), (self.path, *self.parts)


class InputError(UserError):
    """An input video, frame folder or frame array cannot be used as given."""


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into the model (wrong keys, shapes or format)."""
