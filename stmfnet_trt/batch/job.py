"""The batch driver: chunks of every video to a pool of Ray actors, results back in order.

One loop in the driver process does the bookkeeping; Ray does the placement. Each actor holds
one model and has at most ``QUEUE_PER_WORKER`` chunks queued, so a slow worker does not hoard
work; the chunks that are decoded and not yet written (in flight or waiting for an earlier
chunk) are bounded too, so memory stays flat however long the videos are. A chunk that fails
(an exception, or its actor dying: Ray restarts it and reloads the model) is sent again, up to
``retries`` times; after that its video fails alone, its partial output is removed, and the
other videos go on.

Frames travel through Ray's object store: decoding and encoding stay in the driver, next to the
files, and workers need no shared file system.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from stmfnet_trt.batch.assembly import VideoAssembly, output_paths
from stmfnet_trt.batch.worker import ChunkWorker
from stmfnet_trt.core.errors import UserError
from stmfnet_trt.runtime.backend import Backend
from stmfnet_trt.runtime.scheduling.chunks import Chunk
from stmfnet_trt.runtime.scheduling.scene import SceneCutDetector
from stmfnet_trt.runtime.scheduling.scheduler import levels_for_factor

log = logging.getLogger(__name__)

QUEUE_PER_WORKER = 2
# Decoded-but-unwritten chunks allowed per worker: the queue plus some finished out of order.
UNWRITTEN_PER_WORKER = 4


@dataclass(frozen=True)
class BatchOptions:
    """Settings of a batch job; the defaults are what ``stmfnet-trt batch`` uses.

    ``workers`` None: one per GPU of the cluster, or one CPU worker where it has none.
    ``gpus_per_worker`` None: 1 where the cluster has GPUs, else 0. ``address`` None: the
    ``RAY_ADDRESS`` cluster if set, else a local one (``ray.init()``'s own rule).
    """

    factor: int = 2
    chunk_frames: int = 64
    scene_detector: SceneCutDetector = field(default_factory=SceneCutDetector)
    batch_size: int = 1
    workers: int | None = None
    gpus_per_worker: float | None = None
    cpus_per_worker: float = 1
    retries: int = 2
    overwrite: bool = False
    assume_constant_rate: bool = False  # read variable-rate videos at their average rate
    address: str | None = None
    progress: bool = True


@dataclass(frozen=True)
class VideoResult:
    """How one video of the batch ended: ``error`` None means ``output`` was written;
    ``retries`` counts chunks sent again (a flaky worker shows here)."""

    source: Path
    output: Path
    frames: int
    error: str | None
    retries: int


@dataclass
class _Task:
    video: VideoAssembly
    chunk: Chunk
    frames_ref: object  # ray.ObjectRef of the chunk's frames, put once, reused by retries
    attempts: int = 0
    worker: object = None


def _reason(error: BaseException) -> str:
    """The exception inside Ray's wrapper as one line (our own errors already read as sentences)."""
    cause = getattr(error, "cause", None) or error
    text = str(cause) if isinstance(cause, UserError) else f"{type(cause).__name__}: {cause}"
    return text.splitlines()[0]


def _worker_layout(ray, options: BatchOptions) -> tuple[int, float]:
    """(workers, GPUs per worker) from the options and what the cluster offers."""
    cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
    gpus = options.gpus_per_worker if options.gpus_per_worker is not None else (1 if cluster_gpus else 0)
    workers = options.workers or (max(1, int(cluster_gpus // gpus)) if gpus else 1)
    return workers, gpus


class _Driver:
    """The scheduling loop over all videos (see the module docstring)."""

    def __init__(self, ray, videos: list[VideoAssembly], workers: list, options: BatchOptions) -> None:
        self.ray = ray
        self.options = options
        self.videos = videos
        self.waiting = collections.deque(videos)
        self.load = dict.fromkeys(workers, 0)
        self.in_flight: dict[object, _Task] = {}
        self.retry_queue: collections.deque[_Task] = collections.deque()
        self.current: VideoAssembly | None = None
        self.current_chunks: Iterator | None = None

    def run(self, bar: tqdm) -> None:
        while True:
            self._submit_while_possible()
            if not self.in_flight:
                return
            (ready,), _ = self.ray.wait(list(self.in_flight), num_returns=1)
            task = self.in_flight.pop(ready)
            self.load[task.worker] -= 1
            try:
                frames = self.ray.get(ready)
            except Exception as exc:  # a worker exception or a dead actor: retry, then fail the video
                self._retry_or_fail(task, exc)
                continue
            try:
                bar.update(task.video.accept(task.chunk.index, frames))
            except Exception as exc:  # the encoder or the file system: this video cannot be written
                self._fail(task.video, _reason(exc))

    def _submit_while_possible(self) -> None:
        limit = UNWRITTEN_PER_WORKER * len(self.load)
        while True:
            worker = min(self.load, key=self.load.get)
            if self.load[worker] >= QUEUE_PER_WORKER:
                return
            unwritten = len(self.in_flight) + sum(v.held for v in self.videos)
            if not self.retry_queue and unwritten >= limit:
                return
            task = self._next_task()
            if task is None:
                return
            task.worker = worker
            self.load[worker] += 1
            self.in_flight[worker.run.remote(task.frames_ref, task.chunk)] = task

    def _next_task(self) -> _Task | None:
        while self.retry_queue:
            task = self.retry_queue.popleft()
            if task.video.error is None:
                return task
        while True:
            if self.current_chunks is None:
                if not self.waiting:
                    return None
                self.current = self.waiting.popleft()
                self.current_chunks = self.current.chunks(
                    self.options.chunk_frames, self.options.scene_detector
                )
            try:
                chunk, frames = next(self.current_chunks)
            except StopIteration:
                self.current_chunks = None
                continue
            except Exception as exc:  # unreadable or corrupt input: this video fails alone
                self._fail(self.current, _reason(exc))
                continue
            return _Task(self.current, chunk, self.ray.put(frames))

    def _retry_or_fail(self, task: _Task, error: BaseException) -> None:
        if task.video.error is not None:
            return
        if task.attempts < self.options.retries:
            task.attempts += 1
            task.video.retries += 1
            log.warning(
                "%s chunk %d failed (%s); retry %d of %d",
                task.video.source,
                task.chunk.index,
                _reason(error),
                task.attempts,
                self.options.retries,
            )
            self.retry_queue.append(task)
            return
        self._fail(task.video, f"chunk {task.chunk.index} failed {task.attempts + 1} times: {_reason(error)}")

    def _fail(self, video: VideoAssembly, reason: str) -> None:
        video.fail(reason)
        if video is self.current and self.current_chunks is not None:
            self.current_chunks.close()  # stop decoding it, close the file
            self.current_chunks = None


def run_batch(
    sources: Sequence[str | Path],
    out_dir: str | Path,
    make_backend: Callable[[], Backend],
    options: BatchOptions = BatchOptions(),
) -> list[VideoResult]:
    """Interpolate every source into ``out_dir`` on a Ray cluster; one result per source, in order.

    ``make_backend`` runs once in each worker (it is pickled to the workers: a class, a
    ``functools.partial`` or a module-level function). A video that fails does not stop the
    others; the caller decides what failures mean (the CLI exits with status 2).
    """
    import ray

    levels_for_factor(options.factor)
    sources = [Path(s) for s in sources]
    if not sources:
        raise UserError("no input videos given")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    videos = [
        VideoAssembly(source, output, options.factor, options.overwrite, options.assume_constant_rate)
        for source, output in zip(sources, output_paths(sources, out_dir, options.factor), strict=True)
    ]
    for video in videos:
        try:
            video.probe()
        except Exception as exc:  # unreadable files fail alone, before any work is sent
            video.fail(_reason(exc))
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=options.address, include_dashboard=False, log_to_driver=False)
    try:
        count, gpus = _worker_layout(ray, options)
        actor = ray.remote(ChunkWorker).options(
            num_cpus=options.cpus_per_worker, num_gpus=gpus, max_restarts=options.retries
        )
        workers = [
            actor.remote(make_backend, options.factor, options.scene_detector, options.batch_size)
            for _ in range(count)
        ]
        total = sum(v.expected_frames or 0 for v in videos if v.error is None) or None
        with tqdm(total=total, unit="frame", desc="batch", disable=not options.progress) as bar:
            _Driver(ray, [v for v in videos if v.error is None], workers, options).run(bar)
        for worker in workers:
            ray.kill(worker)
    finally:
        if started_here:
            ray.shutdown()
    return [VideoResult(v.source, v.output, v.frames_written, v.error, v.retries) for v in videos]
