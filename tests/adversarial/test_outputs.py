"""Outputs never destroy what the tool did not write (issue 20, item 1).

Each case is a way a real user pointed an output at something they own: the input's folder, the
folder they stand in, a folder of their files, a folder holding the input. Every one must be
refused with one line and leave every byte where it was, ``--overwrite`` or not.
"""

from __future__ import annotations

import hashlib
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hostile_cli import CLI, assert_one_line_error, cli_env, hidden_leftovers, run_cli

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.io import open_sink
from stmfnet_trt.io.atomic import OUTPUT_MARKER, AtomicOutput, OutputBusyError


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content hash: what "untouched" means here."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def footage(tmp_path, short_clip) -> Path:
    """A user's folder: a clip, a frame folder made from it, and notes of theirs."""
    root = tmp_path / "footage"
    (root / "frames").mkdir(parents=True)
    (root / "clip.mp4").write_bytes(short_clip.read_bytes())
    (root / "notes.txt").write_text("mine\n")
    run = run_cli("run", root / "clip.mp4", "-o", root / "frames_tmp", "--backend", "blend", "-q")
    assert run.returncode == 0, run.stderr
    for png in (root / "frames_tmp").glob("*.png"):
        png.rename(root / "frames" / png.name)
    (root / "frames_tmp" / OUTPUT_MARKER).unlink()
    (root / "frames_tmp").rmdir()
    return root


@pytest.mark.parametrize(
    ("input_name", "output_name", "message"),
    [
        ("frames", ".", "contain the input"),  # the case: -o the input's parent
        ("frames", "", "contain the input"),
        ("frames", "frames", "overwrite the input"),
        ("frames", "frames/out", "inside the input folder"),
        ("frames", "frames/out.mp4", "inside the input folder"),
        ("clip.mp4", "clip.mp4", "overwrite the input"),
        ("clip.mp4", ".", "contain the input"),
    ],
)
def test_outputs_over_the_input_are_refused_and_nothing_is_touched(footage, input_name, output_name, message):
    before = snapshot(footage)
    output = footage / output_name if output_name else footage
    result = run_cli("run", footage / input_name, "-o", output, "--backend", "blend", "--overwrite", "-q")
    assert message in assert_one_line_error(result)
    assert snapshot(footage) == before
    assert hidden_leftovers(footage) == []


@pytest.mark.parametrize("output", [".", "./", "..", "/"])
def test_the_current_folder_and_its_parents_are_never_an_output(tmp_path, short_clip, output):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("keep")
    result = run_cli("run", short_clip, "-o", output, "--backend", "blend", "--overwrite", "-q", cwd=work)
    line = assert_one_line_error(result)
    assert "current folder" in line or "contain the input" in line
    assert (work / "keep.txt").read_text() == "keep"


def test_a_folder_of_the_users_files_is_never_replaced(tmp_path, short_clip):
    theirs = tmp_path / "renders"
    theirs.mkdir()
    (theirs / "final_cut.mov").write_bytes(b"precious")
    result = run_cli("run", short_clip, "-o", theirs, "--backend", "blend", "--overwrite", "-q")
    assert "did not write" in assert_one_line_error(result)
    assert (theirs / "final_cut.mov").read_bytes() == b"precious"
    assert hidden_leftovers(tmp_path) == []


def test_our_own_folder_output_is_replaced_but_not_once_the_user_added_to_it(tmp_path, short_clip):
    out = tmp_path / "frames_x2"
    first = run_cli("run", short_clip, "-o", out, "--backend", "blend", "-q")
    assert first.returncode == 0, first.stderr
    again = run_cli("run", short_clip, "-o", out, "--backend", "blend", "--factor", "4", "-q", "--overwrite")
    assert again.returncode == 0, again.stderr
    assert len(list(out.glob("*.png"))) == 24
    (out / "my_edit.png").write_bytes(b"user's")
    refused = run_cli("run", short_clip, "-o", out, "--backend", "blend", "-q", "--overwrite")
    assert "did not write (my_edit.png)" in assert_one_line_error(refused)
    assert (out / "my_edit.png").read_bytes() == b"user's"
    assert len(list(out.glob("frame_*.png"))) == 24
    assert hidden_leftovers(tmp_path) == []


def test_a_forged_or_broken_marker_does_not_make_a_folder_ours(tmp_path, short_clip):
    for content in ["not json", '{"entries": "everything"}', '{"entries": [1, 2]}', "{}"]:
        theirs = tmp_path / "forged"
        theirs.mkdir(exist_ok=True)
        (theirs / OUTPUT_MARKER).write_text(content)
        (theirs / "data.bin").write_bytes(b"x")
        result = run_cli("run", short_clip, "-o", theirs, "--backend", "blend", "--overwrite", "-q")
        assert "did not write" in assert_one_line_error(result)
        assert (theirs / "data.bin").read_bytes() == b"x"


def test_a_symlinked_output_folder_is_not_followed_into_replacement(tmp_path, short_clip):
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep").write_text("k")
    (tmp_path / "link").symlink_to(real)
    result = run_cli("run", short_clip, "-o", tmp_path / "link", "--backend", "blend", "--overwrite", "-q")
    assert_one_line_error(result)
    assert (real / "keep").read_text() == "k" and (tmp_path / "link").is_symlink()


def test_a_second_writer_of_the_same_output_fails_at_once_and_the_first_wins(tmp_path):
    out = tmp_path / "same.mp4"
    first = AtomicOutput(out, directory=False)
    with pytest.raises(OutputBusyError, match="another stmfnet-trt process is writing"):
        AtomicOutput(out, directory=False)
    first.temp.write_bytes(b"first")
    first.commit()
    assert out.read_bytes() == b"first" and hidden_leftovers(tmp_path) == []


def test_an_output_that_appears_during_the_run_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "race.mp4"
    ours = AtomicOutput(out, directory=False)
    ours.temp.write_bytes(b"ours")
    out.write_bytes(b"someone else's")  # e.g. another program, which takes no lock
    with pytest.raises(UserError, match="appeared while this output was being written"):
        ours.commit()
    assert out.read_bytes() == b"someone else's" and hidden_leftovers(tmp_path) == []


def test_two_cli_runs_to_one_new_output_never_both_report_success(tmp_path, long_clip):
    out = tmp_path / "both.mp4"
    command = ["run", long_clip, "-o", out, "--backend", "blend", "-q"]
    procs = [
        subprocess.Popen([*CLI, *map(str, command)], stderr=subprocess.PIPE, text=True, env=cli_env())
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    statuses = sorted(status for status, _ in results)
    assert statuses == [0, 2], results
    loser = next(err for status, err in results if status == 2)
    assert "another stmfnet-trt process is writing" in loser or "already exists" in loser
    assert hidden_leftovers(tmp_path) == []


def test_stale_temporaries_of_a_killed_run_are_removed_by_the_next_writer(tmp_path):
    out = tmp_path / "clip.mp4"
    stale = tmp_path / ".clip.partial-0123abcd.mp4"
    stale.write_bytes(b"half")
    unrelated = tmp_path / ".clip.partial-notours.mp4"
    unrelated.write_bytes(b"theirs")
    with open_sink(out, 176, 144, Fraction(25)) as sink:
        sink.write(np.zeros((144, 176, 3), np.uint8))
    assert not stale.exists() and unrelated.read_bytes() == b"theirs"


def test_the_input_is_opened_read_only(tmp_path, short_clip):
    clip = tmp_path / "ro.mp4"
    clip.write_bytes(short_clip.read_bytes())
    clip.chmod(0o444)
    folder = tmp_path / "ro_folder"
    result = run_cli("run", clip, "-o", tmp_path / "x2.mp4", "--backend", "blend", "-q")
    assert result.returncode == 0, result.stderr
    folder_run = run_cli("run", clip, "-o", folder, "--backend", "blend", "-q")
    assert folder_run.returncode == 0
    folder.chmod(0o555)
    try:
        again = run_cli("run", folder, "-o", tmp_path / "from_ro.mp4", "--backend", "blend", "-q")
        assert again.returncode == 0, again.stderr
    finally:
        folder.chmod(0o755)
    assert oct(clip.stat().st_mode & 0o777) == "0o444"
