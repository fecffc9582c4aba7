"""bench/results.py: the JSON and the RESULTS.md section every benchmark script writes."""

from __future__ import annotations

import json

from bench_scripts import bench_script


def test_write_json_makes_the_folder_and_writes_the_record_indented(tmp_path):
    with bench_script("results") as results:
        target = tmp_path / "results" / "new" / "bench.json"
        results.write_json(target, {"ratio": 0.71, "sizes": ["720x1280"]})
    text = target.read_text()
    assert json.loads(text) == {"ratio": 0.71, "sizes": ["720x1280"]}
    assert text.endswith("}\n") and '\n  "ratio": 0.71' in text


def test_a_section_is_replaced_in_place_and_a_new_one_appended(tmp_path):
    page = tmp_path / "RESULTS.md"
    page.write_text("# Benchmark results\n\n<!-- a:start -->\nold\n<!-- a:end -->\n\ntail\n")
    with bench_script("results") as results:
        results.write_section(page, "a", "new")
        results.write_section(page, "b", "second")
    assert page.read_text() == (
        "# Benchmark results\n\n<!-- a:start -->\nnew\n<!-- a:end -->\n\ntail\n"
        "\n## b\n\n<!-- b:start -->\nsecond\n<!-- b:end -->\n"
    )
