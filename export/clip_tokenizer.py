"""open_clip's SimpleTokenizer (CLIP BPE) rebuilt as a `tokenizers` JSON for the engine.

Same vocabulary and merges, same split pattern, byte-level alphabet and ``</w>`` word ends as
``open_clip.tokenizer.SimpleTokenizer``; lower-casing and NFC in the normaliser. The engine adds
[sot]/[eot], cuts and pads (engine.tokenize.ClipTokenizer), exactly as open_clip's ``__call__``.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from engine.manifest import TokenizerSpec

SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def clip_tokenizer_json(simple_tokenizer) -> str:
    """Serialised `tokenizers.Tokenizer` equivalent to an open_clip SimpleTokenizer."""
    vocab = dict(simple_tokenizer.encoder)
    merges = [pair for pair, _ in sorted(simple_tokenizer.bpe_ranks.items(), key=lambda x: x[1])]
    bpe = models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", fuse_unk=False)
    tokenizer = Tokenizer(bpe)
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer.to_str()


def clip_tokenizer_spec(simple_tokenizer, file: str, context_length: int) -> TokenizerSpec:
    return TokenizerSpec(kind="clip_bpe", file=file, context_length=int(context_length),
                         sot_id=int(simple_tokenizer.sot_token_id),
                         eot_id=int(simple_tokenizer.eot_token_id), pad_id=0)
