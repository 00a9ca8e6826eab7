"""The first-batch check of the compiled training path (scribe/self_check.py) and the precision rule."""
import numpy as np
import pytest
import torch

from conftest import synthetic_offsets
from scribe.alphabet import Alphabet
from scribe.dataset import NormStats, collate
from scribe.fast import fast_loss
from scribe.model import ModelConfig, SynthesisNetwork
from scribe import self_check

STATS = NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)


def _model():
    torch.manual_seed(0)
    return SynthesisNetwork(ModelConfig(Alphabet("abcdefghij ").size, 16, 3, 3, 4, 12.0)).train()


def _batch():
    rng = np.random.default_rng(0)
    offsets = [STATS.normalise(synthetic_offsets(n_strokes=2 + i, points=9, seed=i)) for i in range(3)]
    return collate(offsets, [list(rng.integers(1, 11, 2 + 2 * i)) for i in range(3)])


def _check(model, fn, batch):
    logged = []
    before = {k: v.clone() for k, v in model.state_dict().items()}
    chosen = self_check.checked_loss(model, fn, batch, logged.append)
    # The check never trains: weights as they were, no gradients left behind.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert len(logged) == 1
    return chosen, logged[0]


def test_a_correct_compiled_loss_is_kept():
    model, batch = _model(), _batch()
    fast = fast_loss(model)
    chosen, line = _check(model, fast, batch)
    assert chosen is fast and "matches the eager model" in line and "relative difference" in line


def test_a_wrong_loss_a_wrong_gradient_or_an_error_falls_back_to_eager():
    model, batch = _model(), _batch()
    fast = fast_loss(model)

    def wrong_loss(b):
        loss, per_line = fast(b)
        return loss * 1.01, per_line * 1.01

    def wrong_gradient(b):   # the same value, but a gradient pushed off on one weight
        loss, per_line = fast(b)
        w = model.output.weight
        nudge = 0.5 * (w.sum() - w.sum().detach())
        return loss + nudge, per_line

    def broken(b):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    for fn, why in ((wrong_loss, "its loss is"), (wrong_gradient, "differs from the eager one"),
                    (broken, "raised RuntimeError: CUDA error")):
        chosen, line = _check(model, fn, batch)
        # model.loss is a bound method: compare what it is, not the object
        assert getattr(chosen, "__func__", None) is SynthesisNetwork.loss and chosen.__self__ is model
        assert "Self-check on the first batch FAILED" in line and why in line and "eager model" in line


def test_a_non_finite_loss_under_the_training_precision_falls_back():
    model, batch = _model(), _batch()
    fast = fast_loss(model)
    state = {"amp": False}

    class Amp:   # the "training precision": marks calls made under it
        def __enter__(self):
            state["amp"] = True

        def __exit__(self, *exc):
            state["amp"] = False

    def nan_under_amp(b):
        loss, per_line = fast(b)
        return (loss * float("nan"), per_line) if state["amp"] else (loss, per_line)

    why, _ = self_check.fast_disagreement(model, nan_under_amp, model.loss, batch, autocast=Amp)
    assert why and "not finite" in why
    assert self_check.fast_disagreement(model, fast, model.loss, batch, autocast=Amp)[0] is None


def test_precision_by_gpu_capability(monkeypatch):
    """bf16 from compute capability 8.0 (A100, L4, H100), fp16 + a gradient scaler below it (T4 is 7.5),
    fp32 on the CPU. Faked capabilities: this machine has no GPU."""
    train = pytest.importorskip("scribe.train.train")
    if not hasattr(train, "choose_precision"):
        pytest.skip("train.train.choose_precision is added on main (issue 12 assumes its signature)")
    cuda = torch.device("cuda", 0)
    assert train.choose_precision(cuda, capability=(7, 5)) == "fp16"
    assert train.choose_precision(cuda, capability=(7, 0)) == "fp16"
    assert train.choose_precision(cuda, capability=(8, 0)) == "bf16"
    assert train.choose_precision(cuda, capability=(9, 0)) == "bf16"
    assert train.choose_precision(torch.device("cpu")) == "fp32"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (7, 5))
    assert train.choose_precision(cuda) == "fp16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (8, 6))
    assert train.choose_precision(cuda) == "bf16"
