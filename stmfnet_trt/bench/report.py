"""Renders a benchmark record: the printed table, the JSON file and optional PNG charts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from stmfnet_trt.bench.suite import BenchRecord, Row
from stmfnet_trt.core.errors import Param, UserError
from stmfnet_trt.io.atomic import atomic_output_path


def _number(attribute: str, fmt: str) -> Callable[[Row], str]:
    """Cell of a numeric Row attribute: "-" where it has no value (e.g. quality of the reference)."""

    def cell(row: Row) -> str:
        value = getattr(row, attribute)
        if value is None:
            return "-"
        if math.isinf(value):
            return "inf"
        return format(value, fmt)

    return cell


def _device_memory(row: Row) -> str:
    """Peak GPU memory in use, with what the row added in brackets; "n/a" where no GPU was used."""
    if row.peak_device_mb is None:
        return "n/a"
    return f"{row.peak_device_mb:.0f} (+{row.extra_device_mb:.0f})"


# (heading, cell) of every column after backend, size and batch.
COLUMNS: tuple[tuple[str, Callable[[Row], str]], ...] = (
    ("p50 s", _number("p50_s", ".3f")),
    ("p90 s", _number("p90_s", ".3f")),
    ("p99 s", _number("p99_s", ".3f")),
    ("frames/s", _number("frames_per_s", ".2f")),
    ("peak RSS MB", _number("peak_rss_mb", ".0f")),
    ("device memory MB, peak (+row)", _device_memory),
    ("PSNR vs ref dB", _number("psnr_vs_reference_db", ".1f")),
    ("max abs vs ref", _number("max_abs_vs_reference", ".2g")),
)


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
            cells += [cell(row) for _, cell in COLUMNS]
        else:
            cells += [row.status] + [""] * (len(COLUMNS) - 1)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(record: BenchRecord, path: Path, *, overwrite: bool = False) -> None:
    with atomic_output_path(path, overwrite=overwrite) as temp:
        temp.write_text(json.dumps(record.to_dict(), indent=2) + "\n")


def write_plot(record: BenchRecord, path: Path, *, overwrite: bool = False) -> None:
    """Latency (p50) against pixels per frame, one line per backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserError(Param("plot"), " needs matplotlib: pip install matplotlib") from exc
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
    with atomic_output_path(path, overwrite=overwrite) as temp:
        figure.savefig(temp, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
