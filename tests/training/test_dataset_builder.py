"""Full build of the weakly aligned data set (Sec. III.A.2–4) on tiny generated WAVs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from core.audio_config import DEFAULT_AUDIO
from core.mel import audio_file_to_mel
from core.prompt import build_prompt
from training.dataset.builder import DatasetBuildConfig, build_dataset
from training.dataset.errors import DatasetError
from training.dataset.manifest import MANIFEST_FIELDS, read_manifest
from training.dataset.matching import embed_corpora, top_matches
from training.dataset.sentence_encoder import PACKAGED_MINILM, load_sentence_encoder
from training.dataset.split import assign_splits

CLIPS = [  # (feeling, caption, tone in Hz, offset in s)
    ("sad", "A slow, sad piano ballad in a minor key with a melancholic melody.", 220.0, 0.0),
    ("energetic", "An energetic rock song with loud electric guitars and pounding drums.",
     440.0, 0.0),
    ("calm", "A calm, peaceful ambient piece with a gentle flute, relaxing and serene.",
     330.0, 1.0),
    ("scary", "An eerie, scary horror soundtrack with dissonant strings and low drones.",
     110.0, 0.0),
    ("joyful", "A joyful, festive celebration tune with bright brass and a happy dance rhythm.",
     660.0, 0.0),
]
COMMENTS = [  # (feeling, comment, ArtEmis emotion)
    ("sad", "This painting makes me feel so sad; the lonely woman is grieving.", "sadness"),
    ("sad", "The lonely, sad figure under the rain is heartbreaking.", "sadness"),
    ("energetic", "This vibrant, energetic scene is loud and fast, full of power.", "excitement"),
    ("energetic", "Wild, energetic strokes; it feels like a loud rock concert.", "excitement"),
    ("calm", "A quiet lake at dawn; it feels so calm and peaceful.", "contentment"),
    ("calm", "The soft light on the meadow is relaxing and serene.", None),
    ("scary", "The ghostly figure in the dark corner is creepy and frightening.", "fear"),
    ("scary", "Those shadows look eerie and scary, like a horror film.", "fear"),
    ("joyful", "The villagers dancing at the fair look so happy and joyful.", "amusement"),
    ("joyful", "A festive, cheerful celebration with bright flags everywhere.", None),
]


@pytest.fixture(scope="session")
def minilm():
    return load_sentence_encoder(PACKAGED_MINILM)


@pytest.fixture
def corpora(tmp_path: Path) -> tuple[Path, Path]:
    """Two JSONL corpora over 3-s WAVs (tone + noise) and 16×16 PNG 'paintings'."""
    sr = DEFAULT_AUDIO.sample_rate
    rng = np.random.default_rng(0)
    t = np.arange(3 * sr) / sr
    music = []
    for index, (_, caption, tone, offset) in enumerate(CLIPS):
        wave = 0.4 * np.sin(2 * np.pi * tone * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(tmp_path / f"clip{index}.wav", wave.astype(np.float32), sr)
        row = {"audio_path": f"clip{index}.wav", "caption": caption, "offset": offset,
               "labels": ["Music"], "id": f"clip{index}", "licence": "CC0"}
        if index % 2 == 0:
            row["keywords"] = [CLIPS[index][0], "instrumental"]
        music.append(row)
    paintings = []
    for index, (_, comment, emotion) in enumerate(COMMENTS):
        Image.new("RGB", (16, 16), (20 * index, 100, 200)).save(tmp_path / f"art{index}.png")
        row = {"image_path": f"art{index}.png", "comment": comment, "id": f"art{index}"}
        if emotion:
            row["emotion"] = emotion
        paintings.append(row)
    for name, rows in (("paintings.jsonl", paintings), ("music.jsonl", music)):
        (tmp_path / name).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return tmp_path / "paintings.jsonl", tmp_path / "music.jsonl"


def config_for(corpora: tuple[Path, Path], out: Path, **changes) -> DatasetBuildConfig:
    return DatasetBuildConfig(paintings=corpora[0], music=corpora[1], out=out, progress=False,
                              **changes)


class CountingMel:
    """audio_file_to_mel that counts calls and can fail after a number of clips."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls: list[Path] = []
        self.fail_after = fail_after

    def __call__(self, path, *args, **kwargs):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls.append(Path(path))
        return audio_file_to_mel(path, *args, **kwargs)


def test_full_build_writes_the_contract_layout(corpora, tmp_path, minilm):
    out = tmp_path / "dataset"
    mel_fn = CountingMel()
    summary = build_dataset(config_for(corpora, out), encoder=minilm, mel_fn=mel_fn)
    rows = read_manifest(out)

    assert len(rows) == len(COMMENTS) == summary["rows"]
    feelings = {f"clip{i}": clip[0] for i, clip in enumerate(CLIPS)}
    for row, (feeling, comment, emotion) in zip(rows, COMMENTS, strict=True):
        assert tuple(row) == MANIFEST_FIELDS
        assert feelings[row["audio_id"]] == feeling, (comment, row["caption"])
        assert row["comment"] == comment
        assert (row["painting_emotion"][0] == emotion) if emotion else row["painting_emotion"]
        assert row["prompt"] == build_prompt(row["comment"], row["painting_emotion"],
                                             row["audio_labels"], row["caption_keywords"])
        assert row["caption_keywords"] and row["audio_labels"] == ["Music"]
        assert (tmp_path / row["image_path"]).is_file() and (tmp_path / row["audio_path"]).is_file()
        assert row["mel_path"] == f"mels/{row['audio_id']}.npy"
        assert isinstance(row["similarity"], float) and 0.0 < row["similarity"] <= 1.0
        assert isinstance(row["audio_offset"], float)
    assert Counter(row["split"] for row in rows) == {"train": 8, "val": 1, "test": 1}
    assert rows[4]["audio_offset"] == 1.0

    matched = {row["audio_id"] for row in rows}
    assert len(mel_fn.calls) == len(matched) == summary["mels_computed"]  # each clip once
    for audio_id in matched:
        mel = np.load(out / "mels" / f"{audio_id}.npy")
        assert mel.shape == (80, 896) and mel.dtype == np.float16
        assert mel.min() >= -1.0 and mel.max() <= 1.0 and mel.max() > -1.0
    assert (out / "similarity.png").stat().st_size > 1000
    assert (out / "polarity.png").is_file()
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["splits"] == {"train": 8, "val": 1, "test": 1}
    assert 0.0 < summary["similarity"]["mean"] < 1.0
    assert summary["polarity"]["painting"]["negative"] == pytest.approx(0.4)


def test_resume_skips_mels_already_written(corpora, tmp_path, minilm):
    out = tmp_path / "dataset"
    crashing = CountingMel(fail_after=2)
    with pytest.raises(DatasetError, match="simulated crash"):
        build_dataset(config_for(corpora, out, feeling_analysis=False), encoder=minilm,
                      mel_fn=crashing)
    assert not (out / "manifest.jsonl").exists()
    written = {path: path.stat().st_mtime_ns for path in (out / "mels").glob("*.npy")}
    assert len(written) == 2

    resumed = CountingMel()
    summary = build_dataset(config_for(corpora, out, feeling_analysis=False), encoder=minilm,
                            mel_fn=resumed)
    assert summary["mels_skipped"] == 2
    assert summary["mels_computed"] == len(resumed.calls) == summary["matched_clips"] - 2
    assert summary["matching_texts_per_s"] is None  # matches came from the cache
    assert {p: p.stat().st_mtime_ns for p in written} == written
    assert len(read_manifest(out)) == len(COMMENTS)

    again = CountingMel()
    summary = build_dataset(config_for(corpora, out, feeling_analysis=False), encoder=minilm,
                            mel_fn=again)
    assert again.calls == [] and summary["mels_computed"] == 0


def test_limit_and_seed(corpora, tmp_path, minilm):
    first = build_dataset(config_for(corpora, tmp_path / "a", limit=4, feeling_analysis=False),
                          encoder=minilm)
    assert first["rows"] == 4 and len(read_manifest(tmp_path / "a")) == 4
    assert [r["id"] for r in read_manifest(tmp_path / "a")] == ["art0", "art1", "art2", "art3"]
    assert first["matches_per_row"] == 1 and first["min_similarity"] is None  # the paper's argmax
    one = [r["split"] for r in read_manifest(tmp_path / "a")]
    build_dataset(config_for(corpora, tmp_path / "b", limit=4, feeling_analysis=False),
                  encoder=minilm)
    assert [r["split"] for r in read_manifest(tmp_path / "b")] == one


@pytest.mark.filterwarnings("ignore")
def test_unreadable_audio_names_its_music_line(corpora, tmp_path, minilm):
    (corpora[1].parent / "clip0.wav").write_bytes(b"not audio at all")
    with pytest.raises(DatasetError, match=r"clip0\.wav at 0 s \(music line 1\)"):
        build_dataset(config_for(corpora, tmp_path / "dataset", feeling_analysis=False),
                      encoder=minilm)


def share_paintings(corpora: tuple[Path, Path]) -> list[str]:
    """Rewrites the paintings corpus so comments 2i and 2i+1 are on one painting; its groups."""
    lines = corpora[0].read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for index, row in enumerate(rows):
        row["image_path"] = f"art{index // 2}.png"
    corpora[0].write_text("".join(json.dumps(row) + "\n" for row in rows))
    return [row["image_path"] for row in rows]


def test_top_k_matching_writes_k_rows_per_comment_in_one_split(corpora, tmp_path, minilm):
    groups = share_paintings(corpora)
    out = tmp_path / "dataset"
    mel_fn = CountingMel()
    summary = build_dataset(config_for(corpora, out, matches_per_row=3), encoder=minilm,
                            mel_fn=mel_fn)
    rows = read_manifest(out)
    comments = [comment for _, comment, _ in COMMENTS]
    captions = [caption for _, caption, _, _ in CLIPS]
    expected = top_matches(*embed_corpora(minilm, comments, captions), k=3)

    assert len(rows) == summary["rows"] == 3 * len(COMMENTS)
    # Rank-major order: the ten argmax rows first, then the second and the third matches.
    assert [row["id"] for row in rows] == [f"art{i}-m{j}" for j in range(3) for i in range(10)]
    assert [row["audio_id"] for row in rows] == [f"clip{j}" for j in expected.indices.T.ravel()]
    np.testing.assert_allclose([row["similarity"] for row in rows],
                               expected.similarities.T.ravel(), atol=1e-5)
    for i, (_, comment, _) in enumerate(COMMENTS):
        mine = rows[i::10]
        assert len({row["audio_id"] for row in mine}) == 3  # three different clips
        assert [row["similarity"] for row in mine] == sorted(
            (row["similarity"] for row in mine), reverse=True)
        assert {row["comment"] for row in mine} == {comment}
        assert len({row["split"] for row in mine}) == 1
    for row in rows:  # each row's prompt carries its own caption's labels and keywords
        assert tuple(row) == MANIFEST_FIELDS
        assert row["caption"] == captions[int(row["audio_id"][4:])]
        assert row["prompt"] == build_prompt(row["comment"], row["painting_emotion"],
                                             row["audio_labels"], row["caption_keywords"])
        assert row["mel_path"] == f"mels/{row['audio_id']}.npy" and (out / row["mel_path"]).is_file()

    # Split integrity: a painting never in two splits, and the same split as the argmax build.
    by_painting: dict[str, set[str]] = {}
    for row in rows:
        by_painting.setdefault(row["image_path"], set()).add(row["split"])
    assert len(by_painting) == 5 and all(len(s) == 1 for s in by_painting.values())
    argmax_splits = assign_splits([str(corpora[0].parent / g) for g in groups], seed=0)
    assert [row["split"] for row in rows[:10]] == argmax_splits

    matched = {row["audio_id"] for row in rows}
    assert summary["matched_clips"] == len(matched) == len(mel_fn.calls)  # each clip once
    assert summary["matches_per_row"] == 3 and summary["comments"] == len(COMMENTS)
    assert summary["similarity"]["count"] == 30 and summary["best_match_similarity"]["count"] == 10
    assert summary["best_match_similarity"]["mean"] >= summary["similarity"]["mean"]
    assert sum(summary["polarity"]["pair_counts"][0]) + sum(
        summary["polarity"]["pair_counts"][1]) + sum(summary["polarity"]["pair_counts"][2]) == 30
    assert sum(summary["splits"].values()) == 30


def test_min_similarity_and_cached_embeddings_on_a_rebuild(corpora, tmp_path, minilm):
    out = tmp_path / "dataset"
    build_dataset(config_for(corpora, out, matches_per_row=2, feeling_analysis=False),
                  encoder=minilm)

    class NoEncoding:
        name = minilm.name

        def encode(self, *args, **kwargs):
            raise AssertionError("the text embeddings should come from the cache")

    comments = [comment for _, comment, _ in COMMENTS]
    captions = [caption for _, caption, _, _ in CLIPS]
    expected = top_matches(*embed_corpora(minilm, comments, captions), k=5, min_similarity=0.2)
    summary = build_dataset(config_for(corpora, out, matches_per_row=5, min_similarity=0.2,
                                       feeling_analysis=False), encoder=NoEncoding())
    rows = read_manifest(out)
    assert len(rows) == summary["rows"] == int(expected.valid.sum())
    assert 10 <= len(rows) < 50  # some weak matches dropped, every comment kept
    assert {row["id"].rsplit("-m", 1)[0] for row in rows} == {f"art{i}" for i in range(10)}
    assert all(row["similarity"] >= 0.2 for row in rows if not row["id"].endswith("-m0"))
    assert summary["min_similarity"] == 0.2 and summary["matches_per_row"] == 5
    assert summary["matching_texts_per_s"] is None  # nothing was encoded


def test_matches_per_row_below_one_is_a_clear_error(corpora, tmp_path):
    with pytest.raises(DatasetError, match="matches_per_row must be at least 1"):
        build_dataset(config_for(corpora, tmp_path / "dataset", matches_per_row=0))
