"""A request's cost (scribe.cost), known and bounded before any sampling."""
import pytest

from helpers import MAX_STEPS
from scribe import cost
from scribe.hand import Hand, LineSpec
from scribe.render.paragraph import ParagraphLayout


def test_the_estimate_grows_with_lines_characters_candidates_and_live_ink():
    base = cost.estimate([40, 40, 40], 1)
    assert cost.estimate([40, 40, 40, 40], 1) > base            # more lines
    assert cost.estimate([80, 40, 40], 1) > base                # a longer line: more steps for the batch
    assert cost.estimate([40, 40, 40], 4) > base                # more candidates (and the reader)
    assert cost.estimate([40, 40, 40], 1, live=True) > base
    assert cost.estimate([40, 0, 40, 40], 1) == base            # a blank line costs nothing
    # 80 lines are two batches of 40, each running to its own longest line
    assert cost.estimate([90] * 40 + [10] * 40, 1) < cost.estimate([90] * 41 + [10] * 39, 1)


def test_over_the_budget_the_check_is_lowered_and_says_so_or_the_request_is_refused():
    assert cost.fit_budget([40] * 3, 4, None) == (4, "")
    assert cost.fit_budget([40] * 3, 4, 100.0) == (4, "")
    big = [90] * 40
    n, note = cost.fit_budget(big, 16, 20.0, live=True)
    assert 1 <= n < 16 and cost.estimate(big, n, live=True) <= 20.0 < cost.estimate(big, n + 1, live=True)
    assert f"lowered from 16 to {n} candidates per line" in note and "limit of 20 s per request" in note
    with pytest.raises(cost.RequestTooCostly) as e:
        cost.fit_budget(big, 4, 1.0)
    assert "limit of 1 s per request (--max_request_cost)" in str(e.value) and "40 lines" in str(e.value)
    assert e.value.title == "Request too large"


def test_png_pixel_cap_names_the_dpi_that_fits():
    cost.check_png_pixels(800, 1100, 300, 40_000_000)
    with pytest.raises(cost.RequestTooCostly) as e:
        cost.check_png_pixels(800, 20_000, 600, 40_000_000)
    assert "over the limit of 40" in str(e.value) and "use at most" in str(e.value)


class CountingSampler:
    """Counts the sampler's calls and the rows of each (wraps a Hand's sampler)."""

    def __init__(self, hand):
        self.rows, sampler = [], hand.sampler
        sample, live = sampler.sample, sampler.sample_live
        sampler.sample = lambda reqs, *a, **k: (self.rows.append(len(reqs)), sample(reqs, *a, **k))[1]
        sampler.sample_live = lambda reqs, *a, **k: (self.rows.append(len(reqs)), live(reqs, *a, **k))[1]


def test_hand_checks_the_budget_before_sampling(tiny_ckpt_path, tiny_style_dir):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    calls = CountingSampler(hand)
    specs = [LineSpec("x" * 90)] * 40
    with pytest.raises(cost.RequestTooCostly):
        hand.write(specs, seed=1, max_steps=MAX_STEPS, candidates=4, budget=1.0)
    assert calls.rows == []                                      # refused before any sampling
    doc = hand.write(specs, seed=1, max_steps=MAX_STEPS, candidates=16, budget=20.0)
    n = doc.legibility.candidates
    assert 1 < n < 16 and calls.rows and max(calls.rows) <= 40 * n   # lowered before the first batch
    assert f"lowered from 16 to {n}" in doc.legibility.summary()


def test_paragraph_budget_and_pixel_cap_are_checked_before_sampling(tiny_ckpt_path, tiny_style_dir):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    calls = CountingSampler(hand)
    text = ("the quick brown fox jumps over the lazy dog " * 120)[:4990]
    with pytest.raises(cost.RequestTooCostly) as e:     # one page as tall as the text, at 600 dpi
        hand.write_paragraph(text, 0, layout=ParagraphLayout(page=None), seed=1, max_steps=MAX_STEPS, png_dpi=600)
    assert "megapixels" in str(e.value) and calls.rows == []
    with pytest.raises(cost.RequestTooCostly):
        hand.write_paragraph(text, 0, layout=ParagraphLayout(page="a5"), seed=1, max_steps=MAX_STEPS,
                             candidates=16, budget=2.0)
    assert calls.rows == []
    doc = hand.write_paragraph(text[:600], 0, layout=ParagraphLayout(page="a5"), seed=1, max_steps=MAX_STEPS,
                               candidates=16, budget=4.0)
    n = doc.legibility.candidates
    assert n < 16 and max(calls.rows) <= 40 * n and f"lowered from 16 to {n}" in doc.legibility.summary()


def test_the_apps_budget_is_a_flag_with_a_sane_default():
    from scribe.cli import UsageError
    from scribe.web.flags import parse_args
    assert parse_args([]).max_request_cost == cost.DEFAULT_BUDGET_S
    assert parse_args(["--max_request_cost", "45"]).max_request_cost == 45.0
    assert parse_args(["--max_request_cost", "0"]).max_request_cost == 0.0       # 0: no limit
    for bad in ("-1", "nan", "inf"):
        with pytest.raises(UsageError, match="--max_request_cost must be a number of seconds"):
            parse_args(["--max_request_cost", bad])
