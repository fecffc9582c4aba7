"""Keeps bench/RESULTS.md in step with the JSON the benchmark scripts write.

Each script owns one section between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers and
replaces only that, so results of different scripts (and machines) live side by side.
"""

from __future__ import annotations

import json
from pathlib import Path


def parse_size(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``544x960``) as (height, width), for the scripts' ``--sizes``."""
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def write_json(path: Path, record: dict) -> None:
    """Write a script's ``record`` as indented JSON to ``path``, making its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of ``path`` with ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {name}\n\n{block}\n"
    path.write_text(text)
