"""``cli/flags.py``: real library errors name parameters; ``user_message`` shows the CLI's flags.

Each case raises an error from the library function that really raises it, then checks both
readings: ``str(error)`` (Python) names the parameter and no flag, ``user_message(error)`` (the
command line) is the line the CLI printed before the library stopped naming flags.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest

import stmfnet_trt
from stmfnet_trt.calibration.quality import QualityGateError, QualityReport
from stmfnet_trt.cli.flags import PARAMETER_FLAGS, flag_for, user_message
from stmfnet_trt.core.errors import InputError, OutputExistsError, Param, ParameterError, UserError
from stmfnet_trt.core.flavours import FLAVOUR_MODULES, RTX_TARGETS
from stmfnet_trt.engine import build, flavours
from stmfnet_trt.engine.flavours import INSTALL_HINTS, missing_flavour
from stmfnet_trt.engine.request import BuildRequest, ProfileShapes
from stmfnet_trt.io.atomic import atomic_output_path
from stmfnet_trt.io.sink import check_file_output
from stmfnet_trt.runtime.backends.blend import BlendBackend
from stmfnet_trt.runtime.backends.tensorrt_backend import EngineProfile
from stmfnet_trt.runtime.backends.tiling import TileOptions
from stmfnet_trt.runtime.scheduling.stream import interpolate_y4m

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def raised(call, *args, **kwargs) -> UserError:
    with pytest.raises(UserError) as info:
        call(*args, **kwargs)
    return info.value


def assert_names_no_flag(error: UserError, *parameters: str) -> None:
    """The library's reading: every parameter by its own name, no flag anywhere."""
    text = str(error)
    assert FLAG.findall(text) == [], text
    for parameter in parameters:
        assert parameter in text, (parameter, text)


def files(tmp_path: Path) -> tuple[str, str]:
    onnx, plugin = tmp_path / "m.onnx", tmp_path / "p.so"
    onnx.write_bytes(b"onnx")
    plugin.write_bytes(b"plugin")
    return str(onnx), str(plugin)


PROFILE = ProfileShapes.parse("1x128x128:1x640x1152:1x1152x2048")


# --- ParameterError: the flag takes the parameter's place ------------------------------------------


def test_tile_size():
    error = raised(TileOptions, 100)
    assert isinstance(error, ParameterError) and error.parameter == "tile"
    assert str(error) == "tile must be a positive multiple of 128, got 100"
    assert user_message(error) == "--tile must be a positive multiple of 128, got 100"


def test_tile_overlap():
    error = raised(TileOptions, 256, 300)
    assert str(error) == "overlap must be in [0, tile) = [0, 256), got 300"
    assert user_message(error) == "--tile-overlap must be in [0, tile) = [0, 256), got 300"


def test_profile_shapes():
    error = raised(ProfileShapes.parse, "bad")
    assert isinstance(error, ParameterError) and error.parameter == "shapes"
    assert_names_no_flag(error, "shapes")
    assert user_message(error) == "--shapes must be MIN:OPT:MAX, each NxHxW (e.g. 1x256x256); got 'bad'"
    short = raised(ProfileShapes.parse, "1x128x128:1x128x128")
    assert user_message(short).startswith("--shapes must be MIN:OPT:MAX")


def test_build_request_with_a_bad_flavour(tmp_path):
    onnx, plugin = files(tmp_path)
    error = raised(build.build_engine, BuildRequest("nope", onnx, plugin, [PROFILE]), None)
    assert isinstance(error, ParameterError) and error.parameter == "flavour"
    assert str(error) == "flavour must be one of ('tensorrt', 'rtx'), got 'nope'"
    assert user_message(error) == "--target must be one of ('tensorrt', 'rtx'), got 'nope'"


def test_build_request_with_bad_rtx_targets(tmp_path):
    onnx, plugin = files(tmp_path)
    error = raised(build.build_engine, BuildRequest("rtx", onnx, plugin, [PROFILE], rtx_targets=[10]), None)
    assert_names_no_flag(error, "rtx_targets")
    assert user_message(error) == f"--sm must list TensorRT-RTX targets from {RTX_TARGETS}; got [10]"


def test_missing_flavour_module(monkeypatch):
    monkeypatch.setattr(flavours.importlib.util, "find_spec", lambda name: None)
    reason = missing_flavour("rtx")
    assert isinstance(reason, ParameterError)
    module, hint = FLAVOUR_MODULES["rtx"], INSTALL_HINTS["rtx"]
    assert str(reason) == f"flavour rtx needs the {module} module: {hint}"
    assert user_message(reason) == f"--target rtx needs the {module} module: {hint}"
    error = raised(flavours.require_flavour, "rtx")
    assert user_message(error) == f"--target rtx needs the {module} module: {hint}"


def test_cuda_device_without_a_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    from stmfnet_trt.runtime.backends.torch_backend import resolve_device

    error = raised(resolve_device, "cuda")
    detail = "cuda was requested but torch sees no CUDA GPU (CPU build or no driver)"
    assert str(error) == f"device {detail}"
    assert user_message(error) == f"--device {detail}"


def test_resume_with_a_config_file(tmp_path):
    pytest.importorskip("torch")
    from stmfnet_trt.train.job import resolve_config
    from stmfnet_trt.train.trainer import CONFIG_FILE, LAST_CHECKPOINT

    (tmp_path / LAST_CHECKPOINT).write_bytes(b"weights")
    error = raised(resolve_config, tmp_path, True, tmp_path / "mine.json", {})
    assert str(error) == f"resume continues with {tmp_path / CONFIG_FILE}: drop config_file"
    assert user_message(error) == f"--resume continues with {tmp_path / CONFIG_FILE}: drop --config"


# --- parameters inside a message: remedies ---------------------------------------------------------


def test_output_exists_without_overwrite(tmp_path):
    existing = tmp_path / "engine.plan"
    existing.write_bytes(b"plan")
    with pytest.raises(OutputExistsError) as info, atomic_output_path(existing):
        pass
    assert info.value.path == existing
    assert str(info.value) == f"{existing} exists; pass overwrite=True to replace it"
    assert user_message(info.value) == f"{existing} exists; pass --overwrite to replace it"
    assert existing.read_bytes() == b"plan"


def test_single_file_output_exists(tmp_path):
    existing = tmp_path / "report.json"
    existing.write_text("{}")
    error = raised(check_file_output, existing, False)
    assert isinstance(error, OutputExistsError)
    refusal = f"{existing} already exists; choose another name or allow overwriting"
    assert str(error) == f"{refusal} (overwrite=True)"
    assert user_message(error) == f"{refusal} (--overwrite)"


def test_y4m_without_a_frame_rate():
    stream = io.BytesIO(b"YUV4MPEG2 W128 H128 F0:0 Ip A1:1 C444\n")
    error = raised(interpolate_y4m, stream, io.BytesIO(), BlendBackend())
    assert isinstance(error, InputError)
    assert str(error) == "the y4m header states no frame rate (F0:0): pass input_fps"
    assert user_message(error) == "the y4m header states no frame rate (F0:0): pass --fps"


def test_workspace_shortfall(tmp_path):
    onnx, plugin = files(tmp_path)
    request = BuildRequest("rtx", onnx, plugin, [PROFILE], workspace_mb=5120)
    error = build._workspace_error(request, build.WorkspaceShortfall(6144, "log tail"))
    first_line = str(error).splitlines()[0]
    assert "had 5120 MiB: pass workspace_mb=6144 (if the GPU has it)" in first_line
    assert "lower the profile's largest shape (shapes, now (1, 1152, 2048))" in first_line
    assert_names_no_flag(error)
    assert user_message(error).splitlines()[0] == (
        "engine build failed, nothing written: the builder needs 6144 MiB of workspace and had 5120 MiB: "
        "pass --workspace 6144 (if the GPU has it) or lower the profile's largest shape "
        "(--shapes, now (1, 1152, 2048))"
    )
    assert user_message(error).splitlines()[-1] == "log tail"


def test_engine_profile_refusal():
    profile = EngineProfile((1, 128, 128), (1, 256, 256))
    refusal = profile.refusal(1, 512, 512)
    assert refusal is not None
    assert_names_no_flag(refusal, "shapes", "tiles")
    assert user_message(refusal).endswith("rebuild it with --shapes covering them, or use --tile")
    assert profile.refusal(1, 256, 128) is None


def test_quality_gate():
    report = QualityReport("int8", 30.0, 0.2, 0.01, 28.0, 4, 32.0)
    error = QualityGateError(report)
    assert str(error).endswith("accept the loss explicitly (accept_quality_loss=True)")
    assert user_message(error).endswith("accept the loss explicitly (--accept-quality-loss)")
    assert user_message(error).startswith(report.summary())


def test_no_checkpoint(monkeypatch, tmp_path):
    from stmfnet_trt import weights

    monkeypatch.setattr(weights, "DEMO_CHECKPOINT", tmp_path / "absent.pth")
    error = raised(weights.resolve_checkpoint, None)
    assert_names_no_flag(error, "checkpoint=PATH", "random_init_seed")
    assert user_message(error) == (
        "no checkpoint given and no demo weights are installed. Pass --checkpoint PATH with a file in "
        "the published format ({'state_dict': ...}, e.g. models/stmfnet_mini.pth of the official "
        "ST-MFNet-Mini repository), or --random-init to check the plumbing with random weights (the "
        "frames will be garbage)."
    )


def test_a_quoted_error_keeps_its_flags():
    """``engine_for_run`` quotes the build's error in its own: both keep their flags."""
    inner = ParameterError("workspace_mb", "too small")
    outer = UserError(inner, "; use a smaller ", Param("batch_size"), ", or tiling (", Param("tiles"), ")")
    assert str(outer) == "workspace_mb too small; use a smaller batch_size, or tiling (tiles)"
    assert user_message(outer) == "--workspace too small; use a smaller --batch-size, or tiling (--tile)"


# --- the mapping itself ------------------------------------------------------------------------------


def test_errors_without_parameters_are_unchanged():
    assert user_message(UserError("ONNX model not found: m.onnx")) == "ONNX model not found: m.onnx"
    assert user_message(InputError("a", Param("not_a_flag"), "b")) == "anot_a_flagb"


def test_flag_spelling_of_values():
    assert flag_for(Param("overwrite", True)) == "--overwrite"
    assert flag_for(Param("workspace_mb", 6144)) == "--workspace 6144"
    assert flag_for(Param("checkpoint", "PATH")) == "--checkpoint PATH"
    assert flag_for(Param("frame_size", (1, 2))) == "frame_size=(1, 2)"  # no flag: the library's name


def cli_long_options() -> set[str]:
    """Every ``add_argument("--...")`` of stmfnet_trt/cli/*.py."""
    options = set()
    for path in (Path(stmfnet_trt.__file__).parent / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]
                options.update(name for name in names if str(name).startswith("--"))
    return options


def test_every_mapped_flag_is_one_the_cli_defines():
    missing = sorted(set(PARAMETER_FLAGS.values()) - cli_long_options())
    assert missing == []
