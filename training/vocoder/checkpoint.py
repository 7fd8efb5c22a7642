"""Atomic, resumable checkpoints of a HiFi-GAN fine-tuning run (CONTRACTS.md, "Vocoder runs").

``<run>/checkpoints/`` holds

- ``generator.safetensors``      generator state (weight-norm parametrization form)
- ``discriminators.safetensors`` MPD + MSD state
- ``optim.safetensors``          both AdamW states, keys ``g.<param>.<slot>`` / ``d.<...>``
- ``generator.json``             sidecar: config name and dict, audio config, Mel
                                 normalisation, step, epoch, optimiser param groups, last losses

Every file is written to a temporary name and moved into place with :func:`os.replace`; the
tensor files carry their step in the safetensors metadata and the sidecar is replaced last,
so a run killed mid-save leaves either the previous or the new checkpoint, never a mix that
:func:`load_training_state` would accept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

GENERATOR_FILE = "generator.safetensors"
DISCRIMINATORS_FILE = "discriminators.safetensors"
OPTIM_FILE = "optim.safetensors"
SIDECAR_FILE = "generator.json"
FORMAT = "art2music-hifigan-finetune/1"


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path,
                        metadata: dict[str, str] | None = None) -> None:
    """safetensors file written to a temporary name, then ``os.replace``-d into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp),
              metadata=metadata)
    _fsync_replace(tmp, path)


def atomic_write_json(values: dict[str, Any], path: Path) -> None:
    """JSON file written to a temporary name, then ``os.replace``-d into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _fsync_replace(tmp, path)


def optimizer_to_tensors(optimizer: torch.optim.Optimizer, prefix: str
                         ) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Flattens an optimiser's per-parameter state to tensors plus JSON-able param groups."""
    state = optimizer.state_dict()
    tensors = {f"{prefix}.{index}.{slot}": value if torch.is_tensor(value) else torch.tensor(value)
               for index, slots in state["state"].items() for slot, value in slots.items()}
    return tensors, state["param_groups"]


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           prefix: str, param_groups: list[dict]) -> None:
    """Inverse of :func:`optimizer_to_tensors` into an optimiser over the same parameters."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        head, index, slot = key.split(".", 2)
        if head == prefix:
            state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


def save_training_state(directory: Path, generator: torch.nn.Module,
                        discriminators: torch.nn.Module, optim_g: torch.optim.Optimizer,
                        optim_d: torch.optim.Optimizer, sidecar: dict[str, Any]) -> None:
    """Writes the four checkpoint files of one step (``sidecar['step']``) atomically."""
    step = str(int(sidecar["step"]))
    tensors_g, groups_g = optimizer_to_tensors(optim_g, "g")
    tensors_d, groups_d = optimizer_to_tensors(optim_d, "d")
    meta = {"format": FORMAT, "step": step}
    atomic_save_tensors(generator.state_dict(), directory / GENERATOR_FILE, meta)
    atomic_save_tensors(discriminators.state_dict(), directory / DISCRIMINATORS_FILE, meta)
    atomic_save_tensors({**tensors_g, **tensors_d}, directory / OPTIM_FILE, meta)
    atomic_write_json({**sidecar, "format": FORMAT,
                       "optimizer_param_groups": {"g": groups_g, "d": groups_d}},
                      directory / SIDECAR_FILE)


def has_checkpoint(directory: Path) -> bool:
    return (directory / SIDECAR_FILE).is_file()


def read_sidecar(directory: Path) -> dict[str, Any]:
    return json.loads((directory / SIDECAR_FILE).read_text(encoding="utf-8"))


def load_training_state(directory: Path, generator: torch.nn.Module,
                        discriminators: torch.nn.Module, optim_g: torch.optim.Optimizer,
                        optim_d: torch.optim.Optimizer) -> dict[str, Any]:
    """Restores the state written by :func:`save_training_state`; returns the sidecar."""
    sidecar = read_sidecar(directory)
    step = str(int(sidecar["step"]))
    for name in (GENERATOR_FILE, DISCRIMINATORS_FILE, OPTIM_FILE):
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"Checkpoint file {path} is missing; the run cannot resume.")
        with safe_open(str(path), "pt") as handle:
            found = (handle.metadata() or {}).get("step")
        if found != step:
            raise ValueError(f"{path} is from step {found} but {SIDECAR_FILE} says {step} (a "
                             f"save was interrupted); restore a consistent copy to resume.")
    generator.load_state_dict(load_file(str(directory / GENERATOR_FILE)), strict=True)
    discriminators.load_state_dict(load_file(str(directory / DISCRIMINATORS_FILE)), strict=True)
    optim_tensors = load_file(str(directory / OPTIM_FILE))
    groups = sidecar["optimizer_param_groups"]
    optimizer_from_tensors(optim_g, optim_tensors, "g", groups["g"])
    optimizer_from_tensors(optim_d, optim_tensors, "d", groups["d"])
    return sidecar
