"""The TensorRT path run (not just imported) in processes where ``import torch`` fails.

Each case runs a script in a subprocess whose ``sitecustomize`` (tests/support/blocked_imports)
makes torch, and cuda-python too, uninstalled: sidecar verification, triton-repo packaging of an
engine, engine_for_run's lookup of a cached export, and the TensorRT backend up to where the
fake TensorRT takes over.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[2] / "support"  # the fakes and blocked_imports/
BLOCKED = "torch,cuda,cuda.bindings"


def run_without_torch(script: str, tmp_path: Path) -> str:
    """Run ``script`` (argv[1] = tmp_path) with torch and cuda-python blocked; its stdout."""
    prologue = (
        "import sys\n"
        f"sys.path.insert(0, {str(SUPPORT)!r})\n"
        "assert sys.modules['torch'] is None and sys.modules['cuda'] is None\n"
    )
    epilogue = "\nassert sys.modules['torch'] is None, 'torch was imported'\nprint('done')\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(SUPPORT / "blocked_imports"), os.environ.get("PYTHONPATH")])
        ),
        "STMFNET_BLOCK_IMPORTS": BLOCKED,
        "STMFNET_TRT_CACHE": str(tmp_path / "cache"),
    }
    code = prologue + textwrap.dedent(script) + epilogue
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("done")
    return result.stdout


def test_sidecar_verification_and_triton_repo_packaging(tmp_path):
    out = run_without_torch(
        """
        from pathlib import Path
        from fake_engine_files import write_engine
        from stmfnet_trt.engine.sidecar import EngineTrustError, verify_engine
        from stmfnet_trt.serve.repository import write_repository

        folder = Path(sys.argv[1])
        engine = write_engine(folder)
        assert verify_engine(engine)["flavour"] == "tensorrt"
        model_dir = write_repository(engine, folder / "repo")
        assert (model_dir / "1" / "model.plan").read_bytes() == engine.read_bytes()
        engine.write_bytes(b"replaced")
        try:
            write_repository(engine, folder / "repo2")
        except EngineTrustError as error:
            print("refused:", error)
        """,
        tmp_path,
    )
    assert "refused:" in out and "does not match the engine_sha256" in out


def test_engine_for_run_finds_the_cached_export_and_builds_from_it(tmp_path):
    run_without_torch(
        """
        from pathlib import Path
        from types import SimpleNamespace
        from stmfnet_trt.core.errors import UserError
        from stmfnet_trt.export.cache import cache_root, onnx_cache_key
        from stmfnet_trt.core.hashing import file_sha256
        from stmfnet_trt.engine import for_run as efr

        folder = Path(sys.argv[1])
        checkpoint = folder / "weights.pth"
        checkpoint.write_bytes(b"weights")
        cached = cache_root() / "onnx" / onnx_cache_key(file_sha256(checkpoint), "plugin")
        cached.parent.mkdir(parents=True)
        cached.write_bytes(b"onnx")

        class Binding:
            def device_info(self):
                return {"gpu": "RTX 4090", "compute_capability": "8.9", "integrated": False, "free_bytes": 1}

        def fake_build(request, output):
            assert request.onnx == str(cached) and request.rtx_targets == [89], request
            return SimpleNamespace(engine=folder / "built.plan")

        efr.select_binding = Binding
        efr.build_engine = fake_build
        assert efr.engine_for_run(checkpoint, 200, 300, 2, progress=False) == folder / "built.plan"
        other = folder / "other.pth"
        other.write_bytes(b"other weights")
        try:
            efr.plugin_onnx(other)
            raise AssertionError("exported without torch?")
        except UserError as error:
            assert "needs the export extra (torch is not installed)" in str(error), error
        """,
        tmp_path,
    )


def test_tensorrt_backend_runs_up_to_the_fake_runtime(tmp_path):
    run_without_torch(
        """
        from pathlib import Path
        import numpy as np
        from fake_cuda import FakeCuda, weighted
        from fake_engine_files import write_engine
        from fake_tensorrt import EngineSpec, FakeTensorRT
        import stmfnet_trt.runtime.cuda.memory as cuda_memory
        import stmfnet_trt.runtime.backends.tensorrt_backend as tb
        from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
        from stmfnet_trt.runtime.scheduling.scheduler import interpolate_stream

        cuda = FakeCuda()
        trt = FakeTensorRT(cuda)
        sys.modules["tensorrt"] = trt
        tb.select_binding = cuda_memory.select_binding = lambda name=None: cuda
        tb.load_trt_plugin = lambda module: tb.trt_plugin_library_path()
        engine = write_engine(Path(sys.argv[1]))
        trt.add_engine(engine.read_bytes(), EngineSpec())
        rng = np.random.default_rng(0)
        frames = [(0.2 + 0.5 * rng.random((3, 70, 130))).astype(np.float32) for _ in range(5)]
        with tb.TensorRTBackend(tb.TensorRTOptions(engine)) as backend:
            windows = np.stack([np.stack(frames[:4])])
            assert np.array_equal(backend.interpolate(windows), weighted([windows[:, k] for k in range(4)]))
            out = list(interpolate_stream(iter(frames), backend, 4, SceneCutDetector(enabled=False), 2))
        assert len(out) == 20 and trt.engines[0].violations == []
        """,
        tmp_path,
    )
