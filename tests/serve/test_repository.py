"""``triton-repo``: every generated config.pbtxt parses with Triton's own protobuf schema
(tritonclient's ``model_config_pb2``, in the serve environment) and names the model file's tensors.

No stock Triton with the ONNX Runtime or TensorRT backend exists here (PyTriton's server has
only the Python backend), so loading the repositories is left to a real deployment; engines are
stand-ins with a real sidecar, since none can be built or opened without a GPU.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.plugins import ort_op_library_path, trt_plugin_library_path
from stmfnet_trt.serve.repository import RepositoryOptions, describe_onnx, write_repository

onnx = pytest.importorskip("onnx", reason="reading ONNX models needs the export extra (onnx)")
from onnx import TensorProto, helper  # noqa: E402

NAMES = ["frame0", "frame1", "frame2", "frame3"]


def parsed(python: str, config: Path) -> dict:
    """The config as Triton's schema reads it (raises in the subprocess if it does not parse)."""
    code = (
        "import sys; from stmfnet_trt.serve.repository import config_summary; "
        "print(config_summary(sys.argv[1]))"
    )
    result = subprocess.run([python, "-c", code, str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def blend_onnx(path: Path, inputs=NAMES, channels: int = 3) -> Path:
    """A graph honouring the contract (dynamic N, H, W): middle = (frame1 + frame2) / 2."""
    dims = ["N", channels, "H", "W"]
    graph = helper.make_graph(
        [
            helper.make_node("Add", [inputs[1], inputs[2]], ["sum"]),
            helper.make_node("Mul", ["sum", "half"], ["middle"]),
        ],
        "blend",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n in inputs],
        [helper.make_tensor_value_info("middle", TensorProto.FLOAT, dims)],
        [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def check_tensors(config: dict, model_inputs: dict, model_outputs: dict) -> None:
    """Names and dims in the config equal the model's, minus the batch axis Triton adds."""
    assert {t["name"]: [int(d) for d in t["dims"]] for t in config["input"]} == {
        name: list(dims[1:]) for name, dims in model_inputs.items()
    }
    assert {t["name"]: [int(d) for d in t["dims"]] for t in config["output"]} == {
        name: list(dims[1:]) for name, dims in model_outputs.items()
    }
    assert all(t["data_type"] == "TYPE_FP32" for t in config["input"] + config["output"])


def test_onnx_repository(serve_python, tmp_path):
    model = blend_onnx(tmp_path / "blend.onnx")
    options = RepositoryOptions(max_batch_size=6, instances=2, queue_delay_us=500)
    model_dir = write_repository(model, tmp_path / "repo", options)
    assert (model_dir / "1" / "model.onnx").read_bytes() == model.read_bytes()
    config = parsed(serve_python, model_dir / "config.pbtxt")
    facts = describe_onnx(model)
    check_tensors(config, facts.inputs, facts.outputs)
    assert [t["name"] for t in config["input"]] == NAMES
    assert config["name"] == "stmfnet_mini" and config["backend"] == "onnxruntime"
    assert config["max_batch_size"] == 6
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == "500"
    assert config["instance_group"] == [{"count": 2, "kind": "KIND_CPU"}]
    assert "model_operations" not in config  # standard ops only: nothing to load
    assert not (tmp_path / "repo" / "plugins").exists()


def test_plugin_variant_onnx_registers_the_op_library(serve_python, tmp_path):
    from stmfnet_trt.export.cache import cached_onnx

    library = ort_op_library_path()  # the plugin variant only runs where the op library is built
    model = cached_onnx(None, "plugin", progress=False)
    model_dir = write_repository(model, tmp_path / "repo", RepositoryOptions(model_name="interp", version=3))
    config = parsed(serve_python, model_dir / "config.pbtxt")
    facts = describe_onnx(model)
    check_tensors(config, facts.inputs, facts.outputs)
    (listed,) = config["model_operations"]["op_library_filename"]  # a repeated field in the schema
    copied = Path(listed)
    assert copied == (tmp_path / "repo" / "plugins" / library.name).resolve()
    assert copied.read_bytes() == library.read_bytes()
    assert (model_dir / "3" / "model.onnx").is_file() and config["name"] == "interp"
    assert config["version_policy"] == {"specific": {"versions": ["3"]}}


ENGINE_BYTES = b"not a real engine"


def fake_engine(folder: Path, plugin: Path, profile: str, flavour: str = "tensorrt") -> Path:
    """An engine stand-in with the sidecar `stmfnet-trt build` writes (the fields read here)."""
    engine = folder / "model.engine"
    engine.write_bytes(ENGINE_BYTES)
    sidecar = {
        "flavour": flavour,
        "tensorrt_version": "10.16.1",
        "profiles": [profile],
        "plugin_sha256": hashlib.sha256(plugin.read_bytes()).hexdigest(),
        "engine_sha256": hashlib.sha256(ENGINE_BYTES).hexdigest(),
    }
    engine.with_name("model.engine.json").write_text(json.dumps(sidecar))
    return engine


def test_engine_repository(serve_python, tmp_path):
    plugin = trt_plugin_library_path()
    engine = fake_engine(tmp_path, plugin, "1x128x128:2x640x1152:4x1152x2048")
    options = RepositoryOptions(instances=2, library_dir="/models/plugins")
    model_dir = write_repository(engine, tmp_path / "repo", options)
    config = parsed(serve_python, model_dir / "config.pbtxt")
    dims = (-1, 3, -1, -1)
    check_tensors(config, dict.fromkeys(NAMES, dims), {"middle": dims})
    assert config["platform"] == "tensorrt_plan"
    assert config["max_batch_size"] == 4  # the profile's largest N, below the default 8
    assert config["instance_group"] == [{"count": 2, "kind": "KIND_GPU"}]
    assert (model_dir / "1" / "model.plan").read_bytes() == engine.read_bytes()
    assert (tmp_path / "repo" / "plugins" / plugin.name).read_bytes() == plugin.read_bytes()
    readme = (tmp_path / "repo" / "README.md").read_text()
    assert f'--backend-config=tensorrt,plugins="/models/plugins/{plugin.name}"' in readme
    # LD_PRELOAD cannot register the creator (no TensorRT is loaded yet when it is): not offered.
    assert "LD_PRELOAD=" not in readme


def test_rtx_engine_is_not_packaged_as_tensorrt_plan(tmp_path):
    engine = fake_engine(tmp_path, trt_plugin_library_path(), "1x128x128:1x256x256:1x512x512", "rtx")
    with pytest.raises(UserError, match="TensorRT-RTX engine; Triton's tensorrt_plan backend"):
        write_repository(engine, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("engine", "does not match the engine_sha256"),
        ("sidecar-json", "is not valid JSON"),
        ("sidecar-type", "field 'profiles' has an invalid value"),
        ("sidecar-forged-hash", "field 'engine_sha256' has an invalid value"),
        ("no-sidecar", "has no sidecar"),
    ],
)
def test_engine_whose_sidecar_is_missing_bad_or_unmatched_is_refused(tmp_path, damage, message):
    engine = fake_engine(tmp_path, trt_plugin_library_path(), "1x128x128:1x256x256:1x512x512")
    sidecar = engine.with_name("model.engine.json")
    fields = json.loads(sidecar.read_text())
    if damage == "engine":
        engine.write_bytes(ENGINE_BYTES + b" with a payload")
    elif damage == "sidecar-json":
        sidecar.write_text("{not json")
    elif damage == "sidecar-type":
        sidecar.write_text(json.dumps({**fields, "profiles": "1x128x128:1x256x256:1x512x512"}))
    elif damage == "sidecar-forged-hash":
        sidecar.write_text(json.dumps({**fields, "engine_sha256": "../../etc/passwd"}))
    else:
        sidecar.unlink()
    with pytest.raises(UserError, match=message) as info:
        write_repository(engine, tmp_path / "repo")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "repo").exists()


def test_engine_with_another_plugin_build_is_refused(tmp_path):
    engine = fake_engine(tmp_path, trt_plugin_library_path(), "1x128x128:1x256x256:1x512x512")
    other = tmp_path / "other_plugin.so"
    other.write_bytes(b"another build")
    with pytest.raises(UserError, match=r"is not the plugin build model\.engine was made with"):
        write_repository(engine, tmp_path / "repo", RepositoryOptions(plugin=other))
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize(
    ("inputs", "channels", "message"),
    [(["a", "b", "c", "d"], 3, "the contract is"), (NAMES, 1, "has 1 channels; expected 3")],
)
def test_models_off_the_contract_are_refused(tmp_path, inputs, channels, message):
    model = blend_onnx(tmp_path / "other.onnx", inputs, channels)
    with pytest.raises(UserError, match=message):
        write_repository(model, tmp_path / "repo")
    assert list(tmp_path.iterdir()) == [model]
