"""Clips for the hostile-use tests, made once per session (helpers: ``hostile_cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_cli import write_clip


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory) -> Path:
    """Long enough that a blend run takes seconds on 2 cores: time for a signal to land mid-run."""
    return write_clip(tmp_path_factory.mktemp("clips") / "long.mp4", 240, size=(288, 352))


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "short.mp4", 6)
