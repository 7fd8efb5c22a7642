"""Weak alignment by semantic similarity (Sec. III.A.2): each comment → most similar caption."""

from __future__ import annotations

import numpy as np
import pytest

from training.dataset.errors import DatasetError
from training.dataset.matching import (
    best_matches,
    embed_unique,
    l2_normalize,
    match_texts,
    rowwise_cosine,
    top_matches,
)
from training.dataset.sentence_encoder import (
    PACKAGED_MINILM,
    load_sentence_encoder,
    packaged_minilm_dir,
    resolve_encoder,
)

# One caption per feeling, and a comment on a painting that evokes the same feeling.
FEELING_CAPTIONS = {
    "sad": "A slow, sad piano ballad in a minor key with a melancholic, sorrowful melody.",
    "energetic": "An energetic rock song with loud distorted electric guitars, fast pounding "
                 "drums and powerful vocals.",
    "calm": "A calm, peaceful ambient piece with soft pads and a gentle flute, relaxing and "
            "serene.",
    "scary": "An eerie, scary horror soundtrack with dissonant strings, low drones and "
             "unsettling noises.",
    "joyful": "A joyful, festive celebration tune with bright brass, cheerful handclaps and a "
              "happy dance rhythm.",
    "majestic": "A grand, majestic orchestral piece with soaring strings and triumphant horns.",
}
FEELING_COMMENTS = {
    "sad": "This painting makes me feel so sad; the lonely old woman seems to be grieving a loss.",
    "energetic": "This vibrant, energetic scene is loud and fast, full of power and movement.",
    "calm": "A quiet lake at dawn; it feels so calm and peaceful that I could relax here forever.",
    "scary": "The dark shadows and the ghostly figure in the corner are creepy and frightening.",
    "joyful": "The villagers dancing at the fair look so happy, it feels like a joyful holiday "
              "celebration.",
    "majestic": "The towering mountains under a vast sky fill me with awe at the grandeur of "
                "nature.",
}


@pytest.fixture(scope="session")
def minilm():
    return load_sentence_encoder(PACKAGED_MINILM)


class CountingEncoder:
    """Bag-of-letters vectors; records every text it was asked to encode."""

    name = "counting"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts, batch_size=64, progress=False, desc=""):
        self.seen.extend(texts)
        vectors = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if "a" <= char <= "z":
                    vectors[row, ord(char) - 97] += 1
        return vectors


def test_each_comment_matches_the_caption_of_its_feeling(minilm):
    feelings = list(FEELING_CAPTIONS)
    comments = [FEELING_COMMENTS[f] for f in reversed(feelings)]  # order must not matter
    result = match_texts(minilm, comments, [FEELING_CAPTIONS[f] for f in feelings])
    assert [feelings[i] for i in result.indices] == list(reversed(feelings))
    assert result.similarities.dtype == np.float32
    assert np.all(result.similarities > 0.3)


def test_packaged_minilm_gives_unit_384_d_vectors(minilm):
    vectors = minilm.encode(["a sad painting", "a sad piano ballad"])
    assert vectors.shape == (2, 384) and minilm.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert load_sentence_encoder() is minilm  # loaded once per process


def test_encode_keeps_input_order_although_it_sorts_by_length(minilm):
    texts = ["a much longer sentence about a gloomy winter evening by the sea", "joy", "calm sea"]
    together = minilm.encode(texts, batch_size=1)
    alone = np.stack([minilm.encode([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_best_matches_picks_the_highest_cosine_in_blocks():
    rng = np.random.default_rng(0)
    keys = rng.normal(size=(7, 16)).astype(np.float32)
    queries = rng.normal(size=(50, 16)).astype(np.float32) * 3.0
    result = best_matches(queries, keys, block_rows=8)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    k = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    full = q @ k.T
    np.testing.assert_array_equal(result.indices, full.argmax(axis=1))
    np.testing.assert_allclose(result.similarities, full.max(axis=1), atol=1e-6)


def test_embed_unique_encodes_each_distinct_text_once():
    encoder = CountingEncoder()
    vectors = embed_unique(encoder, ["abc", "xyz", "abc", "abc"])
    assert sorted(encoder.seen) == ["abc", "xyz"]
    np.testing.assert_allclose(vectors[0], vectors[2])
    np.testing.assert_allclose(rowwise_cosine(vectors, vectors), 1.0, atol=1e-6)


def test_encoder_names_resolve_to_the_packaged_folder():
    folder = packaged_minilm_dir()
    assert (folder / "model.safetensors").is_file()
    assert resolve_encoder(None) == resolve_encoder("all-MiniLM-L6-v2") == str(folder)
    assert resolve_encoder(str(folder)) == str(folder)


def test_missing_encoder_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_sentence_encoder(str(tmp_path / "no-such-model"))


# Known answers: keys are the unit axes, so each query row *is* its row of similarities.
SIMILARITY = np.array([
    [0.6, 0.8, 0.0, 0.0],    # clear order: 1, 0, then a tie 2 = 3
    [0.5, 0.5, 0.5, 0.5],    # four-way tie: lower index first
    [0.0, 0.6, 0.0, 0.8],    # 3, 1, then a tie 0 = 2
    [-0.6, 0.0, 0.8, 0.0],   # 2, then a tie 1 = 3, the negative one last
], dtype=np.float32)
AXES = np.eye(4, dtype=np.float32)


@pytest.mark.parametrize("block_rows", [1, 3, 4096])
def test_top_matches_orders_best_first_and_breaks_ties_by_lower_index(block_rows):
    result = top_matches(SIMILARITY, AXES, k=3, block_rows=block_rows)
    assert result.indices.tolist() == [[1, 0, 2], [0, 1, 2], [3, 1, 0], [2, 1, 3]]
    np.testing.assert_allclose(result.similarities, [[0.8, 0.6, 0.0], [0.5, 0.5, 0.5],
                                                     [0.8, 0.6, 0.0], [0.8, 0.0, 0.0]], atol=1e-6)
    assert top_matches(SIMILARITY, AXES, k=2).indices.tolist() == [[1, 0], [0, 1], [3, 1], [2, 1]]
    assert top_matches(SIMILARITY, AXES, k=4).indices[3].tolist() == [2, 1, 3, 0]


def test_top_matches_min_similarity_drops_weak_matches_but_keeps_the_best():
    result = top_matches(SIMILARITY, AXES, k=3, min_similarity=0.55)
    assert result.indices.tolist() == [[1, 0, -1], [0, -1, -1], [3, 1, -1], [2, -1, -1]]
    assert np.isnan(result.similarities[result.indices < 0]).all()
    low = top_matches(SIMILARITY, AXES, k=2, min_similarity=0.9)  # every best is below 0.9
    assert low.indices[:, 0].tolist() == [1, 0, 3, 2] and (low.indices[:, 1] == -1).all()
    edge = top_matches(SIMILARITY, AXES, k=2, min_similarity=0.5)  # equal to S is kept
    assert edge.indices[1].tolist() == [0, 1]


def test_top_matches_pairs_list_filled_slots_by_query_then_rank():
    result = top_matches(SIMILARITY, AXES, k=2, min_similarity=0.55)
    query, rank, key, similarity = result.pairs()
    assert query.tolist() == [0, 0, 1, 2, 2, 3]
    assert rank.tolist() == [0, 1, 0, 0, 1, 0]
    assert key.tolist() == [1, 0, 0, 3, 1, 2]
    np.testing.assert_allclose(similarity, [0.8, 0.6, 0.5, 0.8, 0.6, 0.8], atol=1e-6)
    assert result.best().indices.tolist() == [1, 0, 3, 2]


def test_top_matches_with_more_slots_than_keys_leaves_the_rest_empty():
    result = top_matches(SIMILARITY[:1], AXES[:2], k=3)
    assert result.indices.tolist() == [[1, 0, -1]] and np.isnan(result.similarities[0, 2])
    with pytest.raises(ValueError, match="k >= 1"):
        top_matches(SIMILARITY, AXES, k=0)


def test_top_matches_agrees_with_a_full_stable_sort_and_with_best_matches():
    rng = np.random.default_rng(1)
    queries = rng.integers(-2, 3, size=(60, 9)).astype(np.float32)  # many exact ties
    queries[0] = 0.0  # a zero row: all similarities tie at 0
    keys = np.eye(9, dtype=np.float32)
    expected = np.argsort(-l2_normalize(queries), axis=1, kind="stable")[:, :5]
    result = top_matches(queries, keys, k=5, block_rows=7)
    np.testing.assert_array_equal(result.indices, expected)
    assert (np.diff(result.similarities, axis=1) <= 0).all()
    dense = rng.normal(size=(40, 9)).astype(np.float32)
    np.testing.assert_array_equal(top_matches(dense, queries[1:12], k=1).indices[:, 0],
                                  best_matches(dense, queries[1:12]).indices)
