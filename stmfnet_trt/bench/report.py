"""Renders a benchmark record: the printed table, the JSON file and optional PNG charts."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import UserError
from ..io.atomic import atomic_output_path
from .suite import BenchRecord

# (heading, Row attribute, format) of every numeric column.
COLUMNS = (
    ("p50 s", "p50_s", ".3f"),
    ("p90 s", "p90_s", ".3f"),
    ("p99 s", "p99_s", ".3f"),
    ("frames/s", "frames_per_s", ".2f"),
    ("peak RSS MB", "peak_rss_mb", ".0f"),
    ("PSNR vs ref dB", "psnr_vs_reference_db", ".1f"),
    ("max abs vs ref", "max_abs_vs_reference", ".2g"),
)


def _cell(value: float | None, fmt: str) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return format(value, fmt)


def table(record: BenchRecord) -> str:
    """Markdown table of one run, headed by its date, device, software and quality reference."""
    headings = ["backend", "size", "batch", *(c[0] for c in COLUMNS)]
    lines = [
        f"{record.date}, {record.device}; quality reference: {record.reference}; "
        + ", ".join(f"{k} {v}" for k, v in record.software.items()),
        "",
        "| " + " | ".join(headings) + " |",
        "|" + "---|" * len(headings),
    ]
    for row in record.rows:
        cells = [row.backend, row.size, str(row.batch)]
        if row.status == "ok":
            cells += [_cell(getattr(row, attribute), fmt) for _, attribute, fmt in COLUMNS]
        else:
            cells += [row.status] + [""] * (len(COLUMNS) - 1)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(record: BenchRecord, path: Path) -> None:
    with atomic_output_path(path, overwrite=True) as temp:
        temp.write_text(json.dumps(record.to_dict(), indent=2) + "\n")


def write_plot(record: BenchRecord, path: Path) -> None:
    """Latency (p50) against pixels per frame, one line per backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserError("--plot needs matplotlib: pip install matplotlib") from exc
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for backend in dict.fromkeys(row.backend for row in record.rows):
        rows = [r for r in record.rows if r.backend == backend and r.p50_s is not None]
        points = [(r.height * r.width / 1e6, r.p50_s) for r in rows]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o", label=backend)
    axis.set_xlabel("megapixels per frame")
    axis.set_ylabel("p50 latency per batch (s)")
    axis.set_yscale("log")
    axis.set_title(f"stmfnet-trt latency, {record.device}")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    with atomic_output_path(path, overwrite=True) as temp:
        figure.savefig(temp, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
