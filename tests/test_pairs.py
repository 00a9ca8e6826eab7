"""Prime-and-continue training: pairs of lines of one form, the primed loss (as sampling primes), and
train.py's --pair_fraction."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import ROOT, TINY_ALPHABET, tiny_checkpoint, write_tiny_data
from scribe.alphabet import Alphabet
from scribe.checkpoint import load_checkpoint
from scribe.dataset import BucketBatches, PairBatches, ProcessedData, form_of, form_partners
from scribe.fast import fast_loss
from scribe.model import SynthesisNetwork, carried_after_prime, mixture_nll, MixtureParams
from scribe.sampling import Prime, Sampler

ALPHABET = Alphabet(TINY_ALPHABET)
# three forms; form b01-002 has lines in both splits (IAM-OnDB's never do: pairs must still not cross)
IDS = ["a01-000u-01", "a01-000u-02", "a01-000u-03", "a02-001-01", "b01-002-01", "b01-002-02",
       "c03-004x-01", "a01-000u-04", "b01-002-03", "c03-004x-02", "c03-004x-03"]


@pytest.fixture()
def pair_data(tmp_path) -> ProcessedData:
    return write_tiny_data(tmp_path / "pairs.npz", n_train=7, n_valid=4, line_ids=IDS)


def test_form_of_an_iam_line_id():
    assert form_of("a01-000u-01") == "a01-000u" and form_of("a08-551z-12") == "a08-551z"


def test_pairs_are_same_form_same_split_and_never_a_line_with_itself(pair_data):
    for split in ("train", "valid"):
        batches = PairBatches(pair_data, split, ALPHABET, batch_size=2, seed=3)
        in_split = set(pair_data.indices(split).tolist())
        seen = set()
        for _ in range(20):
            for group in batches.epoch():
                for prime, line in group:
                    assert prime != line and {int(prime), int(line)} <= in_split
                    assert form_of(pair_data.line_ids[prime]) == form_of(pair_data.line_ids[line])
                    seen.add(int(line))
        # every line with a partner in its split is written after one; a02-001-01 (alone) never
        partners = form_partners(pair_data.line_ids, pair_data.indices(split))
        assert seen == set(partners)
    assert 3 not in form_partners(pair_data.line_ids, pair_data.indices("train"))   # a02-001-01
    # b01-002: lines 4, 5 in train, line 8 in valid: each split pairs only its own
    assert form_partners(pair_data.line_ids, pair_data.indices("train"))[4].tolist() == [5]
    assert 8 not in form_partners(pair_data.line_ids, pair_data.indices("valid"))


def test_a_split_with_no_two_lines_of_one_form_says_so(tmp_path):
    data = write_tiny_data(tmp_path / "d.npz", n_train=3, n_valid=1, line_ids=["a-1-1", "b-1-1", "c-1-1", "d-1-1"])
    with pytest.raises(ValueError, match="no two usable lines of one form"):
        PairBatches(data, "train", ALPHABET, 2)


def test_a_pair_batch_is_the_prime_with_its_text_and_a_space_then_the_line(pair_data):
    batches = PairBatches(pair_data, "train", ALPHABET, batch_size=4, seed=1)
    pairs = np.array([[0, 1], [5, 4]])
    pb = batches.make(pairs)
    single = BucketBatches(pair_data, "train", ALPHABET, 4)
    line = single.make([1, 4])
    for a, b in zip((pb.line.inputs, pb.line.targets, pb.line.mask, pb.line.text), (line.inputs, line.targets,
                                                                                 line.mask, line.text)):
        torch.testing.assert_close(a, b)
    assert pb.prime_lengths.tolist() == [len(pair_data.line(0)), len(pair_data.line(5))]
    for b, i in enumerate((0, 5)):
        text = ALPHABET.decode(pb.prime.text[b].tolist())
        assert text == str(pair_data.texts[i]) + " "
    assert pb.mask is pb.line.mask


def _explicit_primed_nll(model, stats, data, pairs) -> torch.Tensor:
    """The reference: the prime run exactly as sampling runs it (Sampler.prime_states, eager steps),
    layers 2..N handed on as sampling hands them, then the second line teacher-forced step by step
    with the eager step, its NLL summed per line."""
    sep = ALPHABET.encode_separator()
    out = []
    for p, l in pairs:
        prime = Prime(stats.normalise(data.line(p)), str(data.texts[p]))
        p_state, _ = Sampler(model, stats).prime_states([prime], [ALPHABET.encode(prime.text) + sep])
        state = model.initial_state(1)
        state = state[:4] + [t.clone() for t in p_state[4:]]     # layer 1 + window fresh, layers 2..N kept
        target = torch.from_numpy(stats.normalise(data.line(l))).unsqueeze(0)
        onehot = model.text_onehot(torch.tensor([ALPHABET.encode(str(data.texts[l]))]))
        x = torch.tensor([[0.0, 0.0, 1.0]])
        total = torch.zeros(())
        for t in range(target.shape[1]):
            o, state, _ = model.step(x, state, onehot)
            total = total + mixture_nll(MixtureParams(o, model.config.mixtures), target[:, t]).sum()
            x = target[:, t]
        out.append(total)
    return torch.stack(out)


def test_the_primed_loss_is_sampling_s_prime_then_the_second_line(pair_data):
    ck = tiny_checkpoint()
    model = SynthesisNetwork(ck.config)
    model.load_state_dict(ck.model_state)
    model.eval()
    pairs = np.array([[0, 1], [5, 4], [2, 0]])
    pb = PairBatches(pair_data, "train", ALPHABET, 3).make(pairs)
    with torch.no_grad():
        ref = _explicit_primed_nll(model, pair_data.stats, pair_data, pairs)
        _, eager = model.loss(pb)
        _, fast = fast_loss(model)(pb)
        _, unprimed = model.loss(pb.line)
    torch.testing.assert_close(eager, ref, atol=2e-3, rtol=1e-5)
    torch.testing.assert_close(fast, ref, atol=2e-3, rtol=1e-5)
    assert (unprimed - ref).abs().max() > 1e-2     # the prime really changes the second line's loss


def test_the_compiled_primed_loss_has_the_eager_gradients(pair_data):
    torch.manual_seed(2)
    model = SynthesisNetwork(tiny_checkpoint().config).train()
    pb = PairBatches(pair_data, "train", ALPHABET, 3).make(np.array([[0, 1], [5, 4], [1, 2]]))
    loss_e, _ = model.loss(pb)
    grads_e = torch.autograd.grad(loss_e, list(model.parameters()), allow_unused=True)
    loss_f, _ = fast_loss(model)(pb)
    grads_f = torch.autograd.grad(loss_f, list(model.parameters()), allow_unused=True)
    torch.testing.assert_close(loss_f, loss_e, atol=1e-3, rtol=1e-5)
    for (name, _), ge, gf in zip(model.named_parameters(), grads_e, grads_f):
        assert ge is not None and gf is not None, name     # the prime's layers get gradients too
        torch.testing.assert_close(gf, ge, atol=1e-4, rtol=1e-4, msg=name)


def test_what_a_line_keeps_after_a_prime_is_layers_2_to_n():
    model = SynthesisNetwork(tiny_checkpoint().config)
    state = model.initial_state(2)
    kept = carried_after_prime(state)
    assert len(kept) == 2 * (model.config.num_layers - 1)
    assert all(a is b for a, b in zip(kept, state[-len(kept):]))   # the state's own tensors: sampling writes them
    with pytest.raises(ValueError, match="carried state"):
        model(torch.zeros(2, 3, 3), torch.ones(2, 2, dtype=torch.long), carried=state)


# ---- train.py ---------------------------------------------------------------------------------------

TINY = ["--rnn_size", "16", "--nmixtures", "3", "--nwindow", "3", "--batch_size", "4",
        "--learning_rate", "0.01", "--warmup_steps", "2", "--log_every", "2"]


def py(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_run_with_pairs_trains_saves_the_recipe_and_resumes(synthetic_data, tmp_path):
    out = tmp_path / "run"
    args = ["train/train.py", "--data", str(synthetic_data), "--out_dir", str(out), *TINY,
            "--pair_fraction", "0.5", "--save_every", "3"]
    r = py(*args, "--max_steps", "6")
    assert r.returncode == 0, r.stderr
    assert "after a prime of their form" in r.stdout and "nan" not in r.stdout.lower()
    ck = load_checkpoint(out / "checkpoint-6.pt")
    assert ck.train_config["pair_fraction"] == 0.5
    hist = ck.metrics["history"]
    assert all(np.isfinite(h["loss"]) for h in hist)
    assert np.isfinite(hist[-1]["valid_primed_nll"]) and np.isfinite(hist[-1]["valid_unprimed_nll_same_lines"])
    r = py(*args, "--max_steps", "9")
    assert r.returncode == 0, r.stderr
    assert "Restored from checkpoint-6" in r.stdout
    assert load_checkpoint(out / "checkpoint-9.pt").step == 9


def test_pair_fraction_out_of_range_is_refused_in_one_line(tmp_path):
    r = py("train/train.py", "--pair_fraction", "1.5", "--out_dir", str(tmp_path / "r"))
    assert r.returncode == 2 and "argument --pair_fraction: must be a finite number from 0 to 1, not " in r.stderr.splitlines()[-1]


def _batches_seen(monkeypatch, synthetic_data, tmp_path, fraction: float) -> list:
    """Every batch train.main feeds the loss, in order (compiled path off: the eager model.loss)."""
    import scribe.train.train as train
    seen = []
    real = SynthesisNetwork.loss

    def recording(self, batch):
        if torch.is_grad_enabled():      # training steps, not validation
            seen.append(batch)
        return real(self, batch)

    with monkeypatch.context() as m:
        m.setattr(SynthesisNetwork, "loss", recording)
        assert train.main(["--data", str(synthetic_data), "--out_dir", str(tmp_path / f"r{fraction}"), *TINY,
                           "--compile", "false", "--max_steps", "8", "--save_every", "100",
                           "--pair_fraction", str(fraction)]) == 0
    return seen


def test_single_line_batches_are_the_same_with_or_without_pairs(monkeypatch, synthetic_data, tmp_path):
    """pair_fraction 0 trains on single lines only; with pairs, the single-line steps still draw the
    same batches in the same order (the pair stream is a stream of its own)."""
    alone = _batches_seen(monkeypatch, synthetic_data, tmp_path, 0.0)
    mixed = _batches_seen(monkeypatch, synthetic_data, tmp_path, 0.5)
    assert len(alone) == 8 and not any(hasattr(b, "prime") for b in alone)
    singles = [b for b in mixed if not hasattr(b, "prime")]
    assert 0 < len(singles) < 8
    for a, b in zip(alone, singles):
        torch.testing.assert_close(a.inputs, b.inputs)
        torch.testing.assert_close(a.text, b.text)


def test_the_pairs_recipe_config_loads_and_warm_starts_from_the_shipped_model():
    from scribe.train.train import parse_args
    cfg = parse_args(["--config", str(ROOT / "train/configs/cpu_pairs.json")])
    assert cfg.pair_fraction == 0.5 and cfg.precision == "fp32"
    assert (ROOT / cfg.init_from).exists() and cfg.max_len == 520
