"""Configuration of the offline corpora build (sizes, seed, locations, Debian sources)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from core.audio_config import DEFAULT_AUDIO, AudioConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PAINTINGS_RCC = Path("/usr/share/gcompris-qt/rcc/paintings.rcc")
WESNOTH_PORTRAITS = Path("/usr/share/games/wesnoth/1.16/data/core/images/portraits")
MASTERPIECE_COMMENTS = REPO_ROOT / "assets" / "data" / "masterpiece_comments.json"
SAMPLE_ARTWORKS = REPO_ROOT / "assets" / "artworks"


@dataclass
class CorporaConfig:
    """What `python -m training.corpora build` produces; every size is a target, not a floor."""

    out: Path = Path("data/corpora")
    recorded_clips: int = 600
    procedural_clips: int = 600
    painterly_images: int = 400
    painterly_comments: int = 2
    portraits: int = 40
    seed: int = 1234
    install: bool = True
    export_artworks: bool = True
    verify_procedural: bool = True
    audio: AudioConfig = DEFAULT_AUDIO

    def capped(self, max_clips: int | None) -> CorporaConfig:
        """A copy with every music and image count capped at `max_clips` (quick runs)."""
        if max_clips is None:
            return self
        cap = max(0, int(max_clips))
        return replace(
            self,
            recorded_clips=min(self.recorded_clips, cap),
            procedural_clips=min(self.procedural_clips, cap),
            painterly_images=min(self.painterly_images, cap),
            portraits=min(self.portraits, cap),
        )

    @property
    def audio_dir(self) -> Path:
        return self.out / "audio"

    @property
    def paintings_dir(self) -> Path:
        return self.out / "paintings"

    @property
    def stages_dir(self) -> Path:
        return self.out / "stages"
