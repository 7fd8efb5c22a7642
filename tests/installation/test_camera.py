"""The camera thread: frames and triggers arrive as Qt signals; a lost source is retried."""

import cv2
import pytest

from installation.camera import CameraState, CameraWorker
from installation.config import CameraConfig, VisionConfig
from installation.sources import (
    DeviceSource,
    ImageFolderSource,
    SourceError,
    VideoFileSource,
    source_from_spec,
)
from installation.vision import VisionPipeline
from tests.installation.helpers import (
    artwork,
    hang,
    stop_worker,
    visit_frames,
    wait_until,
    wall,
    write_video,
)

FAST = CameraConfig(retry_initial_s=0.05, retry_max_s=0.2, preview_fps=50)


def start_worker(source_factory, realtime=True, vision=None):
    pipeline = VisionPipeline(vision or VisionConfig(steady_seconds=0.5, detect_max_width=320))
    worker = CameraWorker(source_factory, pipeline, FAST, realtime=realtime)
    seen = {"status": [], "previews": [], "triggers": [], "left": 0}
    worker.status_changed.connect(lambda state, message: seen["status"].append((state, message)))
    worker.preview_ready.connect(seen["previews"].append)
    worker.preview_ready.connect(lambda _frame: worker.preview_taken())
    worker.painting_triggered.connect(seen["triggers"].append)
    worker.visitor_left.connect(lambda: seen.__setitem__("left", seen["left"] + 1))
    worker.start()
    return worker, seen


def test_video_source_loops_and_keeps_media_time(tmp_path):
    path = write_video(tmp_path / "loop.avi", [wall()] * 5, fps=10)
    source = VideoFileSource(path)
    source.open()
    stamps = [source.read().timestamp for _ in range(12)]
    source.close()
    assert stamps == pytest.approx([0.1 * (i + 1) for i in range(12)])


def test_camera_emits_previews_and_a_trigger_for_a_held_painting(qapp, tmp_path):
    frames = visit_frames(20, [("wall", 0.5), ("A", 1.5)], {"A": artwork(3)})
    path = write_video(tmp_path / "visit.avi", frames, fps=20)
    worker, seen = start_worker(lambda: VideoFileSource(path, loop=False))
    try:
        assert wait_until(lambda: seen["triggers"], timeout=10)
    finally:
        stop_worker(worker)
    assert seen["status"][0][0] == CameraState.LIVE
    trigger = seen["triggers"][0]
    assert trigger.crop_rgb is not None and trigger.detection.found
    preview = seen["previews"][-1]
    assert preview.rgb.shape[1] <= FAST.preview_max_width and preview.quad.shape == (4, 2)


def test_lost_video_is_reported_and_recovers_when_it_returns(qapp, tmp_path):
    path = tmp_path / "camera.avi"
    frames = [hang(wall(), artwork(4))] * 4
    write_video(path, frames, fps=20)
    worker, seen = start_worker(lambda: VideoFileSource(path))
    states = lambda: [state for state, _ in seen["status"]]  # noqa: E731
    try:
        assert wait_until(lambda: CameraState.LIVE in states(), timeout=5)
        path.unlink()  # the "camera" goes away: noticed when the loop reopens the file
        assert wait_until(lambda: CameraState.LOST in states(), timeout=5)
        lost_message = next(m for s, m in seen["status"] if s == CameraState.LOST)
        assert "does not exist" in lost_message and "Retrying" in lost_message
        path.write_bytes(b"not a video")  # unreadable
        assert wait_until(lambda: states().count(CameraState.LOST) >= 3, timeout=5)
        assert worker.isRunning()  # never gives up
        write_video(path, frames, fps=20)  # back again
        count = len(seen["previews"])
        assert wait_until(lambda: states()[-1] == CameraState.LIVE, timeout=5)
        assert wait_until(lambda: len(seen["previews"]) > count + 3, timeout=5)
    finally:
        stop_worker(worker)
    assert not worker.isRunning()


def test_no_camera_at_the_device_index_is_a_clear_error():
    source = DeviceSource(97)
    with pytest.raises(SourceError, match="No camera answers at device 97"):
        source.open()


def test_image_folder_is_a_slideshow(tmp_path):
    for index in range(2):
        cv2.imwrite(str(tmp_path / f"p{index}.png"), artwork(index))
    source = ImageFolderSource(tmp_path, image_seconds=0.5, fps=10)
    source.open()
    frames = [source.read() for _ in range(10)]
    assert (frames[0].image == frames[4].image).all()
    assert not (frames[4].image == frames[5].image).all()
    assert frames[9].timestamp == pytest.approx(0.9)
    with pytest.raises(SourceError, match="holds no pictures"):
        ImageFolderSource(tmp_path / "empty").open()


def test_source_spec_picks_the_kind_of_source(tmp_path):
    assert isinstance(source_from_spec("0"), DeviceSource)
    assert isinstance(source_from_spec(str(tmp_path)), ImageFolderSource)
    assert isinstance(source_from_spec(str(tmp_path / "later.mp4")), VideoFileSource)


class _CountingPipeline(VisionPipeline):
    """The real pipeline, counting the frames it is given."""

    def __init__(self, config: VisionConfig) -> None:
        super().__init__(config)
        self.looked_at = 0

    def process(self, image, timestamp):
        self.looked_at += 1
        return super().process(image, timestamp)


def test_while_music_is_generated_frames_are_looked_at_only_busy_fps_times_a_second(qapp,
                                                                                   tmp_path):
    path = write_video(tmp_path / "wall.avi", [wall()] * 40, fps=40)
    pipeline = _CountingPipeline(VisionConfig(steady_seconds=0.5, detect_max_width=320))
    config = CameraConfig(retry_initial_s=0.05, preview_fps=50, busy_fps=4.0)
    worker = CameraWorker(lambda: VideoFileSource(path), pipeline, config, realtime=True)
    worker.preview_ready.connect(lambda _frame: worker.preview_taken())
    worker.start()
    try:
        assert wait_until(lambda: worker.frames_read > 10, timeout=10)
        worker.set_busy(True)
        read, looked = worker.frames_read, pipeline.looked_at
        wait_until(lambda: False, timeout=1.5)
        busy_read, busy_looked = worker.frames_read - read, pipeline.looked_at - looked
        worker.set_busy(False)
        read, looked = worker.frames_read, pipeline.looked_at
        wait_until(lambda: False, timeout=1.0)
        free_read, free_looked = worker.frames_read - read, pipeline.looked_at - looked
    finally:
        stop_worker(worker)
    assert busy_read > 20  # frames are still read at the source's pace
    assert busy_looked <= 4.0 * 1.5 + 2  # but looked at about 4 times a second
    assert free_looked == free_read and free_read > 10  # every frame again once idle
