"""The frame counter: a tqdm bar when shown, nothing (and no tqdm import) when not."""

from __future__ import annotations

import subprocess
import sys

from stmfnet_trt.core.progress import progress_bar


def test_a_bar_that_is_off_counts_nothing_and_imports_no_tqdm():
    code = (
        "import sys\nfrom stmfnet_trt.core.progress import progress_bar\n"
        "with progress_bar(False, total=3, desc='x') as bar:\n    bar.update()\n"
        "print('tqdm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (done.stdout.strip(), done.stderr) == ("False", "")


def test_a_shown_bar_is_tqdms_and_counts_frames(capsys):
    with progress_bar(True, total=3, desc="interpolating") as bar:
        bar.update()
        bar.update()
    assert (bar.n, bar.total, bar.unit) == (2, 3, "frame")
    assert "interpolating" in capsys.readouterr().err
