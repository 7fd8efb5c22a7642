"""Atomic safetensors checkpoints with JSON sidecars (weights, optimiser, training state)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


def _atomic_write(path: Path, write) -> None:
    """Writes through a temp file in the same folder, fsyncs, then renames over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(descriptor)
    try:
        write(temp_name)
        with open(temp_name, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def save_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    def write(name: str) -> None:
        with open(name, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)

    _atomic_write(Path(path), write)


def save_tensors_atomic(path: Path, tensors: Mapping[str, torch.Tensor],
                        metadata: Mapping[str, str] | None = None) -> None:
    contiguous = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    _atomic_write(Path(path), lambda name: save_file(contiguous, name, metadata=dict(metadata or {})))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first or fix the path.")
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises several types on corrupt files
        raise RuntimeError(f"checkpoint {path} is unreadable ({error}); delete it and resume "
                           "from the other checkpoint.") from error


def flatten_optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Splits an optimiser state dict into tensors (for safetensors) and JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, values in state["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{param_id}.{name}"] = value
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer_state(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                            rest: Mapping[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        _, param_id, name = key.split(".", 2)
        state.setdefault(int(param_id), {})[name] = tensor
    for param_id, values in rest.get("scalars", {}).items():
        state.setdefault(int(param_id), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


def save_checkpoint(directory: Path, stem: str, model: torch.nn.Module, sidecar: Mapping[str, Any],
                    optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Writes `<stem>.safetensors` (+ `<stem>.optim.safetensors`) then `<stem>.json`, atomically.

    The JSON sidecar is written last, so a sidecar always describes complete weight files.
    """
    directory = Path(directory)
    weights_path = directory / f"{stem}.safetensors"
    save_tensors_atomic(weights_path, model.state_dict())
    sidecar = dict(sidecar)
    if optimizer is not None:
        tensors, rest = flatten_optimizer_state(optimizer)
        save_tensors_atomic(directory / f"{stem}.optim.safetensors", tensors)
        sidecar["optimizer"] = rest
    save_json_atomic(directory / f"{stem}.json", sidecar)
    return weights_path


def load_sidecar(directory: Path, stem: str) -> dict[str, Any]:
    path = Path(directory) / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"checkpoint description {path} does not exist; train first.")
    return json.loads(path.read_text(encoding="utf-8"))
