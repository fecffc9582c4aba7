"""Error classes that separate a user's mistake from a bug in stmfnet-trt.

Every error a caller can fix is a ``UserError`` (the packages add their own kinds of it:
``EngineTrustError``, ``QualityGateError``, ``OutputBusyError``...); ``StmfnetError`` is the base
of all of them. Library messages name the library's
parameters (``tile``, ``workspace_mb``), never command-line flags: a ``ParameterError`` carries
the parameter's name so that the CLI, and only the CLI, can show it as its flag. The CLI prints
a ``UserError`` as one clear line and exits with status 2; anything else is a bug and keeps its
traceback (exit status 1).
"""


class StmfnetError(Exception):
    """Base of every error stmfnet-trt raises on purpose."""


class UserError(StmfnetError):
    """Bad input, a missing file or an unsupported setting: the user can fix it."""


class ParameterError(UserError):
    """A parameter's value is out of its range or conflicts with another one.

    ``str(error)`` reads ``"<parameter> <detail>"`` (``tile must be a positive multiple of 128, got
    100``); the CLI replaces the parameter with its flag (``--tile must be ...``).
    """

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"{parameter} {detail}")
        self.parameter = parameter
        self.detail = detail


class InputError(UserError):
    """An input video, frame folder or frame array cannot be used as given."""


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into the model (wrong keys, shapes or format)."""
