"""Tests of the compiled AdaptiveWarp libraries (plugins/adaptive_warp).

Nothing is built here: ``make test`` runs ``make plugins`` first; without the libraries the tests
that need them skip and say how to build. Levels:

* CPU: op identity header vs ``warp_op.py``, the ctest suite, exported symbols, the ONNX Runtime
  op against the golden cases (FP32, FP16, softmax, errors), the TensorRT plugin in a
  ``tensorrt_lean`` registry and in real ``tensorrt_rtx`` engine builds (no GPU needed), and the
  C-ABI launcher's argument checks;
* ``gpu``: the CUDA kernel through its C ABI with torch CUDA tensors against the golden cases and
  the PyTorch oracle;
* ``tensorrt``: one-layer engines through the ONNX parser (needs full TensorRT and a GPU).

TensorRT work that can abort the process (parsing, building) runs in a subprocess.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from stmfnet_trt import plugins
from stmfnet_trt.core import upsample_conv_op, warp_op

REPO = Path(__file__).resolve().parents[2]
WARP_DIR = REPO / "plugins" / "adaptive_warp"
CASE_DIR = WARP_DIR / "tests" / "data"
GOLDEN_NPZ = REPO / "tests" / "data" / "warp_cases.npz"
BUILD_DIR = REPO / "build"
INPUT_NAMES = ("image", "weight", "offset_v", "offset_h")
FP32_TOL = 1e-5  # golden README section 1
FP16_REL_TOL = 2e-3
CUDA_ERROR_INVALID_VALUE = 1


@dataclass(frozen=True)
class WarpCase:
    """One fixture from plugins/adaptive_warp/tests/data (format: export_golden.py)."""

    name: str
    kernel_size: int
    dilation: int
    inputs: tuple[np.ndarray, ...]  # image (padded), weight, offset_v, offset_h
    output: np.ndarray


def read_case(path: Path) -> WarpCase:
    raw = path.read_bytes()
    assert raw[:8] == b"SWCASE1\0", f"{path} is not a warp case file"
    kernel_size, dilation = np.frombuffer(raw, "<i4", 2, 8)
    pos, tensors = 16, []
    for _ in range(5):
        dims = tuple(int(d) for d in np.frombuffer(raw, "<i4", 4, pos))
        pos += 16
        count = int(np.prod(dims))
        tensors.append(np.frombuffer(raw, "<f4", count, pos).reshape(dims).copy())
        pos += 4 * count
    assert pos == len(raw), f"{path}: trailing bytes"
    return WarpCase(path.stem, int(kernel_size), int(dilation), tuple(tensors[:4]), tensors[4])


CASES = [read_case(p) for p in sorted(CASE_DIR.glob("*.bin"))]
CASE_IDS = [c.name for c in CASES]


def case_named(name: str) -> WarpCase:
    return next(c for c in CASES if c.name == name)


def max_rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """Largest error relative to the reference's magnitude (warp outputs are O(1))."""
    return float(np.abs(got.astype(np.float32) - ref).max() / max(float(np.abs(ref).max()), 1e-6))


def random_case(rng: np.random.Generator, shape: tuple[int, int, int, int], kernel_size: int = 5):
    """Inputs like the model's: softmax weights, fractional offsets of both signs (FP32)."""
    b, c, h, w = shape
    span = kernel_size - 1
    taps = (b, kernel_size * kernel_size, h, w)
    image = rng.random((b, c, h + span, w + span), dtype=np.float32)
    logits = rng.standard_normal(taps).astype(np.float32)
    weight = np.exp(logits - logits.max(axis=1, keepdims=True))
    weight = (weight / weight.sum(axis=1, keepdims=True)).astype(np.float32)
    off_v = (rng.standard_normal(taps) * 1.5).astype(np.float32)
    off_h = (rng.standard_normal(taps) * 1.5).astype(np.float32)
    return image, weight, off_v, off_h


def warp_model(elem_type: int, kernel_size: int = 5, dilation: int = 1, softmax: int = 0) -> bytes:
    """One AdaptiveWarp node with symbolic B/C/H/W, as the exporter writes it (plugin attributes too)."""
    from onnx import TensorProto, helper

    taps = kernel_size * kernel_size
    shapes = (["B", "C", "Hp", "Wp"], ["B", taps, "H", "W"], ["B", taps, "H", "W"], ["B", taps, "H", "W"])
    inputs = [
        helper.make_tensor_value_info(n, elem_type, s) for n, s in zip(INPUT_NAMES, shapes, strict=True)
    ]
    output = helper.make_tensor_value_info("out", elem_type, None)
    node = helper.make_node(
        warp_op.OP_NAME,
        list(INPUT_NAMES),
        ["out"],
        domain=warp_op.OP_DOMAIN,
        plugin_version=warp_op.PLUGIN_VERSION,
        plugin_namespace=warp_op.PLUGIN_NAMESPACE,
        **{
            warp_op.ATTR_KERNEL_SIZE: kernel_size,
            warp_op.ATTR_DILATION: dilation,
            warp_op.ATTR_SOFTMAX: softmax,
        },
    )
    graph = helper.make_graph([node], "adaptive_warp", inputs, [output])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(warp_op.OP_DOMAIN, 1)]
    assert elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16)
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def library_or_skip(find) -> Path:
    try:
        return find()
    except plugins.PluginLibraryError as e:
        pytest.skip(str(e))


def run_isolated(script: str, env_extra: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> dict:
    """Run TensorRT work in a fresh interpreter (it can abort); the script prints one JSON line last.

    ``log`` holds everything else it printed: the plugin logs through TensorRT's logger when it has
    one (the Python ``trt.Logger`` writes to stdout), else to stderr."""
    env = {**os.environ, **(env_extra or {})}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "log": "\n".join(lines[:-1]) + "\n" + proc.stderr}


# ------------------------------------------------------------------------------ identity and build


def test_identity_header_matches_python():
    header = (WARP_DIR / "warp_identity.h").read_text()
    values = dict(re.findall(r'constexpr char (\w+)\[\] = "([^"]*)";', header))
    assert values == {
        "kWarpOpName": warp_op.OP_NAME,
        "kWarpOpDomain": warp_op.OP_DOMAIN,
        "kWarpPluginVersion": warp_op.PLUGIN_VERSION,
        "kWarpPluginNamespace": warp_op.PLUGIN_NAMESPACE,
        "kAttrKernelSize": warp_op.ATTR_KERNEL_SIZE,
        "kAttrDilation": warp_op.ATTR_DILATION,
        "kAttrSoftmax": warp_op.ATTR_SOFTMAX,
    }
    header = (REPO / "plugins" / "upsample_conv" / "upsample_conv_identity.h").read_text()
    values = dict(re.findall(r'constexpr char (\w+)\[\] = "([^"]*)";', header))
    assert values == {
        "kUpsampleConvOpName": upsample_conv_op.OP_NAME,
        "kAttrScale": upsample_conv_op.ATTR_SCALE,
    }


def test_plugin_config_matches_sources():
    config = json.loads((WARP_DIR / "AdaptiveWarp_PluginConfig.json").read_text())
    identity = (WARP_DIR / "warp_identity.h").read_text()
    math = (WARP_DIR / "warp_math.h").read_text()

    def constant(source: str, name: str) -> int:
        return int(re.search(rf"constexpr int {name} = (\d+);", source).group(1))

    assert (config["name"], config["onnx_domain"]) == (warp_op.OP_NAME, warp_op.OP_DOMAIN)
    assert (config["plugin_version"], config["plugin_namespace"]) == (
        warp_op.PLUGIN_VERSION,
        warp_op.PLUGIN_NAMESPACE,
    )
    attrs = config["attributes"]
    assert list(attrs) == [warp_op.ATTR_KERNEL_SIZE, warp_op.ATTR_DILATION, warp_op.ATTR_SOFTMAX]
    assert attrs["kernel_size"]["default"] == constant(identity, "kDefaultKernelSize")
    assert attrs["dilation"]["default"] == constant(identity, "kDefaultDilation")
    assert attrs["softmax"]["default"] == constant(identity, "kDefaultSoftmax")
    assert attrs["kernel_size"]["max"] == constant(math, "kMaxKernelSize")
    assert attrs["dilation"]["max"] == constant(math, "kMaxDilation")
    assert config["tolerances"]["float32_vs_golden"]["abs"] == FP32_TOL
    assert (
        config["tolerances"]["float16_io_vs_float32_math_on_same_inputs"]["rel_to_output_range"]
        == FP16_REL_TOL
    )
    assert (REPO / config["golden_io_path"]) == GOLDEN_NPZ


def test_fixture_files_copy_the_golden_cases():
    golden = np.load(GOLDEN_NPZ)
    copied = {c.name: c for c in CASES}
    for n in range(5):
        case = copied[f"golden_case{n}"]
        assert (case.kernel_size, case.dilation) == (5, 1)
        assert np.array_equal(case.inputs[0], golden[f"case{n}_image_padded"])
        for name, array in zip(INPUT_NAMES[1:], case.inputs[1:], strict=True):
            assert np.array_equal(array, golden[f"case{n}_{name}"])
        assert np.array_equal(case.output, golden[f"case{n}_output"])
    assert "extra_k3_d2" in copied


def test_ctest_suite_passes():
    if not (BUILD_DIR / "CTestTestfile.cmake").is_file() or shutil.which("ctest") is None:
        pytest.skip("no configured build/ (run `make plugins`) or no ctest on PATH")
    proc = subprocess.run(
        ["ctest", "--test-dir", str(BUILD_DIR), "--output-on-failure"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests passed, 0 tests failed" in proc.stdout


@pytest.mark.parametrize(
    ("find", "expected"),
    [
        (
            plugins.trt_plugin_library_path,
            {
                "getCreators",
                "setLoggerFinder",
                "stmfnet_adaptive_warp_launch",
                "stmfnet_trt_cuda_driver_check",
            },
        ),
        (plugins.ort_op_library_path, {"RegisterCustomOps"}),
    ],
    ids=["trt_plugin", "ort_ops"],
)
def test_libraries_export_only_their_entry_points(find, expected):
    path = library_or_skip(find)
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) not on PATH")
    listing = subprocess.run(
        ["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True
    )
    exported = {line.split()[-1] for line in listing.stdout.splitlines() if line.split()[1:2] == ["T"]}
    assert exported == expected


def test_cuda_preset_has_sm80_and_every_target_nvcc_offers_with_ptx_of_the_newest(tmp_path):
    """A100/A30 (sm_80) are documented targets: the classic preset builds SASS for them, and for
    every preset target the found nvcc supports; the newest also as PTX for later GPUs."""
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    if not Path(nvcc).is_file() or shutil.which("cmake") is None:
        pytest.skip("needs nvcc and cmake")
    offered = set(
        re.findall(
            r"sm_(\d+)", subprocess.run([nvcc, "--list-gpu-code"], capture_output=True, text=True).stdout
        )
    )
    proc = subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(tmp_path), "-DSTMFNET_BUILD_ORT_OP=OFF"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archs = re.search(r"architectures: (\S+)", proc.stdout).group(1).split(";")
    wanted = [a for a in ("75", "80", "86", "87", "89", "90", "100", "110", "120") if a in offered]
    assert "80" in wanted
    assert archs == [f"{a}-real" for a in wanted[:-1]] + [wanted[-1]]


def test_driver_floor_is_one_line_naming_the_fix():
    library = library_or_skip(plugins.trt_plugin_library_path)
    from stmfnet_trt.runtime.cuda.binding import plugin_driver_problem

    problem = plugin_driver_problem(library, 12060)  # JetPack 6's CUDA 12.6 driver
    built_major = problem and int(
        re.search(r"runtime, which needs an NVIDIA driver for CUDA (\d+)", problem).group(1)
    )
    if built_major is None:
        pytest.skip("this build links a CUDA 12 runtime, which a CUDA 12.6 driver runs")
    assert "\n" not in problem and "this driver supports CUDA 12.6" in problem
    assert "update the driver, or rebuild the plugin with a CUDA 12 toolkit" in problem
    assert plugin_driver_problem(library, built_major * 1000) is None
    assert plugin_driver_problem(library, 0) is None  # no driver: the GPU checks say so


def test_missing_library_error_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setenv(plugins.ORT_OPS_ENV, str(tmp_path / "nope.so"))
    with pytest.raises(plugins.PluginLibraryError, match=plugins.ORT_OPS_ENV):
        plugins.ort_op_library_path()
    monkeypatch.delenv(plugins.ORT_OPS_ENV)
    monkeypatch.setattr(plugins, "_PACKAGE_LIB_DIR", tmp_path)
    monkeypatch.setattr(plugins, "_REPO_BUILD_DIR", tmp_path)
    with pytest.raises(plugins.PluginLibraryError, match="make plugins"):
        plugins.ort_op_library_path()


# ------------------------------------------------------------------------------ ONNX Runtime CPU op


@pytest.fixture(scope="module")
def ort_lib() -> Path:
    return library_or_skip(plugins.ort_op_library_path)


@functools.cache
def ort_session(elem_type: int, kernel_size: int, dilation: int, softmax: int, threads: int = 2):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    plugins.register_ort_ops(options)
    model = warp_model(elem_type, kernel_size, dilation, softmax)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run_ort(inputs, kernel_size: int, dilation: int, softmax: int = 0, threads: int = 2) -> np.ndarray:
    from onnx import TensorProto

    elem_type = TensorProto.FLOAT16 if inputs[0].dtype == np.float16 else TensorProto.FLOAT
    session = ort_session(elem_type, kernel_size, dilation, softmax, threads)
    return session.run(None, dict(zip(INPUT_NAMES, inputs, strict=True)))[0]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_ort_fp32_matches_reference(ort_lib, case):
    out = run_ort(case.inputs, case.kernel_size, case.dilation)
    assert out.shape == case.output.shape and out.dtype == np.float32
    assert np.abs(out - case.output).max() <= FP32_TOL


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_ort_softmax_of_log_weights_matches_reference(ort_lib, case):
    image, weight, off_v, off_h = case.inputs
    out = run_ort((image, np.log(weight), off_v, off_h), case.kernel_size, case.dilation, softmax=1)
    assert np.abs(out - case.output).max() <= FP32_TOL


def test_ort_softmax_survives_huge_logits(ort_lib):
    image, weight, off_v, off_h = case_named("golden_case1").inputs
    hot = np.argmax(weight, axis=1)[:, None]  # keep each pixel's strongest tap
    taps = np.arange(weight.shape[1])[None, :, None, None]
    logits = np.where(taps == hot, 1e4, -1e4).astype(np.float32)
    one_hot = (taps == hot).astype(np.float32)
    out = run_ort((image, logits, off_v, off_h), 5, 1, softmax=1)
    assert np.isfinite(out).all()
    assert np.array_equal(out, run_ort((image, one_hot, off_v, off_h), 5, 1))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_ort_fp16_io_matches_fp32_math(ort_lib, case):
    half = tuple(a.astype(np.float16) for a in case.inputs)
    out = run_ort(half, case.kernel_size, case.dilation)
    assert out.dtype == np.float16
    # Same inputs (rounded to FP16) through the FP32 op: only the output rounding may differ.
    ref = run_ort(tuple(a.astype(np.float32) for a in half), case.kernel_size, case.dilation)
    assert max_rel_err(out, ref) <= FP16_REL_TOL


def test_ort_result_does_not_depend_on_thread_count(ort_lib):
    inputs = random_case(np.random.default_rng(7), (2, 3, 33, 17))
    assert np.array_equal(run_ort(inputs, 5, 1, threads=1), run_ort(inputs, 5, 1, threads=2))


def test_ort_rejects_unpadded_image_with_clear_message(ort_lib):
    from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

    case = case_named("golden_case1")
    frame = case.inputs[0][:, :, 2:-2, 2:-2]  # what forgetting the replicate padding gives
    with pytest.raises(InvalidArgument, match=r"AdaptiveWarp .*image height \d+ must be the output height"):
        run_ort((frame, *case.inputs[1:]), 5, 1)


def test_ort_rejects_bad_attribute_with_clear_message(ort_lib):
    from onnx import TensorProto

    with pytest.raises(Exception, match=r"AdaptiveWarp .*kernel_size must be odd"):
        ort_session(TensorProto.FLOAT, 4, 1, 0)


# ------------------------------------------------------------------------------ TensorRT without a GPU

LEAN_REGISTRY_SCRIPT = """
    import json
    import numpy as np
    import tensorrt_lean as trt
    from stmfnet_trt import plugins

    path = plugins.load_trt_plugin(trt)
    again = plugins.load_trt_plugin(trt)  # cached: a registry refuses a second load
    creator = trt.get_plugin_registry().get_creator("AdaptiveWarp", "1", "stmfnet_trt")

    def fields(**values):
        int32 = trt.PluginFieldType.INT32
        return trt.PluginFieldCollection(
            [trt.PluginField(k, np.array([v], dtype=np.int32), int32) for k, v in values.items()]
        )

    BUILD, RUNTIME = trt.TensorRTPhase.BUILD, trt.TensorRTPhase.RUNTIME
    build = creator.create_plugin("warp", fields(kernel_size=3, dilation=2, softmax=1), BUILD)
    core = build.get_capability_interface(trt.PluginCapabilityType.CORE)
    runtime = creator.create_plugin("warp", fields(kernel_size=5, dilation=1, softmax=0), RUNTIME)
    rejected = [creator.create_plugin("warp", fields(kernel_size=k), BUILD) is None for k in (4, -1, 0)]
    result = {
        "version": trt.__version__,
        "same_path": path == again,
        "creator": [creator.name, creator.plugin_version, creator.plugin_namespace],
        "fields": [f.name for f in creator.field_names],
        "core": [core.plugin_name, core.plugin_version, core.plugin_namespace],
        "runtime_created": runtime is not None,
        "rejected": rejected,
    }
    del core, build, runtime  # a live IPluginV3 at interpreter exit segfaults
    print(json.dumps(result))
"""


def test_tensorrt_lean_registry_finds_the_creator():
    library_or_skip(plugins.trt_plugin_library_path)
    if importlib.util.find_spec("tensorrt_lean") is None:
        pytest.skip("tensorrt_lean not installed (pip install tensorrt-lean-cu13)")
    result = run_isolated(LEAN_REGISTRY_SCRIPT)
    assert result["same_path"]
    assert result["creator"] == [warp_op.OP_NAME, warp_op.PLUGIN_VERSION, warp_op.PLUGIN_NAMESPACE]
    assert result["core"] == result["creator"]
    assert result["fields"] == [warp_op.ATTR_KERNEL_SIZE, warp_op.ATTR_DILATION, warp_op.ATTR_SOFTMAX]
    assert result["runtime_created"]
    assert result["rejected"] == [True, True, True]
    assert "kernel_size must be odd" in result["log"]


RTX_BUILD_SCRIPT = """
    import json
    import sys
    import tensorrt_rtx as trt
    from onnx import TensorProto
    from stmfnet_trt import plugins
    from tests.plugins.test_plugins_native import warp_model

    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    library = str(plugins.trt_plugin_library_path())
    builder.get_plugin_registry().load_library(library)

    def build(model, profile_shapes):
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(model):
            return {"parsed": False, "errors": [parser.get_error(i).desc() for i in range(parser.num_errors)]}
        config = builder.create_builder_config()
        config.num_compute_capabilities = 1
        config.set_compute_capability(trt.ComputeCapability.SM86, 0)
        config.plugins_to_serialize = [library]
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile_shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
        engine = builder.build_serialized_network(network, config)
        layer = network.get_layer(0)
        return {
            "parsed": True,
            "layer": str(layer.type),
            "out_shape": list(network.get_output(0).shape),
            "out_dtype": str(network.get_output(0).dtype),
            "engine_bytes": 0 if engine is None else engine.nbytes,
        }

    def shapes(c, lo, opt, hi, span):
        image = ((1, c, lo + span, lo + span), (1, c, opt + span, opt + span), (2, c, hi + span, hi + span))
        taps = ((1, 25, lo, lo), (1, 25, opt, opt), (2, 25, hi, hi))
        return {"image": image, "weight": taps, "offset_v": taps, "offset_h": taps}

    dynamic = shapes(3, 16, 64, 128, 4)
    unpadded = shapes(3, 16, 64, 128, 0)
    print(json.dumps({
        "fp32": build(warp_model(TensorProto.FLOAT, softmax=1), dynamic),
        "fp16": build(warp_model(TensorProto.FLOAT16), dynamic),
        "unpadded": build(warp_model(TensorProto.FLOAT), unpadded),
        "even_k": build(warp_model(TensorProto.FLOAT, kernel_size=4), dynamic),
    }))
"""


@pytest.fixture(scope="module")
def rtx_lib_dir(tmp_path_factory) -> Path:
    """Directory with the unversioned libtensorrt_rtx.so the wheel lacks (parsing a plugin node aborts
    without it; see TOOLCHAIN notes)."""
    spec = importlib.util.find_spec("tensorrt_rtx_libs")
    if (
        importlib.util.find_spec("tensorrt_rtx") is None
        or spec is None
        or not spec.submodule_search_locations
    ):
        pytest.skip("tensorrt_rtx not installed (pip install tensorrt-rtx-cu13)")
    versioned = Path(next(iter(spec.submodule_search_locations))) / "libtensorrt_rtx.so.1"
    link_dir = tmp_path_factory.mktemp("rtx_libs")
    (link_dir / "libtensorrt_rtx.so").symlink_to(versioned)
    return link_dir


def test_tensorrt_rtx_builds_engines_with_the_plugin(rtx_lib_dir):
    library_or_skip(plugins.trt_plugin_library_path)
    ld_path = os.pathsep.join(filter(None, [str(rtx_lib_dir), os.environ.get("LD_LIBRARY_PATH")]))
    result = run_isolated(RTX_BUILD_SCRIPT, {"LD_LIBRARY_PATH": ld_path})

    fp32, fp16 = result["fp32"], result["fp16"]
    assert fp32["layer"] == "LayerType.PLUGIN_V3"
    assert fp32["out_shape"] == [-1, -1, -1, -1]  # [B, C, H, W] all dynamic
    assert fp32["out_dtype"] == "DataType.FLOAT" and fp16["out_dtype"] == "DataType.HALF"
    lib_size = plugins.trt_plugin_library_path().stat().st_size
    assert fp32["engine_bytes"] > lib_size  # the plugin library is embedded
    assert fp16["engine_bytes"] > lib_size

    assert result["unpadded"]["engine_bytes"] == 0
    assert "image height 64 must be the output height 64 + (kernel_size-1)*dilation = 68" in result["log"]
    # through the builder's logger (the TensorRT-RTX logger finder has the 11.x ABI), not stderr
    assert "[TRT] [E] AdaptiveWarp plugin: configurePlugin: image height 64" in result["log"]
    assert result["even_k"]["parsed"] is False
    assert "kernel_size must be odd" in result["log"]


# ---------------------------------------------- plain dlopen (Polygraphy --plugins) vs loadLibrary

# Loads the library in the order given (comma-separated steps): "cdll" = ctypes.CDLL(path), what
# Polygraphy's --plugins does; "load" = get_plugin_registry().load_library(path). After each step:
# whether get_creator finds AdaptiveWarp and how many registered creators carry its name.
REGISTRATION_ORDER_SCRIPT = """
    import ctypes
    import importlib
    import json
    import sys

    module, steps = sys.argv[1], sys.argv[2]
    trt = importlib.import_module(module)
    from stmfnet_trt import plugins

    library = str(plugins.trt_plugin_library_path())
    registry = trt.get_plugin_registry()

    def state():
        found = registry.get_creator("AdaptiveWarp", "1", "stmfnet_trt") is not None
        ours = ("AdaptiveWarp", "stmfnet_trt")
        return [found, sum(1 for c in registry.all_creators if (c.name, c.plugin_namespace) == ours)]

    result = {"version": trt.__version__, "before": state()}
    for step in steps.split(","):
        if step == "cdll":
            ctypes.CDLL(library)
        else:
            result["load_library_ok"] = registry.load_library(library) is not None
        result[step] = state()
    print(json.dumps(result))
"""

LEAN10_ENV = "STMFNET_TEST_TRT_LEAN10_DIR"


def trt_flavour_env(flavour: str, rtx_libs: Path | None) -> dict[str, str]:
    """Environment for a subprocess that imports the given TensorRT flavour (skips if absent).

    * ``tensorrt_rtx``: TensorRT-RTX 1.x (11.x ABI), with the libtensorrt_rtx.so symlink dir;
    * ``tensorrt_lean``: the installed lean runtime (11.x here);
    * ``tensorrt_lean10``: a TensorRT 10 lean runtime (10.x ABI) from ``$STMFNET_TEST_TRT_LEAN10_DIR``,
      a ``pip install --no-deps --target DIR tensorrt-lean-cu13==10.16.1.11
      tensorrt-lean-cu13-bindings==10.16.1.11 tensorrt-lean-cu13-libs==10.16.1.11`` folder.
    """
    if flavour == "tensorrt_rtx":
        ld_path = os.pathsep.join(filter(None, [str(rtx_libs), os.environ.get("LD_LIBRARY_PATH")]))
        return {"LD_LIBRARY_PATH": ld_path}
    if flavour == "tensorrt_lean":
        if importlib.util.find_spec("tensorrt_lean") is None:
            pytest.skip("tensorrt_lean not installed (pip install tensorrt-lean-cu13)")
        return {}
    folder = os.environ.get(LEAN10_ENV)
    if not folder or not (Path(folder) / "tensorrt_lean").is_dir():
        pytest.skip(f"set {LEAN10_ENV} to a pip --target folder holding tensorrt-lean-cu13==10.16.1.11")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [folder, str(REPO), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def flavour_env(request, tmp_path_factory) -> tuple[str, dict[str, str]]:
    flavour = request.param
    rtx_libs = request.getfixturevalue("rtx_lib_dir") if flavour == "tensorrt_rtx" else None
    env = trt_flavour_env(flavour, rtx_libs)
    return ("tensorrt_lean" if flavour == "tensorrt_lean10" else flavour), env


FLAVOURS = ["tensorrt_rtx", "tensorrt_lean", "tensorrt_lean10"]


@pytest.mark.parametrize("flavour_env", FLAVOURS, indirect=True)
@pytest.mark.parametrize("steps", ["cdll", "cdll,load", "load,cdll"])
def test_plain_dlopen_registers_and_load_library_still_works(flavour_env, steps):
    """A plain dlopen into a process with TensorRT registers the creator (the library finds the
    loaded TensorRT itself); load_library afterwards takes it over instead of failing on a
    duplicate; a dlopen after load_library changes nothing. Exactly one creator in every case."""
    library_or_skip(plugins.trt_plugin_library_path)
    module, env = flavour_env
    result = run_isolated(REGISTRATION_ORDER_SCRIPT, env, args=(module, steps))
    if env.get("PYTHONPATH"):
        assert result["version"].startswith("10.")
    assert result["before"] == [False, 0]
    for step in steps.split(","):
        assert result[step] == [True, 1], (step, result)
    if "load" in steps:
        assert result["load_library_ok"] is True


@pytest.mark.parametrize("flavour_env", ["tensorrt_rtx", "tensorrt_lean"], indirect=True)
def test_self_registration_can_be_switched_off(flavour_env):
    """STMFNET_TRT_PLUGIN_SELF_REGISTER=0: a plain dlopen registers nothing (no call into TensorRT
    while the loader's lock is held); load_library still registers the creator."""
    library_or_skip(plugins.trt_plugin_library_path)
    module, env = flavour_env
    result = run_isolated(
        REGISTRATION_ORDER_SCRIPT,
        {**env, "STMFNET_TRT_PLUGIN_SELF_REGISTER": "0"},
        args=(module, "cdll,load"),
    )
    assert result["cdll"] == [False, 0]
    assert result["load"] == [True, 1] and result["load_library_ok"] is True


RTX_BUILDER_REGISTRY_SCRIPT = """
    import ctypes
    import json
    import tensorrt_rtx as trt
    from stmfnet_trt import plugins

    library = str(plugins.trt_plugin_library_path())
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    shared, own = trt.get_plugin_registry(), builder.get_plugin_registry()

    def state():
        return [r.get_creator("AdaptiveWarp", "1", "stmfnet_trt") is not None for r in (shared, own)]

    ctypes.CDLL(library)
    result = {"cdll": state()}
    result["builder_load_ok"] = own.load_library(library) is not None
    result["builder_load"] = state()
    result["shared_load_ok"] = shared.load_library(library) is not None
    result["shared_load"] = state()
    print(json.dumps(result))
"""


def test_rtx_builder_registry_takes_the_creator_over(rtx_lib_dir):
    """TensorRT-RTX's builder registry is a registry of its own whose lookups fall back to the
    process-wide one. Loading into it after a plain dlopen works, and (getCreators withdraws the
    self-registration, not knowing which registry asks) leaves the creator in the builder registry
    only, as load_library alone would; loading into the process-wide registry too restores it there."""
    library_or_skip(plugins.trt_plugin_library_path)
    result = run_isolated(RTX_BUILDER_REGISTRY_SCRIPT, trt_flavour_env("tensorrt_rtx", rtx_lib_dir))
    assert result["cdll"] == [True, True]
    assert result["builder_load_ok"] and result["builder_load"] == [False, True]
    assert result["shared_load_ok"] and result["shared_load"] == [True, True]


def polygraphy_convert(env: dict[str, str], model: Path, plan: Path, plugin_args: list[str]):
    polygraphy = Path(sys.executable).with_name("polygraphy")
    if not polygraphy.is_file():
        pytest.skip("polygraphy not installed in this environment")
    lo = ["image:[1,3,20,20]", "weight:[1,25,16,16]", "offset_v:[1,25,16,16]", "offset_h:[1,25,16,16]"]
    hi = ["image:[2,3,68,68]", "weight:[2,25,64,64]", "offset_v:[2,25,64,64]", "offset_h:[2,25,64,64]"]
    command = [str(polygraphy), "convert", str(model), "--convert-to", "trt", "-o", str(plan)]
    command += [*plugin_args, "--compute-capabilities", "8.6"]
    command += ["--trt-min-shapes", *lo, "--trt-opt-shapes", *lo, "--trt-max-shapes", *hi]
    return subprocess.run(
        command,
        env={**os.environ, **env, "POLYGRAPHY_USE_TENSORRT_RTX": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_polygraphy_rtx_plugins_flag_builds_an_engine(rtx_lib_dir, tmp_path):
    """End to end: `polygraphy convert --plugins LIB` (ctypes.CDLL, no loadLibrary) with the
    TensorRT-RTX flavour parses the AdaptiveWarp node and builds an engine, on the CPU."""
    from onnx import TensorProto

    library = library_or_skip(plugins.trt_plugin_library_path)
    model = tmp_path / "warp.onnx"
    model.write_bytes(warp_model(TensorProto.FLOAT, softmax=1))
    env = trt_flavour_env("tensorrt_rtx", rtx_lib_dir)

    without = polygraphy_convert(env, model, tmp_path / "none.plan", [])
    assert without.returncode != 0  # control: the node needs the plugin
    assert "Plugin not found" in without.stdout + without.stderr

    plan = tmp_path / "warp.plan"
    proc = polygraphy_convert(env, model, plan, ["--plugins", str(library)])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"Loading plugin library: {library}" in output
    assert "Finished engine building" in output
    assert plan.is_file() and plan.stat().st_size > 0


# ------------------------------------------------------------------------------ C ABI (CUDA kernel)


def load_launcher():
    library_or_skip(plugins.trt_plugin_library_path)
    return plugins.load_cuda_warp_launcher()


def test_c_abi_rejects_bad_arguments_before_touching_cuda():
    launch = load_launcher()
    fake = ctypes.c_void_p(16)  # never dereferenced: the checks come first
    ptrs = [fake] * 5
    assert launch(*ptrs, 1, 3, 8, 8, 4, 1, 0, 0, None) == CUDA_ERROR_INVALID_VALUE  # even K
    assert launch(*ptrs, 1, 3, 8, 8, 5, 0, 0, 0, None) == CUDA_ERROR_INVALID_VALUE  # dilation 0
    assert launch(*ptrs, 1, 3, 8, 8, 5, 1, 0, 2, None) == CUDA_ERROR_INVALID_VALUE  # dtype
    assert launch(*ptrs, 0, 3, 8, 8, 5, 1, 0, 0, None) == CUDA_ERROR_INVALID_VALUE  # empty batch
    assert launch(None, *ptrs[1:], 1, 3, 8, 8, 5, 1, 0, 0, None) == CUDA_ERROR_INVALID_VALUE


@pytest.fixture(scope="module")
def cuda_warp():
    """Runs the CUDA kernel on torch CUDA tensors through the C ABI; returns out (same dtype)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device visible to torch")
    launch = load_launcher()
    codes = {torch.float32: 0, torch.float16: 1}

    def run(inputs, kernel_size: int, dilation: int, softmax: int = 0):
        image, weight = inputs[0], inputs[1]
        b, c = image.shape[:2]
        h, w = weight.shape[2:]
        out = torch.empty((b, c, h, w), dtype=image.dtype, device=image.device)
        ptrs = [t.contiguous().data_ptr() for t in inputs]
        stream = torch.cuda.current_stream().cuda_stream
        rc = launch(
            *ptrs, out.data_ptr(), b, c, h, w, kernel_size, dilation, softmax, codes[image.dtype], stream
        )
        assert rc == 0, f"launch returned cudaError {rc}"
        torch.cuda.synchronize()
        return out

    return run


def to_cuda(arrays, dtype):
    import torch

    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to("cuda", dtype) for a in arrays)


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cuda_fp32_matches_reference(cuda_warp, case):
    import torch

    out = cuda_warp(to_cuda(case.inputs, torch.float32), case.kernel_size, case.dilation)
    assert np.abs(out.cpu().numpy() - case.output).max() <= FP32_TOL

    image, weight, off_v, off_h = to_cuda(case.inputs, torch.float32)
    fused = cuda_warp((image, torch.log(weight), off_v, off_h), case.kernel_size, case.dilation, softmax=1)
    assert np.abs(fused.cpu().numpy() - case.output).max() <= FP32_TOL


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cuda_fp16_io_matches_fp32_math(cuda_warp, case):
    import torch

    half = to_cuda(case.inputs, torch.float16)
    out = cuda_warp(half, case.kernel_size, case.dilation)
    ref = cuda_warp(tuple(t.float() for t in half), case.kernel_size, case.dilation)
    assert out.dtype == torch.float16
    assert max_rel_err(out.float().cpu().numpy(), ref.cpu().numpy()) <= FP16_REL_TOL


@pytest.mark.gpu
def test_cuda_wide_frame_keeps_fp32_coordinates(cuda_warp):
    """3840 wide: FP16 has a spacing of 2 above column 2048, so a kernel that formed sample
    coordinates in FP16 would lose every fraction there. Ours forms them in FP32 from the offsets."""
    import torch

    from stmfnet_trt.model.warp import adaptive_warp

    half = to_cuda(random_case(np.random.default_rng(3840), (1, 3, 4, 3840)), torch.float16)
    image, weight, off_v, off_h = (t.float() for t in half)
    ref = adaptive_warp(image, weight, off_v, off_h)  # the PyTorch oracle, FP32, same GPU
    out = cuda_warp(half, 5, 1)
    assert max_rel_err(out.float().cpu().numpy(), ref.cpu().numpy()) <= FP16_REL_TOL

    # What FP16 coordinates would give: column j + l + beta rounded to half, then sampled.
    cols = torch.arange(3840, device="cuda", dtype=torch.float32).view(1, 1, 1, -1)
    tap_cols = (torch.arange(25, device="cuda") % 5).view(1, -1, 1, 1).float()
    coarse_h = (cols + tap_cols + off_h).half().float() - cols - tap_cols
    wrong = adaptive_warp(image, weight, off_v, coarse_h)
    assert max_rel_err(wrong.cpu().numpy(), ref.cpu().numpy()) > 20 * FP16_REL_TOL


@pytest.mark.gpu
def test_cuda_matches_torch_oracle_on_large_random_case(cuda_warp):
    import torch

    from stmfnet_trt.model.warp import adaptive_warp

    inputs = to_cuda(random_case(np.random.default_rng(1), (2, 7, 67, 131)), torch.float32)
    out = cuda_warp(inputs, 5, 1)
    assert (out - adaptive_warp(*inputs)).abs().max().item() <= FP32_TOL


# ------------------------------------------------------------------------------ full TensorRT engines


def build_trt_engine(trt, model: bytes, profiles: dict[str, tuple], strongly_typed: bool) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(model), [parser.get_error(i).desc() for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in profiles.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    engine = builder.build_serialized_network(network, config)
    assert engine is not None
    return bytes(engine)


def run_trt_engine(context, inputs):
    """Set shapes and addresses of torch CUDA inputs, run, return the output tensor."""
    import torch

    for name, tensor in zip(INPUT_NAMES, inputs, strict=True):
        context.set_input_shape(name, tuple(tensor.shape))
        context.set_tensor_address(name, tensor.data_ptr())
    b, c = inputs[0].shape[:2]
    out = torch.empty((b, c, *inputs[1].shape[2:]), dtype=inputs[0].dtype, device="cuda")
    context.set_tensor_address("out", out.data_ptr())
    assert context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
    torch.cuda.synchronize()
    return out


def golden_profiles(span: int = 4, taps: int = 25) -> dict[str, tuple]:
    """A profile covering every golden case (B 1..3, H and W 5..24)."""
    image = ((1, 1, 5 + span, 5 + span), (1, 3, 16 + span, 16 + span), (3, 3, 24 + span, 24 + span))
    tap = ((1, taps, 5, 5), (1, taps, 16, 16), (3, taps, 24, 24))
    return {"image": image, "weight": tap, "offset_v": tap, "offset_h": tap}


@pytest.mark.tensorrt
@pytest.mark.gpu
def test_trt_engine_serialization_round_trip_and_dynamic_shapes():
    import torch
    from onnx import TensorProto

    trt = pytest.importorskip("tensorrt")
    plugins.load_trt_plugin(trt)
    engine_bytes = build_trt_engine(
        trt, warp_model(TensorProto.FLOAT), golden_profiles(), strongly_typed=False
    )
    logger = trt.Logger(trt.Logger.WARNING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(engine_bytes)
    context = engine.create_execution_context()
    golden = [c for c in CASES if c.name.startswith("golden")]
    first = {}
    for case in golden:  # the shape changes between cases on one context
        out = run_trt_engine(context, to_cuda(case.inputs, torch.float32))
        assert np.abs(out.cpu().numpy() - case.output).max() <= FP32_TOL
        first[case.name] = out

    restored = trt.Runtime(logger).deserialize_cuda_engine(engine.serialize())
    context2 = restored.create_execution_context()
    for case in golden:
        again = run_trt_engine(context2, to_cuda(case.inputs, torch.float32))
        assert torch.equal(again, first[case.name])
    del context, context2, engine, restored


@pytest.mark.tensorrt
@pytest.mark.gpu
def test_trt_engine_fp16_and_fused_softmax():
    import torch
    from onnx import TensorProto

    from stmfnet_trt.model.warp import adaptive_warp

    trt = pytest.importorskip("tensorrt")
    plugins.load_trt_plugin(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    case = case_named("golden_case1")
    half = to_cuda(case.inputs, torch.float16)

    fp16 = build_trt_engine(trt, warp_model(TensorProto.FLOAT16), golden_profiles(), strongly_typed=True)
    engine = trt.Runtime(logger).deserialize_cuda_engine(fp16)
    out = run_trt_engine(engine.create_execution_context(), half)
    assert out.dtype == torch.float16
    ref = adaptive_warp(*(t.float() for t in half))  # the PyTorch oracle on the same FP16 inputs
    assert max_rel_err(out.float().cpu().numpy(), ref.cpu().numpy()) <= FP16_REL_TOL

    fused = build_trt_engine(
        trt, warp_model(TensorProto.FLOAT, softmax=1), golden_profiles(), strongly_typed=False
    )
    engine2 = trt.Runtime(logger).deserialize_cuda_engine(fused)
    image, weight, off_v, off_h = to_cuda(case.inputs, torch.float32)
    out2 = run_trt_engine(engine2.create_execution_context(), (image, torch.log(weight), off_v, off_h))
    assert np.abs(out2.cpu().numpy() - case.output).max() <= FP32_TOL
    del engine, engine2
