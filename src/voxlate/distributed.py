"""Data-parallel training across processes and machines, as launched by torchrun.

The training loop (`diffusion/training.py: train`) initialises the process group from
torchrun's environment (gloo on CPU, NCCL on CUDA), wraps the model in
DistributedDataParallel and saves checkpoints on rank 0 only. What it cannot do for a
task is make the task's data and decisions DDP-correct; that is what these helpers are for:

- each rank must draw *different* batches (`rank_seed`, or `shard` for epoch loaders),
  else N processes compute the same gradient N times;
- a decision to stop (a time limit, Ctrl-C) must be taken by all ranks together
  (`any_rank`), else one rank leaves the loop while the others wait for it in the
  gradient all-reduce, forever.

They read torchrun's variables (RANK, WORLD_SIZE), so they work before the process group
exists and are no-ops in a plain single process. See docs/batch.md for the commands
(one machine: ``torchrun --standalone --nproc_per_node N``; several: ``--nnodes``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rank() -> int:
    """This process's global rank (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of training processes in all (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    """Whether this process writes files and logs (rank 0)."""
    return rank() == 0


def rank_seed(seed: int) -> int:
    """The seed of this rank's data sampler: `seed` + rank, so that ranks draw other batches.

    With batches drawn at random (with replacement), N ranks with batch size B each are one
    batch of N*B per optimizer step, the gradients averaged by DDP.
    """
    return seed + rank()


def shard(items: Sequence[T]) -> list[T]:
    """This rank's disjoint share of `items` (every WORLD_SIZE-th, from its rank)."""
    return list(items[rank() :: world_size()])


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is True on any rank (an all-reduce of one number).

    Use it for a decision that every rank must take at the same step, e.g. stopping at a
    time limit measured by each rank's own clock. Without a process group it is `flag`.
    """
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
