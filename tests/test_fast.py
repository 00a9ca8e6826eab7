"""scribe.fast against the eager model: the same maths, step by step, loop by loop, gradient by gradient."""
import numpy as np
import pytest
import torch

from helpers import synthetic_offsets
from scribe.dataset import NormStats, collate
from scribe.fast import NEVER_PACKED, PACKED_ROWS_ENV, fast_forward, fast_loss, fast_step
from scribe.hand import Hand
from scribe.request import LineSpec
from scribe.model import MixtureParams, ModelConfig, SynthesisNetwork
from scribe.sampling import DrawParams, LineRequest, Prime, Sampler, pick_component, sample_point

STATS = NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)


def tiny_model(num_layers=3, seed=0, alphabet=20, rnn=16, K=3, M=4):
    torch.manual_seed(seed)
    model = SynthesisNetwork(ModelConfig(alphabet, rnn, num_layers, K, M, 12.0)).eval()
    with torch.no_grad():   # livelier than the initialisation: larger weights, a window that moves
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return model


# ---- sampling ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("num_layers,B,packed_rows", [(1, 3, 2), (2, 3, 2), (3, 3, 2), (3, 1, 2), (4, 2, 2),
                                                     (3, 3, NEVER_PACKED), (4, 2, NEVER_PACKED), (3, 3, None)])
def test_fast_step_matches_eager_step_over_many_steps(num_layers, B, packed_rows, monkeypatch):
    """B = 1 takes the plain product; B > 1 oneDNN's packed weights (on CPU) from packed_rows rows, the
    plain product below; None: a torch without oneDNN (the plain step class, as on a GPU); 4 layers
    reads columns of the step buffer that its third layer ignores (zero weight rows)."""
    model = tiny_model(num_layers)
    if packed_rows is None:
        monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    fast = fast_step(model, packed_rows=packed_rows)
    assert hasattr(fast, "w_packed") == (packed_rows is not None and torch.backends.mkldnn.is_available())
    gen = torch.Generator().manual_seed(1)
    text = torch.randint(1, 20, (B, 9), generator=gen)
    text[0, 6:] = 0                                      # padding, as in real batches
    onehot = model.text_onehot(text)
    s_eager, s_fast = model.initial_state(B), model.initial_state(B)
    with torch.no_grad():
        for _ in range(300):
            x = torch.randn(B, 3, generator=gen)
            x[:, 2] = (x[:, 2] > 1).float()
            out_e, s_eager, phi_e = model.step(x, s_eager, onehot)
            out_f, s_fast, phi_f = fast(x, s_fast, onehot)
            torch.testing.assert_close(out_f, out_e, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(phi_f, phi_e, atol=1e-5, rtol=1e-5)
            assert len(s_fast) == len(s_eager)
            for a, b in zip(s_fast, s_eager):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert float(s_eager[3].min()) > 1.0    # the window really moved along the text


def test_fast_step_uses_packed_weights_where_onednn_is_available():
    fast = fast_step(tiny_model())
    assert hasattr(fast, "w_packed") == torch.backends.mkldnn.is_available()


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this torch build")
def test_packed_rows_are_measured_unless_set(monkeypatch):
    """The rows from which products use packed weights: measured (3, 6, 12 or never), or the variable's."""
    model = tiny_model()
    monkeypatch.delenv(PACKED_ROWS_ENV, raising=False)
    assert fast_step(model).packed_rows in (3, 6, 12, NEVER_PACKED)
    monkeypatch.setenv(PACKED_ROWS_ENV, "5")
    assert fast_step(model).packed_rows == 5
    monkeypatch.setenv(PACKED_ROWS_ENV, "many")
    with pytest.warns(UserWarning, match="not a whole number"):
        assert fast_step(model).packed_rows in (3, 6, 12, NEVER_PACKED)
    assert fast_step(model, packed_rows=1).packed_rows == 2        # one row is always the plain product


def _requests(rng):
    reqs = []
    for i, bias in enumerate([0.0, 0.75, 2.0, 1.2]):
        text = list(rng.integers(1, 20, 4 + i))
        if i % 2:
            prime = Prime(STATS.normalise(synthetic_offsets(n_strokes=2 + i, seed=i)), "pr")
            reqs.append(LineRequest(text, bias, prime, list(rng.integers(1, 20, 3 + i))))
        else:
            reqs.append(LineRequest(text, bias))
    return reqs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampling_gives_the_same_ink_through_both_paths(seed):
    model = tiny_model(seed=seed)
    reqs = _requests(np.random.default_rng(seed))
    eager = Sampler(model, STATS).sample(reqs, seed=seed + 10)
    fast = Sampler(model, STATS, step_fn=fast_step(model)).sample(reqs, seed=seed + 10)
    for e, f in zip(eager, fast):
        assert (f.steps, f.hit_cap, f.loop_steps) == (e.steps, e.hit_cap, e.loop_steps)
        np.testing.assert_allclose(f.offsets, e.offsets, atol=1e-3, rtol=1e-4)
    assert any(not e.hit_cap for e in eager)         # the stop rule ended some lines itself
    # one loop for the batch: it ran until the last line was done, at least as long as any line kept
    assert len({f.loop_steps for f in fast}) == 1 and fast[0].loop_steps >= max(f.steps for f in fast)


def test_sampling_with_a_step_cap_and_no_primes():
    model = tiny_model()
    reqs = [LineRequest([3, 4, 5, 6] * 5, 0.5), LineRequest([7], 1.0)]
    eager = Sampler(model, STATS).sample(reqs, seed=5, max_steps=17)
    fast = Sampler(model, STATS, step_fn=fast_step(model)).sample(reqs, seed=5, max_steps=17)
    assert [f.steps for f in fast] == [e.steps for e in eager]
    assert [f.hit_cap for f in fast] == [e.hit_cap for e in eager]
    assert [f.loop_steps for f in fast] == [e.loop_steps for e in eager] == [17, 17]   # the cap ended the loop
    for e, f in zip(eager, fast):
        assert f.steps <= 17
        np.testing.assert_allclose(f.offsets, e.offsets, atol=1e-3, rtol=1e-4)


def test_fast_priming_matches_stepping_through_the_prime():
    model = tiny_model()
    primes = [Prime(STATS.normalise(synthetic_offsets(n_strokes=n, seed=n)), "x") for n in (5, 2, 3)]
    encoded = [[1, 2, 3, 4], [5, 6], [7, 8, 9]]
    state_e, last_e = Sampler(model, STATS).prime_states(primes, encoded)
    state_f, last_f = Sampler(model, STATS, step_fn=fast_step(model)).prime_states(primes, encoded)
    torch.testing.assert_close(last_f, last_e)
    for a, b in zip(state_f, state_e):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_pick_component_draws_what_multinomial_draws():
    for seed in range(200):
        weights = torch.softmax(torch.randn(4, 7, generator=torch.Generator().manual_seed(seed)) * 3, -1)
        g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        assert torch.equal(pick_component(weights, g1), torch.multinomial(weights, 1, generator=g2))
        assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))   # same stream left


def test_sample_point_reads_the_mixture_layout():
    """One dominant component and a high bias: the draw lands on that component's mean."""
    torch.manual_seed(0)
    M = 5
    out = torch.randn(3, 1 + 6 * M)
    out[:, 1:1 + M] = -50.0
    chosen = torch.tensor([0, 3, 4])
    out[torch.arange(3), 1 + chosen] = 50.0
    out[:, 0] = torch.tensor([-40.0, 40.0, -40.0])     # eos logits: certain no, yes, no
    p = MixtureParams(out, M)
    bias = torch.full((3, 1), 12.0)                     # sigma = exp(log_sigma - 12): negligible
    x = sample_point(out, DrawParams(M, bias), torch.Generator().manual_seed(0))
    torch.testing.assert_close(x[:, :2], p.mu[torch.arange(3), chosen], atol=1e-3, rtol=0)
    assert x[:, 2].tolist() == [0.0, 1.0, 0.0]


# ---- the Hand uses the fast path ------------------------------------------------------------------

def test_hand_writes_the_same_document_fast_and_eager(tmp_path, tiny_ckpt_path, tiny_style_dir):
    fast = Hand.load(tiny_ckpt_path, tiny_style_dir)
    eager = Hand.load(tiny_ckpt_path, tiny_style_dir, fast=False)
    assert hasattr(fast.sampler.step_fn, "sample_loop")
    assert not hasattr(eager.sampler.step_fn, "sample_loop")
    specs = [LineSpec("hello there", style=0, bias=1.0), LineSpec("", None),
             LineSpec("quick fox", style=None, bias=0.5), LineSpec("a line", style=2, bias=2.0)]
    a = fast.write(specs, seed=11, max_steps=60)
    b = eager.write(specs, seed=11, max_steps=60)
    for la, lb in zip(a.lines, b.lines):
        assert (la is None) == (lb is None)
        if la is not None:
            assert la.steps == lb.steps
            np.testing.assert_allclose(la.offsets, lb.offsets, atol=1e-3, rtol=1e-4)


# ---- training ---------------------------------------------------------------------------------------

def _batch(seed=0, n=3):
    rng = np.random.default_rng(seed)
    offsets = [STATS.normalise(synthetic_offsets(n_strokes=2 + i, points=9, seed=seed + i)) for i in range(n)]
    texts = [list(rng.integers(1, 20, 2 + 2 * i)) for i in range(n)]     # different lengths: padding
    return collate(offsets, texts)


def test_layer1_recurrence_gradcheck_float64():
    from scribe.fast import _Layer1Recurrence
    torch.manual_seed(0)
    B, T, H, A, K = 2, 7, 3, 5, 2
    f64 = dict(dtype=torch.float64)
    xproj = torch.randn(B, T, 4 * H, **f64, requires_grad=True)
    w_rec = (torch.randn(A + H, 4 * H, **f64) * 0.5).requires_grad_()
    ww = (torch.randn(H, 3 * K, **f64) * 0.5).requires_grad_()
    bw = (torch.randn(3 * K, **f64) * 0.3).requires_grad_()
    text = torch.tensor([[1, 2, 3, 4], [3, 1, 0, 0]])
    onehot = torch.nn.functional.one_hot(text, A).to(torch.float64) * (text > 0).unsqueeze(-1)
    assert torch.autograd.gradcheck(lambda *a: _Layer1Recurrence.apply(*a, onehot), (xproj, w_rec, ww, bw))


def test_fast_loss_equals_model_loss_with_the_same_gradients():
    model = tiny_model().train()
    batch = _batch()
    loss_e, per_line_e = model.loss(batch)
    grads_e = torch.autograd.grad(loss_e, list(model.parameters()))
    loss_f, per_line_f = fast_loss(model)(batch)
    grads_f = torch.autograd.grad(loss_f, list(model.parameters()))
    torch.testing.assert_close(per_line_f, per_line_e, atol=1e-3, rtol=1e-5)
    torch.testing.assert_close(loss_f, loss_e, atol=1e-3, rtol=1e-5)
    for (name, _), ge, gf in zip(model.named_parameters(), grads_e, grads_f):
        torch.testing.assert_close(gf, ge, atol=1e-4, rtol=1e-4, msg=name)


def test_fast_forward_runs_under_autocast():
    from scribe.train.train import cpu_runs_bf16
    if not cpu_runs_bf16():     # oneDNN has no bfloat16 LSTM without AVX-512 BF16 (this project's AMD CPUs)
        pytest.skip("this CPU cannot run a bfloat16 LSTM (no AVX-512 BF16); train.py refuses bf16 here")
    model = tiny_model().train()
    batch = _batch(seed=4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fast_forward(model, batch.inputs, batch.text)
    ref = model(batch.inputs, batch.text)
    assert out.shape == ref.shape and torch.isfinite(out.float()).all()
    assert float((out.float() - ref).abs().max().detach()) < 0.2   # bf16 upper layers, float32 recurrence
    out.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
