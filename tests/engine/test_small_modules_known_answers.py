"""Known answers for the small engine modules: reading rules, provider choice, chunk windows and
cross-fades, the caption index, bundle checks and tokenizers. Expected values are literals,
hashlib digests or worked by hand in the comments."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

import engine.providers as providers
from engine.bundle import Bundle, read_manifest, sha256_file, verify_files
from engine.captions import CaptionEntry, CaptionIndex, CaptionMatch
from engine.commentary import Commentary
from engine.errors import BundleError, EngineError
from engine.manifest import Manifest, TokenizerSpec
from engine.providers import CPU, CUDA, TENSORRT, canonical_name, resolve_providers
from engine.reading import Reading, art_commentary, prompt_feelings
from engine.streaming import ChunkWindow, chunk_windows, stream_vocode
from engine.tokenize import ClipTokenizer, HFTokenizer, clip_clean, load_tokenizer

# ----------------------------------------------------------------------------- reading


def test_reading_top_feelings_and_text():
    reading = Reading(np.zeros(2), (("awe", 0.5), ("fear", 0.3), ("joy", 0.2)), Commentary(text="Calm."))
    assert reading.top_feelings() == ("awe",)
    assert reading.top_feelings(2) == ("awe", "fear")
    assert reading.top_feelings(0) == () and reading.top_feelings(-1) == ()
    assert reading.text == "Calm."
    assert Reading(np.zeros(2)).text == "" and Reading(np.zeros(2)).feelings == ()


def test_prompt_feelings_rules():
    assert prompt_feelings((("awe", 0.5), ("fear", 0.3))) == ("awe",)
    assert prompt_feelings(["joy", "fear"]) == ("joy",)
    assert prompt_feelings((("awe", 0.5),), ["fear", "joy"]) == ("fear", "joy")
    assert prompt_feelings((("awe", 0.5),), []) == ()
    assert prompt_feelings(()) == ()


def test_art_commentary_policies():
    assert art_commentary("Stormy", "A calm sea.") == "Stormy. A calm sea."
    assert art_commentary("Stormy!", "A calm sea.") == "Stormy! A calm sea."
    assert art_commentary("Stormy?", "A calm sea.") == "Stormy? A calm sea."
    assert art_commentary("Stormy…", "x") == "Stormy... x"  # NFKC: "…" is "..."
    assert art_commentary("Stormy.", "x") == "Stormy. x"
    assert art_commentary("SAX", "x") == "SAX. x"
    assert art_commentary("  ", " A calm  sea. ") == "A calm sea."
    assert art_commentary("Stormy", "") == "Stormy"
    assert art_commentary("Stormy", "A calm sea.", "replace") == "Stormy"
    assert art_commentary("", "A calm sea.", "replace") == "A calm sea."
    with pytest.raises(ValueError):
        art_commentary("a", "b", "merge")

# ----------------------------------------------------------------------------- providers


def test_canonical_names():
    assert canonical_name("tensorrt") == TENSORRT == "TensorrtExecutionProvider"
    assert canonical_name(" TRT ") == TENSORRT
    assert canonical_name("Cuda") == CUDA == "CUDAExecutionProvider"
    assert canonical_name("gpu") == CUDA
    assert canonical_name("cpu") == CPU == "CPUExecutionProvider"
    assert canonical_name("CUDAExecutionProvider") == CUDA
    with pytest.raises(EngineError):
        canonical_name("rocm")


class _Log:
    def __init__(self):
        self.levels = []

    def warning(self, *args):
        self.levels.append("warning")

    def info(self, *args):
        self.levels.append("info")


def test_resolve_providers(monkeypatch):
    everything = [TENSORRT, CUDA, CPU]
    assert resolve_providers(None, everything) == [TENSORRT, CUDA, CPU]
    assert resolve_providers(None, [CUDA, CPU]) == [CUDA, CPU]
    assert resolve_providers("cuda", everything) == [CUDA, CPU]
    assert resolve_providers("cuda, ,trt", everything) == [CUDA, TENSORRT, CPU]
    assert resolve_providers(["cpu", "cuda", "cpu"], everything) == [CPU, CUDA]
    assert resolve_providers([], [CUDA]) == [CPU]
    log = _Log()
    monkeypatch.setattr(providers, "logger", log)
    assert resolve_providers(["trt", "cuda"], [CPU]) == [CPU]
    assert log.levels == ["warning"]  # asked for: a warning
    assert resolve_providers(None, [CPU]) == [CPU]
    assert log.levels == ["warning", "info"]  # the default order: an info line
    resolve_providers(None, everything)
    resolve_providers(["cpu"], [CPU])
    assert log.levels == ["warning", "info"]
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: [CUDA, CPU])
    assert resolve_providers() == [CUDA, CPU]

# ----------------------------------------------------------------------------- streaming


def test_chunk_windows_literal():
    assert chunk_windows(10, 4, 2) == [ChunkWindow(0, 0, 4, 6), ChunkWindow(2, 4, 8, 10),
                                       ChunkWindow(6, 8, 10, 10)]
    assert chunk_windows(3, 5, 0) == [ChunkWindow(0, 0, 3, 3)]
    assert chunk_windows(4, 1, 1) == [ChunkWindow(0, 0, 1, 2), ChunkWindow(0, 1, 2, 3),
                                      ChunkWindow(1, 2, 3, 4), ChunkWindow(2, 3, 4, 4)]
    assert chunk_windows(0, 3, 1) == []
    for chunk, context in ((0, 1), (-1, 0), (2, -1)):
        with pytest.raises(EngineError):
            chunk_windows(5, chunk, context)
    assert chunk_windows(2, 1, 0) == [ChunkWindow(0, 0, 1, 1), ChunkWindow(1, 1, 2, 2)]


def _frame_vocoder(mel):
    """Each frame's first value, repeated 2 (= hop) times, plus 100 × the window's first value
    of row 1, so that every block shows which window it was cut from."""
    return np.repeat(mel[0], 2) + 100 * mel[1, 0]


def test_stream_vocode_crops_each_window():
    mel = np.array([np.arange(5, dtype=np.float32), np.arange(5, dtype=np.float32)])
    blocks = list(stream_vocode(_frame_vocoder, mel, 2, 2, 1))
    # windows [0, 3) [1, 5) [3, 5): offsets 0, 100, 300
    assert [b.tolist() for b in blocks] == [[0, 0, 1, 1], [102, 102, 103, 103], [304, 304]]
    assert all(b.dtype == np.float32 for b in blocks)
    wide = list(stream_vocode(lambda m: _frame_vocoder(m).astype(np.float64), mel, 2, 2, 1))
    assert all(b.dtype == np.float32 for b in wide)


def test_stream_vocode_cross_fades_over_the_shared_context():
    mel = np.zeros((2, 4), np.float32)
    mel[1] = [0, 1, 2, 3]

    def vocoder(window):  # a constant block per window: 10 × its first frame index + 1
        return np.full(window.shape[1] * 2, 10 * window[1, 0] + 1, np.float32)

    blocks = list(stream_vocode(vocoder, mel, 2, 2, 1, crossfade=2))
    # window [0, 3) → 1s; tail = its samples [4, 6) = [1, 1]; window [1, 4) → 11s,
    # first 2 samples faded with ramp [0, 0.5]: 1·(1 − r) + 11·r = [1, 6]
    assert [b.tolist() for b in blocks] == [[1, 1, 1, 1], [1, 6, 11, 11]]
    plain = list(stream_vocode(vocoder, mel, 2, 2, 1))
    assert [b.tolist() for b in plain] == [[1, 1, 1, 1], [11, 11, 11, 11]]
    long_tail = list(stream_vocode(vocoder, mel, 2, 2, 1, crossfade=8))  # tail shorter than the fade
    assert [b.tolist() for b in long_tail] == [[1, 1, 1, 1], [1, 6, 11, 11]]

# ----------------------------------------------------------------------------- captions


def test_caption_entries_and_index(tmp_path):
    entry = CaptionEntry.from_dict({"caption": 7, "labels": ["Music"], "keywords": ["calm", "slow"]})
    assert entry == CaptionEntry("7", ("Music",), ("calm", "slow"))
    assert entry.to_dict() == {"caption": "7", "labels": ["Music"], "keywords": ["calm", "slow"]}
    assert CaptionEntry.from_dict({"caption": "x"}) == CaptionEntry("x", (), ())
    (tmp_path / "c.json").write_text(json.dumps({"captions": [{"caption": "a"}, {"caption": "b"},
                                                              {"caption": "c"}]}), encoding="utf-8")
    np.save(tmp_path / "e.npy", np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float64))
    index = CaptionIndex.load(tmp_path / "c.json", tmp_path / "e.npy")
    assert len(index) == 3 and index.embeddings.dtype == np.float32
    match = index.nearest(np.array([[3.0, 4.0]]))  # unit query (0.6, 0.8)
    assert match.entry.caption == "c" and math.isclose(match.similarity, 1.0, rel_tol=1e-6)
    assert isinstance(match, CaptionMatch) and type(match.similarity) is float
    match = index.nearest(np.array([0.0, -2.0]))  # cosines 0, −1, −0.8: "a" wins
    assert match.entry.caption == "a" and match.similarity == 0.0
    short = index.nearest([0.3, 0.4])  # not unit: normalised first
    assert short.entry.caption == "c" and math.isclose(short.similarity, 1.0, rel_tol=1e-6)
    zero = index.nearest(np.zeros(2))  # no direction: all cosines 0, the first caption
    assert zero.entry.caption == "a" and zero.similarity == 0.0
    with pytest.raises(BundleError):
        CaptionIndex([CaptionEntry("a", (), ())], np.zeros((2, 2)))
    with pytest.raises(BundleError):
        CaptionIndex([], np.zeros((0, 2)))
    objects = np.empty((3, 2), dtype=object)
    objects[:] = 0.5
    np.save(tmp_path / "pickled.npy", objects, allow_pickle=True)
    with pytest.raises(ValueError):  # a pickled array is never loaded
        CaptionIndex.load(tmp_path / "c.json", tmp_path / "pickled.npy")

# ----------------------------------------------------------------------------- bundle


def test_sha256_file_reads_every_block(tmp_path):
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # 2.2 MiB: more than two 1 MiB blocks
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, block_size=1000) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


MINIMAL = {"format_version": 1, "audio": {}, "mel_norm": {"log_min": -11.5, "log_max": 2.5}, "encoders": {},
           "graphs": {"decoder": {"file": "d.onnx", "inputs": [], "outputs": []}},
           "preprocessing": {"image": {"size": 4, "mean": [0, 0, 0], "std": [1, 1, 1]}},
           "tokenizers": {}, "vocoder": {"name": "griffin_lim"}}


def _write(directory, manifest, files=None):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (directory / name).write_bytes(data)
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def test_read_manifest_accepts_versions_1_to_current(tmp_path):
    assert read_manifest(_write(tmp_path, MINIMAL)) == Manifest.from_dict(MINIMAL)
    for bad in ({**MINIMAL, "format_version": 0}, {**MINIMAL, "format_version": 2},
                {**MINIMAL, "format_version": "1"}, {**MINIMAL, "format_version": 1.0},
                {k: v for k, v in MINIMAL.items() if k != "format_version"},
                {k: v for k, v in MINIMAL.items() if k != "graphs"}, [1]):
        with pytest.raises(BundleError):
            read_manifest(_write(tmp_path, bad))
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(BundleError):
        read_manifest(tmp_path)
    with pytest.raises(BundleError):
        read_manifest(tmp_path / "nowhere")


def test_verify_files_names_the_first_problem(tmp_path):
    data = b"graph" * 100
    good = {**MINIMAL, "files": {"d.onnx": hashlib.sha256(data).hexdigest()}}
    directory = _write(tmp_path / "ok", good, {"d.onnx": data})
    verify_files(directory, Manifest.from_dict(good))
    bundle = Bundle.open(directory)
    assert bundle.manifest == Manifest.from_dict(good)
    assert bundle.directory == directory and bundle.path("d.onnx") == directory / "d.onnx"
    assert bundle.provenance_path("runs/x") == directory / "runs" / "x"
    assert bundle.provenance_path("") is None and bundle.provenance_path(None) is None
    cases = {
        "unlisted": ({**MINIMAL, "files": {}}, {"d.onnx": data}),
        "outside": ({**good, "files": {**good["files"], "../x": "00"}}, {"d.onnx": data}),
        "absolute": ({**good, "files": {**good["files"], "/etc/x": "00"}}, {"d.onnx": data}),
        "missing": (good, {}),
        "modified": (good, {"d.onnx": data + b"!"}),
    }
    for name, (manifest, files) in cases.items():
        with pytest.raises(BundleError):
            Bundle.open(_write(tmp_path / name, manifest, files))
        if name in ("outside", "absolute"):  # refused with or without hashes (issue 10)
            with pytest.raises(BundleError, match="points outside the bundle"):
                Bundle.open(tmp_path / name, verify=False)
        else:
            Bundle.open(tmp_path / name, verify=False)  # hashes not checked: opens
    # paths outside the bundle are refused even when the file is there with the right hash
    (tmp_path / "outside.bin").write_bytes(data)
    for name in ("../outside.bin", str(tmp_path / "outside.bin")):
        manifest = {**good, "files": {**good["files"], name: hashlib.sha256(data).hexdigest()}}
        directory = _write(tmp_path / "escape", manifest, {"d.onnx": data})
        verify_files(directory, Manifest.from_dict(good))
        with pytest.raises(BundleError):
            verify_files(directory, Manifest.from_dict(manifest))
    (tmp_path / "dir").mkdir()
    _write(tmp_path / "dir", good)
    (tmp_path / "dir" / "d.onnx").mkdir()  # a folder is not a file
    with pytest.raises(BundleError):
        Bundle.open(tmp_path / "dir")

# ----------------------------------------------------------------------------- tokenizers


def test_clip_clean_literals():
    assert clip_clean("  a&amp;amp;b  \n c ") == "a&b c"  # unescaped twice, whitespace collapsed
    assert clip_clean("\u2018it\u2019s\u201d \u201c") == "'it's\" \""
    assert clip_clean("\ufb01ne ＡＢ") == "fine AB"  # ligature and full-width letters (NFKC)
    assert clip_clean("caf\u00e9") == "caf\u00e9"  # other characters kept as they are
    assert clip_clean("\u0132") == "IJ"


def _word_level(path):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 10, "b": 11, "c": 12, "'": 13, "it": 14,
             "s": 15}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.save(str(path))
    return path


def test_clip_tokenizer_adds_sot_eot_cuts_and_pads(tmp_path):
    path = _word_level(tmp_path / "t.json")
    clip = ClipTokenizer(path, TokenizerSpec("clip_bpe", "t.json", 5, sot_id=7, eot_id=8, pad_id=9))
    assert clip.ids("A b") == [7, 10, 11, 8]  # no [CLS]/[SEP]: special tokens are not added
    assert clip.ids("a b c a b") == [7, 10, 11, 12, 8]  # cut to 5, the last one made eot
    assert clip.ids("\u2018it\u2019s") == [7, 13, 14, 13, 8]
    feeds = clip.feeds(["a", "c b a c b a"])
    assert list(feeds) == ["tokens"] and feeds["tokens"].dtype == np.int64
    assert feeds["tokens"].tolist() == [[7, 10, 8, 9, 9], [7, 12, 11, 10, 8]]
    exact = ClipTokenizer(path, TokenizerSpec("clip_bpe", "t.json", 4, sot_id=7, eot_id=8))
    assert exact.ids("a b") == [7, 10, 11, 8]
    assert exact.feeds(["a"])["tokens"].tolist() == [[7, 10, 8, 0]]
    for sot, eot in ((None, 8), (7, None)):
        with pytest.raises(EngineError):
            ClipTokenizer(path, TokenizerSpec("clip_bpe", "t.json", 4, sot_id=sot, eot_id=eot))


def test_hf_tokenizer_pads_to_the_longest_and_truncates(tmp_path):
    path = _word_level(tmp_path / "t.json")
    spec = TokenizerSpec("hf", "t.json", 4, pad_id=0)
    hf = HFTokenizer(path, spec)
    assert hf.spec is spec
    feeds = hf.feeds(["a", "b c", ""])
    assert feeds["input_ids"].tolist() == [[2, 10, 3, 0], [2, 11, 12, 3], [2, 3, 0, 0]]
    assert feeds["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]
    assert feeds["input_ids"].dtype == np.int64 and feeds["attention_mask"].dtype == np.int64
    assert hf.feeds(["a b c a b c"])["input_ids"].tolist() == [[2, 10, 11, 3]]
    padded = HFTokenizer(path, TokenizerSpec("hf", "t.json", 8, pad_id=5)).feeds(["a", "a b"])
    assert padded["input_ids"].tolist() == [[2, 10, 3, 5], [2, 10, 11, 3]]


def test_load_tokenizer_by_kind(tmp_path):
    path = _word_level(tmp_path / "t.json")
    assert isinstance(load_tokenizer(path, TokenizerSpec("hf", "t.json", 4)), HFTokenizer)
    assert isinstance(load_tokenizer(path, TokenizerSpec("clip_bpe", "t.json", 4, 7, 8)), ClipTokenizer)
    with pytest.raises(EngineError):
        load_tokenizer(path, TokenizerSpec("sentencepiece", "t.json", 4))


def test_chunk_windows_with_a_shorter_first_chunk_literal():
    assert chunk_windows(10, 4, 2, first_chunk_frames=2) == [
        ChunkWindow(0, 0, 2, 4), ChunkWindow(0, 2, 6, 8), ChunkWindow(4, 6, 10, 10)]
    assert chunk_windows(10, 4, 2, first_chunk_frames=4) == chunk_windows(10, 4, 2)
    assert chunk_windows(1, 4, 0, first_chunk_frames=2) == [ChunkWindow(0, 0, 1, 1)]
    with pytest.raises(EngineError, match="chunk_frames must be"):
        chunk_windows(10, 4, 2, first_chunk_frames=0)
