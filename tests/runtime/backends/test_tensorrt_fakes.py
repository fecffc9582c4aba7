"""TensorRTBackend end to end on the CPU, against fakes of TensorRT and CUDA that enforce the real
API's contract (fake_tensorrt.py): per-context state, one thread/stream per context, profile
bounds answered with False, I/O dtypes and formats, contexts that cannot be created."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from fake_cuda import FakeCuda, weighted
from fake_engine_files import write_engine
from fake_tensorrt import ContractViolation, DataType, EngineSpec, FakeTensorRT, TensorFormat

from stmfnet_trt.core.errors import UserError
from stmfnet_trt.engine.sidecar import EngineTrustError
from stmfnet_trt.plugins import trt_plugin_library_path
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.backends import tensorrt_backend
from stmfnet_trt.runtime.backends.tensorrt_backend import TensorRTBackend, TensorRTOptions
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import SchedulerStats, interpolate_stream

SIZE = (3, 70, 130)  # padded to 128 x 256


class Reference(Backend):
    """The fake engine's arithmetic without any GPU: what every run must reproduce bit for bit."""

    name = "reference"

    def _interpolate(self, windows: np.ndarray) -> np.ndarray:
        return weighted([windows[:, k] for k in range(4)])


def make_backend(tmp_path, trt: FakeTensorRT, spec: EngineSpec | None = None, **options) -> TensorRTBackend:
    engine = write_engine(tmp_path)
    trt.add_engine(engine.read_bytes(), spec or EngineSpec())
    return TensorRTBackend(TensorRTOptions(engine, **options))


def clip(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.2 + 0.5 * rng.random(SIZE)).astype(np.float32) for _ in range(count)]


def frames_of(backend: Backend, frames, factor: int, batch: int) -> list[np.ndarray]:
    detector = SceneCutDetector(enabled=False)
    return list(interpolate_stream(iter(frames), backend, factor, detector, batch, SchedulerStats()))


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_each_level_runs_on_its_own_execution_context(fakes, tmp_path, factor):
    """x4/x8 levels run at the same time on their own threads and streams: one context each."""
    cuda, trt = fakes
    frames = clip(7)
    expected = frames_of(Reference(), frames, factor, 2)
    with make_backend(tmp_path, trt) as backend:
        got = frames_of(backend, frames, factor, 2)
    engine = trt.engines[0]
    assert engine.violations == []
    assert len(engine.contexts) == 1 + factor.bit_length() - 1  # the per-batch one + one per level
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert not cuda.allocations


def test_the_fake_refuses_one_context_on_two_streams(fakes, tmp_path):
    """The fake's own contract: a second stream while the first enqueue is in flight fails."""
    cuda, trt = fakes
    with make_backend(tmp_path, trt) as backend:
        context = backend.new_context()
        first, second = cuda.stream_create(), cuda.stream_create()
        buffers = [cuda.malloc(3 * 128 * 128 * 4) for _ in range(5)]
        context.launch(first.index, buffers[:4], buffers[4], 1, 128, 128)
        with pytest.raises(ContractViolation, match="second stream"):
            context.launch(second.index, buffers[:4], buffers[4], 1, 128, 128)
        cuda.stream_synchronize(first)
        cuda.stream_synchronize(second)
        for pointer in buffers:
            cuda.free(pointer)


def test_per_batch_path_splits_at_the_profile_max_batch(fakes, tmp_path):
    _, trt = fakes
    windows = np.stack([np.stack(clip(4, seed)) for seed in range(5)])
    with make_backend(tmp_path, trt, EngineSpec(max=(2, 256, 256)), pipeline=False) as backend:
        got = backend.interpolate(windows)
        assert backend.profile_max_batch() == 2
        assert backend.context is trt.engines[0].contexts[0]  # bench --layers attaches its profiler here
    assert np.array_equal(got, Reference().interpolate(windows))
    assert trt.engines[0].batches == [2, 2, 1]


def test_frames_outside_the_profile_are_one_line_errors(fakes, tmp_path):
    _, trt = fakes
    with make_backend(tmp_path, trt, EngineSpec(max=(4, 128, 256))) as backend:
        too_tall = np.zeros((1, 4, 3, 200, 200), np.float32)
        with pytest.raises(
            UserError, match=r"outside the engine's profile \(NxHxW 1x128x128 \.\. 4x128x256\)"
        ):
            backend.interpolate(too_tall)


def test_refused_tensor_address_is_an_error(fakes, tmp_path):
    _, trt = fakes
    with (
        make_backend(tmp_path, trt, EngineSpec(refuse_addresses=True)) as backend,
        pytest.raises(RuntimeError, match="refused the device address"),
    ):
        backend.interpolate(np.stack([np.stack(clip(4))]))


def test_no_execution_context_is_a_user_error(fakes, tmp_path):
    _, trt = fakes
    with pytest.raises(UserError, match="could not create an execution context"):
        make_backend(tmp_path, trt, EngineSpec(max_contexts=0))


def test_profile_with_min_batch_above_one_is_refused(fakes, tmp_path):
    _, trt = fakes
    with pytest.raises(UserError, match="smallest batch is 2"):
        make_backend(tmp_path, trt, EngineSpec(min=(2, 128, 128)))


@pytest.mark.parametrize(
    "spec",
    [EngineSpec(dtypes={"frame0": DataType.HALF}), EngineSpec(formats={"middle": TensorFormat.HWC8})],
)
def test_engine_io_other_than_fp32_linear_is_refused(fakes, tmp_path, spec):
    _, trt = fakes
    with pytest.raises(UserError, match="this runtime feeds FLOAT LINEAR"):
        make_backend(tmp_path, trt, spec)


def test_altered_engine_is_refused_before_deserialisation(fakes, tmp_path):
    _, trt = fakes
    engine = write_engine(tmp_path)
    engine.write_bytes(b"fake engine, altered")
    trt.add_engine(engine.read_bytes(), EngineSpec())
    with pytest.raises(EngineTrustError, match="does not match the engine_sha256"):
        TensorRTBackend(TensorRTOptions(engine))
    assert trt.engines == []


def test_rtx_runtime_cache_goes_to_the_user_cache_when_the_folder_is_not_writable(
    monkeypatch, tmp_path, capsys
):
    cuda = FakeCuda()
    trt = FakeTensorRT(cuda, "tensorrt_rtx", "1.7.1")
    monkeypatch.setitem(sys.modules, "tensorrt_rtx", trt)
    monkeypatch.setattr(tensorrt_backend, "select_binding", lambda name=None: cuda)
    monkeypatch.setattr(tensorrt_backend, "load_trt_plugin", lambda module: trt_plugin_library_path())
    monkeypatch.setattr(tensorrt_backend.RuntimeCacheFile, "_announced", False)
    monkeypatch.setenv("STMFNET_TRT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "engines"
    folder.mkdir()
    engine = write_engine(folder, flavour="rtx", version="1.7.1")
    (folder / "model.plan.runtime_cache").mkdir()  # the engine's folder refuses the file
    trt.add_engine(engine.read_bytes(), EngineSpec())
    for _ in range(2):
        with TensorRTBackend(TensorRTOptions(engine)):
            pass
    kept = list((tmp_path / "cache" / "runtime_cache").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == b"runtime cache v0++"  # read back, grown
    assert capsys.readouterr().err.count("runtime cache is kept in") == 1


def test_per_batch_calls_from_several_threads_do_not_share_a_context_at_once(fakes, tmp_path):
    """`serve` calls interpolate from its request threads: one call at a time on that context."""
    _, trt = fakes
    windows = [np.stack([np.stack(clip(4, seed))]) for seed in range(4)]
    expected = [Reference().interpolate(w) for w in windows]
    with make_backend(tmp_path, trt, pipeline=False) as backend:
        results: dict[int, list[bool]] = {}

        def serve(index: int) -> None:
            results[index] = [
                np.array_equal(backend.interpolate(windows[index]), expected[index]) for _ in range(5)
            ]

        threads = [threading.Thread(target=serve, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert trt.engines[0].violations == []
    assert results == {i: [True] * 5 for i in range(4)}


def test_bench_layers_profiles_the_per_batch_context(fakes, tmp_path):
    from stmfnet_trt.bench.layers import profile_engine

    _, trt = fakes
    engine = write_engine(tmp_path)
    trt.add_engine(engine.read_bytes(), EngineSpec())
    samples = profile_engine(engine, np.stack([np.stack(clip(4))]), iterations=3)
    assert samples == {"weighted_sum": [1.0, 1.0, 1.0]}  # the warm-up run is not profiled
