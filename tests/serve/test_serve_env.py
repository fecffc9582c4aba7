"""The serving environment the Triton tests run in has no torch, so they test a torch-free path."""

from __future__ import annotations

import subprocess


def test_the_serving_environment_has_no_torch(serve_python):
    """The Triton client and server tests (tests/serve) run in it: without torch, as users'
    serving machines may be."""
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is not None)"
    assert subprocess.run([serve_python, "-c", probe], timeout=60).returncode == 0
