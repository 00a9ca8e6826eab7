"""The legibility recogniser: features, decoding, CER, safe files, and proof that it really reads."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import synthetic_offsets, tiny_checkpoint
from scribe import ink
from scribe.alphabet import Alphabet
from scribe.checkpoint import save_shipped
from scribe.recognizer import (ARC_STEP, SHIPPED_RECOGNIZER, Recognizer, RecognizerConfig, RecognizerError,
                               canonical, cer, edit_distance, greedy_decode, ink_features, load_recognizer,
                               reading_cer, resample_path)
from scribe.train.train_recognizer import train_steps



# ---- synthetic ink: a few symbols with distinct shapes --------------------------------------------
def _symbol(ch: str, rng) -> list[np.ndarray]:
    """Strokes (y down, ~100 units tall) of one symbol, with a little random jitter."""
    t = np.linspace(0, 1, 12)
    if ch == "o":      # a circle, anticlockwise from the top
        a = 2 * np.pi * t
        s = [np.column_stack([40 * np.sin(a) + 40, -40 * np.cos(a) + 50])]
    elif ch == "l":    # a tall upstroke
        s = [np.column_stack([10 * t + 20, 100 - 200 * t])]
    elif ch == "v":    # down, then up
        s = [np.column_stack([80 * t, 100 - 100 * np.abs(1 - 2 * t)])]
    elif ch == "n":    # an arch
        s = [np.column_stack([80 * t, 100 - 100 * np.sin(np.pi * t)])]
    elif ch == "x":    # two crossing strokes
        h = t[:8]
        s = [np.column_stack([70 * h / h[-1], 100 * h / h[-1]]), np.column_stack([70 * h / h[-1], 100 - 100 * h / h[-1]])]
    else:
        raise ValueError(ch)
    return [p + rng.normal(0, 2.0, p.shape) for p in s]


def synthetic_line(text: str, rng) -> np.ndarray:
    strokes, x = [], 0.0
    for ch in text:
        if ch == " ":
            x += 70
            continue
        for st in _symbol(ch, rng):
            strokes.append(st * rng.uniform(0.85, 1.15) + [x, 0])
        x += 100
    return ink.strokes_to_offsets(strokes)


def random_texts(n: int, rng, symbols="lnovx") -> list[str]:
    out = []
    for _ in range(n):
        words = ["".join(rng.choice(list(symbols), rng.integers(2, 4))) for _ in range(rng.integers(1, 3))]
        out.append(" ".join(words))
    return out


def shuffled(offsets: np.ndarray, rng) -> np.ndarray:
    return offsets[rng.permutation(len(offsets))]


def reversed_ink(offsets: np.ndarray) -> np.ndarray:
    strokes = [s[::-1] for s in ink.offsets_to_strokes(offsets)[::-1]]
    return ink.strokes_to_offsets(strokes)


@pytest.fixture(scope="module")
def trained_on_symbols():
    """A tiny recogniser trained for a few hundred steps on synthetic lines of five symbols."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    alphabet = Alphabet(" lnovx")
    texts = random_texts(400, rng)
    lines = [synthetic_line(t, rng) for t in texts]
    rec = Recognizer.new(alphabet, conv_channels=24, hidden=32, layers=1, features="arc")
    opt = torch.optim.Adam(rec.net.parameters(), lr=3e-3)
    train_steps(rec, lines, [alphabet.encode(t) for t in texts], opt, steps=400, batch_size=16, lr=3e-3,
                rng=rng, augment_ink=False)
    return rec


def test_recogniser_reads_clean_ink_far_better_than_scrambled_ink(trained_on_symbols):
    rec = trained_on_symbols
    rng = np.random.default_rng(123)          # fresh lines, never seen in training
    texts = random_texts(60, rng)
    lines = [synthetic_line(t, rng) for t in texts]
    clean = cer(rec.read(lines), texts)
    scrambled = cer(rec.read([shuffled(o, rng) for o in lines]), texts)
    backwards = cer(rec.read([reversed_ink(o) for o in lines]), texts)
    assert clean < 0.15, clean
    assert scrambled > clean + 0.4, (clean, scrambled)
    assert backwards > clean + 0.3, (clean, backwards)


def test_recogniser_reads_the_same_ink_at_any_scale(trained_on_symbols):
    rng = np.random.default_rng(7)
    texts = random_texts(20, rng)
    lines = [synthetic_line(t, rng) for t in texts]
    scaled = [np.column_stack([o[:, :2] * 3.7, o[:, 2:]]) for o in lines]
    assert trained_on_symbols.read(lines) == trained_on_symbols.read(scaled)


# ---- pieces -------------------------------------------------------------------------------------
def test_features_are_scale_free_and_mark_pen_lifts():
    o = synthetic_offsets(n_strokes=3, points=10)
    f = ink_features(o)
    assert f.shape == (30, 5)
    np.testing.assert_allclose(ink_features(o * np.array([5.0, 5.0, 1.0], np.float32)), f, atol=1e-5)
    # row 0 and each row after an end of stroke are pen-up moves
    assert f[0, 2] == 1 and f[10, 2] == 1 and f[20, 2] == 1 and f[1:10, 2].sum() == 0
    np.testing.assert_array_equal(f[:, 3], o[:, 2])
    assert ink_features(np.zeros((0, 3))).shape[0] >= 1      # an empty generated line still reads
    assert np.isfinite(ink_features(np.zeros((3, 3)))).all()


def test_arc_features_are_scale_free_and_mark_pen_lifts():
    o = synthetic_offsets(n_strokes=3, points=10)
    f = ink_features(o, "arc")
    assert f.shape[1] == 9 and np.isfinite(f).all()
    np.testing.assert_allclose(ink_features(o * np.array([5.0, 5.0, 1.0], np.float32), "arc"), f, atol=1e-4)
    # one pen-up mark per stroke (the first point of each), one end-of-stroke mark per stroke
    assert f[0, 6] == 1 and f[:, 6].sum() == 3 and f[:, 7].sum() == 3
    assert np.all(f[f[:, 6] == 1, 2:6] == 0)                  # a pen-up move has no direction or turn
    # direction features are unit vectors along the ink
    along = (f[:, 6] == 0) & (np.abs(f[:, 2]) + np.abs(f[:, 3]) > 0)
    np.testing.assert_allclose(np.hypot(f[along, 2], f[along, 3]), 1.0, atol=1e-5)
    assert ink_features(np.zeros((0, 3)), "arc").shape[0] >= 1
    assert np.isfinite(ink_features(np.zeros((3, 3)), "arc")).all()


def test_arc_features_do_not_depend_on_how_fast_the_pen_moved():
    """The same path written slowly (every segment split in three, as a slower writer's pen sampled at
    the same rate gives) has the same arc features, to within the resampling's interpolation."""
    o = synthetic_offsets(n_strokes=3, points=30)
    slow_rows = []
    for row in o:
        if row[2] == 0 and len(slow_rows):                    # split pen-down moves only
            slow_rows += [[row[0] / 3, row[1] / 3, 0.0]] * 3
        else:
            slow_rows.append(list(row))
    slow = np.array(slow_rows, np.float32)
    assert len(slow) > 2.5 * len(o)
    fast_f, slow_f = ink_features(o, "arc"), ink_features(slow, "arc")
    assert abs(len(fast_f) - len(slow_f)) <= 3
    n = min(len(fast_f), len(slow_f))
    assert np.abs(fast_f[:n, 8] - slow_f[:n, 8]).mean() < 0.05     # height above the baseline
    # whereas the raw offsets the earlier readers saw change length with the pen's speed
    assert len(ink_features(slow)) > 2.5 * len(ink_features(o))


def test_resample_path_keeps_stroke_ends_and_steps_no_longer_than_asked():
    pts = np.array([[0, 0], [10, 0], [10, 0], [10, 7], [50, 50], [53, 54]], float)   # a repeat, a dot
    out, eos = resample_path(pts, np.array([3, 4, 5]), step=2.0)
    strokes = np.split(out, np.nonzero(eos)[0][:-1] + 1)
    assert len(strokes) == 3 and eos[-1] == 1 and eos.sum() == 3
    np.testing.assert_allclose(strokes[0][[0, -1]], [[0, 0], [10, 7]])
    assert np.hypot(*np.diff(strokes[0], axis=0).T).max() <= 2.0 + 1e-9
    assert len(strokes[0]) == 10                              # 17 units of path in steps of at most 2
    np.testing.assert_allclose(strokes[1], [[50, 50]])       # a one-point stroke (a dot) stays one point
    assert len(strokes[2]) == 1


def test_a_reader_knows_its_features_and_older_files_read_as_offsets(tmp_path):
    rec = Recognizer.new(Alphabet("abc "), conv_channels=8, hidden=8, layers=1, features="arc")
    back = load_recognizer(rec.save(tmp_path / "arc.safetensors"))
    assert back.net.config.features == "arc" and back.net.conv[0].in_channels == 9
    older = {k: v for k, v in rec.net.config.to_dict().items() if k != "features"}
    assert RecognizerConfig.from_dict(older).features == "offsets"
    with pytest.raises(ValueError, match="features must be one of"):
        Recognizer.new(Alphabet("abc "), features="speed")
    assert 0 < ARC_STEP < 0.5


def test_features_do_not_see_where_a_line_starts():
    """A sampled line's first offset is a pen-up move to where its ink starts, which no page shows
    (real lines have it zeroed): the reader must read the same features whatever it is."""
    o = synthetic_offsets(n_strokes=3, points=10)
    moved = o.copy()
    moved[0, :2] = [900.0, -450.0]
    np.testing.assert_array_equal(ink_features(moved), ink_features(o))
    np.testing.assert_array_equal(ink_features(moved, "arc"), ink_features(o, "arc"))
    assert moved[0, 0] == 900.0                                # the caller's ink is left as it was


def test_greedy_decoding_merges_repeats_and_drops_blanks():
    frames = [0, 3, 3, 0, 3, 1, 1, 0, 0, 2]
    logp = torch.full((1, len(frames), 4), -10.0)
    logp[0, torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    assert greedy_decode(logp, torch.tensor([len(frames)])) == [[3, 3, 1, 2]]
    assert greedy_decode(logp, torch.tensor([4])) == [[3]]


def test_edit_distance_and_cer():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert cer(["abc", "xyz"], ["abc", "xy"]) == pytest.approx(1 / 5)


def test_reading_cer_ignores_iam_spacing_around_punctuation_only():
    assert canonical("Mr . Foot ' s line , too .") == "Mr.Foot's line,too."
    assert reading_cer(["Mr. Foot's line, too."], ["Mr . Foot ' s line , too ."]) == 0.0
    assert reading_cer(["the cat"], ["thecat"]) > 0       # a missing word space still counts
    assert reading_cer(["Mr, Foot"], ["Mr . Foot"]) > 0   # so does wrong punctuation


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(1)
    rec = Recognizer.new(Alphabet("abc "), conv_channels=8, hidden=8, layers=2)
    rec.metrics = {"real_cer": 0.25}
    path = rec.save(tmp_path / "r.safetensors")
    back = load_recognizer(path)
    assert back.alphabet == rec.alphabet and back.metrics == {"real_cer": 0.25}
    assert back.net.config == rec.net.config
    lines = [synthetic_offsets(seed=s) for s in range(3)]
    with torch.no_grad():
        feats = torch.from_numpy(ink_features(lines[0]))[None]
        a, _ = rec.net.eval()(feats, torch.tensor([len(feats[0])]))
        b, _ = back.net(feats, torch.tensor([len(feats[0])]))
    assert torch.allclose(a, b, atol=2e-2)   # half-precision weights


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(RecognizerError, match="train_recognizer.py"):
        load_recognizer(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(RecognizerError, match="not a readable"):
        load_recognizer(junk)
    synth = tmp_path / "synth.safetensors"
    save_shipped(tiny_checkpoint(), synth)
    with pytest.raises(RecognizerError, match="not a Scribe recogniser"):
        load_recognizer(synth)
    # a recogniser file whose weights do not fit its config, or whose alphabet is missing: named, no folder
    from scribe.files import load_tagged, save_tagged
    good = Recognizer.new(Alphabet("abc "), conv_channels=8, hidden=8, layers=1).save(tmp_path / "good.safetensors")
    tensors, meta = load_tagged(good, "scribe-recognizer")
    for name, (t, m) in {"short.safetensors": (dict(list(tensors.items())[1:]), meta),
                         "noalpha.safetensors": (tensors, {k: v for k, v in meta.items() if k != "alphabet"})}.items():
        save_tagged(tmp_path / name, t, "scribe-recognizer", m)
        with pytest.raises(RecognizerError, match=f"^{name}: metadata or weights are malformed") as e:
            load_recognizer(tmp_path / name)
        assert str(tmp_path) not in str(e.value)


# ---- the committed recogniser on real lines ------------------------------------------------------
@pytest.mark.slow
def test_committed_recogniser_reads_real_lines(iam_dir):
    from scribe.train.prepare_data import parse_args, prepare
    # The first validation forms, prepared from the archives exactly as prepare_data.py prepares them.
    data = prepare(parse_args(["--data_dir", str(iam_dir), "--max_forms", "4"]))
    rec = load_recognizer(SHIPPED_RECOGNIZER)
    assert SHIPPED_RECOGNIZER.stat().st_size < 4_000_000     # the strict reader: 1.44M half-precision weights
    idx = data.indices("valid")[:24]
    assert len(idx) >= 20
    texts = [str(data.texts[i]) for i in idx]
    lines = [data.line(i) for i in idx]
    rng = np.random.default_rng(0)
    real = cer(rec.read(lines), texts)
    scrambled = cer(rec.read([shuffled(o, rng) for o in lines]), texts)
    assert real < 0.5 and real < 0.5 * scrambled, (real, scrambled)
    # its own measurement, stored when it was trained, is on the same scale
    assert 0 < rec.metrics["real_cer"] < 0.6


def test_training_script_resumes_and_writes_a_loadable_file(tmp_path, capsys):
    from helpers import write_tiny_data
    from scribe.train import train_recognizer
    write_tiny_data(tmp_path / "data.npz")
    args = ["--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "rec.safetensors"),
            "--state", str(tmp_path / "state.pt"), "--conv_channels", "8", "--hidden", "8", "--layers", "1",
            "--batch_size", "4"]
    assert train_recognizer.main(args + ["--max_steps", "3"]) == 0
    first = load_recognizer(tmp_path / "rec.safetensors")
    assert first.metrics["steps"] == 3 and first.metrics["real_lines"] == 6
    assert 0 <= first.metrics["real_cer"]
    assert train_recognizer.main(args + ["--max_steps", "5"]) == 0
    assert "Resumed from" in capsys.readouterr().out
    assert load_recognizer(tmp_path / "rec.safetensors").metrics["steps"] == 5
    # a state trained at another size is refused, not silently mixed
    assert train_recognizer.main(args[:-6] + ["--hidden", "12", "--max_steps", "6"]) == 2
    assert "another alphabet or size" in capsys.readouterr().err


def test_training_script_without_data_says_what_to_run(tmp_path, capsys):
    from scribe.train import train_recognizer
    assert train_recognizer.main(["--data", str(tmp_path / "none.npz"), "--state", str(tmp_path / "s.pt")]) == 2
    assert "prepare_data.py" in capsys.readouterr().err


def test_writer_halves_split_by_form_and_cover_every_line():
    from scribe.train.train_recognizer import writer_half
    ids = np.array([f"{f}-{n:02d}" for f in ("a01-000u", "a01-001w", "b02-010x", "c03-020z", "d04-030u",
                                             "e05-040w", "f06-050x", "g07-060z") for n in (1, 2, 3)])
    a, b = writer_half(ids, "half-a"), writer_half(ids, "half-b")
    assert np.array_equal(a, ~b) and 0 < a.sum() < len(ids)
    forms = lambda mask: {i.rpartition("-")[0] for i in ids[mask]}
    assert not forms(a) & forms(b)                           # no page is in both halves
    assert np.array_equal(writer_half(ids[::-1], "half-a"), a[::-1])   # a form's half does not move


def test_recogniser_config_knows_the_lstm_cell_and_defaults_to_gru():
    alphabet = Alphabet(" abc")
    assert isinstance(Recognizer.new(alphabet, conv_channels=4, hidden=4).net.rnn, torch.nn.GRU)
    lstm = Recognizer.new(alphabet, conv_channels=4, hidden=4, cell="lstm")
    assert isinstance(lstm.net.rnn, torch.nn.LSTM)
    logp, n = lstm.net(torch.zeros(2, 12, 5), torch.tensor([12, 9]))
    assert logp.shape[0] == 2 and list(n) == [4, 3]


def test_training_script_warm_starts_from_a_recogniser_file(tmp_path, capsys):
    from helpers import write_tiny_data
    from scribe.train import train_recognizer
    write_tiny_data(tmp_path / "data.npz")
    size = ["--conv_channels", "8", "--hidden", "8", "--layers", "1", "--batch_size", "4"]
    base = ["--data", str(tmp_path / "data.npz"), *size]
    assert train_recognizer.main(base + ["--out", str(tmp_path / "a.safetensors"), "--state",
                                         str(tmp_path / "a.pt"), "--max_steps", "2"]) == 0
    first = load_recognizer(tmp_path / "a.safetensors")
    # zero updates from a warm start: the weights are the first file's (as saved, in half precision)
    assert train_recognizer.main(base + ["--out", str(tmp_path / "b.safetensors"), "--state", str(tmp_path / "b.pt"),
                                         "--init_from", str(tmp_path / "a.safetensors"), "--max_steps", "0",
                                         "--minutes", "0"]) == 0
    assert "Warm start from a.safetensors" in capsys.readouterr().out
    second = load_recognizer(tmp_path / "b.safetensors")
    for k, v in first.net.state_dict().items():
        assert torch.equal(v, second.net.state_dict()[k]), k
    assert second.metrics["init_from"] == "a.safetensors"
    # another size is refused with a message, not a traceback
    assert train_recognizer.main(["--data", str(tmp_path / "data.npz"), "--conv_channels", "8", "--hidden", "12",
                                  "--layers", "1", "--out", str(tmp_path / "c.safetensors"), "--state",
                                  str(tmp_path / "c.pt"), "--init_from", str(tmp_path / "a.safetensors")]) == 2
    assert "another alphabet or size" in capsys.readouterr().err
