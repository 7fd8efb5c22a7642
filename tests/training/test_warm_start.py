"""Warm start (training/warm_start.py): an exported decoder graph back to Art2Music weights, and
a wider image input that computes exactly what the old model did."""

import math

import onnx
import pytest
import torch

from export.fp16 import with_fp16_weights
from export.graphs import decoder_source
from export.onnx_export import export_onnx
from training.models import Art2Music, Art2MusicConfig
from training.warm_start import decoder_state_from_onnx, main, widen_image_input

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(image_dim: int, seed: int = 0) -> Art2Music:
    torch.manual_seed(seed)
    return Art2Music(Art2MusicConfig.tiny(image_dim=image_dim, text_dim=12, frames=16)).eval()


def exported(model: Art2Music, image_dim: int, fp16: bool = False) -> onnx.ModelProto:
    source = decoder_source(model, torch.rand(1, image_dim), torch.rand(1, 12))
    graph = export_onnx(source)
    return with_fp16_weights(graph) if fp16 else graph


@pytest.mark.parametrize("fp16", [False, True])
def test_every_weight_comes_back_from_the_graph(tmp_path, fp16):
    model = tiny_model(7)
    path = tmp_path / "decoder.onnx"
    onnx.save_model(exported(model, 7, fp16), str(path))
    state = decoder_state_from_onnx(path)
    expected = model.state_dict()
    assert set(state) == set(expected)
    for name, value in expected.items():
        assert state[name].shape == value.shape, name
        # LSTM gate order and packing differ between ONNX and PyTorch: a wrong mapping moves
        # whole blocks, far beyond fp16 rounding
        torch.testing.assert_close(state[name], value, atol=2e-3 if fp16 else 0, rtol=1e-3 if fp16
                                   else 0, msg=name)


def test_widened_model_computes_what_the_old_one_did(tmp_path):
    old = tiny_model(5)
    path = tmp_path / "decoder.onnx"
    onnx.save_model(exported(old, 5), str(path))
    scale = math.sqrt(5)
    state = widen_image_input(decoder_state_from_onnx(path), 5, 9, offset=4, scale=scale)
    new = Art2Music(Art2MusicConfig.tiny(image_dim=9, text_dim=12, frames=16)).eval()
    new.load_state_dict(state)
    image, text = torch.rand(3, 5), torch.rand(3, 12)
    wide = torch.cat([torch.rand(3, 4), image / scale], dim=-1)  # other features: anything
    with torch.no_grad():
        torch.testing.assert_close(new(wide, text), old(image, text), atol=1e-5, rtol=1e-5)
        other = torch.cat([torch.rand(3, 4), image / scale], dim=-1)
        assert torch.equal(new(other, text), new(wide, text))  # new columns start at zero


def test_cli_writes_initial_weights_that_train_loads(tmp_path):
    (tmp_path / "bundle").mkdir()
    onnx.save_model(exported(tiny_model(5), 5), str(tmp_path / "bundle" / "decoder.onnx"))
    out = tmp_path / "init.safetensors"
    assert main(["--bundle", str(tmp_path / "bundle"), "--image-dim", "8", "--old-offset", "0",
                 "--old-scale", "0", "--out", str(out)]) == 0
    from training.checkpoint import load_tensors

    state = load_tensors(out)
    assert state["projector.w_x.weight"].shape[1] == 8 + 12
    assert not state["projector.w_x.weight"][:, :8].any()  # scale 0: the image is ignored
