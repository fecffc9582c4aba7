"""The exclusion config: JSON and YAML, validation, and resolving regexes to node names."""

from __future__ import annotations

import onnx
import pytest

from stmfnet_trt.calibration import load_exclusions
from stmfnet_trt.calibration.exclusions import resolve_exclusions
from stmfnet_trt.core.errors import UserError


def test_json_and_yaml_give_the_same_patterns(tmp_path):
    (tmp_path / "a.json").write_text('{"exclude": ["^/dyntex_generator/", "lateral_final"]}')
    (tmp_path / "a.yaml").write_text("exclude:\n  - ^/dyntex_generator/\n  - lateral_final\n")
    expected = ("^/dyntex_generator/", "lateral_final")
    assert load_exclusions(tmp_path / "a.json") == load_exclusions(tmp_path / "a.yaml") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"exclude": ["("]}', "invalid regex"),
        ('{"exclude": ["x"], "include": []}', "nothing else"),
        ('{"exclude": "x"}', "nothing else"),
        ("{not json", "cannot read"),
    ],
)
def test_bad_configs_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_exclusions(path)


def test_missing_config_and_bad_yaml(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_exclusions(tmp_path / "none.json")
    (tmp_path / "bad.yml").write_text("exclude: [unclosed\n")
    with pytest.raises(UserError, match="cannot read"):
        load_exclusions(tmp_path / "bad.yml")


def test_patterns_resolve_to_node_names_and_a_typo_is_an_error(exported):
    model = onnx.load(str(exported["plugin"]))
    names = resolve_exclusions(model, ["^/dyntex_generator/outconv/", "outconv"])
    assert names == [n.name for n in model.graph.node if n.name.startswith("/dyntex_generator/outconv/")]
    with pytest.raises(UserError, match="matches no node"):
        resolve_exclusions(model, ["^/dyntex_genrator/"])
