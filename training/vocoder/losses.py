"""HiFi-GAN training objectives (Kong et al., 2020, Sec. 2.4, eqs. (1)–(6)).

- LSGAN adversarial losses, eqs. (1)–(2): D pushes real scores to 1 and generated to 0; G
  pushes generated scores to 1.
- Feature-matching loss, eq. (4): L1 between discriminator feature maps of real and generated
  audio (scaled by 2 as in the official code, i.e. λ_fm = 2 of eq. (5)).
- Mel-spectrogram loss, eq. (3), weighted by λ_mel = 45: L1 between log-Mels of real and
  generated audio, computed by :class:`TorchLogMel`, a differentiable copy of
  :func:`core.mel.log_mel` (same padding, window, filter bank and log floor).
- For distillation (training/vocoder/distill.py): :func:`multi_resolution_stft_loss` (Parallel
  WaveGAN eqs. (4)–(6)) and :func:`frame_periodic_loss` (the frame-rate buzz of a pruned
  generator).
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from core.audio_config import DEFAULT_AUDIO, AudioConfig
from core.mel import mel_filter_bank


class TorchLogMel(nn.Module):
    """Differentiable :func:`core.mel.log_mel`: waveform [B, N] or [B, 1, N] → [B, n_mels, N // hop].

    Reflect padding of (n_fft − hop) / 2 per side, periodic Hann window, magnitude STFT
    without centring, the cached Slaney filter bank of :func:`core.mel.mel_filter_bank`, then
    ``log(max(mel, log_floor))``. ``fmax`` overrides the config's (HiFi-GAN's ``fmax_for_loss``).
    """

    def __init__(self, config: AudioConfig = DEFAULT_AUDIO, fmax: float | None = None) -> None:
        super().__init__()
        if fmax is not None:
            config = replace(config, fmax=float(fmax))
        self.config = config
        self.register_buffer("basis", torch.from_numpy(mel_filter_bank(config).copy()),
                             persistent=False)
        self.register_buffer("window", torch.hann_window(config.win_length, periodic=True),
                             persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() == 3:
            audio = audio.squeeze(1)
        cfg = self.config
        pad = (cfg.n_fft - cfg.hop_length) // 2
        mode = "reflect" if audio.shape[-1] > pad else "constant"
        padded = F.pad(audio.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        spec = torch.stft(padded, cfg.n_fft, hop_length=cfg.hop_length,
                          win_length=cfg.win_length, window=self.window, center=False,
                          return_complex=True)
        # |X| with a zero-safe gradient: d|X| at X = 0 is taken as 0 instead of NaN.
        power = spec.real.square() + spec.imag.square()
        magnitude = torch.where(power > 0, power.clamp_min(1e-30).sqrt(), torch.zeros_like(power))
        mel = torch.matmul(self.basis, magnitude)
        return torch.log(torch.clamp(mel, min=cfg.log_floor))


def discriminator_loss(real_scores: list[torch.Tensor], fake_scores: list[torch.Tensor]
                       ) -> torch.Tensor:
    """LSGAN discriminator loss, eq. (1): Σ_k E[(D_k(x) − 1)²] + E[D_k(G(s))²]."""
    loss = real_scores[0].new_zeros(())
    for real, fake in zip(real_scores, fake_scores, strict=True):
        loss = loss + torch.mean((1.0 - real) ** 2) + torch.mean(fake**2)
    return loss


def generator_adversarial_loss(fake_scores: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN generator loss, eq. (2): Σ_k E[(D_k(G(s)) − 1)²]."""
    loss = fake_scores[0].new_zeros(())
    for fake in fake_scores:
        loss = loss + torch.mean((1.0 - fake) ** 2)
    return loss


def feature_matching_loss(real_maps: list[list[torch.Tensor]],
                          fake_maps: list[list[torch.Tensor]]) -> torch.Tensor:
    """Feature-matching loss, eq. (4), times λ_fm = 2: Σ_k Σ_i mean |D_k^i(x) − D_k^i(G(s))|."""
    loss = real_maps[0][0].new_zeros(())
    for real_layers, fake_layers in zip(real_maps, fake_maps, strict=True):
        for real, fake in zip(real_layers, fake_layers, strict=True):
            loss = loss + torch.mean(torch.abs(real.detach() - fake))
    return 2.0 * loss


def mel_loss(real_log_mel: torch.Tensor, fake_log_mel: torch.Tensor,
             weight: float = 45.0) -> torch.Tensor:
    """Mel-spectrogram loss, eq. (3), times λ_mel = 45: mean |φ(x) − φ(G(s))|."""
    return weight * F.l1_loss(fake_log_mel, real_log_mel)


STFT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((512, 128, 512), (1024, 256, 1024),
                                                       (2048, 512, 2048))
"""(n_fft, hop, window) of the multi-resolution STFT loss (Parallel WaveGAN, Sec. 2.3)."""


def multi_resolution_stft_loss(target: torch.Tensor, generated: torch.Tensor,
                               resolutions: tuple[tuple[int, int, int], ...] = STFT_RESOLUTIONS
                               ) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al., 2020, eqs. (4)–(6)), averaged over resolutions.

    Per resolution: spectral convergence ``‖|S| − |Ŝ|‖_F / ‖|S|‖_F`` plus log-magnitude L1
    ``mean |log|S| − log|Ŝ||``; waveforms are [B, N] or [B, 1, N].
    """
    target = target.reshape(target.shape[0], -1)
    generated = generated.reshape(generated.shape[0], -1)
    loss = target.new_zeros(())
    for n_fft, hop, win in resolutions:
        window = torch.hann_window(win, device=target.device)
        spectra = [torch.stft(x, n_fft, hop, win, window, return_complex=True).abs()
                   .clamp_min(1e-7) for x in (target, generated)]
        convergence = (torch.linalg.norm(spectra[0] - spectra[1])
                       / torch.linalg.norm(spectra[0]).clamp_min(1e-7))
        log_magnitude = F.l1_loss(torch.log(spectra[1]), torch.log(spectra[0]))
        loss = loss + convergence + log_magnitude
    return loss / len(resolutions)


def frame_periodic(audio: torch.Tensor, hop: int) -> torch.Tensor:
    """The part of each waveform [B, N] or [B, 1, N] that repeats exactly every `hop` samples:
    the mean over its whole frames of the frame-folded signal, [B, hop]."""
    wave = audio.reshape(audio.shape[0], -1)
    frames = wave.shape[1] // hop
    return wave[:, :frames * hop].reshape(wave.shape[0], frames, hop).mean(dim=1)


def frame_periodic_loss(target: torch.Tensor, generated: torch.Tensor, hop: int) -> torch.Tensor:
    """L1 between the frame-periodic parts (:func:`frame_periodic`) of two waveforms.

    The frame-folded mean is a comb filter on the harmonics of the frame rate ``sample_rate /
    hop``, where an upsampling generator's tonal artifact sits (training.evaluation.frame_buzz;
    Pons et al., ICASSP 2021). A waveform L1 sees the same samples, but among everything else
    the student gets wrong; this term weighs only the repeating pattern.
    """
    return F.l1_loss(frame_periodic(generated, hop), frame_periodic(target, hop))
