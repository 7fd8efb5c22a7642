"""training.evaluation.held_out_paintings: which paintings no run trained on."""

import json

import pytest

from training.evaluation.held_out_paintings import held_out_paintings, main


def _rows(tmp_path):
    data = tmp_path / "ds"
    data.mkdir()
    rows = [("/p/painterly/a.jpg", "train"), ("/p/painterly/b.jpg", "val"),
            ("/p/painterly/c.jpg", "test"), ("/p/painterly/d.jpg", "test"),
            ("/p/portraits/e.png", "val"), ("/p/masterpieces/f.png", "train"),
            ("/p/painterly/b.jpg", "val")]
    (data / "manifest.jsonl").write_text("".join(
        json.dumps({"image_path": p, "split": s}) + "\n" for p, s in rows))
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps({"image_path": "/p/masterpieces/g.png"}) + "\n"
                       + json.dumps({"image_path": "/p/masterpieces/g.png"}) + "\n")
    return data, heldout


def test_val_test_and_held_out_paintings_capped_per_source(tmp_path):
    data, heldout = _rows(tmp_path)
    assert held_out_paintings(data, heldout, per_source=9) == [
        "/p/masterpieces/g.png", "/p/painterly/b.jpg", "/p/painterly/c.jpg",
        "/p/painterly/d.jpg", "/p/portraits/e.png"]
    heldout.write_text(json.dumps({"image_path": "masterpieces/g.png"}) + "\n")
    assert held_out_paintings(data, heldout)[0] == str((tmp_path / "masterpieces" / "g.png").resolve())
    assert held_out_paintings(data, None, per_source=2) == [
        "/p/painterly/b.jpg", "/p/painterly/c.jpg", "/p/portraits/e.png"]


def test_the_command_writes_a_jsonl_the_kiosk_path_reads(tmp_path):
    from training.evaluation.kiosk_path import painting_files

    data, heldout = _rows(tmp_path)
    out = tmp_path / "held.jsonl"
    assert main(["--data", str(data), "--heldout", str(heldout), "--out", str(out)]) == 0
    assert [str(p) for p in painting_files((out,))][0] == "/p/masterpieces/g.png"
    with pytest.raises(FileNotFoundError, match="built data set"):
        held_out_paintings(tmp_path / "missing")
