"""One UI thread and one inference worker share an engine without changing any result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine import Engine
from export.encoders import example_image


def test_ui_thread_and_worker_get_the_same_results_as_alone(tiny_bundle):
    engine = Engine.load(tiny_bundle, providers=["cpu"], warmup=False)
    pictures = [example_image(seed=s, height=50, width=70) for s in range(6)]
    images = [engine.encode_image(p) for p in pictures]
    text = engine.encode_text("a calm evening")
    expected_mels = [engine.generate_mel(i, text) for i in images]
    expected_audio = [engine.vocode(m) for m in expected_mels]

    def ui() -> list[np.ndarray]:
        return [engine.encode_image(p) for p in pictures for _ in range(3)]

    def worker() -> list[np.ndarray]:
        out = []
        for image in images:
            mel = engine.generate_mel(image, text)
            out.append((mel, np.concatenate(list(engine.vocode_stream(mel, chunk_frames=8)))))
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        ui_result, worker_result = pool.submit(ui), pool.submit(worker)
        ui_images, worker_out = ui_result.result(), worker_result.result()
    for index, image in enumerate(ui_images):
        np.testing.assert_array_equal(image, images[index // 3])
    for (mel, audio), mel_ref, audio_ref in zip(worker_out, expected_mels, expected_audio,
                                                strict=True):
        np.testing.assert_array_equal(mel, mel_ref)
        np.testing.assert_allclose(audio, audio_ref, atol=1e-5)
