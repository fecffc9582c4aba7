"""Issue 24: `pip install` of the built wheel runs the demo with the bundled libraries, no build tools.

The wheel and the venv come from conftest.py (built and installed once per session, ~2-3 minutes on
2 cores with the CUDA fat binary). What the installed package must do: run ``stmfnet-trt run`` on
the demo clip with the bundled ONNX Runtime op library and the bundled cpu graph of the default
weights, without torch, giving the development install's frames; find the bundled TensorRT plugin
and have the ``tensorrt_lean`` registry load it; refuse a user's checkpoint in one line (the export
extra); say once, when the op library does not load, which graph it runs instead and at what cost.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from wheel_install import REPO, BuiltDist, InstalledVenv, run_checked

from stmfnet_trt.core.cache import onnx_cache_key
from stmfnet_trt.core.hashing import file_sha256
from stmfnet_trt.io import open_source
from stmfnet_trt.plugins import ORT_OPS_LIB_NAME, PORTABLE_COST, TRT_PLUGIN_LIB_NAME
from stmfnet_trt.weights import BUNDLED_VARIANTS, DEMO_CHECKPOINT

DEMO_CLIP = REPO / "assets" / "demo.mp4"
# CMakeLists.txt's `tensorrt` preset, intersected with what nvcc offers, as the build does.
PRESET_ARCHS = (75, 80, 86, 87, 89, 90, 100, 110, 120)
FATBIN_MAGIC = 0xBA55ED50
NVCC = shutil.which("nvcc") or (shutil.which("nvcc", path="/usr/local/cuda/bin"))


def frames_of(path: Path) -> list[np.ndarray]:
    with open_source(path) as source:
        return list(source)


def fatbin_entries(library: bytes) -> list[tuple[str, int]]:
    """(``sass`` | ``ptx``, sm) of every image in a CUDA fat binary embedded in ``library``.

    The fatbin container: a 16-byte header (magic, version, header size, payload size), then
    entries whose header holds kind (1 PTX, 2 ELF), its own size, the payload size and, at byte
    28, the SM version. cuobjdump --list-elf/--list-ptx says the same where it is installed.
    """
    entries = []
    start = library.find(struct.pack("<I", FATBIN_MAGIC))
    while start != -1:
        _, header_size, size = struct.unpack_from("<HHQ", library, start + 4)
        position, end = start + header_size, start + header_size + size
        while position < end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", library, position)
            (sm,) = struct.unpack_from("<I", library, position + 28)
            entries.append(({1: "ptx", 2: "sass"}[kind], sm))
            position += entry_header + payload
        start = library.find(struct.pack("<I", FATBIN_MAGIC), end)
    return entries


def nvcc_archs() -> set[int]:
    listed = subprocess.run([NVCC, "--list-gpu-code"], capture_output=True, text=True, check=True).stdout
    return {int(code) for code in re.findall(r"sm_(\d+)", listed)}


def test_wheel_holds_both_libraries_the_demo_weights_their_graphs_and_the_model_card(built: BuiltDist):
    names = set(built.names())
    lib = "stmfnet_trt/_lib/"
    sha = file_sha256(DEMO_CHECKPOINT)
    expected = {
        lib + ORT_OPS_LIB_NAME,
        "stmfnet_trt/weights/stmfnet_mini_demo.pth",
        "stmfnet_trt/weights/MODEL_CARD.md",
        *(f"stmfnet_trt/weights/onnx/{onnx_cache_key(sha, variant)}" for variant in BUNDLED_VARIANTS),
    }
    if NVCC:
        expected.add(lib + TRT_PLUGIN_LIB_NAME)
    assert expected <= names, expected - names
    # Only the two libraries: no host tests, no fake libnvinfer, nothing grafted by auditwheel
    # (the CUDA runtime is static, the rest is the manylinux baseline).
    libraries = {n for n in names if n.endswith(".so") or ".so." in n}
    assert libraries == {n for n in expected if n.endswith(".so")}
    assert not [n for n in names if n.startswith(("tests/", "third_party/", "stmfnet_trt.libs/"))]


def test_auditwheel_names_a_manylinux_policy_and_the_repair_takes_its_tag(built: BuiltDist):
    assert built.raw_wheel.name.endswith("-py3-none-linux_x86_64.whl"), built.raw_wheel.name
    policy = re.search(r'platform tag: "(manylinux_\d+_\d+_x86_64)"', " ".join(built.audit.split()))
    assert policy, built.audit
    assert built.wheel.name.endswith(f"-py3-none-{policy.group(1)}.whl"), (built.wheel.name, policy.group(1))


@pytest.mark.skipif(NVCC is None, reason="no nvcc: the wheel carries no TensorRT plugin")
def test_plugin_is_a_fat_binary_of_the_preset_targets_nvcc_offers_plus_ptx_of_the_newest(built: BuiltDist):
    import zipfile

    with zipfile.ZipFile(built.wheel) as archive:
        library = archive.read(f"stmfnet_trt/_lib/{TRT_PLUGIN_LIB_NAME}")
    wanted = sorted(set(PRESET_ARCHS) & nvcc_archs())
    entries = fatbin_entries(library)
    assert sorted(sm for kind, sm in entries if kind == "sass") == wanted
    assert [sm for kind, sm in entries if kind == "ptx"] == [wanted[-1]]


def test_sdist_carries_the_sources_and_fetch_scripts_not_tests_or_fetched_headers(built: BuiltDist):
    with tarfile.open(built.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "CMakeLists.txt",
        "pyproject.toml",
        "scripts/fetch_ort_headers.sh",
        "scripts/fetch_trt_headers.sh",
        "plugins/adaptive_warp/adaptive_warp_kernel.cu",
        "stmfnet_trt/weights/stmfnet_mini_demo.pth",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "third_party/", "build/", "stmfnet_trt/_lib/"))]


def test_installed_wheel_runs_the_demo_without_torch_or_build_tools_like_the_dev_install(
    installed: InstalledVenv, tmp_path
):
    probe = installed.python_code(
        "import importlib.util, shutil, stmfnet_trt, stmfnet_trt.plugins as p\n"
        "print(stmfnet_trt.__file__)\n"
        "print(p.ort_op_library_path())\n"
        "print(importlib.util.find_spec('torch'))\n"
        f"print([t for t in {('cc', 'gcc', 'c++', 'cmake', 'nvcc')!r} if shutil.which(t)])\n"
    )
    assert probe.returncode == 0, probe.stderr
    package, ort_library, torch_spec, tools = probe.stdout.splitlines()
    site = str(installed.python.parent.parent)
    assert package.startswith(site) and ort_library.startswith(site), (package, ort_library)
    assert (torch_spec, tools) == ("None", "[]")

    clip = installed.cwd / "demo.mp4"
    shutil.copy(DEMO_CLIP, clip)
    result = installed.run(installed.cli, "run", clip, "-o", "demo_x2.mp4", "--threads", "2")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr and "exporting" not in result.stdout + result.stderr
    # The default weights ran from the bundled cpu graph: nothing was exported into the cache.
    assert not list(installed.cache.rglob("*.onnx"))

    dev_cli = Path(sys.executable).parent / "stmfnet-trt"
    dev = tmp_path / "dev_x2.mp4"
    run_checked([dev_cli, "run", DEMO_CLIP, "-o", dev, "--threads", "2", "-q"])
    wheel_frames, dev_frames = frames_of(installed.cwd / "demo_x2.mp4"), frames_of(dev)
    # x2 keeps the clip's duration: the last input frame is held for its two output intervals.
    assert len(wheel_frames) == len(dev_frames) == 2 * len(frames_of(DEMO_CLIP))
    assert [int(np.abs(a.astype(int) - b).max()) for a, b in zip(wheel_frames, dev_frames, strict=True)] == [
        0
    ] * len(dev_frames)


def test_installed_plugin_is_found_and_loads_in_the_tensorrt_lean_registry(installed: InstalledVenv):
    if not NVCC:
        pytest.skip("no nvcc: the wheel carries no TensorRT plugin")
    result = installed.python_code(
        "import tensorrt_lean\n"
        "from stmfnet_trt.plugins import load_trt_plugin, trt_plugin_library_path\n"
        "print(trt_plugin_library_path())\n"
        "print(load_trt_plugin(tensorrt_lean))\n"
    )
    assert result.returncode == 0, result.stderr
    found, loaded = result.stdout.split()
    assert found == loaded and found.startswith(str(installed.python.parent.parent)), result.stdout


def test_a_user_checkpoint_without_torch_is_one_line_naming_the_export_extra(installed: InstalledVenv):
    clip = installed.cwd / "demo.mp4"
    shutil.copy(DEMO_CLIP, clip)
    checkpoint = REPO / "tests" / "data" / "student_random_stats.pth"
    result = installed.run(installed.cli, "run", clip, "-o", "user.mp4", "--checkpoint", checkpoint)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "needs the export extra" in line and "pip install 'stmfnet-trt[export]'" in line, line
    assert not (installed.cwd / "user.mp4").exists()


def test_op_library_that_does_not_load_falls_back_to_the_bundled_portable_graph_and_says_so_once(
    installed: InstalledVenv,
):
    clip = installed.cwd / "demo.mp4"
    shutil.copy(DEMO_CLIP, clip)
    not_a_library = installed.cwd / "broken.so"
    not_a_library.write_bytes(b"not an ELF file")
    result = installed.run(
        installed.cli,
        "run",
        clip,
        "-o",
        "portable.mp4",
        "--max-frames",
        "5",
        "--threads",
        "2",
        STMFNET_TRT_ORT_OPS_LIB=str(not_a_library),
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, result.stderr
    assert f"ONNX Runtime cannot load {not_a_library}" in warnings[0]
    assert "portable ONNX graph" in warnings[0] and PORTABLE_COST in warnings[0]
    assert "install a stmfnet-trt wheel" in warnings[0] and "make plugins" in warnings[0]
    assert len(frames_of(installed.cwd / "portable.mp4")) == 10
    assert not list(installed.cache.rglob("*.onnx"))  # the bundled portable graph, no export
