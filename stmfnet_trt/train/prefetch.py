"""Batches of consecutive steps, made ahead of time by worker processes.

A batch is a pure function of (seed, step) (``data.py``), so any worker may make any step's batch
and the run's numbers do not depend on how many workers there are. On a GPU the model step takes
a fraction of the time one CPU core needs to crop, warp and stack a batch of 256x256 windows:
without workers the GPU idles most of the time.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from stmfnet_trt.train.data import Batch, TrainingData

# Batches each worker keeps ready: enough to ride over a slow one, few enough to stay small.
PREFETCH_PER_WORKER = 4


class _StepBatches(Dataset):
    """Index ``step`` -> that step's batch (a map-style dataset over step numbers)."""

    def __init__(self, data: TrainingData, batch_size: int) -> None:
        self.data = data
        self.batch_size = batch_size

    def __getitem__(self, step: int) -> Batch:
        return self.data.batch(step, self.batch_size)


def _one_thread_per_worker(_: int) -> None:
    """Workers share the machine's cores: each one intra-op thread, as many workers as asked."""
    torch.set_num_threads(1)


def step_batches(data: TrainingData, batch_size: int, start: int, stop: int, workers: int) -> Iterator[Batch]:
    """The batches of steps ``start`` .. ``stop - 1`` in order; made by ``workers`` processes
    (0: in this process, one at a time, as the trainer did before)."""
    if workers == 0:
        return (data.batch(step, batch_size) for step in range(start, stop))
    loader = DataLoader(
        _StepBatches(data, batch_size),
        batch_size=None,  # the dataset already returns whole batches
        sampler=range(start, stop),
        num_workers=workers,
        prefetch_factor=PREFETCH_PER_WORKER,
        worker_init_fn=_one_thread_per_worker,
    )
    return iter(loader)
