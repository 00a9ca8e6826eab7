"""The sampling loop: a batch of lines, each with its own text, bias and priming style.

Per line:
- priming runs the network over a real line (its ink and its text) so that the LSTM state carries the
  writer's style; the window then reads prime text + " " + new text, starting where priming left it;
- bias b sharpens the output: mixture weights softmax(logits * (1 + b)), deviations exp(log_sigma - b);
- the line stops once the window has moved past its last character (Graves' test: the attention on
  the position after the text beats every real character), after the pen lifts from the stroke in
  progress, so nothing is written after the text; a step cap is the safety net and is reported.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .dataset import NormStats
from .model import MixtureParams, SynthesisNetwork

# A line may take at most this many times the model's typical steps per character before it is cut.
STEP_CAP_FACTOR = 4.0
# After the window passes the end, a stroke in progress may go on this many steps to lift the pen.
FINISH_STROKE_STEPS = 6


@dataclass
class Prime:
    offsets: np.ndarray   # (T, 3) normalised model-space offsets of a real line
    text: str


@dataclass
class LineRequest:
    encoded: list[int]            # the text to write, as alphabet indices
    bias: float = 0.75
    prime: Prime | None = None
    prime_encoded: list[int] | None = None   # prime text + " ", as alphabet indices


@dataclass
class SampledLine:
    offsets: np.ndarray   # (T, 3) in the training data's units, y up
    steps: int
    hit_cap: bool         # stopped by the step cap, not by reaching the end of the text
    steps_per_char: float


def _pad(seqs: list[list[int]], extra: int = 0) -> torch.Tensor:
    out = torch.zeros(len(seqs), max(len(s) for s in seqs) + extra, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class Sampler:
    def __init__(self, model: SynthesisNetwork, stats: NormStats, step_fn=None):
        self.model = model.eval()
        self.stats = stats
        # step_fn(x, state, onehot) -> (outputs, state, phi); defaults to the model's eager step.
        self.step_fn = step_fn or model.step

    @torch.inference_mode()
    def prime_states(self, primes: list[Prime], encoded: list[list[int]]) -> tuple[list, torch.Tensor]:
        """Run the network over each prime (teacher forcing). Returns (state, last input row)."""
        n = len(primes)
        lengths = torch.tensor([len(p.offsets) for p in primes])
        T = int(lengths.max())
        ink = torch.zeros(n, T + 1, 3)
        ink[:, 0, 2] = 1.0
        for i, p in enumerate(primes):
            ink[i, 1:len(p.offsets) + 1] = torch.from_numpy(p.offsets)
        onehot = self.model.text_onehot(_pad(encoded))
        state = self.model.initial_state(n)
        for t in range(T):
            _, new_state, _ = self.step_fn(ink[:, t], state, onehot)
            live = (t < lengths).unsqueeze(1)   # lines whose prime has ended keep their state
            state = [torch.where(live, new, old) for new, old in zip(new_state, state)]
        last = ink[torch.arange(n), lengths]
        return state, last

    @torch.inference_mode()
    def sample(self, requests: list[LineRequest], seed: int | None = None,
               max_steps: int | None = None, primed: tuple[list, torch.Tensor] | None = None
               ) -> list[SampledLine]:
        """Sample every request in one batch. `primed` is an optional precomputed prime_states()."""
        model, B = self.model, len(requests)
        gen = torch.Generator().manual_seed(seed if seed is not None else int(torch.seed() % 2**62))
        # Window text per line: prime text + " " + new text; generation starts after the prime.
        full = [(r.prime_encoded + r.encoded) if r.prime is not None else r.encoded for r in requests]
        text_len = [len(seq) for seq in full]
        onehot = model.text_onehot(_pad(full, extra=1))     # one padding slot marks "past the end"
        state = model.initial_state(B)
        x = torch.zeros(B, 3)
        x[:, 2] = 1.0
        primed_rows = [i for i, r in enumerate(requests) if r.prime is not None]
        if primed_rows:
            p_state, p_last = primed if primed is not None else self.prime_states(
                [requests[i].prime for i in primed_rows], [requests[i].prime_encoded for i in primed_rows])
            rows = torch.tensor(primed_rows)
            for s, ps in zip(state, p_state):
                s[rows] = ps
            x[rows] = p_last
        new_chars = torch.tensor([len(r.encoded) for r in requests], dtype=torch.float32)
        cap = max_steps or int(STEP_CAP_FACTOR * model.config.steps_per_char * int(new_chars.max()) + 20)
        end_pos = torch.tensor(text_len)
        real = torch.arange(onehot.shape[1]).unsqueeze(0) < end_pos.unsqueeze(1)   # (B, U+1)
        bias = torch.tensor([r.bias for r in requests], dtype=torch.float32).unsqueeze(1)
        rows_all = torch.arange(B)

        points = torch.zeros(cap, B, 3)
        done = torch.zeros(B, dtype=torch.bool)
        past_end_at = torch.full((B,), -1, dtype=torch.long)
        n_steps = torch.full((B,), cap, dtype=torch.long)
        for t in range(cap):
            out, state, phi = self.step_fn(x, state, onehot)
            x = _sample_point(MixtureParams(out, model.config.mixtures), bias, gen)
            points[t] = x
            # Graves' stopping test: attention on the slot after the text exceeds every real char.
            after = phi[rows_all, end_pos]
            past = after > phi.masked_fill(~real, float("-inf")).max(1).values
            past_end_at = torch.where(past & (past_end_at < 0), torch.full_like(past_end_at, t), past_end_at)
            ending = (past_end_at >= 0) & ~done & (
                (x[:, 2] > 0.5) | (t - past_end_at >= FINISH_STROKE_STEPS))
            n_steps = torch.where(ending, torch.full_like(n_steps, t + 1), n_steps)
            done |= ending
            if bool(done.all()):
                break
        results = []
        pts = points.numpy()
        for b in range(B):
            n = int(n_steps[b])
            offs = pts[:n, b].copy()
            if n:
                offs[-1, 2] = 1.0
            results.append(SampledLine(self.stats.denormalise(offs), n, not bool(done[b]),
                                       n / max(1.0, float(new_chars[b]))))
        return results


def _sample_point(p: MixtureParams, bias: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Draw one (dx, dy, eos) per line from the biased mixture."""
    B = bias.shape[0]
    weights = torch.softmax(p.pi_logits * (1 + bias), -1)
    k = torch.multinomial(weights, 1, generator=gen).squeeze(1)
    rows = torch.arange(B)
    mu = p.mu[rows, k]                                   # (B, 2)
    sigma = (p.log_sigma[rows, k] - bias).exp()          # (B, 2)
    rho = p.rho[rows, k]
    z = torch.randn(B, 2, generator=gen)
    dx = mu[:, 0] + sigma[:, 0] * z[:, 0]
    dy = mu[:, 1] + sigma[:, 1] * (rho * z[:, 0] + torch.sqrt(1 - rho * rho) * z[:, 1])
    eos = (torch.rand(B, generator=gen) < torch.sigmoid(p.eos_logit)).float()
    return torch.stack([dx, dy, eos], 1)
