"""Library errors name parameters, never command-line flags; the CLI alone turns them into flags.

The first tests pin the error kinds of ``core/errors.py`` (message parts, pickling for Ray
workers); the last one scans every message the library can raise for a ``--flag``.
"""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

import stmfnet_trt
from stmfnet_trt.core.errors import InputError, OutputExistsError, Param, ParameterError, UserError

PACKAGE = Path(stmfnet_trt.__file__).parent


def shout(param: Param) -> str:
    """A spelling that cannot be mistaken for the library's: the name upper-cased."""
    return param.name.upper()


def test_param_reads_as_its_name_or_a_python_assignment():
    assert str(Param("tiles")) == "tiles"
    assert str(Param("overwrite", True)) == "overwrite=True"
    assert str(Param("workspace_mb", 6144)) == "workspace_mb=6144"


def test_parts_read_with_the_library_spelling_and_spell_with_another():
    error = InputError("the y4m header states no frame rate (F0:0): pass ", Param("input_fps"))
    assert str(error) == "the y4m header states no frame rate (F0:0): pass input_fps"
    assert error.spelled(shout) == "the y4m header states no frame rate (F0:0): pass INPUT_FPS"
    plain = UserError("no parameter here")
    assert str(plain) == plain.spelled(shout) == "no parameter here"


def test_a_quoted_error_keeps_its_parameters():
    inner = ParameterError("workspace_mb", "is too small")
    outer = UserError(inner, "; or use ", Param("tiles"))
    assert str(outer) == "workspace_mb is too small; or use tiles"
    assert outer.spelled(shout) == "WORKSPACE_MB is too small; or use TILES"


def test_parameter_error_reads_parameter_then_detail():
    error = ParameterError("resume", "continues with run/config.json: drop ", Param("config_file"))
    assert (error.parameter, error.detail) == ("resume", "continues with run/config.json: drop config_file")
    assert str(error) == "resume continues with run/config.json: drop config_file"
    assert error.spelled(shout) == "RESUME continues with run/config.json: drop CONFIG_FILE"


def test_output_exists_names_overwrite_with_the_default_or_a_given_wording(tmp_path):
    error = OutputExistsError(tmp_path / "e.plan")
    assert error.path == tmp_path / "e.plan"
    assert str(error) == f"{tmp_path / 'e.plan'} exists; pass overwrite=True to replace it"
    assert error.spelled(shout) == f"{tmp_path / 'e.plan'} exists; pass OVERWRITE to replace it"
    worded = OutputExistsError("o.mp4", "o.mp4 already exists (", Param("overwrite", True), ")")
    assert str(worded) == "o.mp4 already exists (overwrite=True)"


@pytest.mark.parametrize(
    "error",
    [
        ParameterError("tile", "must be a positive multiple of 128, got 100"),
        ParameterError("resume", "continues with c.json: drop ", Param("config_file")),
        OutputExistsError(Path("out.onnx")),
        OutputExistsError("o.mp4", "o.mp4 already exists (", Param("overwrite", True), ")"),
        InputError("pass ", Param("input_fps")),
        UserError(ParameterError("shapes", "is bad"), "; or use ", Param("tiles")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling_with_their_parts(error):
    """Ray sends a worker's exception to the driver pickled: message and parameters must survive."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.spelled(shout) == error.spelled(shout)
    for field in ("parameter", "detail", "path"):
        assert getattr(copy, field, None) == getattr(error, field, None)


# --- no library message names a flag -------------------------------------------------------------

# A flag as a word of its own (not "-fps_mode", not "a--b"), checked after backticked code is removed.
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# A backticked span is a complete command for the user to run (`stmfnet-trt export --variant
# plugin`), in Python as on the command line: a command, not a parameter named as a flag.
BACKTICKED = re.compile(r"`[^`]*`")
# Files another change still converts; each entry says why it is excluded.
EXCLUDED: dict[str, str] = {}


def cli_flags() -> set[str]:
    """Every long option the CLI defines (``add_argument("--tile", ...)`` in stmfnet_trt/cli/*.py).

    Only these are checked: another program's options in a command the message quotes (``cmake
    --build build``, ``pip install --no-deps``) are that program's, not parameters of ours.
    """
    flags = set()
    for path in (PACKAGE / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                flags.update(
                    arg.value
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and str(arg.value).startswith("--")
                )
    return flags


def _flags(message: ast.AST, bound: dict[str, list[ast.AST]], ours: set[str]) -> list[str]:
    return [flag for flag in FLAG.findall(BACKTICKED.sub("", _text(message, bound))) if flag in ours]


def _module_strings(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Module-level names bound to message text (``NO_CHECKPOINT_MESSAGE = ("...", Param(...))``)."""
    bound: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                bound[target.id] = [value]
    return bound


def _is_error_class(name: str) -> bool:
    return name.endswith(("Error", "Exception"))


def _messages(tree: ast.Module) -> list[ast.AST]:
    """Every expression that makes an error message: what is raised, any ``...Error(...)`` call (an
    error returned to be raised later), and ``super().__init__(...)`` inside an error class."""
    found: dict[int, ast.AST] = {}  # by id: a raised ``UserError(...)`` is also an error call
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            found[id(node.exc)] = node.exc
        elif isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if _is_error_class(name):
                found[id(node)] = node
        elif isinstance(node, ast.ClassDef) and _is_error_class(node.name):
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "__init__"
                    and isinstance(call.func.value, ast.Call)
                    and getattr(call.func.value.func, "id", "") == "super"
                ):
                    found[id(call)] = call
    return list(found.values())


def _text(expression: ast.AST, bound: dict[str, list[ast.AST]]) -> str:
    """The literal text of a message expression in source order, module constants followed."""
    pieces: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    todo = [expression]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.append((node.lineno, node.col_offset, node.value))
            elif isinstance(node, ast.Name) and node.id in bound and node.id not in seen:
                seen.add(node.id)
                todo.extend(bound[node.id])
    # Stable on (line, column): Python 3.11 gives an f-string's pieces the position of the whole.
    return "".join(text for *_, text in sorted(pieces, key=lambda piece: piece[:2]))


def flags_in_library_messages() -> list[str]:
    """``file:line: flags`` for every library error message that names a flag."""
    hits = []
    ours = cli_flags()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("cli/") or relative in EXCLUDED:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        bound = _module_strings(tree)
        for message in _messages(tree):
            flags = _flags(message, bound, ours)
            if flags:
                hits.append(f"{relative}:{message.lineno}: {', '.join(flags)}")
    return sorted(set(hits))


def test_the_cli_flags_are_found():
    expected = {"--tile", "--tile-overlap", "--workspace", "--sm", "--overwrite", "--fps", "--resume"}
    assert expected <= cli_flags()


def test_the_scan_finds_a_flag_in_each_kind_of_message():
    """The scan itself: raised, returned and super().__init__ messages, and module constants."""
    source = """
HINT = ("pass ", "--fps here")
def a():
    raise UserError(f"bad {1}: use --tile")
def b():
    return ParameterError("x", "see --sm")
class GateError(UserError):
    def __init__(self):
        super().__init__("accept it (--accept-quality-loss)")
def c():
    raise UserError(*HINT)
def d():
    raise UserError("run `stmfnet-trt export --variant plugin`; ffmpeg -fps_mode cfr; cmake --build b")
"""
    tree = ast.parse(source)
    bound = _module_strings(tree)
    found = [flag for message in _messages(tree) for flag in _flags(message, bound, cli_flags())]
    assert sorted(found) == ["--accept-quality-loss", "--fps", "--sm", "--tile"]


def test_no_library_error_message_names_a_flag():
    """Library errors name parameters (``ParameterError``, ``Param`` parts); ``cli/flags.py`` shows
    them as flags. A flag in a library message is wrong for every Python caller."""
    assert flags_in_library_messages() == []


def test_every_exclusion_still_names_a_file_with_a_flag():
    """An excluded file that no longer names a flag must leave the list (so the scan covers it)."""
    ours = cli_flags()
    for relative in EXCLUDED:
        path = PACKAGE / relative
        assert path.is_file(), relative
        tree = ast.parse(path.read_text())
        bound = _module_strings(tree)
        assert any(_flags(m, bound, ours) for m in _messages(tree)), (
            f"{relative} names no flag any more: drop it from EXCLUDED"
        )
