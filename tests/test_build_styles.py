"""train/build_styles.py: how the 13 styles of the bank are chosen (13 different writers, spread)."""
from types import SimpleNamespace

import numpy as np
import pytest

from scribe import iam
from scribe.train.build_styles import candidates, choose, spread_writers


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def test_spread_writers_takes_the_most_unusual_first_and_never_a_near_twin():
    centres = {"plain1": _unit([1, 0.05, 0]), "plain2": _unit([1, 0, 0.05]), "plain3": _unit([1, 0.02, 0.02]),
               "slanted": _unit([0.2, 1, 0]), "round": _unit([0.2, 0, 1])}
    picked = spread_writers({w: {} for w in centres}, centres, 3)
    assert set(picked) == {"slanted", "round"} | {picked[-1]} and picked[-1].startswith("plain")
    assert sum(w.startswith("plain") for w in picked) == 1        # the three plain hands are near-twins
    with pytest.raises(iam.DataError, match="only 5 writers"):
        spread_writers({w: {} for w in centres}, centres, 6)


def _line(writer, k, words, width, height=1.0):
    return {"writer": writer, "line": SimpleNamespace(line_id=f"{writer}-{k:02d}"), "words": words, "cer": 1 - words,
            "width_per_char": width, "height": height}


def test_choose_keeps_each_writers_best_read_prime_drops_poorly_read_writers_and_orders_by_width():
    rng = np.random.default_rng(0)
    by_writer, centres = {}, {}
    for i in range(16):
        w = f"w{i:02d}"
        centres[w] = _unit(rng.normal(size=8))
        by_writer[w] = [_line(w, k, words=[0.5, 0.9, 0.7][k] if i != 3 else 0.3, width=float(rng.uniform(1, 3)))
                        for k in range(3)]
    picks = choose(by_writer, centres, 13, min_words=0.6)
    assert len(picks) == 13 and len({c["writer"] for c in picks}) == 13      # 13 different writers
    assert "w03" not in {c["writer"] for c in picks}                        # its primes read poorly
    assert all(c["words"] == 0.9 for c in picks)                            # each writer's best-read line
    widths = [c["width_per_char"] / c["height"] for c in picks]
    assert widths == sorted(widths)


@pytest.mark.slow
def test_real_candidates_come_from_placed_testset_v_writers_only(iam_dir):
    cands, every = candidates(iam_dir, iam.default_split_dir(iam_dir), 25.0)
    forms_v = iam.read_split_lists(iam.default_split_dir(iam_dir))["testset_v"]
    writers = {w.writer_id: w for w in iam.derive_writers(iam.read_form_clocks(iam_dir))}
    assert len(every) >= 13 and {c["writer"] for c in cands} <= set(every)
    for c in cands:
        assert c["line"].form_id in forms_v and c["line"].form_id in writers[c["writer"]].forms
        assert 18 <= len(c["text"]) <= 40 and writers[c["writer"]].placed and len(writers[c["writer"]].forms) > 1
