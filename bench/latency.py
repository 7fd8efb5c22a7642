"""Stage timings of one visit, repeated: engine (onnxruntime) and PyTorch eager."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from engine import Engine, prompt_feelings

IMAGE, FEELINGS, PROMPT, TEXT, MEL = "image", "feelings", "prompt", "text", "mel"
MEL_FIRST = "mel before first block"
"""A sampling decoder's streamed piece (Engine.compose): the decoder graph and the frames its
loudness gain is read from; the other frames are generated between blocks ("image → full
piece"). Its ``mel`` row is then the whole Mel in one go, timed apart, as ``vocode whole
piece`` is (for ``image+text+mel+vocode`` and the eager column)."""
FIRST_BLOCK, WHOLE_VOCODE = "vocode first block", "vocode whole piece"
TO_FIRST, TO_PIECE = "image → first block", "image → full piece"
ONE_PASS = "image+text+mel+vocode"
"""The four model stages back to back with a one-pass vocode: the like-for-like comparison of
engine and eager (the visit path adds feelings, prompt and streaming with context frames).
The engine's ``image`` stage is the kiosk's `Engine.describe` (image graph, feelings graph and
art commentary); ``feelings`` is then only the choice of the prompt's feelings."""
STAGES = (IMAGE, FEELINGS, PROMPT, TEXT, MEL, MEL_FIRST, FIRST_BLOCK, WHOLE_VOCODE, TO_FIRST,
          TO_PIECE, ONE_PASS)

Timings = dict[str, list[float]]


def _repeat(once: Callable[[Timings], None], repeats: int, warmup: int = 1) -> Timings:
    for _ in range(warmup):
        once(defaultdict(list))
    timings: Timings = defaultdict(list)
    for _ in range(repeats):
        once(timings)
    return dict(timings)


def time_engine(engine: Engine, frame: np.ndarray, comment: str, repeats: int,
                chunk_frames: int) -> Timings:
    """Each repeat runs one visit as the kiosk does (stream) and one whole-piece vocode; with a
    sampling decoder the visit streams the Mel too (see MEL_FIRST) and the whole Mel is timed
    apart."""
    streamed = engine.samples

    def once(timings: Timings) -> None:
        marks = [time.perf_counter()]
        reading = engine.describe(frame)
        image = reading.image_embedding
        marks.append(time.perf_counter())
        feelings = prompt_feelings(reading.feelings)
        marks.append(time.perf_counter())
        prompt = engine.prompt(reading, comment, feelings)
        marks.append(time.perf_counter())
        text = engine.encode_text(prompt)
        marks.append(time.perf_counter())
        if streamed:  # as Engine.compose: the condition and the loudness gain's frames
            log_mel = engine.stream_mel(image, text)
            engine.gain(log_mel)
        else:
            log_mel = engine.generate_mel(image, text)
        marks.append(time.perf_counter())
        stream = engine.vocode_stream(log_mel, chunk_frames=chunk_frames)
        next(stream)
        marks.append(time.perf_counter())
        for _ in stream:
            pass
        marks.append(time.perf_counter())
        for stage, start, stop in zip((IMAGE, FEELINGS, PROMPT, TEXT, MEL_FIRST if streamed
                                       else MEL, FIRST_BLOCK), marks[:-2], marks[1:-1],
                                      strict=True):
            timings[stage].append(stop - start)
        timings[TO_FIRST].append(marks[6] - marks[0])
        timings[TO_PIECE].append(marks[7] - marks[0])
        if streamed:
            start = time.perf_counter()
            log_mel = engine.generate_mel(image, text)
            timings[MEL].append(time.perf_counter() - start)
        start = time.perf_counter()
        engine.vocode(log_mel)
        timings[WHOLE_VOCODE].append(time.perf_counter() - start)
        timings[ONE_PASS].append(sum(timings[s][-1] for s in (IMAGE, TEXT, MEL, WHOLE_VOCODE)))

    return _repeat(once, repeats)


def time_eager(pipeline, frame: np.ndarray, prompt: str, repeats: int) -> Timings:
    """The same weights in PyTorch eager: image, text, Mel, one-pass vocode, and their sum."""

    def once(timings: Timings) -> None:
        marks = [time.perf_counter()]
        image = pipeline.encode_image(frame)
        marks.append(time.perf_counter())
        text = pipeline.encode_text(prompt)
        marks.append(time.perf_counter())
        log_mel = pipeline.generate_mel(image, text)
        marks.append(time.perf_counter())
        stages = [IMAGE, TEXT, MEL]
        if pipeline.has_vocoder:
            pipeline.vocode(log_mel)
            marks.append(time.perf_counter())
            stages.append(WHOLE_VOCODE)
        for stage, start, stop in zip(stages, marks[:-1], marks[1:], strict=True):
            timings[stage].append(stop - start)
        if pipeline.has_vocoder:
            timings[ONE_PASS].append(marks[-1] - marks[0])

    return _repeat(once, repeats)
