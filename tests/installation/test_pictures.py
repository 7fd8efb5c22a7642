"""Bad files in an image folder (issue 10): a huge scan, an empty file, a text file named .png, a
truncated JPEG. Each is decoded once, at a bounded size, or left out with one log line naming
it; the slideshow camera neither flaps between live and lost nor prints to stderr per frame."""

from __future__ import annotations

import logging
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from installation import pictures
from installation.artworks import load_artworks
from installation.camera import CameraState, CameraWorker
from installation.config import CameraConfig, VisionConfig
from installation.pictures import MAX_SIDE, PictureError, jpeg_size, load_picture
from installation.sources import ImageFolderSource
from installation.vision import VisionPipeline
from tests.installation.helpers import artwork, stop_worker, wait_until


def write_bilevel_png(path: Path, width: int, height: int) -> Path:
    """A real 1-bit PNG of any size, written row by row (a 20 000 px square costs 50 MB of
    zlib input and no bitmap in memory): black with a white stripe every 64 rows."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row_bytes = (width + 7) // 8
    dark, light = b"\x00" + bytes(row_bytes), b"\x00" + b"\xff" * row_bytes
    packer = zlib.compressobj(1)
    data = bytearray()
    for row in range(height):
        data += packer.compress(light if row % 64 == 0 else dark)
    data += packer.flush()
    with path.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)))
        handle.write(chunk(b"IDAT", bytes(data)))
        handle.write(chunk(b"IEND", b""))
    return path


def write_jpeg(path: Path, width: int, height: int) -> Path:
    image = cv2.resize(artwork(5), (width, height), interpolation=cv2.INTER_LINEAR)
    assert cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def bad_files(folder: Path) -> dict[str, Path]:
    """The three bad files of the issue, next to whatever the test puts in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    fake = folder / "notes.png"
    fake.write_text("not a picture, a shopping list\n", encoding="utf-8")
    good = write_jpeg(folder / "whole.jpg", 640, 480).read_bytes()
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(good[: len(good) // 2])
    return {"empty": empty, "fake": fake, "truncated": truncated}


@pytest.mark.parametrize("kind,message", [
    ("empty", r"empty\.png is empty \(0 bytes\); skipping it\."),
    ("fake", r"notes\.png is not a picture this kiosk can read \(31 bytes; PNG, JPEG"),
    ("truncated", r"truncated\.jpg is damaged or cut short \(image file is truncated.*copy it "
                  r"again"),
])
def test_an_unreadable_file_is_named_with_why(tmp_path, kind, message, capfd):
    path = bad_files(tmp_path)[kind]
    with pytest.raises(PictureError, match=message) as info:
        load_picture(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert "Premature end" not in capfd.readouterr().err  # libjpeg stays quiet


def test_a_large_jpeg_is_decoded_at_reduced_scale_then_shrunk(tmp_path):
    path = write_jpeg(tmp_path / "scan.jpg", 4400, 3300)  # libjpeg decodes it at 2200×1650
    picture = load_picture(path)
    assert picture.original_size == (4400, 3300) and picture.shrunk
    assert picture.image.shape == (1536, 2048, 3) and picture.image.dtype == np.uint8
    reference = cv2.resize(cv2.imread(str(path)), (2048, 1536), interpolation=cv2.INTER_AREA)
    assert cv2.absdiff(picture.image, reference).mean() < 4  # same picture, BGR order
    small = load_picture(write_jpeg(tmp_path / "small.jpg", 320, 200))
    assert small.image.shape == (200, 320, 3) and not small.shrunk and not small.large


def test_a_20000_px_square_scan_is_refused_in_one_line_without_decoding_it(tmp_path):
    """Over Pillow's decompression-bomb limit a PNG's bitmap is never built: a 1.2 GB decode
    per frame was what the issue saw."""
    path = write_bilevel_png(tmp_path / "scan.png", 20_000, 20_000)
    start = time.perf_counter()
    with pytest.raises(PictureError, match=r"scan\.png is over 179 megapixels, too large to "
                       r"decode on the kiosk; save a copy at most 2048 px"):
        load_picture(path)
    assert time.perf_counter() - start < 2.0


def test_a_png_too_large_for_a_full_decode_names_its_size(tmp_path):
    path = write_bilevel_png(tmp_path / "poster.png", 12_000, 11_000)  # 132 MP
    with pytest.raises(PictureError, match=r"poster\.png is 12000×11000 px \(132 MP\), too "
                       r"large to decode"):
        load_picture(path)
    medium = load_picture(write_bilevel_png(tmp_path / "medium.png", 4096, 1024))
    assert medium.image.shape == (512, 2048, 3)
    assert set(np.unique(medium.image[:, :, 0])) <= set(range(256))


def test_a_jpeg_beyond_pillows_bomb_limit_is_read_at_one_eighth(tmp_path, monkeypatch):
    """The path a 20 000 px JPEG takes (Pillow refuses to open it): the limit is lowered here so
    that a 3200×2400 file stands in for it."""
    path = write_jpeg(tmp_path / "huge.jpg", 3200, 2400)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    picture = load_picture(path, max_side=256)
    assert picture.original_size == (3200, 2400) == jpeg_size(path)
    assert picture.image.shape == (192, 256, 3)
    assert jpeg_size(write_bilevel_png(tmp_path / "x.png", 8, 8)) is None


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    folder = tmp_path / "slides"
    bad_files(folder)
    cv2.imwrite(str(folder / "a_small.png"), artwork(1))
    (folder / "whole.jpg").unlink()
    return folder


def test_the_folder_source_decodes_once_and_names_each_bad_file_once(mixed_folder, caplog,
                                                                     capfd, monkeypatch):
    monkeypatch.setattr(pictures, "LARGE_PIXELS", 5_000_000)  # instead of a 40 MP test file
    write_jpeg(mixed_folder / "b_large.jpg", 3000, 2000)
    source = ImageFolderSource(mixed_folder, image_seconds=0.5, fps=10)
    with caplog.at_level(logging.INFO, logger="installation.sources"):
        source.open()
    lines = [r.getMessage() for r in caplog.records]
    assert source.pictures == 2 and len(lines) == 4
    for name in ("empty.png", "notes.png", "truncated.jpg"):
        assert sum(name in line for line in lines) == 1
    assert any("b_large.jpg is 3000×2000 px (6 MP): decoded once at 2048×1365 px" in line
               for line in lines)
    caplog.clear()
    start = time.perf_counter()
    frames = [source.read() for _ in range(400)]
    assert time.perf_counter() - start < 0.5  # no decoding per frame
    assert {f.image.shape for f in frames} == {artwork(1).shape, (1365, 2048, 3)}
    assert frames[0].image is frames[4].image and not frames[0].image.flags.writeable
    source.close()
    source.open()  # a reopen (after a lost camera) decodes nothing and says nothing again
    assert caplog.records == [] and source.pictures == 2
    assert "Premature end" not in capfd.readouterr().err
    (mixed_folder / "notes.png").write_bytes(cv2.imencode(".png", artwork(2))[1].tobytes())
    with caplog.at_level(logging.INFO, logger="installation.sources"):
        source.open()  # the fixed file is picked up
    assert source.pictures == 3 and caplog.records == []


def run_camera(folder: Path, seconds: float) -> tuple[list[str], CameraWorker]:
    config = CameraConfig(retry_initial_s=0.05, retry_max_s=0.4, preview_fps=50)
    worker = CameraWorker(lambda: ImageFolderSource(folder, image_seconds=0.2, fps=50),
                          VisionPipeline(VisionConfig(detect_max_width=160)), config)
    states: list[str] = []
    worker.status_changed.connect(lambda state, _message: states.append(state))
    worker.preview_ready.connect(lambda _frame: worker.preview_taken())
    worker.start()
    try:
        wait_until(lambda: False, timeout=seconds)
    finally:
        stop_worker(worker)
    return states, worker


def test_bad_files_beside_good_ones_keep_the_camera_live(qapp, mixed_folder):
    states, worker = run_camera(mixed_folder, 1.0)
    assert states == [CameraState.LIVE] and worker.frames_read > 10


def test_a_folder_of_only_bad_files_is_lost_with_backoff_not_flapping(qapp, tmp_path, caplog):
    folder = tmp_path / "bad"
    bad_files(folder)
    (folder / "whole.jpg").unlink()
    with caplog.at_level(logging.WARNING, logger="installation.sources"):
        states, worker = run_camera(folder, 1.2)
    assert CameraState.LIVE not in states and worker.frames_read == 0
    assert 2 <= len(states) <= 8  # 0.05, 0.1, 0.2, 0.4, 0.4 s apart, never live in between
    named = [r.getMessage() for r in caplog.records]
    assert len(named) == 3  # each file once, not at every retry


def test_artworks_skip_bad_files_and_shrink_large_ones(tmp_path, caplog):
    folder = tmp_path / "artworks"
    bad_files(folder)
    write_jpeg(folder / "wide.jpg", 4000, 1000)
    with caplog.at_level(logging.WARNING, logger="installation.artworks"):
        images = load_artworks(folder)
    assert [image.shape for image in images] == [(480, 640, 3), (256, 1024, 3)]
    assert len(caplog.records) == 3
    assert all("Skipping an artwork: The" in r.getMessage() for r in caplog.records)


def test_max_side_default_is_the_issue_cap():
    assert MAX_SIDE == 2048
