"""Resumable stages and the clip allocation of the recorded soundtracks."""

from __future__ import annotations

from training.corpora.recorded import allocate, clip_offsets
from training.corpora.stages import StageStore, write_jsonl


def test_stage_store_resumes_and_ignores_a_torn_last_line(tmp_path):
    path = tmp_path / "stage.jsonl"
    store = StageStore(path)
    store.add("a", [{"id": 1}])
    store.add("b", [{"id": 2}, {"id": 3}])
    with path.open("a") as handle:
        handle.write('{"unit": "c", "rows": [')
    again = StageStore(path)
    assert again.done("a") and again.done("b") and not again.done("c")
    assert [r["id"] for r in again.rows(["b", "a", "c"])] == [2, 3, 1]


def test_write_jsonl_counts_rows(tmp_path):
    assert write_jsonl(tmp_path / "x.jsonl", ({"i": i} for i in range(3))) == 3
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 3


def test_allocation_is_proportional_with_one_clip_per_track_first():
    quota = allocate([100.0, 400.0, 5.0], total=12, clip_seconds=10.0)
    assert quota[2] == 0
    assert sum(quota) == 12 and quota[1] > quota[0] >= 1


def test_allocation_never_exceeds_what_fits():
    assert allocate([35.0], total=50, clip_seconds=10.0) == [3]


def test_fewer_clips_than_tracks_spreads_over_tracks():
    assert sum(allocate([60.0] * 10, total=3, clip_seconds=10.0)) == 3


def test_clip_offsets_spread_the_chosen_clips_first():
    offsets = clip_offsets(101.0, 3, 10.0)
    assert offsets[:3] == [1.0, 41.0, 81.0]
    assert len(offsets) == 9
