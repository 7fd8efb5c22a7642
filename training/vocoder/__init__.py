"""HiFi-GAN vocoder: configs, generator, discriminators, losses, weights and fine-tuning.

Kong, Kim and Bae, "HiFi-GAN: Generative adversarial networks for efficient and high fidelity
speech synthesis", NeurIPS 2020 — the second stage of Art2Music (Sec. III.B.3).
"""

from training.vocoder.config import CONFIGS, HiFiGANConfig, get_config
from training.vocoder.generator import Generator, count_parameters
from training.vocoder.pretrained import load_generator, load_generator_state

__all__ = ["CONFIGS", "Generator", "HiFiGANConfig", "count_parameters", "get_config",
           "load_generator", "load_generator_state"]
