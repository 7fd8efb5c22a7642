"""Warm start: a trained bundle's decoder graph → initial weights for a run on a wider image
encoder whose embedding ends with the old one's features (scaled).

The shipped perceptual:v1 bundle's projector + BiLSTM were trained for 720 steps; on a shared
2-core CPU a run from scratch on ``efficientnet:lite0+perceptual:imagenet`` cannot repeat that.
Its image embedding is ``[EfficientNet 1280-d ; perceptual:v1 / √59]``, so the old weights map
exactly: the old image columns of W_x and W_g are multiplied by √59 and placed on the
perceptual part, the EfficientNet columns start at zero, everything else is copied. The new model
then computes exactly what the old one did (up to the bundle's fp16 weights), and training
continues from there (``main.py train --init-weights``). For an encoder without the old
features (``efficientnet:lite0:imagenet``) ``--old-scale 0`` zeroes every image column: the run
starts as the old decoder with the image ignored.

    python -m training.warm_start --bundle assets/bundle --image-dim 1339 --old-offset 1280 \
        --old-scale 7.6811457 --out runs/warm/init.safetensors
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from training.checkpoint import save_tensors_atomic

_TORCH_GATES = (0, 2, 3, 1)
"""ONNX LSTM gates are i, o, f, c; PyTorch's are i, f, g (= c), o."""


def _reorder(array: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [array[g * hidden:(g + 1) * hidden] for g in range(4)]
    return np.concatenate([blocks[g] for g in _TORCH_GATES], axis=0)


def _graph_tensors(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    tensors = {i.name.removesuffix("__fp16"): numpy_helper.to_array(i).astype(np.float32)
               for i in model.graph.initializer}
    for node in model.graph.node:  # folded constants may also live in Constant nodes
        if node.op_type == "Constant" and node.output[0].startswith("onnx::"):
            for attribute in node.attribute:
                if attribute.name == "value":
                    tensors[node.output[0]] = numpy_helper.to_array(attribute.t).astype(np.float32)
    return tensors


def _producer(model: onnx.ModelProto, name: str) -> str:
    """Follows Cast nodes back to the initializer a tensor came from."""
    producers = {out: node for node in model.graph.node for out in node.output}
    while name in producers and producers[name].op_type == "Cast":
        name = producers[name].input[0]
    return name.removesuffix("__fp16")


def decoder_state_from_onnx(path: Path) -> dict[str, torch.Tensor]:
    """The PyTorch state dict (Art2Music names) of an exported decoder.onnx."""
    model = onnx.load(str(path))
    tensors = _graph_tensors(model)
    state = {name: tensors[name] for name in (
        "projector.w_x.weight", "projector.w_x.bias", "projector.w_r.weight",
        "projector.w_r.bias", "projector.w_g.weight", "projector.w_g.bias",
        "decoder.input_proj.weight", "decoder.input_proj.bias", "decoder.output_proj.bias")}
    lstms = [node for node in model.graph.node if node.op_type == "LSTM"]
    for layer, node in enumerate(lstms):
        w, r, b = (tensors[_producer(model, node.input[i])] for i in (1, 2, 3))
        hidden = r.shape[-1]
        for direction, suffix in enumerate(("", "_reverse")):
            state[f"decoder.lstm.weight_ih_l{layer}{suffix}"] = _reorder(w[direction], hidden)
            state[f"decoder.lstm.weight_hh_l{layer}{suffix}"] = _reorder(r[direction], hidden)
            state[f"decoder.lstm.bias_ih_l{layer}{suffix}"] = _reorder(b[direction][:4 * hidden],
                                                                        hidden)
            state[f"decoder.lstm.bias_hh_l{layer}{suffix}"] = _reorder(b[direction][4 * hidden:],
                                                                        hidden)
    adds = [node for node in model.graph.node if node.op_type == "Add"]
    positional = [_producer(model, i) for node in adds for i in node.input]
    positional = [tensors[p] for p in positional if p in tensors and tensors[p].ndim == 3]
    state["decoder.positional"] = positional[0][0]
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul"]
    state["decoder.output_proj.weight"] = tensors[_producer(model, matmuls[-1].input[1])].T
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()}


def widen_image_input(state: dict[str, torch.Tensor], old_image_dim: int, new_image_dim: int,
                      offset: int, scale: float) -> dict[str, torch.Tensor]:
    """Places the old image columns of W_x and W_g at `offset` of a `new_image_dim` input,
    multiplied by `scale` (new features = old / scale there); other image columns are zero."""
    widened = dict(state)
    for name in ("projector.w_x.weight", "projector.w_g.weight"):
        old = state[name]
        new = torch.zeros(old.shape[0], old.shape[1] - old_image_dim + new_image_dim)
        new[:, offset:offset + old_image_dim] = old[:, :old_image_dim] * scale
        new[:, new_image_dim:] = old[:, old_image_dim:]
        widened[name] = new
    return widened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True, help="bundle with decoder.onnx")
    parser.add_argument("--image-dim", type=int, required=True, help="new image embedding width")
    parser.add_argument("--old-offset", type=int, required=True,
                        help="where the old image features start in the new embedding")
    parser.add_argument("--old-scale", type=float, default=math.sqrt(59),
                        help="old features = new features × this (√59 for +perceptual; 0: drop them)")
    parser.add_argument("--out", type=Path, required=True, help="safetensors to write")
    args = parser.parse_args(argv)
    state = decoder_state_from_onnx(args.bundle / "decoder.onnx")
    old_image_dim = state["projector.w_x.weight"].shape[1] - state["projector.w_r.weight"].shape[1]
    state = widen_image_input(state, old_image_dim, args.image_dim, args.old_offset,
                              args.old_scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_tensors_atomic(args.out, state, {"source": str(args.bundle / "decoder.onnx")})
    print(f"wrote {args.out}: {len(state)} tensors, image input {old_image_dim} → "
          f"{args.image_dim} (old features at {args.old_offset}, × {args.old_scale:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def grown_state(model: torch.nn.Module, old: dict[str, torch.Tensor]) -> tuple[dict, list[str]]:
    """`model`'s state dict filled from a checkpoint of a smaller variant of it.

    Tensors of the same shape are copied; a 2-D weight that gained input columns (the token
    decoder's first LSTM layer when a beat clock is added: its new inputs come last) keeps the old
    columns and starts the new ones at zero, so the grown model computes what the old one did;
    tensors the old model lacked (null condition, tempo head) keep their initialisation. Returns
    the state and the names that were grown or new. Any other mismatch is an error.
    """
    state = model.state_dict()
    unknown = sorted(set(old) - set(state))
    if unknown:
        raise ValueError(f"the initial weights hold tensors this model lacks: {unknown[:5]}; "
                         "they come from another architecture.")
    changed = []
    for name, tensor in state.items():
        if name not in old:
            changed.append(f"{name} (new)")
            continue
        source = old[name].to(tensor.dtype)
        if source.shape == tensor.shape:
            state[name] = source.clone()
        elif (tensor.dim() == 2 and source.dim() == 2 and source.shape[0] == tensor.shape[0]
              and source.shape[1] < tensor.shape[1]):
            grown = torch.zeros_like(tensor)
            grown[:, :source.shape[1]] = source
            state[name] = grown
            changed.append(f"{name} (+{tensor.shape[1] - source.shape[1]} input columns)")
        else:
            raise ValueError(f"{name}: initial weights of shape {tuple(source.shape)} do not fit "
                             f"{tuple(tensor.shape)}")
    return state, changed
