"""Training configuration with the paper's hyper-parameters (Sec. IV.A.2) as defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

PAPER_ENCODER = "open_clip:ViT-H-14:laion2b_s32b_b79k"
"""OpenCLIP ViT-H/14 (LAION-2B), the paper's image and text encoder."""


@dataclass
class TrainConfig:
    """Adam 1e-4, batch 32, 10 epochs, frequency weights 1.0→1.5, best-validation checkpoint."""

    data: Path = Path("data/dataset")
    out: Path = Path("runs/art2music")
    image_encoder: str = PAPER_ENCODER
    text_encoder: str = PAPER_ENCODER
    model_size: str = "paper"  # paper | compact | tiny (see trainer.MODEL_SIZES)
    mode: str = "full"  # full | text-only | image-only | random (Table IV)
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_min: float = 1.0
    weight_max: float = 1.5
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 200
    max_steps: int | None = None
    resume: bool = False
    num_threads: int | None = None
    init_weights: Path | None = None  # safetensors state dict to start from (training.warm_start)
    objective: str = "paper"  # paper (eq. 2, BiLSTM) | tokens (Mel-frame codes, training/objectives.py)
    codebook_size: int = 256  # tokens: codes per residual-VQ stage
    codebook_stages: int = 2  # tokens: residual stages (MODEL_NOTES: 2 keeps flux 0.208)
    crop_frames: int = 384  # tokens: teacher-forced window per training example
    temperature: float = 1.1  # tokens: stage-1 sampling temperature stored with the model
    beat_clock: bool = False  # tokens: per-frame beat-phase input + tempo head (core/beat.py)
    tempo_bins: int = 12  # tokens with --beat-clock: tempo classes, 60-200 BPM on a log scale
    condition_dropout: float = 0.0  # tokens: null-condition rate for classifier-free guidance

    def to_dict(self) -> dict:
        values = asdict(self)
        values["data"] = str(self.data)
        values["out"] = str(self.out)
        values["init_weights"] = None if self.init_weights is None else str(self.init_weights)
        return values
