"""Evaluation of Art2Music (Sec. IV.A.3, Table IV): MCD, LSD, FAD and cosine similarity.

`metrics` holds the metric definitions, `musicnn` the audio embedding model (a PyTorch port of
musicnn's MTT_musicnn with its shipped weights), `evaluate` the ablation run, `report` its
table / CSV / PNG / JSON and `cli` the `main.py eval` command. Importing this package is cheap.
"""
