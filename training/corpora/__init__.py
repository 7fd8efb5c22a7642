"""Offline corpora for Art2Music (Sec. III.A.1 stand-ins for ArtEmis and MusicCaps).

``python -m training.corpora build --out data/corpora`` writes ``music.jsonl`` (recorded Debian
game soundtracks captioned from measured features + procedurally composed FluidSynth clips
captioned by construction) and ``paintings.jsonl`` (22 public-domain masterpieces from
gcompris-qt-data with hand-written comments, generated painterly images, Wesnoth portraits),
in the formats of docs/CONTRACTS.md, plus ``summary.json``. ``cli.add_arguments`` / ``cli.run``
plug the same options into ``main.py build-corpora``.
"""

from training.corpora.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
