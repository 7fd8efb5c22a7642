"""Visitor comments: empty, huge, emoji and control characters never crash and give a hint."""

import pytest

from core.prompt import MAX_COMMENT_CHARS
from installation.comment import (
    HINT_CONTROL,
    HINT_EMPTY,
    HINT_READY,
    HINT_SHORTENED,
    clean_comment,
)
from installation.ui.main_window import MainWindow
from tests.installation.helpers import artwork

CASES = {
    "empty": ("", "", HINT_EMPTY),
    "spaces": (" \n\t ", "", HINT_EMPTY),
    "none": (None, "", HINT_EMPTY),
    "plain": ("Calm and warm", "Calm and warm", HINT_READY),
    "emoji": ("sunset 🌅🎻 feels 😌", "sunset 🌅🎻 feels 😌", HINT_READY),
    "emoji-sequence": ("family 👨\u200d👩\u200d👧", None, HINT_READY),
    "control": ("a\x00b\x07c\x1b[31md\u202e", "a b c [31md", HINT_CONTROL),
    "only-control": ("\x00\x01\x02", "", HINT_EMPTY),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_comment_cases(name):
    raw, text, hint = CASES[name]
    comment = clean_comment(raw)
    if text is not None:
        assert comment.text == text
    assert comment.hint == hint


def test_ten_thousand_characters_are_shortened_with_a_hint():
    raw = ("lovely " * 1500)[:10_000]
    comment = clean_comment(raw)
    assert len(comment.text) <= MAX_COMMENT_CHARS and comment.text.startswith("lovely lovely")
    assert comment.shortened and comment.hint == HINT_SHORTENED


def test_ten_thousand_characters_without_spaces():
    comment = clean_comment("x" * 10_000)
    assert comment.text == "x" * MAX_COMMENT_CHARS and comment.hint == HINT_SHORTENED


@pytest.mark.parametrize("raw,expected", [
    # the cut (600th character) falls between "word" and the next space: all 120 words stay
    ("word " * 200, " ".join(["word"] * 120)),
    # it falls inside the 55th "abcdefghij" ("abcdef|ghij"): that word goes, no "abcdef"
    ("abcdefghij " * 60, " ".join(["abcdefghij"] * 54)),
    # "tidy" ends exactly at the 600th character: it fits and is kept
    ("x" * 595 + " tidy tail", "x" * 595 + " tidy"),
], ids=["space-after-cut", "mid-word", "word-ends-at-limit"])
def test_long_comments_are_cut_at_a_word_boundary(raw, expected):
    comment = clean_comment(raw)
    assert comment.text == expected
    assert len(comment.text) <= MAX_COMMENT_CHARS and comment.hint == HINT_SHORTENED


@pytest.mark.parametrize("raw,expected", [
    ("静かな夜" * 200, ("静かな夜" * 150)),
    ("see " + "a" * 700, "see " + "a" * 596),
], ids=["cjk-without-spaces", "one-word-longer-than-half-the-limit"])
def test_text_without_a_late_space_is_cut_at_a_character(raw, expected):
    """Japanese or Chinese without spaces, or one huge token: a word cut would leave (next to)
    nothing, so the first 600 characters are kept."""
    assert clean_comment(raw).text == expected


@pytest.fixture
def window(qapp):
    window = MainWindow([artwork(1)])
    window.resize(1920, 1080)
    window.show_feelings([("awe", 0.6), ("contentment", 0.3)], ["awe"])
    window.show()
    yield window
    window.close()


@pytest.mark.parametrize("raw,expected_hint", [
    ("", HINT_EMPTY),
    ("é" * 10_000, HINT_SHORTENED),
    ("🎨" * 10_000, HINT_SHORTENED),
    ("ok 👍", HINT_READY),
    ("bad\x00\x08\x7fchars", HINT_CONTROL),
])
def test_the_comment_field_shows_the_hint_and_composes_clean_text(window, qapp, raw,
                                                                  expected_hint):
    requests = []
    window.compose_requested.connect(lambda text, feelings: requests.append((text, feelings)))
    window.comment.field.setText(raw)
    qapp.processEvents()
    assert window.comment.hint.text() == expected_hint
    window.comment.field.returnPressed.emit()  # the visitor presses Enter
    window.compose_button.click()
    assert len(requests) == 2
    text, feelings = requests[0]
    assert text == clean_comment(raw).text and len(text) <= MAX_COMMENT_CHARS
    assert feelings == ["awe"]
    assert window.grab().width() == 1920  # still paints


@pytest.mark.parametrize("raw", [
    "calm" + " " * 1994 + "evening light",
    "calm\n" + "\n" * 1990 + "evening light",
], ids=["spaces", "blank-lines"])
def test_a_paste_cut_by_the_field_limit_loses_its_word_fragment(window, qapp, raw):
    """The field keeps 2 000 characters, so Qt cuts "evening" to "ev" / "eveni"; after the
    whitespace is collapsed only "calm" is a whole word."""
    requests = []
    window.compose_requested.connect(lambda text, feelings: requests.append(text))
    window.comment.field.setText(raw)
    qapp.processEvents()
    window.compose_button.click()
    assert requests == ["calm"]
    assert window.comment.hint.text() == HINT_SHORTENED
