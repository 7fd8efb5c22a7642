"""The JSON summary of a corpora build: counts, durations, licences and distributions."""

from __future__ import annotations

from collections import Counter


def _music_source(rows: list[dict]) -> dict:
    return {
        "clips": len(rows),
        "minutes": round(sum(r["duration"] for r in rows) / 60, 2),
        "tracks": len({r["audio_path"] for r in rows}),
        "licences": dict(Counter(r["licence"] for r in rows)),
        "feelings": dict(Counter(r["feeling"] for r in rows).most_common()),
    }


def _agreement(rows: list[dict]) -> dict:
    """How often measurements of procedural clips agree with how they were built."""
    checked = [r for r in rows if "agreement" in r]
    if not checked:
        return {}
    modes = [r["agreement"]["mode"] for r in checked if r["agreement"]["mode"] is not None]
    quiet = [r["measured"]["rms_db"] for r in checked if r["params"]["dynamics"] in ("pp", "p")]
    loud = [r["measured"]["rms_db"] for r in checked if r["params"]["dynamics"] in ("f", "ff")]
    return {
        "clips_measured": len(checked),
        "tempo_within_8pct_or_octave": round(sum(r["agreement"]["tempo"] for r in checked)
                                             / len(checked), 3),
        "mode_matches": round(sum(modes) / max(len(modes), 1), 3),
        "median_rms_db_pp_p": round(sorted(quiet)[len(quiet) // 2], 1) if quiet else None,
        "median_rms_db_f_ff": round(sorted(loud)[len(loud) // 2], 1) if loud else None,
        "limited_clips": sum(r.get("limiter_gain", 1.0) < 1.0 for r in checked),
    }


def _paintings_source(rows: list[dict]) -> dict:
    return {
        "comments": len(rows),
        "images": len({r["image_path"] for r in rows}),
        "held_out_images": len({r["image_path"] for r in rows if r["held_out"]}),
        "licences": dict(Counter(r["licence"] for r in rows)),
        "emotions": dict(Counter(r["emotion"] for r in rows).most_common()),
    }


def summarise(music: list[dict], paintings: list[dict]) -> dict:
    """Per-source and overall statistics of the two corpora."""
    by_music = {s: [r for r in music if r["source"] == s] for s in dict.fromkeys(
        r["source"] for r in music)}
    by_paint = {s: [r for r in paintings if r["source"] == s] for s in dict.fromkeys(
        r["source"] for r in paintings)}
    return {
        "music": {
            "clips": len(music),
            "minutes": round(sum(r["duration"] for r in music) / 60, 2),
            "sources": {s: _music_source(rows) for s, rows in by_music.items()},
            "feelings": dict(Counter(r["feeling"] for r in music).most_common()),
            "keywords_top": dict(Counter(k for r in music for k in r["keywords"]).most_common(40)),
            "labels_top": dict(Counter(k for r in music for k in r["labels"]).most_common(25)),
            "procedural_agreement": _agreement(music),
        },
        "paintings": {
            "comments": len(paintings),
            "images": len({r["image_path"] for r in paintings}),
            "sources": {s: _paintings_source(rows) for s, rows in by_paint.items()},
            "emotions": dict(Counter(r["emotion"] for r in paintings).most_common()),
        },
    }
