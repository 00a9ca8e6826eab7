"""scribe.adapt: a person's lines in, an adapted safe checkpoint out (tiny random models)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from scribe.adapt import (AdaptError, AdaptOptions, adapt, prepare_lines, primed_nll_per_point, save_adapted)
from scribe.checkpoint import load_checkpoint, save_shipped
from scribe.hand import Hand
from scribe.request import LineSpec

from helpers import MAX_STEPS, ROOT, synthetic_offsets, tiny_checkpoint

TEXTS = ["hello there", "quick fox", "a line of ink", "more words", "the end", "pen up"]


def person(n=6):
    """n lines of one synthetic 'writer': the same loops, each with its own noise."""
    return [(TEXTS[i % len(TEXTS)], synthetic_offsets(n_strokes=5, points=12, seed=100 + i)) for i in range(n)]


def test_options_are_checked_with_messages_that_name_the_field():
    for bad, field in [(dict(minutes=0), "minutes"), (dict(minutes=float("nan")), "minutes"),
                       (dict(minutes=600), "minutes"), (dict(max_steps=2.5), "max_steps"),
                       (dict(lr="fast"), "lr"), (dict(train="some"), "train"), (dict(seed=-1), "seed")]:
        with pytest.raises(AdaptError, match=field):
            AdaptOptions(**bad)


def test_bad_lines_get_clear_errors():
    ck = tiny_checkpoint()
    a, s = ck.alphabet, ck.stats
    with pytest.raises(AdaptError, match="at least 5"):
        prepare_lines(person(4), a, s)
    lines = person()
    lines[2] = ("caf\u00e9 \u20ac", lines[2][1])
    with pytest.raises(AdaptError, match="line 3: this model cannot learn"):
        prepare_lines(lines, a, s)
    lines = person()
    lines[1] = ("a much longer sentence than this little bit of ink could ever say", lines[1][1][:20])
    with pytest.raises(AdaptError, match="line 2: the ink is too short for its text"):
        prepare_lines(lines, a, s)
    lines = person()
    lines[0] = ("   ", lines[0][1])
    with pytest.raises(AdaptError, match="line 1: type the text"):
        prepare_lines(lines, a, s)
    lines = person()
    lines[4] = ("pen up", [[[0.0, 0.0], [float("nan"), 1.0]]])
    with pytest.raises(AdaptError, match="line 5: .*finite"):
        prepare_lines(lines, a, s)
    with pytest.raises(AdaptError, match="pairs"):
        prepare_lines("hello", a, s)


def test_adaptation_lowers_the_held_out_nll_and_writes_a_safe_self_describing_checkpoint(tmp_path):
    torch.set_num_threads(1)
    base = tiny_checkpoint()
    seen = []
    result = adapt(base, person(), AdaptOptions(max_steps=30, lr=3e-3, eval_every=5, patience=100),
                   on_progress=lambda *a: seen.append(a))
    rec = result.record
    assert rec["steps"] == 30 and rec["lines"] == 6 and rec["held_out"] == TEXTS[5]
    assert rec["held_out_nll"]["adapted"] < rec["held_out_nll"]["base"] - 0.05
    assert [s[0] for s in seen] == [0, 5, 10, 15, 20, 25, 30]
    # the weights moved, and the base checkpoint's own weights did not
    moved = [k for k in base.model_state if not torch.equal(base.model_state[k], result.checkpoint.model_state[k])]
    assert moved
    path = save_adapted(result, tmp_path / "mine.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.config == base.config and loaded.alphabet == base.alphabet and loaded.stats == base.stats
    assert loaded.train_config["adaptation"]["texts"] == TEXTS
    # the saved (half-precision) model gives the held-out NLL the record claims
    pairs = [tuple(prepare_lines(person(), base.alphabet, base.stats)[k] for k in (0, 5))]
    nll = primed_nll_per_point(loaded.build_model(), pairs, base.alphabet.encode_separator())
    assert nll == pytest.approx(rec["held_out_nll"]["adapted"], abs=0.02)
    with pytest.raises(AdaptError, match="safetensors"):
        save_adapted(result, tmp_path / "mine.pt")


def test_bias_only_training_leaves_the_matrices_alone():
    base = tiny_checkpoint()
    result = adapt(base, person(), AdaptOptions(max_steps=5, lr=1e-2, train="bias", eval_every=1, patience=100))
    changed = {k for k in base.model_state if not torch.equal(base.model_state[k], result.checkpoint.model_state[k])}
    assert changed and all("bias" in k or k.startswith("output.") for k in changed)


def test_stop_ends_the_run_and_keeps_the_best_weights():
    calls = []
    result = adapt(tiny_checkpoint(), person(), AdaptOptions(max_steps=1000, eval_every=1),
                   stop=lambda: calls.append(1) or len(calls) > 3)
    assert result.record["steps"] == 3


def test_hand_adapt_saves_the_model_and_the_persons_style(tmp_path, tiny_ckpt_path):
    hand = Hand.load(tiny_ckpt_path)
    result, style_id = hand.adapt(person(), AdaptOptions(max_steps=3, eval_every=1), out=tmp_path / "me.safetensors",
                                  style_dir=tmp_path / "styles")
    assert (tmp_path / "me.safetensors").is_file() and style_id is not None
    mine = Hand.load(tmp_path / "me.safetensors", style_dir=tmp_path / "styles")
    doc = mine.write([LineSpec("hello", style=style_id)], seed=1, max_steps=MAX_STEPS)
    assert doc.lines[0] is not None and len(doc.lines[0].offsets) > 0
    assert mine.styles.get(style_id).text == TEXTS[0]


def test_cli_adapts_from_ink_files(tmp_path, tiny_ckpt_path):
    files = []
    for i, (text, offsets) in enumerate(person()):
        pts = np.cumsum(offsets[:, :2], axis=0) * [1, -1]
        strokes, cur = [], []
        for p, end in zip(pts.tolist(), offsets[:, 2]):
            cur.append(p)
            if end > 0.5:
                strokes.append(cur)
                cur = []
        f = tmp_path / f"line{i}.json"
        f.write_text(json.dumps(strokes))
        files.append(str(f))
    texts = sum((["--text", t] for t, _ in person()), [])
    out = tmp_path / "me.safetensors"
    cmd = [sys.executable, "-m", "scribe.adapt", "--ink", *files, *texts, "--out", str(out), "--checkpoint",
           str(tiny_ckpt_path), "--max_steps", "4", "--style_dir", str(tmp_path / "styles")]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Adapted on 5 lines" in r.stdout and out.is_file()
    assert load_checkpoint(out).train_config["adaptation"]["steps"] == 4
    r = subprocess.run(cmd[:5] + ["--text", "one", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_shapes_training_keeps_layer_one_and_the_window():
    base = tiny_checkpoint()
    result = adapt(base, person(), AdaptOptions(max_steps=5, lr=1e-2, train="shapes", eval_every=1, patience=100))
    changed = {k for k in base.model_state if not torch.equal(base.model_state[k], result.checkpoint.model_state[k])}
    assert changed and all(k.startswith(("upper.", "output.")) for k in changed)


def test_several_held_out_lines_choose_the_weights_and_too_many_are_refused(tiny_ckpt_path):
    from scribe.adapt import AdaptError, AdaptOptions, adapt
    from scribe.checkpoint import load_checkpoint
    from helpers import synthetic_offsets
    ckpt = load_checkpoint(tiny_ckpt_path)
    lines = [(t, synthetic_offsets(seed=i)) for i, t in enumerate(["hello there", "quick fox", "a line of ink",
                                                                 "another one", "the last two", "held out too"])]
    result = adapt(ckpt, lines, AdaptOptions(max_steps=4, eval_every=2, held_out=2))
    assert result.record["held_out"] == ["the last two", "held out too"]
    with pytest.raises(AdaptError, match="too few to learn from"):
        adapt(ckpt, lines, AdaptOptions(max_steps=4, held_out=3))
    with pytest.raises(AdaptError, match="held_out must be a whole number"):
        AdaptOptions(held_out=0)


def test_primed_fit_learns_the_lines_as_a_style_writes_them_after_its_own_primes():
    torch.set_num_threads(1)
    base = tiny_checkpoint()
    primes = [("pen down", synthetic_offsets(n_strokes=5, points=12, seed=90 + i)) for i in range(2)]
    result = adapt(base, person(), AdaptOptions(max_steps=20, lr=3e-3, eval_every=5, patience=100, primed=True),
                   primes=primes)
    rec = result.record
    assert rec["primed"] is True and rec["primes"] == 2
    # what it fits is each training line after one of the primes, as sampling writes it: that NLL falls
    a, s = base.alphabet, base.stats
    prime_lines = prepare_lines(primes * 3, a, s)[:2]
    train = prepare_lines(person(), a, s)[:-1]
    pairs = [(p, t) for p in prime_lines for t in train]
    sep = a.encode_separator()
    before = primed_nll_per_point(base.build_model(), pairs, sep)
    after = primed_nll_per_point(result.checkpoint.build_model(), pairs, sep)
    assert after < before - 0.05
    # the held-out line is checked after each prime, and the record's figure is that check
    held = prepare_lines(person(), a, s)[-1]
    check = primed_nll_per_point(result.checkpoint.build_model(), [(p, held) for p in prime_lines], sep)
    assert check == pytest.approx(rec["held_out_nll"]["adapted"], abs=1e-4)
    with pytest.raises(AdaptError, match="line 1: type the text"):
        adapt(base, person(), AdaptOptions(max_steps=1, primed=True), primes=[("  ", primes[0][1])])
    with pytest.raises(AdaptError, match="primed must be true or false"):
        AdaptOptions(primed="yes")


def test_primed_fit_without_primes_primes_each_line_by_another_of_the_persons():
    from scribe.adapt import _prime_for
    result = adapt(tiny_checkpoint(), person(), AdaptOptions(max_steps=3, eval_every=1, primed=True))
    assert result.record["primed"] is True and result.record["primes"] == 0 and result.record["steps"] == 3
    train, rng = list("abcde"), np.random.default_rng(0)
    for k in range(5):      # never the line itself, and every other line in time
        assert {_prime_for(k, train, [], rng) for _ in range(200)} == set(train) - {train[k]}
    assert {_prime_for(0, train, ["p", "q"], rng) for _ in range(50)} == {"p", "q"}
