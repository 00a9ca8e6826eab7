import numpy as np
import pytest
import torch

from scribe.hand import Hand

from scribe.request import LineSpec
from scribe.sampling import LineRequest, Sampler, sample_point
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
    primed = hand.primed(2)
    (st_cached, last_cached), enc = primed.state, primed.encoded
    prime = hand.styles.get(2).prime(hand.stats)
    st_fresh, last_fresh = hand.sampler.prime_states([prime], [enc])
    for x, y in zip(st_cached, st_fresh):
        torch.testing.assert_close(x, y)
    # priming several styles in one padded batch equals priming each alone
    p0, p2 = hand.styles.get(0).prime(hand.stats), prime
    e0 = hand.primed(0).encoded
    st_both, _ = hand.sampler.prime_states([p0, p2], [e0, enc])
    for x, y in zip(st_both, st_fresh):
        torch.testing.assert_close(x[1:2], y, atol=1e-5, rtol=1e-4)


class _FirstCall:
    """A step_fn that records what the sampling loop starts from (its first x, state and window text)
    and then steps as the wrapped one does; for a compiled step, through its compiled loop."""

    def __init__(self, step_fn):
        self.step_fn, self.first = step_fn, None

    def _record(self, x, state, onehot):
        if self.first is None:
            self.first = (x.clone(), [t.clone() for t in state], onehot.clone())

    def __call__(self, x, state, onehot):
        self._record(x, state, onehot)
        return self.step_fn(x, state, onehot)


class _FirstLoop(_FirstCall):
    def sample_loop(self, x, state, onehot, *rest):
        self._record(x, state, onehot)
        return self.step_fn.sample_loop(x, state, onehot, *rest)


@pytest.mark.parametrize("fast", [False, True])
def test_a_primed_line_starts_layer1_and_the_window_afresh_on_its_own_text(tiny_ckpt_path, tiny_style_dir, fast):
    """Priming hands on the writer's hand in layers 2..N; layer 1 and the window start as at the start
    of a training line (zero state, the start-of-line input, the window on the new text's first
    character). Continuing them from the end of the prime wrote the first word worse (issue 11)."""
    from scribe.fast import fast_step
    from scribe.sampling import LAYER1_STATE
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir, fast=False)
    primed = hand.primed(1)
    (p_state, _), prime, prime_enc = primed.state, primed.prime, primed.encoded
    text = hand.alphabet.encode("ab cd")
    reqs = [LineRequest(text, 1.0, prime, prime_enc), LineRequest(hand.alphabet.encode("xyz"), 1.0)]
    model = hand.model
    rec = _FirstLoop(fast_step(model)) if fast else _FirstCall(model.step)
    got = Sampler(model, hand.stats, step_fn=rec).sample(reqs, seed=4, max_steps=30, primed=(p_state, _))
    x, state, onehot = rec.first
    torch.testing.assert_close(x, torch.tensor([[0.0, 0.0, 1.0]] * 2))        # start-of-line input
    for t in state[:LAYER1_STATE]:                                             # h1, c1, window, kappa
        assert not t.any()
    for t, p in zip(state[LAYER1_STATE:], p_state[LAYER1_STATE:]):              # the prime's hand
        torch.testing.assert_close(t[0:1], p)
        assert not t[1].any()
    assert onehot.shape[1] == len(text) + 1                                     # the new text alone
    assert onehot[0, :len(text)].argmax(1).tolist() == text
    # the window's record indexes the new text: it starts on its first character
    assert got[0].window[0] in (0, 1) and got[0].window.max() <= len(text)
    # the state really carries the prime: the same line unprimed is other ink
    plain = Sampler(model, hand.stats).sample([LineRequest(text, 1.0)], seed=4, max_steps=30)[0]
    assert not np.array_equal(plain.offsets, got[0].offsets)


def _run_stop(lifts: str, past_from: int, dots_ok: bool = True) -> tuple[int, bool]:
    """Drive stop_update over one line, a character per point: "|" is a point after which the pen
    lifts, "." one after which it stays down. The window is past the end from step past_from on.
    Returns (steps kept, done)."""
    from scribe.sampling import FINISH_STROKE_STEPS, LATE_DOT_STEPS, StopTest, loop_start, stop_update, window_position
    x = torch.tensor([[0.0, 0.0, 1.0]])
    _, n_steps, past_end_at, stroke_from, done = loop_start(len(lifts), x)
    stop = StopTest(torch.tensor([2]), torch.tensor([[True, True, False]]), torch.tensor([dots_ok]),
                    FINISH_STROKE_STEPS, LATE_DOT_STEPS)
    for t, c in enumerate(lifts):
        phi = torch.tensor([[0.1, 0.9, 0.0]]) if t < past_from else torch.tensor([[0.1, 0.2, 0.7]])
        pen_was_up = x[:, 2] > 0.5
        x = torch.tensor([[1.0, 0.0, float(c == "|")]])
        past = (window_position(phi, stop) == stop.end_column).squeeze(1)
        past_end_at, stroke_from, n_steps, done = stop_update(past, x, pen_was_up, t, stop, past_end_at,
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


def test_window_position_is_the_end_slot_exactly_when_graves_test_says_past_the_end():
    """window_position masks a shorter text's padding and ties go to the character: so 'the position is
    the end slot' is Graves' test (attention on the slot after the text above every real character)."""
    from scribe.sampling import FINISH_STROKE_STEPS, LATE_DOT_STEPS, StopTest, window_position
    g = torch.Generator().manual_seed(0)
    end_pos = torch.tensor([3, 6, 1, 6])
    real = torch.arange(8).unsqueeze(0) < end_pos.unsqueeze(1)                  # (4, 8): padding after 3 and 1
    stop = StopTest(end_pos, real, torch.ones(4, dtype=torch.bool), FINISH_STROKE_STEPS, LATE_DOT_STEPS)
    assert stop.padded
    seen_past = 0
    for _ in range(500):
        phi = torch.rand(4, 8, generator=g) ** 4
        phi[0, 5] = 5.0                                                        # the most attention on padding
        at = window_position(phi, stop).squeeze(1)
        graves = phi.gather(1, end_pos.unsqueeze(1)).squeeze(1) > phi.masked_fill(~real, float("-inf")).amax(1)
        assert torch.equal(at == end_pos, graves)
        assert bool((at <= end_pos).all())                                     # never a padding slot
        seen_past += int(graves.sum())
    assert seen_past > 50
    tie = torch.tensor([[0.5, 0.2, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0]] * 4)       # line 2: its character vs its end
    assert int(window_position(tie, stop)[2]) == 0
    one = StopTest(torch.tensor([4]), torch.arange(5).unsqueeze(0) < 4, torch.ones(1, dtype=torch.bool), 6, 3)
    assert not one.padded                                                     # one line: nothing to mask


def test_sampling_run_ends_lines_where_the_end_test_run_at_every_step_does():
    """SamplingRun skips the end test until some window passes its end: the same points, steps kept and
    ends as running the whole test at every step (a stroke begun before the window passed is never late,
    so where it began does not matter)."""
    from scribe.sampling import FINISH_STROKE_STEPS, LATE_DOT_STEPS, SamplingRun, StopTest, loop_start, stop_update
    M, B, U, cap = 3, 4, 6, 120
    for seed in range(6):
        g = torch.Generator().manual_seed(seed)
        end_pos = torch.tensor([5, 3, 5, 2])
        real = torch.arange(U).unsqueeze(0) < end_pos.unsqueeze(1)
        dots = torch.tensor([True, False, True, True])
        x0 = torch.zeros(B, 3)
        x0[:, 2] = 1.0
        bias = torch.full((B, 1), 0.5)
        outs = torch.randn(cap, B, 1 + 6 * M, generator=g)
        phis = torch.rand(cap, B, U, generator=g)
        for t in range(cap):                          # the attention walks along: line b passes its end late
            phis[t, :, :] *= torch.exp(-(torch.arange(U) - t / (8 + 4 * torch.arange(B).unsqueeze(1))) ** 2)
        run = SamplingRun(cap, x0, bias, M, end_pos, real, dots)
        gen = torch.Generator().manual_seed(seed)
        x = x0
        for t in range(cap):
            x = run.advance(outs[t], phis[t], x, t, gen)
            if run.finished():
                break
        # reference: Graves' test on phi itself and the whole end test at every step
        stop = StopTest(end_pos, real, dots, FINISH_STROKE_STEPS, LATE_DOT_STEPS)
        ref = SamplingRun(cap, x0, bias, M, end_pos, real, dots)
        points, n_steps, past_end_at, stroke_from, done = loop_start(cap, x0)
        gen = torch.Generator().manual_seed(seed)
        x = x0
        for t in range(cap):
            new_x = sample_point(outs[t], ref.draw, gen)
            points[t, :, :3] = new_x
            after = phis[t].gather(1, end_pos.unsqueeze(1)).squeeze(1)
            past = after > phis[t].masked_fill(~real, float("-inf")).amax(1)
            past_end_at, stroke_from, n_steps, done = stop_update(past, new_x, x[:, 2] > 0.5, t, stop, past_end_at,
                                                                  stroke_from, n_steps, done)
            x = new_x
            if bool(done.all()):
                break
        assert torch.equal(run.points[:, :, :3], points[:, :, :3])
        assert torch.equal(run.n_steps, n_steps) and torch.equal(run.done, done)
        assert torch.equal(run.past_end_at, past_end_at)
        assert bool(done.any())


def test_late_dots_are_wanted_except_after_a_full_stop_or_comma():
    from scribe.sampling import late_dot_ok
    assert late_dot_ok("it is done!") and late_dot_ok("this") and late_dot_ok("why?")
    assert not late_dot_ok("the end.") and not late_dot_ok("and so, ") and not late_dot_ok("me.  ")


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


# Lowercase first words: the fair comparison with the other words, which are lowercase too (capitals
# are written worse wherever they stand in a line: scripts/page_faults.py splits the two).
FIRST_WORD_SENTENCES = ["after the rain the streets were quiet.", "most of the shops closed early today.",
                        "her brother found the keys in the car.", "only a few boats left the harbour.",
                        "from the window we could see the sea.", "before dinner she read the letter twice",
                        "many people walked along the old road", "under the bridge the water was cold",
                        "every garden needs water, light and time."]


@pytest.mark.slow
def test_shipped_model_writes_the_first_word_of_a_primed_line_nearly_as_well_as_the_rest():
    """The shipped model in all 13 shipped styles (9 sentences x 2 seeds, bias 1.0, 234 lines, no
    legibility check): the strict reader reads the first word of a primed line exactly nearly as often as
    the other words. The prime-and-continue model (stage 3, docs/prime-and-continue.md): 82.5% against
    89.6%, the lowest style 67% (its unprimed first words: 92.0% against 90.6%, 20 seeds); the stage-2
    model it replaced: 89.3% against 90.6%. Stage 3 reads better on every other count (capitalised first
    words in the quality report: 79.3% against 70.5%), so the bound is the stage-3 gap with a little room,
    and real writers' first words read 4.3 points below their others."""
    from scribe.recognizer import load_recognizer, word_matches
    torch.set_num_threads(1)
    hand = Hand.load()
    assert len(hand.style_ids) == 13
    reader = load_recognizer()
    specs = [LineSpec(t, style=s, bias=1.0) for s in hand.style_ids for t in FIRST_WORD_SENTENCES]
    first, rest, per_style = [], [], {s: [] for s in hand.style_ids}
    for seed in (1, 2):
        lines = []
        for i in range(0, len(specs), 40):
            lines += hand.write(specs[i:i + 40], seed=seed + i).lines
        for spec, read in zip(specs, reader.read([ln.offsets for ln in lines])):
            marks = word_matches(read, spec.text)
            first.append(marks[0])
            rest += marks[1:]
            per_style[spec.style].append(marks[0])
    first_rate, rest_rate = np.mean(first), np.mean(rest)
    print(f"first word {first_rate:.1%}, other words {rest_rate:.1%}; per style "
          + ", ".join(f"{s}: {np.mean(v):.0%}" for s, v in per_style.items()))
    assert first_rate >= rest_rate - 0.09          # stage 3: 7.1 points; real writers: 4.3 (docstring)
    # and in every style: no style's first words fall apart (18 lines a style)
    assert min(np.mean(v) for v in per_style.values()) >= 0.5


def test_dropping_rows_leaves_the_other_rows_ink_unchanged():
    # The legibility check drops the candidates of a line already read right (Sampler.sample_live's
    # send()); the rows kept must be written exactly as without dropping, for either loop.
    from scribe.hand import Hand
    for fast in (True, False):
        hand = Hand(tiny_checkpoint(), None, fast=fast)
        reqs = [LineRequest(hand.alphabet.encode(t)) for t in ("hello", "pen up", "quick fox", "ab")]
        whole = hand.sampler.sample(reqs, seed=11, max_steps=60)
        live = hand.sampler.sample_live(reqs, seed=11, max_steps=60, every=8)
        batch = next(live)
        assert batch.step == 8
        try:
            live.send([1, 2])
            while True:
                next(live)
        except StopIteration as end:
            kept = end.value
        for b in (0, 3):
            assert np.array_equal(kept[b].offsets, whole[b].offsets) and kept[b].steps == whole[b].steps
        for b in (1, 2):
            assert kept[b].steps <= 8 and not kept[b].hit_cap
