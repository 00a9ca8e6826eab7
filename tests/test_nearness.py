"""The check's second question (scribe.nearness): of the candidates that read about as well as the best,
a line in a style keeps the one nearest its style's hand."""
import numpy as np
import pytest

from helpers import MAX_STEPS
from test_candidates import ReadByLength, fake_line, later_is_likelier
from scribe import candidates as cand
from scribe.hand import Hand
from scribe.nearness import NEAR_EDITS, Nearness, nearness_or_reason
from scribe.request import LineSpec
from scribe.styles import Style, StyleBank
from scribe.writer_id import SHIPPED_WRITER_ID, load_writer_id


def test_nearest_of_best_keeps_exact_lines_exact_and_allows_one_more_misread_otherwise():
    assert NEAR_EDITS == 1
    text = "hello world"                                       # 11 characters
    exact = [0.0, 1 / 11, 2 / 11, 0.0]
    assert cand.nearest_of_best(text, exact, [0.1, 0.9, 0.99, 0.2], default=0) == 3   # only exact ones
    assert cand.nearest_of_best(text, exact, [0.5, 0.9, 0.99, 0.5], default=3) == 3   # a tie: reading's pick
    misread = [1 / 11, 2 / 11, 3 / 11]
    assert cand.nearest_of_best(text, misread, [0.1, 0.9, 0.99], default=0) == 1      # one more misread: fair
    assert cand.nearest_of_best(text, misread, [0.1, 0.05, 0.99], default=0) == 0     # two more: never


def test_choose_judges_only_lines_in_a_style_and_says_which_the_hand_changed():
    reader = ReadByLength({3: "the cat sut", 4: "the cot sot", 5: "the cat sut", 6: "a dog", 7: "a dog"})
    likelihood, asked = later_is_likelier()
    lines = [[fake_line(3), fake_line(4), fake_line(5)], [fake_line(6), fake_line(7)]]
    near = [[0.2, 0.9, 0.5], None]                           # line 0 is in a style; line 1 is not
    picked = cand.choose(["the cat sat", "a dog"], lines, reader, likelihood, nearness=near)
    assert picked.index == [1, 1]            # line 0: one more misread letter, but the nearest; line 1: likelihood
    assert picked.by_hand == [True, False]
    assert picked.cers[0] == pytest.approx(2 / 11)
    assert asked == [(0, 0), (0, 2), (1, 0), (1, 1)]        # ties, for reading's own pick (by_hand compares)
    plain = cand.choose(["the cat sat", "a dog"], lines, reader, likelihood)
    assert plain.index == [2, 1] and plain.by_hand == [False, False]


@pytest.mark.skipif(not SHIPPED_WRITER_ID.exists(), reason="no shipped scorer in this checkout")
def test_a_writers_own_line_is_nearer_its_style_than_any_other_style():
    # The shipped bank: 13 writers, 3 real lines each. A style made of a writer's first two lines is
    # nearer that writer's third line than any other writer's two-line style is.
    bank, judge = StyleBank(None), Nearness(load_writer_id())
    two_line = {}
    for s in bank.ids:
        lines = bank.get(s).lines()
        two_line[s] = Style(s, lines[0][0], lines[0][1], more=[lines[1]])
    for s in bank.ids:
        third = bank.get(s).lines()[2][1]
        near = {t: judge.of([third], [style])[0] for t, style in two_line.items()}
        assert max(near, key=near.get) == s, (s, near)
    assert judge.of([third], [None]) == [None]             # the model's own hand: nothing to be near


class NearestIsLongest:
    """A judge that finds the candidate whose ink ends furthest right nearest its style."""

    def __init__(self):
        self.calls = []

    def of(self, inks, styles):
        self.calls.append(len(inks))
        return [None if s is None else float(np.asarray(o)[:, 0].sum()) for o, s in zip(inks, styles)]


class ReadsExactly:
    def read(self, lines):
        return [self.text] * len(lines)


def _hand(tiny_ckpt_path, tiny_style_dir, text, judge):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    reader = ReadsExactly()
    reader.text = text
    hand._readers[str(None)] = (reader, "")
    hand._readers["nearness:None"] = (judge, "")
    return hand


def test_a_line_in_a_style_draws_every_candidate_and_keeps_the_nearest(tiny_ckpt_path, tiny_style_dir):
    judge = NearestIsLongest()
    hand = _hand(tiny_ckpt_path, tiny_style_dir, "hello", judge)
    doc = hand.write([LineSpec("hello", 1)], seed=3, max_steps=MAX_STEPS, candidates=4)
    check = doc.legibility
    # Every candidate reads exactly, yet none ends the line early: all four are drawn and judged.
    assert check.drawn == 4 and judge.calls == [4] and check.cer == 0.0
    batch = hand.sample_candidates(hand.check([LineSpec("hello", 1)]), 4, seed=3, max_steps=MAX_STEPS)
    longest = max(batch.sampled, key=lambda ln: float(ln.model_offsets[:, 0].sum()))
    assert np.array_equal(doc.lines[0].offsets, longest.offsets)       # the same draws; the nearest kept
    specs = hand.check([LineSpec("hello", 1)])
    alone = cand.choose_in_batch(hand, specs, batch, hand._readers[str(None)][0], cand.LegibilityCheck(4))[0]
    assert check.hand_picked == [not np.array_equal(longest.offsets, alone.offsets)]   # against reading's own pick
    # The model's own hand: reading alone, never judged.
    plain = _hand(tiny_ckpt_path, tiny_style_dir, "hello", NearestIsLongest())
    doc = plain.write([LineSpec("hello", None)], seed=3, max_steps=MAX_STEPS, candidates=4)
    assert doc.legibility.by_hand == 0 and plain._readers["nearness:None"][0].calls == []


def test_reading_mid_batch_only_when_every_running_line_could_stop_early():
    # Two lines, two candidates each: row b is line b % 2. Rows 0 and 1 have finished, 2 and 3 run.
    done = np.array([True, True, False, False])
    assert cand.worth_reading(done, 2, {}, set()) == [0, 1]
    # Line 0 is judged by its hand (it cannot stop early): reading now cannot end the batch.
    assert cand.worth_reading(done, 2, {}, set(), can_stop={1}) == []
    # Once line 0's candidates have all finished, line 1's finished one is worth reading.
    done = np.array([True, True, True, False])
    assert cand.worth_reading(done, 2, {}, set(), can_stop={1}) == [1]


def test_the_summary_says_when_the_hand_chose(tiny_ckpt_path, tiny_style_dir):
    judge = NearestIsLongest()
    hand = _hand(tiny_ckpt_path, tiny_style_dir, "hello", judge)
    for seed in range(6):                  # some seed's first candidate is not its longest
        doc = hand.write([LineSpec("hello", 0), LineSpec("hello", 2)], seed=seed, max_steps=MAX_STEPS, candidates=3)
        if doc.legibility.by_hand:
            break
    check = doc.legibility
    assert check.by_hand >= 1 and check.to_dict()["by_hand"] == check.by_hand
    assert "kept a candidate nearer its style's hand that reads about as well" in check.summary()


@pytest.mark.parametrize("content, why", [(None, "is missing"), (b"not a safetensors file", "is corrupt")])
def test_without_the_scorer_lines_are_chosen_by_reading_alone_and_the_check_says_so(
        tiny_ckpt_path, tiny_style_dir, tmp_path, content, why):
    path = tmp_path / "secret-folder" / "hand.safetensors"
    if content is not None:
        path.parent.mkdir()
        path.write_bytes(content)
    judge, reason = nearness_or_reason(path)
    assert judge is None and why in reason and "secret-folder" not in reason
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    hand._readers[str(None)] = (ReadsExactly(), "")
    hand._readers[str(None)][0].text = "hello"
    hand.scorer_path = path
    doc = hand.write([LineSpec("hello", 0)], seed=1, max_steps=MAX_STEPS, candidates=2)
    summary = doc.legibility.summary()
    assert f"chosen by reading alone (the hand scorer's file hand.safetensors {why}" in summary
    assert "secret-folder" not in summary and doc.legibility.by_hand == 0
    # A write with no line in a style never asks for the scorer.
    doc = hand.write([LineSpec("hello", None)], seed=1, max_steps=MAX_STEPS, candidates=2)
    assert doc.legibility.hand_skipped == ""


def test_paragraphs_count_the_lines_the_hand_chose(tiny_ckpt_path, tiny_style_dir):
    hand = _hand(tiny_ckpt_path, tiny_style_dir, "x", NearestIsLongest())
    doc = hand.write_paragraph("hello there quick fox, hello there quick fox again", style=1, seed=2,
                               max_steps=MAX_STEPS, candidates=3)
    check = doc.legibility
    written = [ln for ln in doc.lines if ln is not None]
    assert len(check.hand_picked) == len(check.line_cers) and check.by_hand == sum(check.hand_picked)
    assert len(written) >= 1


def test_the_reports_checked_section_writes_each_style_through_the_check_and_measures_it(tiny_ckpt_path):
    from test_writers import writer_data
    from scribe.checkpoint import load_checkpoint
    from scribe.evaluate import checked_section
    from scribe.style_fidelity import bank_writers
    from scribe.styles import MemoryStyleBank

    data, writer_of_form = writer_data()
    bank = MemoryStyleBank()
    a, b = bank.add("line 0 1 2", data.line(6)), bank.add("line 1 2 0", data.line(20))
    found = bank_writers(bank, data, writer_of_form)

    class WidthScorer:                      # the two writers differ in width (test_writers)
        metrics = {}

        def embed(self, lines):
            w = np.array([np.abs(o[:, 0]).sum() / max(np.abs(o[:, 1]).sum(), 1e-9) for o in lines])
            v = np.column_stack([np.cos(w), np.sin(w)])
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    hand = Hand(load_checkpoint(tiny_ckpt_path), bank)
    reader = ReadsExactly()
    reader.text = "hello"
    hand._readers[str(None)] = (reader, "")
    hand._readers["nearness:None"] = (Nearness(WidthScorer()), "")
    sentences = ["hello", "hello"]
    out = checked_section(hand, WidthScorer(), data, found, [a, b], sentences, 1.0, 3, 3, reader)
    assert out["lines"] == 4 and out["candidates"] == 3 and set(out["per_style"]) == {str(a), str(b)}
    assert 0.0 <= out["rate"] <= 1.0 and out["cer"] == 0.0
    # the same writes, by hand: the section's count of lines the hand chose is theirs
    picked = sum(hand.write([LineSpec(t, st, 1.0) for t in sentences], seed=3 + 7919 * (st + 1),
                            candidates=3).legibility.by_hand for st in (a, b))
    assert out["by_hand"] == picked


def test_the_reports_headline_gives_style_for_first_draws_and_through_the_check():
    from scribe.evaluate import _style_headline
    style = {"by_bias": {"0.75": {"primed": {"vs_ceiling": 0.61}}, "1": {"primed": {"vs_ceiling": 0.7}}},
             "checked": {"bias": 1.0, "vs_ceiling": 0.79}}
    assert _style_headline(style) == ["- Style: primed lines found as their writer **0.70** of the rate of the "
                                      "writers' own lines (bias 1, first draws); through the legibility check, as "
                                      "a write gives them: **0.79**"]
    del style["checked"]
    assert "**0.61**" in _style_headline(style)[0] and "through" not in _style_headline(style)[0]
    assert _style_headline(None) == []


def test_the_nearest_hand_image_shows_the_writer_then_both_picks(tiny_ckpt_path, tiny_style_dir):
    """scripts/nearest_hand_image.py (docs/img/nearest-hand.png): the writer's line, then the line the
    check keeps by reading alone and by reading and hand, labelled with what was read and how near."""
    import importlib.util
    import xml.etree.ElementTree as ET
    from helpers import ROOT
    spec = importlib.util.spec_from_file_location("nearest_hand_image", ROOT / "scripts" / "nearest_hand_image.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    reader = ReadsExactly()
    reader.text = "hello"
    for seed in range(12):               # a seed where some line's picks differ (rows_for looks for one)
        rows = script.rows_for(hand, 1, seed=seed, bias=1.0, n=3, reader=reader, judge=NearestIsLongest(),
                               sentences=["hello", "hello there"])
        if rows[1][1] != rows[2][1]:
            break
    labels = [label for label, _ in rows]
    assert labels[0] == "style 1: the writer's own line"
    assert labels[1].startswith("the check by reading alone: the reader read 'hello'; nearness to the style ")
    assert labels[2].startswith("the check by reading and hand: the reader read 'hello'; nearness to the style ")
    near = [float(label.rsplit(" ", 1)[1]) for label in labels[1:]]
    assert near[1] > near[0] and rows[1][1] != rows[2][1]      # the hand kept another, nearer candidate
    root = ET.fromstring(script.compose(rows))
    assert len(root.findall("{http://www.w3.org/2000/svg}svg")) == 3
    import cairosvg
    assert cairosvg.svg2png(bytestring=script.compose(rows).encode())[:4] == b"\x89PNG"
