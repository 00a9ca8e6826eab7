import torch

from scribe.dataset import collate
from scribe.model import MixtureParams, ModelConfig, SynthesisNetwork, mixture_nll
from helpers import synthetic_offsets


def test_graves_size_parameter_count():
    n = SynthesisNetwork(ModelConfig(alphabet_size=80)).num_parameters()
    assert 3.5e6 < n < 4.0e6   # Graves (2013): about 3.7M


def test_step_by_step_equals_whole_sequence():
    torch.manual_seed(0)
    m = SynthesisNetwork(ModelConfig(alphabet_size=12, rnn_size=16, window_gaussians=3, mixtures=4))
    x, text = torch.randn(2, 9, 3), torch.randint(1, 12, (2, 5))
    whole = m(x, text)
    state, onehot, steps = m.initial_state(2), m.text_onehot(text), []
    for t in range(9):
        out, state, _ = m.step(x[:, t], state, onehot)
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps, 1), whole, atol=1e-5, rtol=1e-4)


def test_nll_matches_closed_form_for_one_gaussian():
    out = torch.zeros(1, 1 + 6)           # M=1: eos logit 0, pi, mu=0, log sigma=0, rho=0
    target = torch.tensor([[0.5, -1.0, 1.0]])
    nll = mixture_nll(MixtureParams(out, 1), target)
    expected = torch.log(torch.tensor(2.0)) + torch.log(torch.tensor(2 * torch.pi)) + 0.5 * (0.25 + 1.0)
    torch.testing.assert_close(nll, expected.reshape(1))


def test_loss_falls_when_fitting_a_batch():
    torch.manual_seed(0)
    m = SynthesisNetwork(ModelConfig(alphabet_size=6, rnn_size=16, window_gaussians=3, mixtures=3))
    offs = [synthetic_offsets(seed=s) / 50 for s in range(4)]
    batch = collate(offs, [[1, 2, 3], [2, 3], [4, 5, 1], [3]])
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    first = None
    for _ in range(40):
        loss, per_line = m.loss(batch)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert per_line.shape == (4,)
    assert float(loss.detach()) < first - 50        # nats per line
