"""The composite prompt of Sec. III.A.3, as literal strings (not rebuilt with build_prompt)."""

from __future__ import annotations

from core.prompt import build_prompt


def test_every_part_appears_in_the_papers_order_and_punctuation():
    prompt = build_prompt("A calm sea at dusk", ["awe", "contentment"], ["Music", "Ambient music"],
                          ["calm", "slow"])
    assert prompt == ("Art Commentary: A calm sea at dusk. Painting Emotion: awe, contentment. "
                      "Audio: Music, Ambient music. Audio keywords: calm, slow.")


def test_a_trailing_full_stop_of_the_commentary_is_not_doubled():
    assert build_prompt("Stormy.", ["fear"], ["Music"], ["loud"]) == (
        "Art Commentary: Stormy. Painting Emotion: fear. Audio: Music. Audio keywords: loud.")


def test_empty_parts_keep_their_labels():
    assert build_prompt("", [], [], []) == (
        "Art Commentary: . Painting Emotion: . Audio: . Audio keywords: .")


def test_blank_items_are_dropped_and_whitespace_is_collapsed():
    prompt = build_prompt("  so   many\twarm\ncolours ", ["awe", "  ", "fear"], ["Music", ""],
                          ["bright  and loud"])
    assert prompt == ("Art Commentary: so many warm colours. Painting Emotion: awe, fear. "
                      "Audio: Music. Audio keywords: bright and loud.")
