"""The primer bank (issue 8: the painting picks where a piece starts): built from the run's
training images only, teacher-forced by the engine exactly as TokenMelDecoder.sample does."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.beat import lag_frames
from tests.training.test_token_beat_guidance import replay_engine_piece, with_decoder_fields
from tests.training.test_token_decoder import tokens_config
from training.tempo_head import fit_tempo_head
from training.trainer import train


@pytest.fixture(scope="module")
def primed(tiny_dataset, tmp_path_factory) -> tuple[Path, Path]:
    from export.pipeline import ExportOptions, export_bundle

    root = tmp_path_factory.mktemp("primer")
    train(tokens_config(tiny_dataset, root / "plain", epochs=1))
    fit_tempo_head(root / "plain", root / "tempo", bins=6, steps=30)
    export_bundle(ExportOptions(checkpoint=root / "tempo", out=root / "bundle",
                                vocoder="griffin_lim", temperatures=(1.0, 0.9),
                                repeat=(3.0, 2.0), primer_frames=20))
    return root / "tempo", root / "bundle"


def test_the_bank_holds_one_primer_per_training_image_and_nothing_held_out(primed,
                                                                           tiny_dataset):
    from engine.bundle import Bundle

    _, bundle = primed
    spec = Bundle.open(bundle).manifest.decoder
    assert spec.primed and spec.primer_frames == 20
    codes = np.load(bundle / spec.primer_codes)
    embeddings = np.load(bundle / spec.primer_embeddings).astype(np.float32)
    listing = json.loads((bundle / "primers.json").read_text())
    rows = [json.loads(line) for line in (tiny_dataset / "manifest.jsonl").read_text()
            .splitlines() if line.strip()]
    train_images = {Path(r["image_path"]).stem for r in rows if r["split"] == "train"}
    other_images = {Path(r["image_path"]).stem for r in rows if r["split"] != "train"}
    lent = [entry["image"] for entry in listing["primers"]]
    assert sorted(lent) == sorted(train_images) and not set(lent) & (other_images - train_images)
    assert codes.shape == (len(lent), 20, 2) and codes.dtype == np.int16
    assert codes.min() >= 0 and codes.max() < 16
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-2)


def test_the_engine_teacher_forces_the_nearest_primer_as_torch_does(primed):
    from core.mel import denormalize
    from engine.engine import Engine
    from export.checkpoint import load_run

    run_dir, bundle = primed
    engine = Engine.load(bundle, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (160, 90, 30), np.uint8))
    text = engine.encode_text("Art Commentary: an orange dusk. Painting Emotion: awe.")
    primer = engine.primer_codes(image)
    embeddings = np.load(bundle / "primer_embeddings.npy").astype(np.float32)
    nearest = int(np.argmax(embeddings @ (image / np.linalg.norm(image))))
    np.testing.assert_array_equal(primer, np.load(bundle / "primer_codes.npy")[nearest])
    mel = engine.generate_mel(image, text, seed=6)
    lag = lag_frames(engine.tempo(image, text), 1.0)

    run = load_run(run_dir)
    model = run.model()
    replayed = replay_engine_piece(model, image, text, 6, torch.tensor([1 / 1.0, 1 / 0.9]), lag,
                                   torch.tensor([3.0, 2.0]), primer=primer)
    np.testing.assert_allclose(mel, denormalize(replayed, run.mel_norm), atol=1e-4)
    codes = torch.from_numpy(primer.astype(np.int64))[None]
    with torch.no_grad():  # the same draws go elsewhere without the primer
        h_in = model.projector(torch.from_numpy(image)[None], torch.from_numpy(text)[None])
        with_primer = model.decoder.sample(h_in, seed=1, primer=codes, repeat=(3.0, 2.0))[0]
        without = model.decoder.sample(h_in, seed=1, repeat=(3.0, 2.0))[0]
    assert not torch.allclose(with_primer, without)


def test_a_broken_primer_bank_is_refused_clearly(primed, tmp_path):
    from engine.engine import Engine
    from engine.errors import EngineError

    _, bundle = primed
    broken = with_decoder_fields(bundle, tmp_path / "broken", primer_frames=21)
    engine = Engine.load(broken, warmup=False)
    image = engine.encode_image(np.full((48, 64, 3), (10, 10, 10), np.uint8))
    with pytest.raises(EngineError, match="primer bank's codes"):
        engine.primer_codes(image)
    with pytest.raises(EngineError, match="primer bank"):
        engine.primer_codes(np.ones(3, np.float32))


def test_the_export_command_line_checks_the_primer_frames():
    import argparse

    from export.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--checkpoint", "r", "--out", "b",
                              "--primer-frames", "430"]).primer_frames == 430
    for bad in (["--primer-frames", "x"], ["--primer-frames", "-1"],
                ["--primer-frames", "900"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["--checkpoint", "r", "--out", "b", *bad])


def test_table_iv_primes_each_row_from_its_modes_image_and_not_without_one(primed,
                                                                          tiny_dataset):
    from training.evaluation.data import load_model
    from training.evaluation.evaluate import generate_log_mels
    from training.primers import build_primer_bank, nearest_primers

    loaded = load_model(primed[0])
    torch.manual_seed(0)  # the tiny data set's Mels are nearly flat: spread the codes apart
    loaded.model.decoder.codebook.set_books(torch.rand(2, 16, 80) - 0.5)
    bank = build_primer_bank(tiny_dataset, loaded.image_spec, loaded.text_spec,
                             loaded.model.decoder.codebook, 20)
    image, text = torch.randn(3, 32), torch.randn(3, 32)
    # cold sampling: the tiny run's logits are nearly flat, so at T = 1 the noise decides
    sampling = {"temperatures": (0.05, 0.05)}
    primed_mels = generate_log_mels(loaded, image, text, "full", 0, 3, sampling, bank)
    plain = generate_log_mels(loaded, image, text, "full", 0, 3, sampling)
    assert not np.allclose(primed_mels, plain)
    from core.mel import denormalize

    with torch.no_grad():
        codes = torch.from_numpy(nearest_primers(bank, image.numpy()))
        expected = loaded.model.decoder.generate(loaded.model.projector(image, text), seed=0,
                                                 primer=codes, **sampling)
    np.testing.assert_allclose(primed_mels, denormalize(expected.numpy(), loaded.mel_norm),
                               atol=1e-5)
    np.testing.assert_allclose(  # w/o Image: no image, so no primer either
        generate_log_mels(loaded, image, text, "text-only", 0, 3, sampling, bank),
        generate_log_mels(loaded, image, text, "text-only", 0, 3, sampling), atol=0)


def test_a_primer_bank_is_refused_for_a_beat_clock_run(tiny_dataset, tmp_path):
    from export.errors import ExportError
    from export.pipeline import ExportOptions, export_bundle
    from tests.training.test_token_beat_guidance import _config

    clocked = tmp_path / "clocked"
    train(_config(tiny_dataset, clocked, epochs=1, condition_dropout=0.0))
    with pytest.raises(ExportError, match="beat clock or guidance"):
        export_bundle(ExportOptions(checkpoint=clocked, out=tmp_path / "b",
                                    vocoder="griffin_lim", primer_frames=8))


def test_table_iv_draws_one_piece_per_sample_seed(primed):
    from training.evaluation.data import load_model
    from training.evaluation.evaluate import generate_log_mels

    loaded = load_model(primed[0])
    image, text = torch.randn(2, 32), torch.randn(2, 32)
    sampling = {"temperatures": (1.0, 0.9)}
    first = generate_log_mels(loaded, image, text, "full", 0, 2, sampling, sample_seed=0)
    np.testing.assert_array_equal(
        first, generate_log_mels(loaded, image, text, "full", 0, 2, sampling))
    assert not np.allclose(
        first, generate_log_mels(loaded, image, text, "full", 0, 2, sampling, sample_seed=1))


def with_noise_match(tiny_dataset: Path, out: Path, image: str = "img0_0") -> Path:
    """The tiny data set plus a better-matched clip for one training image whose Mel is flat
    noise (every band the same energy): the primer rule has to pass it over."""
    import shutil

    root = shutil.copytree(tiny_dataset, out)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()
            if line.strip()]
    source = next(r for r in rows if Path(r["image_path"]).stem == image)
    np.save(root / "mels" / "noise.npy", np.full((80, 896), -0.2, np.float16))
    rows.append({**source, "id": "noise-row", "audio_id": "noise", "mel_path": "mels/noise.npy",
                 "similarity": 0.99})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_a_noise_like_start_is_passed_over_for_the_next_best_clip(tiny_dataset, tmp_path):
    from training.features import read_manifest
    from training.primers import choose_primer_rows, primer_flatness

    data = with_noise_match(tiny_dataset, tmp_path / "data")
    rows = read_manifest(data)
    assert primer_flatness(np.load(data / "mels" / "noise.npy"), 20) == pytest.approx(1.0, abs=1e-4)
    tone = primer_flatness(np.load(data / "mels" / "clip0.npy"), 20)
    assert tone < 0.5  # one partial: far from flat
    by_image = {Path(k).stem: rows[i].audio_id for k, i in choose_primer_rows(rows, 20).items()}
    assert by_image["img0_0"] == "clip0"  # the noise matched better, the tone lends the primer
    naive = {Path(k).stem: rows[i].audio_id
             for k, i in choose_primer_rows(rows, 20, flatness_quantile=None).items()}
    assert naive["img0_0"] == "noise"
    assert {k: v for k, v in naive.items() if k != "img0_0"} == {
        k: v for k, v in by_image.items() if k != "img0_0"}


def test_a_bundles_bank_is_rebuilt_from_its_own_codebook_by_the_rule(primed, tiny_dataset,
                                                                     tmp_path, capsys):
    from engine import Engine
    from export.primer_bank import main, rebuild_primer_bank

    _, bundle = primed
    data = with_noise_match(tiny_dataset, tmp_path / "data")
    same = rebuild_primer_bank(bundle, data, tmp_path / "same")
    assert same == {"changed": 0, "images": 12}
    np.testing.assert_array_equal(np.load(tmp_path / "same" / "primer_codes.npy"),
                                  np.load(bundle / "primer_codes.npy"))  # the run's own codes
    naive = rebuild_primer_bank(bundle, data, tmp_path / "naive", flatness_quantile=None)
    assert naive["changed"] == 1
    listing = json.loads((tmp_path / "naive" / "primers.json").read_text())
    assert {e["image"]: e["clip"] for e in listing["primers"]}["img0_0"] == "noise"
    engine = Engine.load(tmp_path / "naive", providers="cpu", warmup=False)  # re-hashed
    assert engine.manifest.provenance["primer_bank"]["changed"] == 1
    assert main(["--bundle", str(bundle), "--data", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "x")]) == 1
    assert "error" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["--bundle", str(tmp_path / "no-bundle"), "--data", str(data)]) == 1
    assert "is not a model bundle" in capsys.readouterr().err  # a message, not a traceback


def test_a_bundles_bank_is_rebuilt_with_a_longer_primer(primed, tiny_dataset, tmp_path):
    """--frames: the same clips, more of each teacher-forced; the manifest, listing and codes
    agree, and the engine primes with every frame (a longer primer changes the piece)."""
    from engine import Engine
    from export.errors import ExportError
    from export.primer_bank import rebuild_primer_bank

    _, bundle = primed
    report = rebuild_primer_bank(bundle, tiny_dataset, tmp_path / "long", frames=60)
    assert report == {"changed": 0, "images": 12}
    short_codes = np.load(bundle / "primer_codes.npy")
    long_codes = np.load(tmp_path / "long" / "primer_codes.npy")
    assert long_codes.shape == (12, 60, 2)
    np.testing.assert_array_equal(long_codes[:, :20], short_codes)  # the same clips' starts
    assert json.loads((tmp_path / "long" / "primers.json").read_text())["frames"] == 60
    short, long = (Engine.load(path, providers="cpu", warmup=False)
                   for path in (bundle, tmp_path / "long"))
    assert long.manifest.decoder.primer_frames == 60
    assert long.manifest.provenance["primer_bank"]["frames"] == 60
    image = long.encode_image(np.full((48, 64, 3), (40, 60, 200), np.uint8))
    text = long.encode_text("Art Commentary: a blue evening. Painting Emotion: calm.")
    assert long.primer_codes(image).shape == (60, 2)
    assert not np.allclose(long.generate_mel(image, text, seed=3),
                           short.generate_mel(image, text, seed=3))
    for frames in (0, 10_000):  # none at all, longer than the clips
        with pytest.raises(ExportError, match="frame"):
            rebuild_primer_bank(bundle, tiny_dataset, tmp_path / f"bad{frames}", frames=frames)
        assert not (tmp_path / f"bad{frames}").exists()


def test_a_bundles_sampling_knobs_are_reset_without_the_run(primed, tmp_path, capsys):
    """export.sampling: the repetition prior re-weighted in the manifest only (every graph and
    bank file the same bytes), recorded in the provenance, and the engine samples by it."""
    import shutil

    from engine import Engine
    from engine.bundle import Bundle
    from export.errors import ExportError
    from export.sampling import main, resample_bundle

    _, bundle = primed
    changed = resample_bundle(bundle, tmp_path / "strong", repeat=(6.0, 4.0))
    assert changed == {"repeat": [[3.0, 2.0], [6.0, 4.0]]}
    before, after = Bundle.open(bundle).manifest, Bundle.open(tmp_path / "strong").manifest
    assert after.decoder.repeat == (6.0, 4.0) and after.decoder.temperatures == (1.0, 0.9)
    assert after.files == before.files
    assert after.provenance["sampling"] == [{"repeat": {"was": [3.0, 2.0], "now": [6.0, 4.0]}}]
    weak, strong = (Engine.load(path, providers="cpu", warmup=False)
                    for path in (bundle, tmp_path / "strong"))
    image = strong.encode_image(np.full((48, 64, 3), (220, 200, 60), np.uint8))
    text = strong.encode_text("Art Commentary: a yellow field. Painting Emotion: joy.")
    assert not np.allclose(strong.generate_mel(image, text, seed=2),
                           weak.generate_mel(image, text, seed=2))
    assert resample_bundle(tmp_path / "strong", repeat=(6.0, 4.0)) == {}  # nothing to record
    assert len(Bundle.open(tmp_path / "strong").manifest.provenance["sampling"]) == 1
    with pytest.raises(ExportError, match="per codebook stage"):
        resample_bundle(bundle, tmp_path / "bad", temperatures=(1.0,))
    assert not (tmp_path / "bad").exists()
    plain = Path(shutil.copytree(bundle, tmp_path / "plain"))
    raw = json.loads((plain / "manifest.json").read_text())
    raw["decoder"]["repeat"] = []
    (plain / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="without a repetition prior"):
        resample_bundle(plain, repeat=(1.0, 1.0))
    assert main(["--bundle", str(tmp_path / "nowhere"), "--repeat", "1,1"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["--bundle", str(tmp_path / "strong"), "--temperatures", "0.9,0.9"]) == 0
    assert "temperatures [1.0, 0.9] → [0.9, 0.9]" in capsys.readouterr().out
