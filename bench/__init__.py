"""Latency, real-time factor and memory of a model bundle (`main.py bench`), engine vs eager."""
