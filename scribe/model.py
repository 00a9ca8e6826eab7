"""Graves (2013) handwriting synthesis network: LSTM stack + soft attention window + mixture density.

Layer 1 runs step by step because it feeds the window, and the window feeds layer 1 at the next step.
Layers 2..N see the whole window sequence once layer 1 is done, so they run as fused (cuDNN on GPU)
nn.LSTMs over the full sequence. Sampling uses `step`, which computes the very same maths one time
step at a time with the same weights.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass
class ModelConfig:
    alphabet_size: int = 80       # one-hot width, padding index 0 included
    rnn_size: int = 400
    num_layers: int = 3
    window_gaussians: int = 10
    mixtures: int = 20
    steps_per_char: float = 12.0  # expected pen steps per character: sets where the window starts moving

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


class MixtureParams:
    """The output distribution of one or many steps, split into named parts (all float32)."""

    def __init__(self, out: torch.Tensor, mixtures: int):
        out = out.float()
        M = mixtures
        self.eos_logit = out[..., 0]
        self.pi_logits = out[..., 1:1 + M]
        self.mu = torch.stack([out[..., 1 + M:1 + 2 * M], out[..., 1 + 2 * M:1 + 3 * M]], -1)
        self.log_sigma = torch.stack([out[..., 1 + 3 * M:1 + 4 * M], out[..., 1 + 4 * M:1 + 5 * M]], -1)
        self.rho = torch.tanh(out[..., 1 + 5 * M:1 + 6 * M]) * (1 - 1e-5)


def mixture_nll(params: MixtureParams, targets: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of each target step (..., 3) in nats, same leading shape as targets."""
    x = targets[..., None, :2]                                   # (..., 1, 2)
    sigma = params.log_sigma.exp()
    z = (x - params.mu) / sigma                                  # (..., M, 2)
    rho = params.rho
    one_minus = 1 - rho * rho
    quad = (z[..., 0] ** 2 + z[..., 1] ** 2 - 2 * rho * z[..., 0] * z[..., 1]) / one_minus
    log_gauss = (-math.log(2 * math.pi) - params.log_sigma.sum(-1) - 0.5 * torch.log(one_minus)
                 - 0.5 * quad)
    log_mix = torch.logsumexp(F.log_softmax(params.pi_logits, -1) + log_gauss, -1)
    eos_nll = F.binary_cross_entropy_with_logits(params.eos_logit, targets[..., 2], reduction="none")
    return eos_nll - log_mix


def line_nll(out: torch.Tensor, batch, mixtures: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss, written once: (mean NLL per line, summed NLL per line (B,)) in nats, padding excluded."""
    nll = mixture_nll(MixtureParams(out, mixtures), batch.targets) * batch.mask
    per_line = nll.sum(1)
    return per_line.mean(), per_line


# A step state (initial_state, step) is [h1, c1, window, kappa, h2, c2, ..., hN, cN]; the first
# LAYER1_STATE entries belong to layer 1 and the window.
LAYER1_STATE = 4


def carried_after_prime(state: list) -> list:
    """What a line written after a prime keeps of the prime's end state: layers 2..N (h, c each), the
    writer's hand. Layer 1 and the window start afresh on the new text, as every training line starts.
    Sampling (Sampler._setup) and prime-and-continue training (primed_line_nll) both take it from
    here, so the two cannot drift apart."""
    return list(state[LAYER1_STATE:])


def primed_line_nll(model: "SynthesisNetwork", prime, prime_lengths: torch.Tensor, line, layer1=None,
                    forward=None):
    """Prime-and-continue loss, as sampling uses a prime: teacher-force `prime` (.inputs, .text: its
    ink and its text + " ", prime_lengths real steps per line) from zero state, keep
    carried_after_prime() of the end state, and write `line` (a Batch) from there. Returns line_nll
    of `line` alone; gradients flow back through the prime, so the network learns to put the hand
    into the state it carries. (scribe.dataset.PairBatch holds both.)

    layer1 / forward: the layer-1 recurrence and the whole-line forward (scribe.fast passes its
    compiled ones); default the eager model's."""
    state = model.prime_state(prime.inputs, prime.text, prime_lengths, layer1)
    out = (forward or model)(line.inputs, line.text, carried=carried_after_prime(state))
    return line_nll(out, line, model.config.mixtures)


@dataclass
class RowParams:
    """Weights that differ between the rows of a sampling batch: each row's style adapter
    (scribe.style_adapters: every bias and the output layer). The batch's S distinct parameter sets
    are stacked; row b uses set sel[b]. The eager step reads them per row; scribe.fast lays them out
    for its products."""
    sel: torch.Tensor             # (B,) long, index into the S sets
    b1: torch.Tensor              # (S, 4H): cell1.bias_ih + cell1.bias_hh
    bw: torch.Tensor              # (S, 3K): window.bias
    b_upper: list                 # (S, 4H) per layer 2..N: bias_ih_l0 + bias_hh_l0
    w_out: torch.Tensor           # (S, 1 + 6M, N*H): output.weight
    b_out: torch.Tensor           # (S, 1 + 6M): output.bias

    @classmethod
    def of(cls, model: "SynthesisNetwork", sets: list, sel: list[int]) -> "RowParams":
        """sets: S dicts {parameter name: value} (a StyleAdapter's params) or None for the model's own."""
        named = dict(model.named_parameters())

        def value(params, name):
            return (params or {}).get(name, named[name]).detach()

        def stack(names):
            return torch.stack([sum(value(p, n) for n in names) for p in sets])

        b_upper = [stack([f"upper.{n}.bias_ih_l0", f"upper.{n}.bias_hh_l0"]) for n in range(len(model.upper))]
        return cls(torch.tensor(sel, dtype=torch.long, device=named["output.bias"].device),
                   stack(["cell1.bias_ih", "cell1.bias_hh"]), stack(["window.bias"]), b_upper,
                   stack(["output.weight"]), stack(["output.bias"]))


def _lstm_from_gates(gates: torch.Tensor, c: torch.Tensor):
    """nn.LSTM's cell on pre-activation gates in its order i, f, g, o: (h, c)."""
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class SynthesisNetwork(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        H, A, K, M = c.rnn_size, c.alphabet_size, c.window_gaussians, c.mixtures
        self.cell1 = nn.LSTMCell(3 + A, H)                       # input: pen offset, previous window
        self.window = nn.Linear(H, 3 * K)                        # alpha, beta, kappa increments
        self.upper = nn.ModuleList(nn.LSTM(3 + H + A, H, batch_first=True) for _ in range(c.num_layers - 1))
        self.output = nn.Linear(H * c.num_layers, 1 + 6 * M)
        with torch.no_grad():
            # Start the window moving at about one character per `steps_per_char` steps.
            self.window.bias[2 * K:].fill_(-math.log(c.steps_per_char))
            for lstm_bias in [self.cell1.bias_ih] + [l.bias_ih_l0 for l in self.upper]:
                lstm_bias[H:2 * H].fill_(1.0)                    # forget gate open at the start

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- the window -------------------------------------------------------------------------------
    def window_from(self, h1: torch.Tensor, kappa: torch.Tensor, onehot: torch.Tensor, bias=None):
        """Attention from layer 1's output. Returns (window vector, new kappa, phi over chars).
        bias: per-row window biases (B, 3K) in place of the layer's own."""
        K = self.config.window_gaussians
        params = self.window(h1) if bias is None else F.linear(h1, self.window.weight) + bias
        alpha, beta, dkappa = params.float().exp().split(K, -1)
        kappa = kappa + dkappa
        u = torch.arange(onehot.shape[1], device=h1.device, dtype=torch.float32)
        # exp of arguments below -87 underflows anyway and is 50-150x slower on x86: clamp them
        phi = (alpha[..., None] * torch.exp((-beta[..., None] * (kappa[..., None] - u) ** 2).clamp(min=-87.0))).sum(1)
        w = torch.bmm(phi.unsqueeze(1).to(onehot.dtype), onehot).squeeze(1)
        return w, kappa, phi

    def text_onehot(self, text: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        return F.one_hot(text, self.config.alphabet_size).to(dtype) * (text > 0).unsqueeze(-1).to(dtype)

    # ---- training: whole sequences ----------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, text: torch.Tensor, return_phi: bool = False,
                carried: list | None = None):
        """inputs (B, T, 3) normalised offsets, text (B, U) indices -> (B, T, 1 + 6M) outputs.
        carried: layers 2..N's start state (carried_after_prime of a prime); default zero."""
        hs, ws, _, _, phis = self._layer1(inputs, self.text_onehot(text, inputs.dtype), return_phi)
        return self._upper_and_output(inputs, hs, ws, phis, carried)

    def layer1(self, inputs: torch.Tensor, text: torch.Tensor):
        """Layer 1 + window over whole lines from zero state: (h, w, c, kappa), each (B, T, .)."""
        hs, ws, cs, kappas, _ = self._layer1(inputs, self.text_onehot(text, inputs.dtype), False, True)
        return hs, ws, cs, kappas

    def _layer1(self, inputs, onehot, return_phi=False, return_state=False):
        B, T, _ = inputs.shape
        H = self.config.rnn_size
        w_ih = self.cell1.weight_ih
        # The offset part of layer 1's input is known up front: project it for all steps at once.
        x_proj = F.linear(inputs, w_ih[:, :3], self.cell1.bias_ih + self.cell1.bias_hh)
        w_rec = torch.cat([w_ih[:, 3:], self.cell1.weight_hh], 1)   # acts on [window, h]
        h = inputs.new_zeros(B, H)
        c = inputs.new_zeros(B, H)
        w = inputs.new_zeros(B, self.config.alphabet_size)
        kappa = inputs.new_zeros(B, self.config.window_gaussians, dtype=torch.float32)
        hs, ws, phis, cs, kappas = [], [], [], [], []
        # unbind, not x_proj[:, t]: indexing's backward would build a full-size gradient every step.
        for x_t in x_proj.unbind(1):
            gates = x_t + torch.cat([w, h], 1) @ w_rec.t()
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            w, kappa, phi = self.window_from(h, kappa, onehot)
            w = w.to(inputs.dtype)
            hs.append(h)
            ws.append(w)
            if return_phi:
                phis.append(phi)
            if return_state:
                cs.append(c)
                kappas.append(kappa)
        stack = lambda xs: torch.stack(xs, 1) if xs else None
        return stack(hs), stack(ws), stack(cs), stack(kappas), stack(phis)

    def prime_state(self, inputs: torch.Tensor, text: torch.Tensor, lengths: torch.Tensor, layer1=None):
        """The step state after teacher-forcing line b over inputs[b, :lengths[b]] (lengths >= 1) with
        its text, from zero state: what Sampler.prime_states computes step by step, here over whole
        sequences and differentiable. layer1(inputs, text) -> (h, w, c, kappa); default self.layer1."""
        hs, ws, cs, kappas = (layer1 or self.layer1)(inputs, text)
        last = (torch.arange(len(lengths), device=inputs.device), lengths.to(inputs.device) - 1)
        state = [hs[last], cs[last], ws[last], kappas[last]]
        below = hs
        for lstm in self.upper:
            # packed, so that each line's (h, c) is taken at its own end, not after the padding
            seq = pack_padded_sequence(torch.cat([inputs, below, ws], -1), lengths.cpu(), batch_first=True,
                                       enforce_sorted=False)
            out, (h, c) = lstm(seq)
            below, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.shape[1])
            state += [h[0], c[0]]
        return state

    def _upper_and_output(self, inputs, h1s, ws, phis, carried=None):
        if carried is not None and len(carried) != 2 * len(self.upper):
            raise ValueError(f"carried state has {len(carried)} entries; layers 2..N need {2 * len(self.upper)}")
        outs, below = [h1s], h1s
        for n, lstm in enumerate(self.upper):
            start = None if carried is None else (carried[2 * n].unsqueeze(0), carried[2 * n + 1].unsqueeze(0))
            below, _ = lstm(torch.cat([inputs, below, ws], -1), start)
            outs.append(below)
        out = self.output(torch.cat(outs, -1))
        return (out, phis) if phis is not None else out

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean NLL per line, summed NLL per line (B,)) in nats, padding excluded. A PairBatch
        (scribe.dataset) gives the prime-and-continue loss of its second lines (primed_line_nll)."""
        if getattr(batch, "prime", None) is not None:
            return primed_line_nll(self, batch.prime, batch.prime_lengths, batch.line)
        return line_nll(self(batch.inputs, batch.text), batch, self.config.mixtures)

    # ---- sampling: one step -----------------------------------------------------------------------
    def initial_state(self, batch: int, device=None) -> list[torch.Tensor]:
        H, A, K = self.config.rnn_size, self.config.alphabet_size, self.config.window_gaussians
        z = lambda *s: torch.zeros(*s, device=device)
        state = [z(batch, H), z(batch, H), z(batch, A), z(batch, K)]
        for _ in self.upper:
            state += [z(batch, H), z(batch, H)]
        return state

    def step(self, x: torch.Tensor, state: list[torch.Tensor], onehot: torch.Tensor, rows: RowParams | None = None):
        """One time step. x (B, 3), state from initial_state, onehot (B, U, A); rows: per-row biases and
        output layer (RowParams), default the model's own.

        Returns (outputs (B, 1 + 6M), new state, phi (B, U)). Plain eager maths: the reference that
        faster samplers are checked against.
        """
        if rows is not None:
            return self._step_rows(x, state, onehot, rows)
        h, c, w, kappa = state[:LAYER1_STATE]
        gates = self.cell1(torch.cat([x, w], 1), (h, c))
        h, c = gates
        w, kappa, phi = self.window_from(h, kappa, onehot)
        new_state, outs = [h, c, w, kappa], [h]
        below = h
        for n, lstm in enumerate(self.upper):
            hn, cn = state[4 + 2 * n], state[5 + 2 * n]
            hn, cn = torch._VF.lstm_cell(torch.cat([x, below, w], 1), (hn, cn), lstm.weight_ih_l0,
                                         lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
            new_state += [hn, cn]
            outs.append(hn)
            below = hn
        return self.output(torch.cat(outs, 1)), new_state, phi

    def _step_rows(self, x, state, onehot, rows: RowParams):
        """step() with each row's own biases and output layer (rows.sel picks the set)."""
        sel = rows.sel
        h, c, w, kappa = state[:LAYER1_STATE]
        gates = (F.linear(torch.cat([x, w], 1), self.cell1.weight_ih) + F.linear(h, self.cell1.weight_hh)
                 + rows.b1[sel])
        h, c = _lstm_from_gates(gates, c)
        w, kappa, phi = self.window_from(h, kappa, onehot, bias=rows.bw[sel])
        new_state, outs = [h, c, w, kappa], [h]
        below = h
        for n, lstm in enumerate(self.upper):
            hn, cn = state[4 + 2 * n], state[5 + 2 * n]
            gates = (F.linear(torch.cat([x, below, w], 1), lstm.weight_ih_l0) + F.linear(hn, lstm.weight_hh_l0)
                     + rows.b_upper[n][sel])
            hn, cn = _lstm_from_gates(gates, cn)
            new_state += [hn, cn]
            outs.append(hn)
            below = hn
        out = torch.baddbmm(rows.b_out[sel].unsqueeze(1), torch.cat(outs, 1).unsqueeze(1),
                            rows.w_out[sel].transpose(1, 2)).squeeze(1)
        return out, new_state, phi
