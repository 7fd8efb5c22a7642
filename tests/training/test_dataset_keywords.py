"""Emotional keywords: opinion lexicon (AFINN) + part-of-speech filter (Sec. III.A.3)."""

from __future__ import annotations

import pytest

from training.dataset.errors import DatasetError
from training.dataset.keywords import (
    KeywordConfig,
    KeywordExtractor,
    lexicon_path,
    load_lexicon,
    load_spacy,
    polarity,
)


@pytest.fixture(scope="session")
def extractor() -> KeywordExtractor:
    return KeywordExtractor()


def test_lexicon_is_afinn_shipped_with_the_afinn_package():
    path = lexicon_path()
    assert path.name == "AFINN-en-165.txt" and path.parent.parent.name == "afinn"
    lexicon = load_lexicon()
    assert len(lexicon) > 3000
    assert lexicon["sad"] < 0 < lexicon["joyful"]
    assert all(" " not in word for word in lexicon)


def test_emotional_words_are_kept_and_neutral_words_dropped(extractor):
    text = "The girls look happy and the scene is calm and peaceful, but the old tree looks sad."
    [keywords] = extractor.emotion_keywords([text])
    assert keywords == ["happy", "calm", "peaceful", "sad"]
    for neutral in ("the", "girls", "look", "scene", "tree", "old", "and"):
        assert neutral not in keywords


def test_all_four_parts_of_speech_are_kept(extractor):
    text = "I love this beautiful painting; the joy in it makes me smile joyfully."
    [keywords] = extractor.emotion_keywords([text])
    assert "love" in keywords  # verb
    assert "beautiful" in keywords  # adjective
    assert "joy" in keywords  # noun
    assert "joyfully" in keywords  # adverb


def test_part_of_speech_filter_drops_lexicon_words_in_other_roles(extractor):
    # "like" is in the lexicon (+2): kept as a verb, dropped as a preposition.
    assert extractor.emotion_keywords(["Looks like a painting of a boat."]) == [[]]
    assert extractor.emotion_keywords(["I like this painting."]) == [["like"]]
    # Restricting the parts of speech changes what is kept.
    adjectives_only = KeywordExtractor(KeywordConfig(keep_pos=("ADJ",)))
    assert adjectives_only.emotion_keywords(["I love this beautiful painting."]) == [["beautiful"]]


def test_inflected_words_match_the_lexicon_through_their_lemma(extractor):
    # AFINN lists "fear" but not "feared".
    assert extractor.emotion_keywords(["The villagers feared the storm."]) == [["fear"]]


def test_caption_keywords_describe_the_music(extractor):
    caption = ("A sad, slow piano ballad with soft strings. There are no vocals in this song; "
               "the recording sounds melancholic.")
    [keywords] = extractor.caption_keywords([caption])
    for word in ("sad", "slow", "piano", "soft", "strings", "no vocals", "melancholic"):
        assert word in keywords
    for generic in ("song", "recording", "there", "a", "this"):
        assert generic not in keywords


def test_score_and_polarity(extractor):
    assert polarity(extractor.score(["happy", "calm"])) == "positive"
    assert polarity(extractor.score(["sad", "scared"])) == "negative"
    assert polarity(extractor.score(["piano"])) == "neutral"


def test_missing_spacy_model_is_a_clear_error():
    with pytest.raises(DatasetError, match="not installed"):
        load_spacy("no_such_spacy_model_xyz")


def test_lexicon_file_can_be_replaced(tmp_path):
    custom = tmp_path / "lexicon.txt"
    custom.write_text("gloomy\t-3\nserene\t3\nbig deal\t1\n")
    assert load_lexicon(str(custom)) == {"gloomy": -3, "serene": 3}
