"""The small amount of ``torch.distributed`` that :func:`mailviz.train.train` needs under torchrun.

``mailviz train`` (or any script calling :func:`~mailviz.train.train`) scales out unchanged::

    torchrun --standalone --nproc_per_node 4 -m mailviz.cli train --profile paper \
        --method mail_trades

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init_from_env` reads them and
opens the process group (``nccl`` on CUDA, ``gloo`` on CPU). Without them everything here is a
no-op for a single process, so the single-process code path is the ``world_size = 1`` case.

Sharding follows ``torch.utils.data.DistributedSampler(shuffle=True, drop_last=False)``
exactly (:func:`shard_indices`): epoch ``e`` draws ``randperm(N)`` from a generator seeded with
``seed + e``, pads the permutation with its own head to a multiple of the world size, and rank
``r`` takes every ``world_size``-th index starting at ``r``. The shards are disjoint except for
the ≤ world_size − 1 padded repeats, and the order is a pure function of ``(seed, epoch)``, so a
resumed run needs no shuffling state. ``batch_size`` is per rank: the effective batch is
``world_size × batch_size``.

Example:
    >>> len(shard_indices(10, epoch=0, seed=0, rank=1, world_size=3))
    4
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "DistContext",
    "init_from_env",
    "shard_indices",
    "env_world_size",
]


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


@dataclass
class DistContext:
    """Where this process sits in a (possibly one-process) job.

    Attributes:
        rank, world_size, local_rank: from torchrun's environment (0, 1, 0 otherwise).
        owns_group: True when :func:`init_from_env` opened the process group (and
            :meth:`close` destroys it); False when the caller had opened it already.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_reduce(self, tensor: Tensor, op: str = "sum") -> Tensor:
        """In-place all-reduce (``op`` in ``sum``, ``min``, ``max``); identity for one process."""
        if self.enabled:
            ops = {"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN, "max": dist.ReduceOp.MAX}
            dist.all_reduce(tensor, op=ops[op])
        return tensor

    def gather_objects(self, obj: object) -> list[object]:
        """Every rank's ``obj`` (a list of ``world_size`` items) on every rank."""
        if not self.enabled:
            return [obj]
        out: list[object] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        """Destroy the process group if this context opened it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def init_from_env(device_type: str) -> DistContext:
    """Read torchrun's environment and open the process group when ``WORLD_SIZE > 1``.

    Backend: ``nccl`` for CUDA, ``gloo`` otherwise. On CUDA the caller should use the device
    ``cuda:LOCAL_RANK``. A group opened earlier by the caller is reused (and not destroyed).
    """
    world = env_world_size()
    if world <= 1:
        return DistContext()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=False)
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistContext(rank, world, local_rank, owns_group=True)


def shard_indices(n: int, *, epoch: int, seed: int, rank: int = 0, world_size: int = 1) -> Tensor:
    """This rank's training order for ``epoch``: ``DistributedSampler``'s rule, as a tensor.

    ``perm = randperm(n, generator=Generator().manual_seed(seed + epoch))``; pad ``perm`` with
    its own first elements (repeated if needed) to ``total = ⌈n / W⌉·W``; return
    ``padded[rank : total : W]``. For ``world_size = 1`` this is ``perm`` itself.

    Shape:
        returns int64 ``[⌈n / W⌉]`` on the CPU.

    Example:
        >>> a = shard_indices(7, epoch=2, seed=0, rank=0, world_size=2)
        >>> b = shard_indices(7, epoch=2, seed=0, rank=1, world_size=2)
        >>> len(a), len(b), len(set(a.tolist()) | set(b.tolist()))
        (4, 4, 7)
    """
    if n < 1:
        raise ValueError(f"cannot shard an empty training set (n={n}) — check train_subset")
    if not (0 <= rank < world_size):
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    perm = torch.randperm(n, generator=g)
    if world_size == 1:
        return perm
    total = math.ceil(n / world_size) * world_size
    pad = total - n
    if pad:
        reps = math.ceil(pad / n)
        perm = torch.cat([perm, perm.repeat(reps)[:pad]])
    return perm[rank:total:world_size]
