"""The legibility check (scribe.candidates): N candidates per line, read back, the best kept."""
import numpy as np
import pytest
import torch

from helpers import MAX_STEPS, tiny_checkpoint
from scribe import candidates as cand
from scribe.hand import Hand
from scribe.errors import InputError
from scribe.request import LineSpec
from scribe.model import MixtureParams, mixture_nll
from scribe.sampling import LineRequest, SampledLine


class ReadByLength:
    """A stand-in reader whose reading depends on the ink: the text if the line has an even number
    of points, else the text with its last word dropped. So which candidate wins is known."""

    def __init__(self, texts):
        self.texts, self.calls = texts, 0

    def read(self, lines):
        self.calls += 1
        out = []
        for o in lines:
            text = self.texts[len(o)] if len(o) in self.texts else "?"
            out.append(text)
        return out


def fake_line(n: int) -> SampledLine:
    return SampledLine(np.zeros((n, 3), np.float32), n, False, 1.0)


def later_is_likelier():
    """A likelihood function for choose (later candidates are likelier), and the (line, candidate)
    pairs it was asked about."""
    asked = []

    def likelihood(pairs):
        asked.extend(pairs)
        return [-float(j) for _, j in pairs]

    return likelihood, asked


def test_check_candidates_accepts_1_to_16_and_names_the_range():
    assert cand.check_candidates(1) == 1 and cand.check_candidates("16") == 16 and cand.check_candidates(4.0) == 4
    for bad in (0, 17, -3, 2.5, "many", None):
        with pytest.raises(InputError, match="from 1 to 16"):
            cand.check_candidates(bad)


def test_line_score_counts_dropped_words_and_trailing_marks():
    assert cand.line_score("hello world", "hello world") == (0.0, True)
    cer, whole = cand.line_score("hello", "hello world")
    assert cer == pytest.approx(6 / 11) and not whole
    cer, whole = cand.line_score("hello world.", "hello world")
    assert cer == pytest.approx(1 / 11) and not whole
    cer, whole = cand.line_score("hallo world", "hello world")   # same length: a misread letter, but whole
    assert cer == pytest.approx(1 / 11) and whole
    assert cand.line_score("Mr . Foot", "Mr. Foot")[0] == 0.0        # IAM spacing is not an error


def test_rank_lowest_cer_then_whole_then_likelihood():
    assert cand.rank([0.3, 0.1, 0.2], [True] * 3) == 1
    assert cand.rank([0.1, 0.1], [False, True]) == 1          # reads whole beats shorter/longer at equal CER
    assert cand.rank([0.0, 0.0, 0.0], [True] * 3, [2.0, -1.0, 0.5]) == 1
    assert cand.rank([0.0, 0.2], [False, True], [5.0, -9.0]) == 0   # CER comes first


def test_choose_keeps_the_candidate_that_reads_as_its_text_and_asks_likelihood_only_for_ties():
    reader = ReadByLength({3: "the cat", 4: "the cat sat", 5: "the cat sat", 6: "a dog", 7: "a dig"})
    likelihood, asked = later_is_likelier()
    lines = [[fake_line(3), fake_line(4), fake_line(5)], [fake_line(7), fake_line(6)]]
    chosen, cers, readings, _ = cand.choose(["the cat sat", "a dog"], lines, reader, likelihood)
    assert chosen == [2, 1] and cers == [0.0, 0.0] and readings == ["the cat sat", "a dog"]
    assert asked == [(0, 1), (0, 2)]              # line 1 had no tie: no likelihood pass for it
    assert reader.calls == 1                      # every candidate of every line read in one call


def test_mean_nll_is_the_models_own_teacher_forced_likelihood():
    hand = Hand(tiny_checkpoint(), None, fast=False)
    enc = hand.alphabet.encode("hello")
    rng = np.random.default_rng(0)
    offsets = [rng.normal(0, 20, (n, 3)).astype(np.float32) for n in (9, 5)]
    for o in offsets:
        o[:, 2] = rng.random(len(o)) < 0.2
    got = cand.mean_nll(hand.sampler, [LineRequest(enc), LineRequest(enc)], offsets)
    model = hand.model
    for o, g in zip(offsets, got):
        target = torch.from_numpy(hand.stats.normalise(o)).unsqueeze(0)
        inputs = torch.cat([torch.tensor([[[0.0, 0.0, 1.0]]]), target[:, :-1]], 1)
        text = torch.tensor([enc + [0]])
        with torch.no_grad():
            want = mixture_nll(MixtureParams(model(inputs, text), model.config.mixtures), target).mean()
        assert g == pytest.approx(float(want), rel=1e-4)
    fast = Hand(tiny_checkpoint(), None, fast=True)
    assert cand.mean_nll(fast.sampler, [LineRequest(enc), LineRequest(enc)], offsets) == pytest.approx(got, rel=1e-4)


def test_mean_nll_of_a_primed_line_starts_from_the_primed_state(tiny_ckpt_path, tiny_style_dir):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    enc = hand.alphabet.encode("quick")
    primed = hand.primed(1)
    state, prime, prime_enc = primed.state, primed.prime, primed.encoded
    req = LineRequest(enc, prime=prime, prime_encoded=prime_enc)
    o = np.random.default_rng(1).normal(0, 20, (7, 3)).astype(np.float32)
    o[:, 2] = [0, 0, 1, 0, 0, 0, 1]
    got = cand.mean_nll(hand.sampler, [req, LineRequest(enc)], [o, o])
    # The reference: step the model through the candidate's points as the sampler starts a primed
    # line: layers 2..N from the cached primed state, layer 1 and the window afresh on the new text.
    from scribe.sampling import LAYER1_STATE
    model, sampler = hand.model, hand.sampler
    p_state, _ = state
    onehot = model.text_onehot(torch.tensor([enc + [0]]))
    st = model.initial_state(1)[:LAYER1_STATE] + [t.clone() for t in p_state[LAYER1_STATE:]]
    x, total = torch.tensor([[0.0, 0.0, 1.0]]), 0.0
    target = torch.from_numpy(hand.stats.normalise(o))
    with torch.no_grad():
        for t in range(len(o)):
            out, st, _ = sampler.step_fn(x, st, onehot)
            total += float(mixture_nll(MixtureParams(out, model.config.mixtures), target[t:t + 1]))
            x = target[t:t + 1]
    assert got[0] == pytest.approx(total / len(o), rel=1e-4)
    assert abs(got[0] - got[1]) > 1e-3          # priming really changed the likelihood
    # From the cached primed state (no prime ink read again): the same figures.
    from scribe.model import carried_after_prime
    fast = cand.mean_nll(hand.sampler, [req, LineRequest(enc)], [o, o], carried=[carried_after_prime(p_state), None])
    assert fast == pytest.approx(got, rel=1e-4)


def _hand_with_reader(tiny_ckpt_path, tiny_style_dir, reader):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    hand._readers[str(None)] = (reader, "")
    return hand


def ink_end(o) -> float:
    return round(float(np.asarray(o)[:, 0].sum()), 3)


class PrefersShort:
    """Reads a line as its text only if it ends leftmost (the shortest ink) of its candidates."""

    def __init__(self, texts):
        self.texts = texts

    def read(self, lines):
        n = len(lines) // len(self.texts)
        self.groups = [[ink_end(o) for o in lines[i * n:(i + 1) * n]] for i in range(len(self.texts))]
        out = []
        for k, o in enumerate(lines):
            i = k // n
            out.append(self.texts[i] if ink_end(o) == min(self.groups[i]) else self.texts[i] + " xx")
        return out


def test_write_with_candidates_keeps_the_best_and_reports_it(tiny_ckpt_path, tiny_style_dir):
    texts = ["hello", "pen up"]
    hand = _hand_with_reader(tiny_ckpt_path, tiny_style_dir, PrefersShort(texts))
    specs = [LineSpec(texts[0], 0), LineSpec(""), LineSpec(texts[1], None, 1.0)]
    batch = hand.sample_candidates(hand.check(specs), 4, seed=3, max_steps=MAX_STEPS)
    check = cand.LegibilityCheck(4)
    lines = hand.choose_candidates(specs, batch, hand._readers[str(None)][0], check)
    assert check.ran and check.lines_checked == 2 and check.cer == 0.0 and check.poor_lines == []
    assert check.line_cers[1] is None and check.drawn == 8 and "2 lines checked, 4 candidates" in check.summary()
    # The kept candidate of each line is the shortest of its four (the one PrefersShort reads right).
    reader = hand._readers[str(None)][0]
    assert [ink_end(lines[0].offsets), ink_end(lines[2].offsets)] == [min(g) for g in reader.groups]
    assert any(len(set(g)) > 1 for g in reader.groups)     # the candidates really differ


def test_the_check_chooses_as_the_fixed_check_when_no_line_reads_exactly(tiny_ckpt_path, tiny_style_dir):
    # The tiny model's lines never read as their text, so no line stops early: the check draws all
    # N candidates of every line (the same draws as one fixed batch of that seed) and keeps the same.
    texts = ["hello", "pen up"]
    hand = _hand_with_reader(tiny_ckpt_path, tiny_style_dir, PrefersShort(texts))
    specs = [LineSpec(texts[0], 0), LineSpec(""), LineSpec(texts[1], None, 1.0)]
    doc = hand.write(specs, seed=3, max_steps=MAX_STEPS, candidates=4)
    check = doc.legibility
    assert check.ran and check.drawn == 8 and check.line_cers[1] is None
    assert "2 lines checked, 4 candidates at most (8 drawn)" in check.summary()
    batch = hand.sample_candidates(hand.check(specs), 4, seed=3, max_steps=MAX_STEPS)
    fixed = hand.choose_candidates(specs, batch, hand._readers[str(None)][0], cand.LegibilityCheck(4))
    for a, b in zip(doc.lines, fixed):
        assert (a is None and b is None) or np.array_equal(a.offsets, b.offsets)
    again = hand.write(specs, seed=3, max_steps=MAX_STEPS, candidates=4)   # same seed, same ink
    for a, b in zip(doc.lines, again.lines):
        assert (a is None and b is None) or np.array_equal(a.offsets, b.offsets)


def test_poor_lines_are_named_by_number(tiny_ckpt_path, tiny_style_dir):
    class Garbles:
        def read(self, lines):
            return ["zzzz"] * len(lines)
    hand = _hand_with_reader(tiny_ckpt_path, tiny_style_dir, Garbles())
    doc = hand.write([LineSpec("hello"), LineSpec("quick fox")], seed=1, max_steps=MAX_STEPS, candidates=2)
    assert doc.legibility.poor_lines == [0, 1]
    assert "lines 1, 2 still read poorly" in doc.legibility.summary()
    assert doc.legibility.to_dict()["poor_lines"] == [1, 2]


@pytest.mark.parametrize("content, why", [(None, "is missing"), (b"not a safetensors file", "is corrupt")])
def test_missing_or_corrupt_reader_writes_without_the_check_and_says_so(tiny_ckpt_path, tiny_style_dir,
                                                                      tmp_path, content, why):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    hand.reader_path = tmp_path / "reader.safetensors"
    if content is not None:
        hand.reader_path.write_bytes(content)
    doc = hand.write([LineSpec("hello")], seed=2, max_steps=MAX_STEPS, candidates=4)
    plain = hand.write([LineSpec("hello")], seed=2, max_steps=MAX_STEPS, candidates=1)
    assert np.array_equal(doc.lines[0].offsets, plain.lines[0].offsets)   # written as with N = 1
    summary = doc.legibility.summary()
    assert not doc.legibility.ran and why in summary and "reader.safetensors" in summary
    assert str(tmp_path) not in summary                                    # no server path shown


@pytest.mark.parametrize("bad", [17, 0, 2.5, "many"])
def test_out_of_range_candidates_writes_without_the_check_and_says_why(tiny_ckpt_path, tiny_style_dir, bad):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    doc = hand.write([LineSpec("hello")], seed=1, max_steps=MAX_STEPS, candidates=bad)
    plain = hand.write([LineSpec("hello")], seed=1, max_steps=MAX_STEPS, candidates=1)
    assert np.array_equal(doc.lines[0].offsets, plain.lines[0].offsets)
    assert not doc.legibility.ran and doc.legibility.lines_checked == 0
    assert doc.legibility.summary().startswith("legibility check not run: candidates per line must be a whole "
                                               "number from 1 to 16")
    assert "written without it" in doc.legibility.summary()


def test_paragraph_writer_checks_every_wrapped_line(tiny_ckpt_path, tiny_style_dir):
    from scribe.render.paragraph import ParagraphLayout

    class Reads:
        def read(self, lines):
            return ["hello there"] * len(lines)
    hand = _hand_with_reader(tiny_ckpt_path, tiny_style_dir, Reads())
    text = "hello there\n\nquick fox"
    doc = hand.write_paragraph(text, 0, 1.0, layout=ParagraphLayout(page=None), seed=4, max_steps=MAX_STEPS,
                               candidates=3)
    check = doc.legibility
    assert check.ran and check.lines_checked == sum(1 for t in doc.texts if t)
    assert [c is None for c in check.line_cers] == [not t for t in doc.texts]
    cers = {t: c for t, c in zip(doc.texts, check.line_cers) if t}
    assert cers["hello there"] == 0.0 and cers["quick fox"] > cand.POOR_CER
    assert f"line {doc.texts.index('quick fox') + 1} still reads poorly" in check.summary()
    # what was drawn is counted over the chunks: "quick fox" never reads, so all 3 of its candidates
    assert check.drawn >= 1 + 3 and f"3 candidates at most ({check.drawn} drawn" in check.summary()
    # a paragraph written in several wrap rounds says so, since it may draw more than N per line
    several = cand.LegibilityCheck(4, drawn=32, line_cers=[0.0] * 6, rounds=3)
    assert "6 lines checked, 4 candidates at most (32 drawn over 3 wrap rounds)" in several.summary()
    bad = hand.write_paragraph(text, 0, layout=ParagraphLayout(page=None), seed=4, max_steps=MAX_STEPS,
                               candidates=0)
    assert not bad.legibility.ran and "from 1 to 16" in bad.legibility.summary()


def test_cli_candidates_flag(tiny_ckpt_path, tiny_style_dir, tmp_path):
    import os
    import subprocess
    import sys
    from helpers import ROOT

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "scribe.sample", "--checkpoint", str(tiny_ckpt_path),
                               "--style_dir", str(tiny_style_dir), "--max_steps", "20", "--seed", "1", *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    r = cli("--text", "hello", "--candidates", "3", "--out", str(tmp_path / "a.svg"))
    assert r.returncode == 0, r.stderr
    assert "legibility check: 1 line checked, 3 candidates at most (3 drawn); reader's CER of the chosen ink" in r.stdout
    r = cli("--text", "hello", "--candidates", "1", "--out", str(tmp_path / "b.svg"))
    assert r.returncode == 0 and "legibility" not in r.stdout + r.stderr
    r = cli("--text", "hello", "--candidates", "20", "--out", str(tmp_path / "c.svg"))
    # a flag out of its range is refused before any work, in one line (it was written without the check)
    assert r.returncode == 2 and not (tmp_path / "c.svg").exists()
    assert r.stderr.strip() == ("error: candidates per line must be a whole number from 1 to 16 (1 turns the "
                                "legibility check off); got 20")


def test_the_app_offers_the_legibility_check_in_settings(tmp_path):
    from helpers import tiny_model_files
    from scribe.web import app
    ckpt, styles = tiny_model_files(tmp_path)
    demo = app.build_demo(app.AppSettings(checkpoint=str(ckpt), style_dir=str(styles), max_steps=MAX_STEPS))
    found = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "scribe-candidates"]
    assert len(found) == 1
    control = found[0]
    assert control.label.startswith("Legibility check") and "1 = off" in control.info
    assert (control.minimum, control.maximum, control.value) == (1, 16, cand.APP_CANDIDATES)


@pytest.mark.slow
def test_shipped_model_and_reader_keep_the_candidate_that_reads_best():
    hand = Hand.load()
    specs = hand.check([LineSpec("The quick brown fox jumps.", 3, 1.5), LineSpec("Meet me at noon.", None, 1.5),
                        LineSpec("Report due by 09:00 on March 15th, 1985.", 0, 0.6)])
    batch = hand.sample_candidates(specs, 4, seed=5)
    fixed_check = cand.LegibilityCheck(4)
    hand.choose_candidates(specs, batch, cand.reader_or_reason(None)[0], fixed_check)   # fills fixed_check
    doc = hand.write(specs, seed=5, candidates=4)
    check = doc.legibility
    assert check.ran and check.lines_checked == 3 and check.drawn <= 12
    for i in range(3):
        # the kept ink is one of the fixed batch's candidates of that line (the same draws), and it
        # reads as its text or as well as the fixed check's choice
        assert any(np.array_equal(doc.lines[i].offsets, batch.sampled[j * 3 + i].offsets) for j in range(4))
        assert check.line_cers[i] == 0.0 or check.line_cers[i] <= fixed_check.line_cers[i] + 1e-9
    if check.drawn < 12:     # a line stopped early: it read exactly
        assert 0.0 in check.line_cers


def test_the_readers_tie_break_prefers_the_text_the_ink_says():
    from scribe.recognizer import SHIPPED_RECOGNIZER, load_recognizer
    from scribe.styles import StyleBank
    if not SHIPPED_RECOGNIZER.exists():
        pytest.skip("no shipped reader in this checkout")
    reader, style = load_recognizer(), StyleBank(None).get(3)     # a real writer's line and its text
    ink = style.offsets.astype(np.float32)
    own, other = reader.text_nll([ink, ink], [style.text, "zebra quiz jumps twelve"])
    assert np.isfinite(own) and own < other


def test_the_hands_reader_is_loaded_once_and_a_missing_one_is_named(tmp_path, tiny_ckpt_path):
    hand = Hand.load(tiny_ckpt_path)
    hand.reader_path = tmp_path / "gone" / "reader.safetensors"
    reader, why = hand.reader()
    assert reader is None and "reader.safetensors is missing" in why and "gone" not in why
    rec = tmp_path / "r.safetensors"
    from scribe.alphabet import Alphabet
    from scribe.recognizer import Recognizer
    Recognizer.new(Alphabet("abc "), conv_channels=8, hidden=8, layers=1).save(rec)
    hand.reader_path = rec
    first, why = hand.reader()
    assert first is not None and why == "" and hand.reader()[0] is first
