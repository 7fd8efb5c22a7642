"""Shared, dependency-light definitions used by training, export and the engine.

Only numpy and librosa live here (no torch), so the engine and the kiosk can import it.
"""
