"""The hand-written masterpiece comments file is complete and uses ArtEmis' emotions."""

from __future__ import annotations

import json

from core.prompt import ARTEMIS_EMOTIONS
from training.corpora.config import MASTERPIECE_COMMENTS
from training.corpora.masterpieces import load_comments


def test_every_painting_has_two_to_four_comments_in_artemis_vocabulary():
    records = load_comments()
    assert len(records) == 22
    assert len({r["id"] for r in records}) == 22
    assert len({r["board"] for r in records}) == 22
    for record in records:
        assert 2 <= len(record["comments"]) <= 4, record["id"]
        assert all(c["emotion"] in ARTEMIS_EMOTIONS for c in record["comments"])
        assert all(len(c["text"]) > 20 for c in record["comments"])


def test_three_or_four_distinct_works_are_held_out_and_shown_in_the_demo():
    records = load_comments()
    held = [r for r in records if r["held_out"]]
    assert 3 <= len(held) <= 4
    assert all(r["sample"] for r in held)
    assert 6 <= sum(r["sample"] for r in records) <= 8
    held_emotions = {c["emotion"] for r in held for c in r["comments"]}
    assert {"sadness", "contentment", "fear"} <= held_emotions


def test_file_is_versioned_json():
    data = json.loads(MASTERPIECE_COMMENTS.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert tuple(data["emotions"]) == ARTEMIS_EMOTIONS
