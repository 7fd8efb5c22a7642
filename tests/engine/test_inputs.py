"""Wrong types handed to the engine are EngineErrors in one sentence that says what to pass,
never a raw TypeError (issue 10: ``compose(bytes)``), and nothing fails later in a generator
the audio thread reads. Runs the hand-made bundle (tests/engine/handmade_bundle.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import Engine, EngineError
from tests.engine import handmade_bundle as hb


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    return Engine.load(hb.write_bundle(tmp_path_factory.mktemp("inputs") / "bundle"),
                       providers=["cpu"], warmup=False)


FRAME = np.full((8, 8, 3), 120, np.uint8)


@pytest.mark.parametrize("painting,message", [
    (b"\x89PNG\r\n\x1a\n", r"decoded pixels .* not bytes: decode the file first"),
    (bytearray(b"\xff\xd8"), r"not bytearray: decode the file first"),
    ("painting.png", r"not a file name \(painting\.png\): read the picture first"),
    (None, r"numpy H×W×3 uint8 RGB array or an Engine\.describe reading, not NoneType"),
    ([[1, 2, 3]], r"not list"),
])
def test_a_painting_that_is_not_pixels_is_named(engine, painting, message):
    with pytest.raises(EngineError, match=message) as info:
        engine.compose(painting)
    assert "\n" not in str(info.value)
    with pytest.raises(EngineError, match=message):
        engine.describe(painting)


@pytest.mark.parametrize("kwargs,message", [
    ({"comment": 123}, r"the comment must be text \(str\), not int\.$"),
    ({"comment": b"sea"}, r"not bytes \(decode it with \.decode\('utf-8'\)\)"),
    ({"comment": None}, r"the comment must be text \(str\), not NoneType"),
    ({"feelings": "awe"}, r"feelings must be a list of labels such as \['awe'\], not str"),
    ({"feelings": [1, 2]}, r"each feeling must be a label \(str\) such as 'awe', not int"),
    ({"feelings": {"awe": 1}}, r"feelings must be a list .*not dict"),
    ({"chunk_frames": "64"}, r"chunk_frames must be a whole number, not str"),
    ({"chunk_frames": 0}, r"chunk_frames must be 1 or more, not 0"),
    ({"chunk_frames": True}, r"chunk_frames must be a whole number, not bool"),
    ({"target_dbfs": "loud"}, r"target_dbfs must be a finite number of dBFS .*not 'loud'"),
    ({"target_dbfs": math.nan}, r"target_dbfs must be a finite number"),
    ({"seed": "7"}, r"seed must be a whole number, not str"),
    ({"seed": 1.5}, r"seed must be a whole number, not float"),
    ({"seed": -1}, r"seed must be 0 or more, not -1"),
])
def test_wrong_arguments_of_compose_are_engine_errors_before_any_graph_runs(engine, kwargs,
                                                                            message):
    with pytest.raises(EngineError, match=message) as info:
        engine.compose(FRAME, **kwargs)
    assert "\n" not in str(info.value)


def test_text_of_the_wrong_type_is_refused_by_the_text_stages(engine):
    with pytest.raises(EngineError, match=r"the text must be text \(str\), not int"):
        engine.encode_text(5)
    reading = engine.describe(FRAME)
    with pytest.raises(EngineError, match="the comment must be text"):
        engine.prompt(reading, ["a", "list"])
    with pytest.raises(EngineError, match="feelings must be a list"):
        engine.prompt(reading, "", "awe")


def test_right_types_of_every_kind_still_compose(engine):
    """The checks let through what callers legitimately pass: numpy integers, tuples of
    feelings, an earlier reading, no loudness target."""
    reading = engine.describe(FRAME)
    piece = engine.compose(reading, "sea storm", ("fear",), chunk_frames=np.int64(2),
                           target_dbfs=None, seed=np.uint32(3))
    assert piece.feelings == ("fear",) and piece.gain == 1.0
    blocks = list(piece.blocks())
    assert sum(len(b) for b in blocks) == hb.FRAMES * hb.HOP and len(blocks) == hb.FRAMES // 2
    assert engine.compose(np.zeros((8, 8), np.uint8), target_dbfs=-20.0).prompt.startswith(
        "Art Commentary:")
