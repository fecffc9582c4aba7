"""Layers the user keeps out of low precision: a JSON/YAML file of node-name regexes.

The file holds one key, ``exclude``, a list of regular expressions searched (``re.search``) in
the ONNX node names, e.g. after a sensitivity report showed the texture branch costs most::

    {"exclude": ["^/dyntex_generator/", "/scale_synthesis/lateral_final"]}

The names are the exporter's module paths (``/feature_extractor/conv1/...``,
``/scale_synthesis/...``; ``stmfnet-trt check`` and the sensitivity report print them). The
warp and the offset convolutions are excluded always; this file adds to them. A pattern that
matches no node is an error: a typo would otherwise silently quantize what the user meant to
protect.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import onnx

from stmfnet_trt.core.errors import UserError

EXCLUDE_KEY = "exclude"


def load_exclusions(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The ``exclude`` patterns of a .json, .yaml or .yml file (checked to compile)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"exclusion config not found: {path}")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # PyYAML comes with nvidia-modelopt

        parse, errors = yaml.safe_load, (yaml.YAMLError,)
    else:
        parse, errors = json.loads, (ValueError, RecursionError)
    try:
        content = parse(path.read_text(encoding="utf-8"))
    except errors as exc:
        raise UserError(f"{path}: cannot read the exclusion config: {exc}") from exc
    if (
        not isinstance(content, dict)
        or set(content) != {EXCLUDE_KEY}
        or not isinstance(content[EXCLUDE_KEY], list)
    ):
        raise UserError(f'{path}: expected {{"{EXCLUDE_KEY}": ["regex", ...]}} and nothing else')
    patterns = tuple(str(p) for p in content[EXCLUDE_KEY])
    for pattern in patterns:
        _compile(pattern, path)
    return patterns


def _compile(pattern: str, origin: object) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UserError(f"{origin}: invalid regex {pattern!r}: {exc}") from exc


def resolve_exclusions(model: onnx.ModelProto, patterns: Iterable[str]) -> list[str]:
    """Names of the nodes of ``model`` that any pattern finds; UserError for one that finds none."""
    names = [node.name for node in model.graph.node]
    matched: dict[str, None] = {}  # ordered set
    for pattern in patterns:
        regex = _compile(pattern, "exclude")
        hits = [name for name in names if regex.search(name)]
        if not hits:
            examples = ", ".join(n for n in names if n.count("/") > 1)[:200]
            raise UserError(f"exclude pattern {pattern!r} matches no node; node names look like {examples}")
        matched.update(dict.fromkeys(hits))
    return list(matched)
