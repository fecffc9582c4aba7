"""Error classes that separate a user's mistake from a bug in stmfnet-trt.

The CLI prints a ``UserError`` as one clear line and exits with status 2; anything else is a
bug and keeps its traceback (exit status 1).
"""


class UserError(Exception):
    """Bad input, a missing file or an unsupported setting: the user can fix it."""


class InputError(UserError):
    """An input video, frame folder or frame array cannot be used as given."""


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into the model (wrong keys, shapes or format)."""
