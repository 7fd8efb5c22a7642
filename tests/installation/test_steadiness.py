"""Steadiness: a painting held still triggers once; a new one triggers again; leaving is seen.

The camera input is a real video file written with cv2.VideoWriter and read back through
VideoFileSource, so codec noise is part of the test. Time is the video's own media time.
"""

import cv2
import numpy as np
import pytest

from installation.config import VisionConfig
from installation.sources import VideoFileSource
from installation.steadiness import SteadinessTracker, crop_signature, motion_thumbnail
from installation.vision import VisionPipeline
from tests.installation.helpers import artwork, hang, visit_frames, wall, write_video

FPS = 10.0
CONFIG = VisionConfig(steady_seconds=1.0, leave_seconds=2.0, detect_max_width=640)


def run_video(path, frames_to_read, config=CONFIG):
    source = VideoFileSource(path, loop=False)
    source.open()
    pipeline = VisionPipeline(config)
    results = []
    for _ in range(frames_to_read):
        frame = source.read()
        results.append(pipeline.process(frame.image, frame.timestamp))
    source.close()
    return results


@pytest.fixture(scope="module")
def arts():
    return {"A": artwork(11), "B": artwork(12)}


@pytest.mark.parametrize("fourcc,suffix", [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_wall_then_painting_a_then_painting_b(tmp_path, arts, fourcc, suffix):
    plan = [("wall", 2.0), ("A", 3.0), ("move", 0.6), ("B", 3.0)]
    frames = visit_frames(FPS, plan, arts)
    path = write_video(tmp_path / f"visit{suffix}", frames, FPS, fourcc)
    results = run_video(path, len(frames))

    triggers = [r for r in results if r.state.trigger]
    assert len(triggers) == 2, [round(r.timestamp, 1) for r in triggers]
    first, second = triggers
    # A appears at 2.0 s: it triggers once it has been still for steady_seconds, never on the wall
    assert 2.9 <= first.timestamp <= 3.4
    assert 5.6 <= second.timestamp <= 7.0
    assert all(r.detection.found for r in triggers)
    for trigger, name in ((first, "A"), (second, "B")):
        expected = cv2.cvtColor(cv2.resize(arts[name], trigger.crop_rgb.shape[1::-1]),
                                cv2.COLOR_BGR2RGB)
        other = cv2.cvtColor(cv2.resize(arts["B" if name == "A" else "A"],
                                        trigger.crop_rgb.shape[1::-1]), cv2.COLOR_BGR2RGB)
        crop = trigger.crop_rgb.astype(float)
        assert np.abs(crop - expected).mean() < np.abs(crop - other).mean()
    assert not any(r.state.visitor_left for r in results)


def test_a_painting_held_for_long_never_retriggers(tmp_path, arts):
    rng = np.random.default_rng(0)
    base = hang(wall(), arts["A"])
    noise = [rng.integers(-4, 5, base.shape, dtype=np.int16) for _ in range(3)]
    frames = []
    for index in range(int(8 * FPS)):  # sensor noise + a 1-2 pixel hand tremor
        noisy = np.clip(base + noise[index % 3], 0, 255).astype(np.uint8)
        shift = np.float32([[1, 0, index % 3], [0, 1, index % 2]])
        frames.append(cv2.warpAffine(noisy, shift, base.shape[1::-1],
                                     borderMode=cv2.BORDER_REPLICATE))
    path = write_video(tmp_path / "held.mp4", frames, FPS, "mp4v")
    results = run_video(path, len(frames))
    assert sum(r.state.trigger for r in results) == 1


def test_a_hand_passing_in_front_does_not_retrigger_the_same_painting(tmp_path, arts):
    plan = [("A", 2.0), ("move", 0.8), ("A", 2.5)]
    frames = visit_frames(FPS, plan, arts)
    path = write_video(tmp_path / "hand.avi", frames, FPS)
    results = run_video(path, len(frames))
    assert sum(r.state.trigger for r in results) == 1
    assert any(r.state.moving for r in results[20:28])


def test_an_empty_view_means_the_visitor_left_and_a_returning_painting_plays_again(
        tmp_path, arts):
    plan = [("A", 2.0), ("wall", 3.0), ("A", 2.0)]
    frames = visit_frames(FPS, plan, arts)
    path = write_video(tmp_path / "leave.avi", frames, FPS)
    results = run_video(path, len(frames))
    left = [r.timestamp for r in results if r.state.visitor_left]
    triggers = [r.timestamp for r in results if r.state.trigger]
    assert len(left) == 1 and 4.0 <= left[0] <= 4.5  # wall from 2.0 s, leave_seconds 2.0
    assert len(triggers) == 2 and triggers[1] > left[0]


def passer_by(fps: float, seconds: float) -> list[np.ndarray]:
    """A bare wall that a passer-by's soft shadow crosses again and again (60 px per frame):
    every frame differs from the last, but none holds a painting."""
    background = wall().astype(np.float32)
    height, width = background.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    frames = []
    for index in range(round(seconds * fps)):
        x = -150 + 60 * (index % 14)
        shadow = np.exp(-(xs - x) ** 2 / (2 * 90.0**2) - (ys - 0.6 * height) ** 2 / (2 * 135.0**2))
        frames.append(np.clip(background - 90.0 * shadow[..., None], 0, 255).astype(np.uint8))
    return frames


def test_an_empty_view_that_keeps_moving_still_means_the_visitor_left(tmp_path, arts):
    """The leave timer runs from "empty since", not "still since": a shadow moving over the bare
    wall for 4 s (leave_seconds 2.0) after painting A played ends the visit."""
    frames = visit_frames(FPS, [("A", 2.0)], arts) + passer_by(FPS, 4.0)
    path = write_video(tmp_path / "passer-by.avi", frames, FPS)
    results = run_video(path, len(frames))
    shadow = results[20:]
    assert all(r.state.empty and not r.detection.found for r in shadow)
    assert all(r.state.moving for r in shadow)
    assert [r.timestamp for r in results if r.state.trigger] == pytest.approx([1.0], abs=0.15)
    left = [r.timestamp for r in results if r.state.visitor_left]
    assert len(left) == 1 and 4.0 <= left[0] <= 4.5  # empty from 2.0 s, leave_seconds 2.0


def test_a_painting_that_keeps_moving_is_not_a_visitor_who_left(tmp_path, arts):
    """A painting carried back and forth for 4 s after it played is moving, not empty."""
    frames = visit_frames(FPS, [("A", 2.0), ("move", 2.0), ("move", 2.0)], arts)
    path = write_video(tmp_path / "carried.avi", frames, FPS)
    results = run_video(path, len(frames))
    assert [r.timestamp for r in results if r.state.visitor_left] == []
    assert sum(r.state.trigger for r in results) == 1
    assert all(r.state.moving and not r.state.empty for r in results[20:])


def test_tracker_without_video():
    tracker = SteadinessTracker(steady_seconds=0.5, leave_seconds=1.0)
    painted = hang(wall(), artwork(5))
    thumb, sig = motion_thumbnail(painted), crop_signature(painted[..., ::-1])
    states = [tracker.update(t / 10, thumb, True, lambda: sig) for t in range(20)]
    assert [s.trigger for s in states].count(True) == 1
    assert states[0].moving and not states[-1].moving
    assert states[-1].still_for == pytest.approx(1.9)  # still since the first frame
