"""The quality report (scribe.evaluate) on tiny random models and a tiny synthetic processed dataset."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import WORDS as HELPER_WORDS, TINY_ALPHABET, synthetic_offsets, tiny_checkpoint, write_tiny_data
from scribe import evaluate
from scribe.alphabet import Alphabet
from scribe.dataset import NormStats, ProcessedData
from scribe.recognizer import Recognizer
from scribe.sampling import FINISH_STROKE_STEPS, SampledLine

WORDS = HELPER_WORDS + [evaluate.SENTENCES[0]]      # what write_tiny_data writes


@pytest.fixture()
def inputs(tmp_path, tiny_ckpt_path, tiny_style_dir):
    data = tmp_path / "data.npz"
    write_tiny_data(data)
    rec = tmp_path / "recognizer.safetensors"
    torch.manual_seed(0)
    r = Recognizer.new(Alphabet(TINY_ALPHABET), conv_channels=8, hidden=8, layers=1)
    r.metrics = {"real_cer": 0.9, "train_minutes": 0.0, "parameters": 1}
    r.save(rec)
    return {"checkpoint": tiny_ckpt_path, "data": data, "recognizer": rec, "styles": tiny_style_dir,
            "out": tmp_path / "report"}


def run_cli(inputs, *extra):
    args = ["--checkpoint", str(inputs["checkpoint"]), "--out", str(inputs["out"]), "--data", str(inputs["data"]),
            "--recognizer", str(inputs["recognizer"]), "--style_dir", str(inputs["styles"]),
            "--sentences", "2", "--biases", "0.5", "1.5", "--baseline_lines", "4", *extra]
    return evaluate.main(args)


def test_report_is_written_and_well_formed(inputs, capsys):
    assert run_cli(inputs) == 0
    out = inputs["out"]
    report = json.loads((out / "report.json").read_text())
    for key in ("checkpoint", "nll", "recognizer", "legibility", "completeness", "real_baseline", "settings",
                "images", "lines"):
        assert key in report
    # 2 sentences x (unprimed + 3 styles) x 2 biases
    assert len(report["lines"]) == 16
    assert report["settings"]["styles"] == ["none", 0, 1, 2]
    nll = report["nll"]
    assert nll["lines"] == 6 and nll["skipped_lines"] == 0
    assert np.isfinite(nll["nats_per_line"])
    assert nll["nats_per_line"] == pytest.approx(nll["nats_per_point"] * nll["points_per_line"], rel=1e-4)
    leg = report["legibility"]
    assert leg["real_lines"] == 6 and leg["lines"] == 16
    assert leg["generated_cer"] >= 0 and leg["real_cer"] > 0
    assert leg["ratio"] == pytest.approx(leg["generated_cer"] / leg["real_cer"])
    assert set(leg["by_bias"]) == {"0.5", "1.5"}
    assert set(leg["by_style"]) == {"none", "0", "1", "2"}
    for k in ("ran_past_rate", "hit_cap_rate", "extra_ink_rate", "reads_short_rate"):
        assert 0.0 <= report["completeness"][k] <= 1.0
    # per-line records agree with the summary
    lines = report["lines"]
    assert report["completeness"]["hit_cap_rate"] == pytest.approx(np.mean([ln["hit_cap"] for ln in lines]))
    md = (out / "report.md").read_text()
    for heading in ("# Quality report", "## Validation NLL", "## Legibility", "## Completeness", "## Sample sheet"):
        assert heading in md
    assert "-1096.9" in md and "-1128.2" in md and "resampled" in md
    assert "](sample_sheet.png)" in md and "](examples.png)" in md
    sheet = Image.open(out / "sample_sheet.png")
    sheet.load()
    examples = Image.open(out / "examples.png")
    examples.load()
    assert sheet.size[0] > 100 and sheet.size[1] > 100
    # four rows (no style + 3 styles) make a taller sheet than one row would
    assert sheet.size[1] > 4 * 40
    assert "ratio" in capsys.readouterr().out


def test_report_without_style_bank_notes_it(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr("scribe.styles.SHIPPED_STYLE_DIR", tmp_path / "no-such-styles")
    report = evaluate.evaluate(inputs["checkpoint"], inputs["out"], inputs["data"], inputs["recognizer"],
                               None, biases=(1.0,), n_sentences=1, baseline_lines=2, log=lambda *a: None)
    assert report["settings"]["styles"] == ["none"]
    assert any("style bank" in n for n in report["notes"])


@pytest.mark.parametrize("missing, hint", [("checkpoint", "train/train.py"), ("data", "prepare_data.py"),
                                           ("recognizer", "train_recognizer.py")])
def test_missing_input_says_what_to_run_first(inputs, tmp_path, capsys, missing, hint):
    inputs[missing] = tmp_path / "nope" / "missing.file"
    assert run_cli(inputs) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and hint in err and "Traceback" not in err
    assert not (inputs["out"] / "report.json").exists()


@pytest.mark.parametrize("fast", [True, False])
def test_replayed_attention_matches_the_sampler(tiny_style_dir, fast):
    """The replay sees the window exactly where the sampler saw it: same past-the-end step, primed or not."""
    from scribe.styles import StyleBank
    ckpt = tiny_checkpoint(seed=3)
    model = ckpt.build_model()
    bank = StyleBank(tiny_style_dir)
    jobs = [("hi", None, 0.5), ("abc de", None, 1.0), ("ok", 1, 2.0), ("go on", 2, 0.5), ("yes", 0, 1.0)]
    lines = evaluate.generate(model, ckpt.alphabet, ckpt.stats, jobs, bank, seed=5, fast=fast)
    # Replay by hand: layer 1 and the window start from zero on each line's own text, primed or not
    # (priming carries only layers 2..N, which the window never reads), then see the sampled points.
    traces, encs = [], []
    for (text, style_id, _), ln in zip(jobs, lines):
        enc = ckpt.alphabet.encode(text)
        traces += evaluate.attention_trace(model, [ckpt.stats.normalise(ln.sampled.offsets)[:-1]], [enc])
        encs.append(enc)
    finished = 0
    assert any(ln.style is not None for ln in lines)
    for ln, (focus, past), enc in zip(lines, traces, encs):
        # generate()'s batched replay judged the line from the same window path
        assert len(ln.sampled.offsets) == len(ln.sampled.window) <= ln.sampled.steps
        alone = evaluate.GenLine(ln.text, ln.style, ln.bias, ln.sampled)
        evaluate.judge_line(alone, focus, 0, enc, ckpt.alphabet, model.config.steps_per_char)
        assert (alone.skipped_words, alone.extra_steps) == (ln.skipped_words, ln.extra_steps)
        # the sampler's own record of the window is the replayed path, point for point
        assert len(focus) == len(ln.sampled.offsets)
        np.testing.assert_array_equal(focus, ln.sampled.window)
        if ln.sampled.hit_cap:
            assert not past.any()
            continue
        finished += 1
        if not past.any():
            # the window passed the end as a new stroke began, and the sampler dropped that stroke:
            # the step where it passed is the first one not kept, which the replay does not see
            continue
        first = int(np.argmax(past))
        # the sampler stops within FINISH_STROKE_STEPS of the step where the window passed the end
        assert first <= ln.sampled.steps - 1 <= first + FINISH_STROKE_STEPS
    assert finished > 0


def _judged(focus, text="ab cd ef", steps_per_char=4.0, hit_cap=False):
    alphabet = Alphabet(TINY_ALPHABET)
    enc = alphabet.encode(text)
    ln = evaluate.GenLine(text, None, 0.5, SampledLine(np.zeros((len(focus), 3)), len(focus), hit_cap,
                                                       len(focus) / len(enc)))
    evaluate.judge_line(ln, np.asarray(focus), 0, enc, alphabet, steps_per_char)
    return ln


def test_detectors_on_known_attention_paths():
    text = "ab cd ef"     # positions: a0 b1 _2 c3 d4 _5 e6 f7, past-the-end slot 8
    steady = np.repeat(np.arange(9), 4)[:-2]
    ok = _judged(steady)
    assert (ok.skipped_words, ok.ran_past, ok.extra_ink) == (0, False, False)
    skip = np.repeat([0, 1, 2, 6, 7, 8], 6)  # jumps from the first word straight to the last
    ln = _judged(skip, text)
    assert ln.skipped_words == 1 and ln.ran_past
    lone_punct = np.repeat([0, 1, 2, 4, 5, 6, 7], 5)   # "ab . cd": skips only the lone full stop
    assert _judged(lone_punct, "ab . cd").skipped_words == 0
    fast = np.arange(9)[:8]                  # every char seen, but one step per char
    ln = _judged(fast, text)
    assert ln.skipped_words == 0 and ln.ran_past
    assert not _judged(fast, text, hit_cap=True).ran_past    # a capped line is not judged too fast
    linger = np.concatenate([np.repeat(np.arange(8), 4), np.full(40, 7)])   # scribbles on at the last char
    ln = _judged(linger, text)
    assert ln.extra_ink and not ln.ran_past and ln.extra_steps == 44
    flicker = steady.copy()
    flicker[3] = 7                           # a one-step flicker to the last character early on
    assert not _judged(flicker, text).extra_ink


def test_legibility_check_for_training(tmp_path):
    ckpt = tiny_checkpoint()
    rec = Recognizer.new(ckpt.alphabet, conv_channels=8, hidden=8, layers=1)
    rec.metrics = {"real_cer": 0.5}
    result = evaluate.legibility_check(ckpt.build_model(), ckpt.alphabet, ckpt.stats, rec,
                                       sentences=["hello there"], biases=(1.0,), seed=1)
    assert set(result) >= {"generated_cer", "ratio", "ran_past_rate", "hit_cap_rate", "extra_ink_rate"}
    assert result["ratio"] == pytest.approx(result["generated_cer"] / 0.5)


def test_training_logs_legibility_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from scribe.train import train as train_script
    data = tmp_path / "data.npz"
    write_tiny_data(data)
    rec_path = tmp_path / "rec.safetensors"
    rec = Recognizer.new(Alphabet.from_texts(WORDS), conv_channels=8, hidden=8, layers=1)
    rec.metrics = {"real_cer": 0.5}
    rec.save(rec_path)
    out = tmp_path / "run"
    rc = train_script.main(["--data", str(data), "--out_dir", str(out), "--rnn_size", "8", "--nmixtures", "2",
                            "--nwindow", "2", "--max_steps", "2", "--save_every", "1", "--batch_size", "4",
                            "--compile", "false", "--legibility_every", "2", "--recognizer", str(rec_path),
                            "--log_every", "1"])
    assert rc == 0
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "legibility/cer" in tags and "legibility/ratio" in tags
    # every 2nd checkpoint: checkpoint-2 only
    assert [e.step for e in acc.Scalars("legibility/cer")] == [2]
