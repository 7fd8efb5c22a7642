"""Peak memory of the data-set builder and the embedding caches on a synthetic large corpus.

ArtEmis-sized corpora (455 k comments) must build and cache in bounded memory. This writes a
synthetic corpus of ``--rows`` comments over ``--images`` distinct small paintings and
``--captions`` music captions, then measures, each in a fresh process (so one stage's freed
memory does not count in the next), the peak resident set size of

1. ``build`` — ``training.dataset.builder.build_dataset`` (keywords, text embeddings, top-k
   matching, feeling analysis, Mels, manifest, summary);
2. ``embeddings`` — ``training.features.cache_embeddings`` (the training side's image and
   prompt caches) and ``load_cached_embeddings`` (what ``main.py train`` loads).

Stand-ins keep the run to minutes on a 2-core CPU, and change nothing in the code measured:
a hashing text encoder (bag of hashed words, 384-d: MiniLM would take ~10 min for 100 k texts
here), spaCy's blank English pipeline for the keywords (the tokenizer without the tagger), and
a synthetic Mel per clip (no audio decoding). Images go through the real ``perceptual:v1``
encoder. ::

    python -m bench.dataset_scale --rows 100000 --out /tmp/scale
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
import zlib
from pathlib import Path

import numpy as np

HASH_DIM = 384
WORDS = ("calm", "storm", "golden", "dark", "light", "river", "joy", "sad", "fear", "awe",
         "bright", "quiet", "sea", "face", "sky", "warm", "cold", "lonely", "happy", "angry",
         "red", "blue", "green", "gentle", "wild", "old", "young", "night", "morning", "wind")
EMOTIONS = ("amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear",
            "sadness", "something else")


class HashTextEncoder:
    """Texts as unit vectors of hashed word counts: deterministic, instant, no weights."""

    name = "hash-384"
    text_dim = HASH_DIM

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False,
               desc: str = "encoding") -> np.ndarray:
        return self.encode_texts(texts)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), HASH_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % HASH_DIM] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def write_corpus(root: Path, rows: int, images: int, captions: int, seed: int = 0) -> None:
    """paintings.jsonl, music.jsonl and `images` small PNGs under `root`."""
    import cv2

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i in range(images):
        path = root / "images" / f"{i}.png"
        if not path.exists():
            cv2.imwrite(str(path), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    with (root / "paintings.jsonl").open("w") as handle:
        for i in range(rows):
            words = " ".join(rng.choice(WORDS, 12))
            handle.write(json.dumps({"id": f"c{i}", "image_path": f"images/{i % images}.png",
                                     "comment": f"comment {i}: {words}",
                                     "emotion": EMOTIONS[i % len(EMOTIONS)]}) + "\n")
    with (root / "music.jsonl").open("w") as handle:
        for j in range(captions):
            words = " ".join(rng.choice(WORDS, 10))
            handle.write(json.dumps({"id": f"m{j}", "audio_path": f"audio/{j}.wav",
                                     "caption": f"music {j}: {words}", "labels": ["Music"],
                                     "keywords": list(rng.choice(WORDS, 3))}) + "\n")


def _synthetic_mel(path, audio, norm, offset=0.0) -> np.ndarray:
    seed = zlib.crc32(str(path).encode())
    mel = np.random.default_rng(seed).uniform(-1, 1, (audio.n_mels, audio.frames))
    return mel.astype(np.float16)


def _measure(stage: str, root: Path, matches: int, queue) -> None:
    from bench.memory import PeakRSS

    with PeakRSS() as rss:
        baseline = rss.peak_mb
        started = time.perf_counter()
        if stage == "build":
            import spacy

            from training.dataset.builder import DatasetBuildConfig, build_dataset
            from training.dataset.keywords import KeywordExtractor

            config = DatasetBuildConfig(paintings=root / "paintings.jsonl",
                                        music=root / "music.jsonl", out=root / "dataset",
                                        encoder=HashTextEncoder.name, check_files=False,
                                        matches_per_row=matches, progress=False)
            summary = build_dataset(config, encoder=HashTextEncoder(),
                                    extractor=KeywordExtractor(nlp=spacy.blank("en")),
                                    mel_fn=_synthetic_mel)
            detail = {"rows": summary["rows"], "matched_clips": summary["matched_clips"]}
        else:
            import training.encoders as encoders
            from training.encoders import EncoderSpec
            from training.features import cache_embeddings, load_cached_embeddings

            image, text = EncoderSpec.parse("perceptual:v1"), EncoderSpec("hash", "384", None)
            encoders._cache[(text, "cpu")] = HashTextEncoder()  # the stand-in, by its spec
            cache_embeddings(root / "dataset", image, text)
            ids, image_rows, text_rows = load_cached_embeddings(root / "dataset", image, text)
            detail = {"rows": len(ids), "image": list(image_rows.shape),
                      "text": list(text_rows.shape)}
    queue.put({"stage": stage, "peak_rss_mb": round(rss.peak_mb, 1),
               "start_rss_mb": round(baseline, 1),
               "seconds": round(time.perf_counter() - started, 1), **detail})


def measure(root: Path, stage: str, matches: int = 1) -> dict:
    """Runs one stage in a fresh (spawned) process; its peak RSS and counts."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(stage, root, matches, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for corpus + data set")
    parser.add_argument("--rows", type=int, default=100_000, help="painting comments")
    parser.add_argument("--images", type=int, default=1000, help="distinct paintings")
    parser.add_argument("--captions", type=int, default=500, help="music captions (clips)")
    parser.add_argument("--matches-per-row", type=int, default=1, help="build-dataset K")
    parser.add_argument("--stages", default="build,embeddings",
                        help="comma list of the stages to measure (embeddings needs a build)")
    args = parser.parse_args(argv)
    write_corpus(args.out, args.rows, args.images, args.captions)
    results = [measure(args.out, stage, args.matches_per_row)
               for stage in args.stages.split(",")]
    for result in results:
        print(json.dumps(result))
    (args.out / "dataset_scale.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
