import numpy as np
import pytest

from scribe import ink


def test_strokes_offsets_round_trip_keeps_points_and_pen_lifts():
    strokes = [np.array([[0, 0], [10, 5], [20, 0]]), np.array([[50, 10], [60, 20]])]
    offsets = ink.strokes_to_offsets(strokes)
    assert offsets.shape == (5, 3)
    assert offsets[:, 2].tolist() == [0, 0, 1, 0, 1]
    assert offsets[1, 1] == -5            # y flips: the model's y points up
    back = ink.offsets_to_strokes(offsets)
    assert len(back) == 2
    np.testing.assert_allclose(back[0], strokes[0])
    np.testing.assert_allclose(back[1], strokes[1])


def test_clean_drops_duplicates_and_splits_glitches():
    s = np.array([[0, 0], [0, 0], [5, 0], [10, 0], [5000, 0], [5005, 0]])
    cleaned = ink.clean_strokes([s])
    assert [len(c) for c in cleaned] == [3, 2]   # duplicate gone, glitch jump became a pen lift


def test_resample_keeps_ends_and_spacing():
    s = np.column_stack([np.arange(0, 101, 1.0), np.zeros(101)])
    r = ink.resample_strokes([s], 10.0)[0]
    assert r[0, 0] == 0 and r[-1, 0] == 100
    assert np.all(np.diff(r[:-1, 0]) >= 10.0)
    assert len(r) == 11


def test_prepare_ink_is_scale_aware_and_clamps_wild_jumps():
    strokes = [np.array([[0, 0], [0, 100], [10, 200]]), np.array([[100000, 0], [100000, 100]])]
    off = ink.prepare_ink(strokes, 0.0)
    assert np.all(off[0, :2] == 0)
    assert np.linalg.norm(off[:, :2], axis=1).max() <= 3 * ink.ink_height(strokes) + 1e-6
    half = ink.prepare_ink(strokes, 0.0, scale=0.5)
    np.testing.assert_allclose(half[:3, :2], off[:3, :2] * 0.5, atol=1e-5)


def test_hand_traits_see_slant_width_and_joins():
    """Traits from the ink itself: shearing a hand to the right reads as slanted right, stretching it as
    wider, more pen lifts per letter as printed letters."""
    import numpy as np
    from helpers import synthetic_offsets
    from scribe.ink import hand_traits
    base = synthetic_offsets(n_strokes=6, points=40, seed=3)

    def sheared(offsets, k):
        out = offsets.copy()
        out[:, 0] += k * out[:, 1]          # y up: moving up also moves right, so downstrokes lean right
        return out

    upright = hand_traits([(base, "abcdef")])
    right = hand_traits([(sheared(base, 0.5), "abcdef")])
    left = hand_traits([(sheared(base, -0.5), "abcdef")])
    assert right.slant_deg > upright.slant_deg + 15 and left.slant_deg < upright.slant_deg - 15
    assert "slanted right" in right.describe() and "slanted left" in left.describe()
    wide = base.copy()
    wide[:, 0] *= 2
    assert hand_traits([(wide, "abcdef")]).width == pytest.approx(2 * upright.width, rel=0.05)
    assert upright.strokes_per_char == 1.0
    assert "printed letters" in hand_traits([(base, "abc")]).describe()               # two lifts a letter
    assert "mostly joined" in hand_traits([(base, "abcdefghijkl")]).describe()        # one per two letters


def test_word_gap_is_the_widest_cuts_in_the_ink_one_per_space_in_ink_heights():
    import numpy as np
    from scribe.ink import strokes_to_offsets, word_gap

    def stroke(x0, x1, h=2.0):
        return np.array([[x0, 0.0], [(x0 + x1) / 2, h], [x1, 0.0]])

    # "ab cd ef": letters 0.3 apart, words 1.0 and 3.0 apart; an i-dot inside "c" cuts nothing
    strokes = [stroke(0, 1), stroke(1.3, 2), stroke(3, 4), stroke(3.5, 3.6), stroke(4.3, 5),
               stroke(8, 9), stroke(9.3, 10)]
    line = strokes_to_offsets(strokes)
    assert word_gap(line, "ab cd ef") == pytest.approx((1.0 + 3.0) / 2 / 2.0)      # ink height 2
    assert word_gap(line, "abcdef") is None                                       # one word
    run_together = strokes_to_offsets([stroke(0, 1), stroke(0.5, 2)])
    assert word_gap(run_together, "ab cd") is None                                # no cut for the space
    wider = line.copy()
    wider[:, 0] *= 2
    assert word_gap(wider, "ab cd ef") == pytest.approx(2 * word_gap(line, "ab cd ef"))
