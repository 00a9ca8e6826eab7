import numpy as np
import torch

from scribe.hand import Hand, LineSpec
from scribe.sampling import LineRequest, Sampler
from helpers import tiny_checkpoint


def _sampler(seed=0):
    ck = tiny_checkpoint(seed=seed)
    return Sampler(ck.build_model(), ck.stats), ck


def test_same_seed_same_ink_other_seed_other_ink():
    s, ck = _sampler()
    req = [LineRequest(ck.alphabet.encode("hello"), 0.5), LineRequest(ck.alphabet.encode("abc"), 2.0)]
    a = s.sample(req, seed=3, max_steps=40)
    b = s.sample(req, seed=3, max_steps=40)
    c = s.sample(req, seed=4, max_steps=40)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.offsets, y.offsets)
    assert not np.array_equal(a[0].offsets, c[0].offsets)


def test_step_cap_is_reported():
    s, ck = _sampler()
    with torch.no_grad():   # a window that never moves: the text never ends
        s.model.window.bias[-3:] = -30.0
    out = s.sample([LineRequest(ck.alphabet.encode("hello"), 0.0)], seed=0, max_steps=25)
    assert out[0].hit_cap and out[0].steps == 25
    assert out[0].offsets[-1, 2] == 1.0          # the line still ends with the pen up


def test_line_stops_once_the_window_passes_the_text():
    s, ck = _sampler()
    with torch.no_grad():   # the window races ahead: about one character per step
        s.model.window.weight.zero_()
        s.model.window.bias[-3:] = 0.0
    text = "abcdefgh"
    out = s.sample([LineRequest(ck.alphabet.encode(text), 0.0)], seed=0, max_steps=500)[0]
    assert not out.hit_cap
    assert out.steps <= len(text) + 1 + 6            # stops right after the end (finish-stroke allowance)


def test_bias_sharpens_the_distribution():
    s, ck = _sampler()
    enc = ck.alphabet.encode("abcabc")
    spread = []
    for bias in (0.0, 3.0):
        out = s.sample([LineRequest(enc, bias)] * 8, seed=1, max_steps=30)
        spread.append(np.std(np.stack([o.offsets[:30, :2] for o in out if len(o.offsets) >= 30]), 0).mean())
    assert spread[1] < spread[0] * 0.5


def test_batched_priming_matches_one_at_a_time(tiny_ckpt_path, tiny_style_dir):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    specs = [LineSpec("hi there", 0, 1.0), LineSpec("ok", None, 1.0), LineSpec("yes", 2, 0.3)]
    together = hand.write(specs, seed=5, max_steps=30)
    assert together.lines[0].steps > 0 and together.seed == 5
    again = hand.write(specs, seed=5, max_steps=30)
    for a, b in zip(together.lines, again.lines):
        np.testing.assert_array_equal(a.offsets, b.offsets)
    # priming state is cached per style and equals a fresh single-line priming
    (st_cached, last_cached), _, enc = hand._prime(2)
    prime = hand.styles.get(2).prime(hand.stats)
    st_fresh, last_fresh = hand.sampler.prime_states([prime], [enc])
    for x, y in zip(st_cached, st_fresh):
        torch.testing.assert_close(x, y)
    # priming several styles in one padded batch equals priming each alone
    p0, p2 = hand.styles.get(0).prime(hand.stats), prime
    e0 = hand._prime(0)[2]
    st_both, _ = hand.sampler.prime_states([p0, p2], [e0, enc])
    for x, y in zip(st_both, st_fresh):
        torch.testing.assert_close(x[1:2], y, atol=1e-5, rtol=1e-4)


def _run_stop(lifts: str, past_from: int, dots_ok: bool = True) -> tuple[int, bool]:
    """Drive stop_update over one line, a character per point: "|" is a point after which the pen
    lifts, "." one after which it stays down. The window is past the end from step past_from on.
    Returns (steps kept, done)."""
    from scribe.sampling import FINISH_STROKE_STEPS, LATE_DOT_STEPS, StopTest, loop_start, stop_update
    x = torch.tensor([[0.0, 0.0, 1.0]])
    _, n_steps, past_end_at, stroke_from, done = loop_start(len(lifts), x)
    stop = StopTest(torch.tensor([2]), torch.tensor([[True, True, False]]), torch.tensor([dots_ok]),
                    FINISH_STROKE_STEPS, LATE_DOT_STEPS)
    for t, c in enumerate(lifts):
        phi = torch.tensor([[0.1, 0.9, 0.0]]) if t < past_from else torch.tensor([[0.1, 0.2, 0.7]])
        pen_was_up = x[:, 2] > 0.5
        x = torch.tensor([[1.0, 0.0, float(c == "|")]])
        past_end_at, stroke_from, n_steps, done = stop_update(phi, x, pen_was_up, t, stop, past_end_at,
                                                              stroke_from, n_steps, done)
        if bool(done.all()):
            break
    return int(n_steps[0]), bool(done[0])


def test_a_line_ends_cleanly_after_its_text():
    # strokes: points 0-3, then 4-9; the window passes the end at step 6, mid-stroke: that stroke is
    # finished, up to its pen-up
    assert _run_stop("...|.....|.........", past_from=6) == (10, True)
    # a stroke under way goes on FINISH_STROKE_STEPS points past the end at most
    assert _run_stop("...|" + "." * 30, past_from=6) == (6 + 6 + 1, True)
    # a stroke that starts once the window has passed the end: a dot (lifts within 3 points) is kept ...
    assert _run_stop("...|.|" + "." * 10, past_from=4) == (6, True)
    assert _run_stop("...|..|" + "." * 10, past_from=4) == (7, True)
    # ... unless the text ends in "." or ",", where a late dot would be a second one
    assert _run_stop("...|.|" + "." * 10, past_from=4, dots_ok=False) == (4, True)
    # ... anything longer is never drawn: the line ends before it
    assert _run_stop("...|.....|" + "." * 10, past_from=4) == (4, True)
    # before the window passes the end nothing stops the line
    assert _run_stop("...|...|...|", past_from=99) == (12, False)


def test_late_dots_are_wanted_except_after_a_full_stop_or_comma():
    from scribe.sampling import late_dot_ok
    assert late_dot_ok("it is done!") and late_dot_ok("this") and late_dot_ok("why?")
    assert not late_dot_ok("the end.") and not late_dot_ok("and so, ") and not late_dot_ok("me.  ")


def test_a_stroke_written_before_the_window_reaches_the_new_text_is_dropped():
    from scribe.sampling import drop_lead_in, strokes_of
    # three strokes: points 0-2 while the window is still on the prime's space (position 4), then the
    # first letter (window 5 = the first new character), then the next one
    offs = np.array([[5, 0, 0], [1, 1, 0], [1, 0, 1],
                     [7, 0, 0], [1, 2, 1],
                     [3, 0, 0], [1, 0, 1]], dtype=np.float32)
    window = np.array([4, 4, 4, 4, 5, 6, 6])
    assert strokes_of(offs) == [(0, 2), (3, 4), (5, 6)]
    kept = drop_lead_in(offs.copy(), window, first_char=5)
    assert len(kept) == 4 and strokes_of(kept) == [(0, 1), (2, 3)]
    # what follows keeps its place: the dropped stroke's travel is folded into the next point
    np.testing.assert_allclose(np.cumsum(kept[:, :2], 0)[-1], np.cumsum(offs[:, :2], 0)[-1])
    np.testing.assert_allclose(np.cumsum(kept[:, :2], 0)[0], np.cumsum(offs[:, :2], 0)[3])
    # a stroke that reaches the new text is the first letter itself: kept whole
    assert len(drop_lead_in(offs.copy(), np.array([4, 4, 5, 5, 5, 6, 6]), first_char=5)) == 7
    # a line whose window never reached the text (cut by the step cap) keeps what it drew
    assert len(drop_lead_in(offs.copy(), np.full(7, 4), first_char=5)) == 7
    # unprimed lines (the window starts on the text) are never touched
    assert len(drop_lead_in(offs.copy(), np.zeros(7), first_char=0)) == 7



def test_a_text_ending_in_a_full_stop_ends_at_its_dot():
    from scribe.sampling import end_at_final_stop
    # a letter (window 3), the full stop (window 4 = the text's last position), then a second dot
    offs = np.array([[0, 0, 0], [5, 5, 0], [5, -5, 1],
                     [3, 0, 0], [0.5, 0, 1],
                     [3, 0, 0], [0.5, 0, 1]], dtype=np.float32)
    window = np.array([3, 3, 3, 4, 4, 4, 4])
    assert len(end_at_final_stop(offs, offs, window, stop_at=4, dot_size=2.0)) == 5
    # a dot drawn while the window is still on an earlier letter (an i-dot) does not end the line
    window_early = np.array([3, 3, 3, 3, 3, 4, 4])
    assert len(end_at_final_stop(offs, offs, window_early, stop_at=4, dot_size=2.0)) == 7
    # a big stroke on the last position is not a dot: nothing is cut
    assert len(end_at_final_stop(offs, offs * 10, window, stop_at=4, dot_size=2.0)) == 7


def test_full_stop_rule_goes_through_the_sampler_and_keeps_the_seed():
    s, ck = _sampler()
    text = ck.alphabet.encode("ab.")
    a = s.sample([LineRequest(text, 0.5, late_dot_ok=False, final_stop=True)], seed=5, max_steps=60)
    b = s.sample([LineRequest(text, 0.5, late_dot_ok=False, final_stop=True)], seed=5, max_steps=60)
    np.testing.assert_array_equal(a[0].offsets, b[0].offsets)
    plain = s.sample([LineRequest(text, 0.5, late_dot_ok=False)], seed=5, max_steps=60)
    assert len(a[0].offsets) <= len(plain[0].offsets)
    np.testing.assert_array_equal(a[0].offsets[:-1, :2], plain[0].offsets[:len(a[0].offsets) - 1, :2])
