"""Known answers for the feelings graph's torch side (export/feelings.py, export/graphs.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from export.errors import ExportError
from export.feelings import MAX_LOGIT_SCALE, TEMPLATES, load_head, zero_shot_feelings

EMOTIONS = ("amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness",
            "something else")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class _Clip:
    """encode_texts: prompt (emotion k, template t) → (t + 1)·e_k + t·e_9, so the template mean
    is 2·e_k + e_9, (2·e_k + e_9) / √5 after normalising each class vector."""

    def __init__(self, log_scale: float) -> None:
        self.model = nn.Module()
        self.model.logit_scale = nn.Parameter(torch.tensor(log_scale))
        self.seen: list[str] = []

    def encode_texts(self, prompts: list[str]) -> np.ndarray:
        assert isinstance(prompts, list)
        self.seen = prompts
        out = np.zeros((len(prompts), 10), dtype=np.float32)
        for i in range(len(prompts)):
            k, t = divmod(i, 3)
            out[i, k] = t + 1
            out[i, 9] = t
        return out


def test_zero_shot_prompts_classes_and_scale() -> None:
    clip = _Clip(math.log(50.0))
    feelings = zero_shot_feelings(clip)
    assert feelings.kind == "zero_shot"
    assert len(feelings.prompts) == 27
    assert feelings.prompts[:4] == ("a painting that makes people feel amusement.",
                                    "an artwork that evokes amusement.",
                                    "a picture full of amusement.",
                                    "a painting that makes people feel awe.")
    assert feelings.prompts[-1] == "a picture full of something else."
    assert clip.seen == list(feelings.prompts)
    module = feelings.module
    expected = np.zeros((9, 10), dtype=np.float32)
    expected[np.arange(9), np.arange(9)] = 2.0 / np.sqrt(5.0)
    expected[:, 9] = 1.0 / np.sqrt(5.0)
    np.testing.assert_allclose(module.class_embeddings.numpy(), expected, atol=1e-6)
    assert module.logit_scale == pytest.approx(50.0, rel=1e-5)
    image = torch.zeros(1, 10)
    image[0, 2] = 3.0  # normalised inside the graph: a unit vector on "contentment"
    logits = np.zeros(9)
    logits[2] = 50.0 * 2.0 / np.sqrt(5.0)
    np.testing.assert_allclose(module(image).detach().numpy()[0], _softmax(logits), rtol=1e-4, atol=1e-7)


def test_zero_shot_scale_is_clamped_at_100() -> None:
    assert MAX_LOGIT_SCALE == 100.0
    feelings = zero_shot_feelings(_Clip(math.log(400.0)))
    assert feelings.module.logit_scale == pytest.approx(100.0)
    assert TEMPLATES[0] == "a painting that makes people feel {}."


def _save(path, **tensors) -> str:
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return str(path)


def test_safetensors_head_is_a_softmaxed_linear_map(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(9, 4, generator=g), torch.randn(9, generator=g)
    feelings = load_head(_save(tmp_path / "h.safetensors", weight=weight, bias=bias), 4)
    assert feelings.kind == "linear_head"
    assert feelings.prompts == ()
    x = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)
    expected = _softmax(x @ weight.numpy().T + bias.numpy())
    got = feelings.module(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_head_without_bias_has_none(tmp_path) -> None:
    weight = torch.arange(36, dtype=torch.float32).reshape(9, 4) / 36
    feelings = load_head(_save(tmp_path / "h.safetensors", weight=weight), 4)
    assert feelings.module.head.bias is None
    x = np.ones((1, 4), dtype=np.float32)
    np.testing.assert_allclose(feelings.module(torch.from_numpy(x)).detach().numpy(),
                               _softmax(x @ weight.numpy().T), rtol=1e-5)


@pytest.mark.parametrize("keys", [("weight", "bias", "extra"), ("bias",), ("weight", "extra")])
def test_head_files_with_other_keys_are_refused(tmp_path, keys) -> None:
    shapes = {"weight": (9, 4), "bias": (9,), "extra": (3,)}
    path = _save(tmp_path / "h.safetensors", **{k: torch.zeros(shapes[k]) for k in keys})
    with pytest.raises(ExportError):
        load_head(path, 4)


def test_head_module_is_put_in_eval_mode() -> None:
    head = nn.Sequential(nn.Dropout(0.9), nn.Linear(4, 9))
    head.train()
    feelings = load_head(head, 4)
    assert feelings.module.head is head
    assert not head.training
    assert feelings.prompts == ()
    assert feelings.kind == "linear_head"


@pytest.mark.parametrize("outputs", [8, 10])
def test_head_with_the_wrong_number_of_emotions_is_refused(outputs) -> None:
    with pytest.raises(ExportError):
        load_head(nn.Linear(4, outputs), 4)


def test_head_is_probed_with_one_zero_embedding() -> None:
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return torch.zeros(x.shape[0], 9)

    load_head(Probe(), 6)
    assert len(seen) == 1
    assert tuple(seen[0].shape) == (1, 6)
    assert float(seen[0].abs().sum()) == 0.0


def test_emotions_are_artemis_order() -> None:
    from core.prompt import ARTEMIS_EMOTIONS

    assert ARTEMIS_EMOTIONS == EMOTIONS
