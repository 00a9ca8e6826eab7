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
    def window_from(self, h1: torch.Tensor, kappa: torch.Tensor, onehot: torch.Tensor):
        """Attention from layer 1's output. Returns (window vector, new kappa, phi over chars)."""
        K = self.config.window_gaussians
        alpha, beta, dkappa = self.window(h1).float().exp().split(K, -1)
        kappa = kappa + dkappa
        u = torch.arange(onehot.shape[1], device=h1.device, dtype=torch.float32)
        # exp of arguments below -87 underflows anyway and is 50-150x slower on x86: clamp them
        phi = (alpha[..., None] * torch.exp((-beta[..., None] * (kappa[..., None] - u) ** 2).clamp(min=-87.0))).sum(1)
        w = torch.bmm(phi.unsqueeze(1).to(onehot.dtype), onehot).squeeze(1)
        return w, kappa, phi

    def text_onehot(self, text: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        return F.one_hot(text, self.config.alphabet_size).to(dtype) * (text > 0).unsqueeze(-1).to(dtype)

    # ---- training: whole sequences ----------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, text: torch.Tensor, return_phi: bool = False):
        """inputs (B, T, 3) normalised offsets, text (B, U) indices -> (B, T, 1 + 6M) outputs."""
        B, T, _ = inputs.shape
        H = self.config.rnn_size
        onehot = self.text_onehot(text, inputs.dtype)
        w_ih = self.cell1.weight_ih
        # The offset part of layer 1's input is known up front: project it for all steps at once.
        x_proj = F.linear(inputs, w_ih[:, :3], self.cell1.bias_ih + self.cell1.bias_hh)
        w_rec = torch.cat([w_ih[:, 3:], self.cell1.weight_hh], 1)   # acts on [window, h]
        h = inputs.new_zeros(B, H)
        c = inputs.new_zeros(B, H)
        w = inputs.new_zeros(B, self.config.alphabet_size)
        kappa = inputs.new_zeros(B, self.config.window_gaussians, dtype=torch.float32)
        hs, ws, phis = [], [], []
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
        return self._upper_and_output(inputs, torch.stack(hs, 1), torch.stack(ws, 1),
                                      torch.stack(phis, 1) if return_phi else None)

    def _upper_and_output(self, inputs, h1s, ws, phis):
        outs, below = [h1s], h1s
        for lstm in self.upper:
            below, _ = lstm(torch.cat([inputs, below, ws], -1))
            outs.append(below)
        out = self.output(torch.cat(outs, -1))
        return (out, phis) if phis is not None else out

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean NLL per line, summed NLL per line (B,)) in nats, padding excluded."""
        return line_nll(self(batch.inputs, batch.text), batch, self.config.mixtures)

    # ---- sampling: one step -----------------------------------------------------------------------
    def initial_state(self, batch: int, device=None) -> list[torch.Tensor]:
        H, A, K = self.config.rnn_size, self.config.alphabet_size, self.config.window_gaussians
        z = lambda *s: torch.zeros(*s, device=device)
        state = [z(batch, H), z(batch, H), z(batch, A), z(batch, K)]
        for _ in self.upper:
            state += [z(batch, H), z(batch, H)]
        return state

    def step(self, x: torch.Tensor, state: list[torch.Tensor], onehot: torch.Tensor):
        """One time step. x (B, 3), state from initial_state, onehot (B, U, A).

        Returns (outputs (B, 1 + 6M), new state, phi (B, U)). Plain eager maths: the reference that
        faster samplers are checked against.
        """
        h, c, w, kappa = state[:4]
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
