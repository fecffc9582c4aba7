"""The subcommand table: ``stmfnet-trt CMD`` imports CMD's module only, and every command in the
table is the one its module defines (same name, full arguments)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stmfnet_trt.cli import build_parser, main
from stmfnet_trt.cli.commands import SUBCOMMANDS, chosen_command

# Modules a `run` must not load: other commands' CLI modules and the libraries only they use.
NOT_FOR_RUN = (
    "stmfnet_trt.cli.serve",
    "stmfnet_trt.cli.batch",
    "stmfnet_trt.cli.bench",
    "stmfnet_trt.cli.train",
    "stmfnet_trt.cli.evaluate",
    "stmfnet_trt.cli.export",
    "stmfnet_trt.cli.build",
    "stmfnet_trt.serve",
    "stmfnet_trt.batch",
    "stmfnet_trt.bench",
    "stmfnet_trt.evaluation",
    # and the backends `run` does not open until it runs (runtime/backends/specs.py: OPENED_LAZILY)
    "stmfnet_trt.runtime.backends.tensorrt_backend",
    "stmfnet_trt.runtime.backends.onnxruntime_backend",
    "stmfnet_trt.runtime.cuda.trt_pipeline",
    "stmfnet_trt.engine",
    "tqdm",  # imported only for a bar on the screen (core/progress.py)
)


def test_run_loads_no_other_command():
    code = (
        "import sys\nfrom stmfnet_trt.cli import main\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.startswith({NOT_FOR_RUN!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--scene-threshold" in done.stdout  # run's full help was printed
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_command_is_the_one_its_module_defines(name):
    parser = build_parser(only=name)
    commands = parser._subparsers._group_actions[0].choices
    assert sorted(commands) == sorted(SUBCOMMANDS)  # every other command is still listed
    full = commands[name]
    assert full.description == SUBCOMMANDS[name].description
    assert len(full._actions) > 1  # more than --help: the module added its arguments
    assert all(len(commands[other]._actions) == 1 for other in commands if other != name)


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in SUBCOMMANDS.values():
        assert command.name in out and command.help[:30] in out


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run", "a.mp4", "-o", "b.mp4"], "run"),
        (["--version"], None),
        (["-h"], None),
        (["rnu", "a.mp4"], None),
        (["triton-repo", "m.onnx", "-o", "repo"], "triton-repo"),
        ([], None),
    ],
)
def test_chosen_command(argv, command):
    assert chosen_command(argv) == command


def test_a_misspelt_command_is_one_line_with_the_choices(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["rnu", "a.mp4"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'rnu'" in err and "run" in err and len(err.strip().splitlines()) == 1
