"""Training on several processes with PyTorch DistributedDataParallel (``torchrun``).

``main.py train`` and ``main.py train-vocoder`` run unchanged in one process; started by
``torchrun`` (which sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``) each process joins one process group — NCCL on GPUs (one GPU per process,
``cuda:LOCAL_RANK``), gloo on CPUs — and the runs keep **global batch semantics**:

- every rank draws the same global batch (the trainers' batch order is a pure function of seed
  and epoch/step) and takes its own shard of it, ``batch[rank::world]`` (:meth:`shard`), so the
  per-rank batch is ``global / world`` and ``--batch-size`` keeps its meaning;
- DDP averages the gradients over ranks, and each rank's loss is scaled by
  ``world · shard / global`` (:meth:`shard`'s weight), so the averaged gradient is the gradient of
  the global batch's mean loss even when a batch does not split evenly: the loss curve of N
  processes follows the one-process curve (tests/training/test_distributed.py);
- only rank 0 writes checkpoints, logs and figures; every rank reads the same checkpoint on
  ``--resume``, so a resumed multi-process run continues exactly where it stopped.

A GPU cluster node with 8 GPUs::

    torchrun --standalone --nproc_per_node 8 main.py train --data data/dataset --out runs/paper
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""What torchrun sets for every process it starts."""


@dataclass(frozen=True)
class Distributed:
    """This process's place in the group: rank 0 of 1 when not started by torchrun."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = "gloo"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, logs and figures."""
        return self.rank == 0

    # ------------------------------------------------------------------ set-up
    @classmethod
    def from_env(cls, device: str | torch.device = "cpu") -> Distributed:
        """Joins the process group torchrun describes in the environment (nccl for a CUDA
        `device`, gloo otherwise); one process without those variables gets rank 0 of 1."""
        if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
            return cls()
        missing = [name for name in ENV_VARS if name not in os.environ]
        if missing:
            raise RuntimeError(f"Distributed training needs {', '.join(missing)} in the "
                               f"environment; start the command with torchrun.")
        backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
        context = cls(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                      int(os.environ["LOCAL_RANK"]), backend)
        if backend == "nccl":
            torch.cuda.set_device(context.local_rank)
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend=backend)
        if not context.is_main:
            # One console: rank 0 prints; the others' stdout goes nowhere (errors still show).
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
        return context

    def device(self, device: torch.device) -> torch.device:
        """`device` for this process: a CUDA device becomes ``cuda:LOCAL_RANK``."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def close(self) -> None:
        """Leaves the process group (all ranks wait for each other first)."""
        if self.enabled and torch_dist.is_initialized():
            torch_dist.barrier()
            torch_dist.destroy_process_group()

    # ------------------------------------------------------------------ models and data
    def wrap(self, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """`module` in DistributedDataParallel (its parameters and buffers broadcast from rank
        0, gradients averaged over ranks); unchanged in one process."""
        if not self.enabled:
            return module
        ids = [device.index if device.index is not None else self.local_rank] \
            if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def shard(self, indices: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's rows of a global batch and the factor its mean loss is scaled by, so
        that DDP's gradient average equals the gradient of the global mean: ``world · n_rank /
        n_global``. A rank left without rows (a global batch smaller than the world) gets the
        first row with weight 0, so that every rank still takes part in the all-reduce."""
        if not self.enabled:
            return indices, 1.0
        mine = indices[self.rank::self.world_size]
        if len(mine) == 0:
            return indices[:1], 0.0
        return mine, self.world_size * len(mine) / len(indices)

    def shard_batch(self, batch: list) -> list:
        """This rank's items of a global batch (a sampler's list), ``batch[rank::world]``."""
        return batch[self.rank::self.world_size] if self.enabled else batch

    # ------------------------------------------------------------------ collectives
    @property
    def _collective_device(self) -> torch.device:
        """NCCL reduces tensors on this rank's GPU, gloo on the CPU."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" \
            else torch.device("cpu")

    def global_mean(self, weighted_loss: torch.Tensor) -> float:
        """The global batch's mean loss from each rank's :meth:`shard`-weighted mean."""
        value = weighted_loss.detach().float().reshape(1)
        if self.enabled:
            value = value.to(self._collective_device, copy=True)
            torch_dist.all_reduce(value)
            value /= self.world_size
        return float(value.item())

    def mean_dict(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each value averaged over ranks (equal shards: the global batch's value)."""
        if not self.enabled:
            return dict(values)
        names = sorted(values)
        tensor = torch.tensor([float(values[n]) for n in names], dtype=torch.float64,
                              device=self._collective_device)
        torch_dist.all_reduce(tensor)
        return {n: float(v) / self.world_size for n, v in zip(names, tensor.tolist(),
                                                                strict=True)}

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on any (a stop request seen by one rank)."""
        if not self.enabled:
            return bool(flag)
        tensor = torch.tensor([1 if flag else 0], dtype=torch.int32,
                              device=self._collective_device)
        torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.MAX)
        return bool(tensor.item())

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (e.g. writes the embedding cache), the others after it
        (and read what it wrote)."""
        if self.enabled and not self.is_main:
            torch_dist.barrier()
        yield
        if self.enabled and self.is_main:
            torch_dist.barrier()


class LossModule(torch.nn.Module):
    """An objective's loss as the forward pass of one module that holds the model.

    DistributedDataParallel synchronises gradients for what runs inside its wrapper's forward;
    the objectives call the model's parts (projector, decoder) directly, so the wrapper goes
    around this module: ``forward(*inputs, weight)`` = ``objective.loss(model, *inputs) ·
    weight`` (the weight from :meth:`Distributed.shard`).
    """

    def __init__(self, model: torch.nn.Module, objective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, *inputs, weight: float = 1.0) -> torch.Tensor:
        loss = self.objective.loss(self.model, *inputs)
        return loss * weight if weight != 1.0 else loss


class ShardedBatches(torch.utils.data.Sampler[list]):
    """This rank's share of every batch of a batch sampler (``batch[rank::world]``): all ranks
    walk the same global batches, in the same order, and resume at the same step."""

    def __init__(self, batches: torch.utils.data.Sampler[list], context: Distributed) -> None:
        self.batches, self.context = batches, context

    def __iter__(self) -> Iterator[list]:
        for batch in self.batches:
            yield self.context.shard_batch(batch)

    def __len__(self) -> int:
        return len(self.batches)
