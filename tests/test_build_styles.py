"""train/build_styles.py: how the 13 lines of the style bank are chosen."""
from types import SimpleNamespace

import numpy as np

from train.build_styles import pick


def _cands(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return [{"line": SimpleNamespace(form_id=f"f{i}", line_id=f"f{i}-01"), "text": f"line {i}",
             "per_char": 10 + rng.normal(0, 0.5), "height": 300 + rng.normal(0, 5),
             "width_per_char": float(rng.uniform(20, 60)), "nll": float(rng.normal())} for i in range(n)]


def test_without_a_reader_the_picks_spread_across_hand_widths():
    picks = pick(_cands(), 13, use_nll=True)
    widths = [c["width_per_char"] for c in picks]
    assert len(picks) == 13 and widths == sorted(widths) and len({c["line"].form_id for c in picks}) == 13


def test_with_a_reader_the_best_read_primes_win_from_the_neat_pool():
    cands = _cands()
    seen = []

    def rank(pool):
        seen.extend(pool)
        return sorted(pool, key=lambda c: c["line"].form_id)[:13]   # a stand-in for the reader's verdict

    picks = pick(cands, 13, use_nll=True, rank=rank)
    assert {c["line"].form_id for c in picks} == {c["line"].form_id for c in sorted(seen, key=lambda c: c["line"].form_id)[:13]}
    assert len(seen) <= 39          # only the neatest third is offered to the reader
    assert [c["width_per_char"] for c in picks] == sorted(c["width_per_char"] for c in picks)
