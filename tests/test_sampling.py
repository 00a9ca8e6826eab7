import numpy as np
import torch

from scribe.hand import Hand, LineSpec
from scribe.sampling import LineRequest, Sampler
from tests.conftest import tiny_checkpoint


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
