"""Fast paths: the same maths as scribe.model, with the per-step overhead taken out.

Sampling (`fast_step(model)`): a TorchScript module whose forward is a drop-in `step_fn` for
`scribe.sampling.Sampler`. Its weights are laid out once: each product (biases included) is one
matmul on a run of columns of one step buffer [h1, 1, x, w, h2..hN], input-major for one line, oneDNN's
packed layout for several where that is faster (see _FastStep); the step updates its buffers in place.
It also carries the two loops that dominate sampling, compiled so no Python runs per step:
- `sample_loop`: the whole sampling loop (step, biased draw, Graves' stop test), using the very
  same functions as the Python loop in scribe.sampling, so a seed gives the same ink;
- `prime`: teacher-forced priming, which knows every input up front, so layers 2..N run as whole
  sequences (one big matmul for their inputs) and the output layer, unused while priming, is skipped.

Training (`fast_loss(model, device)`): the layer-1 + window recurrence as one autograd Function
whose forward and backward (hand-written BPTT) are TorchScript loops, so autograd records one node
per sequence instead of ~25 per time step. Layers 2..N stay fused nn.LSTMs (cuDNN on GPU).

Everything here is checked against the eager model in tests/test_fast.py (the prime-and-continue
loss in tests/test_pairs.py).
"""

import os
import time
import warnings
from typing import List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .model import SynthesisNetwork, line_nll, primed_line_nll
from .sampling import SamplingRun


# ---- the layer-1 + window recurrence, shared by priming and training ------------------------------

def _window(h: Tensor, kappa: Tensor, ww: Tensor, bw: Tensor, u: Tensor, onehot: Tensor, K: int):
    """Attention window from layer 1's output h (B, H): (w (B, A), kappa (B, K), phi (B, U), abk)."""
    abk = torch.addmm(bw, h, ww).exp()
    alpha, beta, dk = abk.chunk(3, 1)
    kappa = kappa + dk
    d = kappa.unsqueeze(2) - u                               # (B, K, U)
    # exp() of arguments below about -87 (results that underflow float32) takes a slow path on x86,
    # 50-150x slower, and most characters are that far from the window. exp(-87) = 1.6e-38: clamp.
    e = torch.exp(-torch.clamp_max(beta.unsqueeze(2) * (d * d), 87.0))
    phi = torch.bmm(alpha.unsqueeze(1), e).squeeze(1)        # sum over the K gaussians
    w = torch.bmm(phi.unsqueeze(1), onehot).squeeze(1)
    return w, kappa, phi, abk


def _layer1_forward(xproj: Tensor, w_rec: Tensor, ww: Tensor, bw: Tensor, onehot: Tensor,
                    save: bool) -> List[Tensor]:
    """Run layer 1 + window over a whole sequence from zero state. Gates in the order i, f, o, g.

    xproj (B, T, 4H): the pen-offset part of layer 1's gates, bias included, for every step;
    w_rec (A + H, 4H): acts on [previous window, previous h]; ww (H, 3K), bw (3K,).
    Returns [h (B,T,H), w (B,T,A), c (B,T,H), kappa (B,T,K)] and, with save, also the gate
    activations (B,T,4H) and exp'd window parameters (B,T,3K) that the backward pass needs.
    """
    B, T, G = xproj.shape
    H = G // 4
    A = onehot.shape[2]
    K = bw.shape[0] // 3
    u = torch.arange(onehot.shape[1], device=xproj.device, dtype=xproj.dtype)
    h = xproj.new_zeros(B, H)
    c = xproj.new_zeros(B, H)
    w = xproj.new_zeros(B, A)
    kappa = xproj.new_zeros(B, K)
    hs, ws, cs, kappas, acts, abks = [], [], [], [], [], []
    for x_t in xproj.unbind(1):
        gates = torch.addmm(x_t, torch.cat([w, h], 1), w_rec)
        gates.narrow(1, 0, 3 * H).sigmoid_()                 # in place: gates now holds activations
        gates.narrow(1, 3 * H, H).tanh_()
        i, f, o, g = gates.chunk(4, 1)
        c = torch.addcmul(f * c, i, g)
        h = o * torch.tanh(c)
        w, kappa, phi, abk = _window(h, kappa, ww, bw, u, onehot, K)
        hs.append(h)
        ws.append(w)
        cs.append(c)
        kappas.append(kappa)
        if save:
            acts.append(gates)
            abks.append(abk)
    out = [torch.stack(hs, 1), torch.stack(ws, 1), torch.stack(cs, 1), torch.stack(kappas, 1)]
    if save:
        out += [torch.stack(acts, 1), torch.stack(abks, 1)]
    return out


def _layer1_backward(gh: Tensor, gw: Tensor, hs: Tensor, ws: Tensor, cs: Tensor, kappas: Tensor,
                     acts: Tensor, abks: Tensor, w_rec: Tensor, ww: Tensor, onehot: Tensor
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backpropagation through time for _layer1_forward.

    gh, gw: gradients of the loss w.r.t. the outputs h (B,T,H) and w (B,T,A).
    Returns gradients for (xproj, w_rec, ww, bw).
    Everything that does not depend on the gradient flowing back is computed for all steps at
    once before the loop, so each step is a handful of ops.
    """
    B, T, H = hs.shape
    A = ws.shape[2]
    K = kappas.shape[2]
    # LSTM cell, per step: c = f c' + i g, h = o tanh(c).
    i, f, o, g = acts.chunk(4, 2)
    tc = torch.tanh(cs)
    c_prev = torch.cat([torch.zeros_like(cs[:, :1]), cs[:, :-1]], 1)
    # d(pre-activation gates) = [dc, dc, dh, dc] * gate_factor; dc gets dh * o (1 - tanh(c)^2)
    gate_factor = torch.cat([g * i * (1 - i), c_prev * f * (1 - f), tc * o * (1 - o), i * (1 - g * g)], 2)
    dh_to_dc = o * (1 - tc * tc)
    # Window, per step: phi_u = sum_k alpha_k e_ku, e = exp(-min(beta (kappa - u)^2, 87)), w = phi @ onehot.
    alpha, beta, dk = abks.chunk(3, 2)                                   # (B, T, K) each, exp'd
    u = torch.arange(onehot.shape[1], device=hs.device, dtype=hs.dtype)
    d = kappas.unsqueeze(3) - u                                          # (B, T, K, U)
    s = beta.unsqueeze(3) * (d * d)
    e = torch.exp(-torch.clamp_max(s, 87.0))
    ed = e * d * (s < 87.0).to(e.dtype)                                  # no gradient where clamped
    # one bmm per step gives sum_u of e, e d^2 and e d, each times dphi_u
    moments = torch.cat([e, ed * d, ed], 2)                              # (B, T, 3K, U)
    # d(pre-exp alpha) = alpha * sum e dphi; d(pre-exp beta) = -alpha beta sum e d^2 dphi;
    # dkappa += -2 alpha beta sum e d dphi (kappa is a running sum: its gradient carries back).
    ab_factor = torch.cat([alpha, -alpha * beta], 2)
    kappa_factor = -2 * alpha * beta
    onehot_t = onehot.transpose(1, 2)                                    # (B, A, U)
    w_rec_t = w_rec.t()
    ww_t = ww.t()
    dh = hs.new_zeros(B, H)      # gradient reaching h_t from step t+1
    dc = hs.new_zeros(B, H)      # ... reaching c_t
    dw = hs.new_zeros(B, A)      # ... reaching w_t
    dkappa = hs.new_zeros(B, K)  # ... reaching kappa_t
    dgates_rev, dabk_rev = [], []
    for t in range(T - 1, -1, -1):
        dphi = torch.bmm((gw[:, t] + dw).unsqueeze(1), onehot_t)          # (B, 1, U)
        sums = torch.bmm(moments[:, t], dphi.transpose(1, 2)).squeeze(2)  # (B, 3K)
        ab, kap = sums.split([2 * K, K], 1)
        dkappa = torch.addcmul(dkappa, kap, kappa_factor[:, t])
        dabk = torch.cat([ab * ab_factor[:, t], dkappa * dk[:, t]], 1)
        dabk_rev.append(dabk)
        dh_t = torch.addmm(gh[:, t] + dh, dabk, ww_t)
        dc_t = torch.addcmul(dc, dh_t, dh_to_dc[:, t])
        dgates = torch.cat([dc_t, dc_t, dh_t, dc_t], 1) * gate_factor[:, t]
        dgates_rev.append(dgates)
        dw, dh = torch.mm(dgates, w_rec_t).split([A, H], 1)
        dc = dc_t * f[:, t]
    dgates_rev.reverse()
    dabk_rev.reverse()
    dgates_all = torch.stack(dgates_rev, 1)                               # (B, T, 4H)
    dabk_all = torch.stack(dabk_rev, 1)                                   # (B, T, 3K)
    # Weight gradients in one matmul each over all steps. Layer 1 saw [w_{t-1}, h_{t-1}].
    z = torch.cat([ws, hs], 2)
    z_prev = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], 1)
    d_w_rec = torch.mm(z_prev.reshape(B * T, A + H).t(), dgates_all.reshape(B * T, 4 * H))
    d_ww = torch.mm(hs.reshape(B * T, H).t(), dabk_all.reshape(B * T, 3 * K))
    d_bw = dabk_all.sum([0, 1])
    return dgates_all, d_w_rec, d_ww, d_bw


def _ifog(H: int, device) -> Tensor:
    """Row order that turns nn.LSTM's gate blocks (i, f, g, o) into (i, f, o, g): then one sigmoid
    covers three gates and one tanh the fourth."""
    return torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)]).to(device)


_scripted: dict = {}


def _jit_script(obj):
    # TorchScript is deprecated in recent torch releases but still works, compiles in well under a
    # second, and is what takes Python out of these loops on CPU (torch.compile took 25 s to compile
    # the step here and made it no faster; see docs/lab-notes.md). Callers fall back to eager if it fails.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=DeprecationWarning)
        return torch.jit.script(obj)


def _script(fn):
    """TorchScript a function once per process (a few hundred ms), then reuse it."""
    if fn.__name__ not in _scripted:
        _scripted[fn.__name__] = _jit_script(fn)
    return _scripted[fn.__name__]


# ---- sampling ---------------------------------------------------------------------------------------

class _StepBuffers:
    """One sampling call's buffers, and the views of them that a step reads and writes, made once per
    call (a view made per step is an op per step; the step costs little besides its ops).

    z (B, Z): every product's inputs, columns [h1, 1, x, w, h2, ..., hN]; c (B, N*H): the cell states;
    kappa (B, K): the window's position. The step updates all three in place.
    """

    def __init__(self, z: torch.Tensor, c: torch.Tensor, kappa: torch.Tensor, U: int, H: int, K: int, A: int,
                 starts: List[int], widths: List[int], h_cols: List[int], x_col: int, w_col: int):
        B = z.shape[0]
        self.kappa = kappa
        # inputs of the products: layers 1..N, the output layer (all of z), the window
        self.inputs = [z.narrow(1, s, w) for s, w in zip(starts, widths)]
        self.h = [z.narrow(1, col, H) for col in h_cols]
        self.cs = [c.narrow(1, n * H, H) for n in range(len(h_cols))]
        self.x = z.narrow(1, x_col, 3)
        self.w = z.narrow(1, w_col, A).unsqueeze(1)                # (B, 1, A): the window vector, bmm's out
        self.gates = z.new_empty(B, 4 * H)                          # shared by the layers, one after another
        self.i, self.f = self.gates.narrow(1, 0, H), self.gates.narrow(1, H, H)
        self.o, self.s = self.gates.narrow(1, 2 * H, H), self.gates.narrow(1, 3 * H, H)
        self.abk = z.new_empty(B, 3 * K)                            # the window's exp'd alpha, beta, dkappa
        self.alpha = self.abk.narrow(1, 0, K).unsqueeze(1)          # (B, 1, K)
        self.beta = self.abk.narrow(1, K, K).unsqueeze(2)           # (B, K, 1)
        self.dkappa = self.abk.narrow(1, 2 * K, K)
        self.kappa_col = kappa.unsqueeze(2)                         # (B, K, 1)
        self.phi = z.new_empty(B, 1, U)
        self.phi_row = self.phi.squeeze(1)                          # (B, U)


class _FastStep(nn.Module):
    """The model's `step` with its weights laid out for a lean step; scripted by fast_step().

    Every product reads a contiguous run of columns of one step buffer z (B, Z), whose columns are
    [h1, 1, x, w, h2, ..., hN] (_StepBuffers): [h1, 1, x, w] for layer 1, [h1, 1, x, w, h2] for
    layer 2, [1, x, w, h2, h3] for layer 3, [h1, 1] for the window, all of z for the output layer. The
    weights' rows are laid out to match, input-major (fastest for one line), with zero rows for a
    column a layer does not read (none for 3 layers but the output layer's 83), and each bias is the
    row of the constant-1 column: a product is one matmul, written into a buffer, with no bias add and
    no concatenation. Each cell writes its h straight into z, where the next layer, the output layer
    and the next step read it.

    The gates come out in the order i, f, o, g, with g's rows doubled: one sigmoid over all four then
    gives s = sigmoid(2 g), and tanh(g) = 2 s - 1, so the cell is c = f c + 2 i s - i (three in-place
    ops), h = o tanh(c).
    """

    w_in: List[Tensor]
    firsts: List[int]
    starts: List[int]
    widths: List[int]
    h_cols: List[int]
    lstm_params: List[List[Tensor]]

    def __init__(self, model: SynthesisNetwork):
        super().__init__()
        cfg = model.config
        H, A = cfg.rnn_size, cfg.alphabet_size
        self.H, self.A, self.K, self.M = H, A, cfg.window_gaussians, cfg.mixtures
        N = self.N = cfg.num_layers
        device = model.output.weight.device
        ifog = _ifog(H, device)
        # columns of z: h1, 1, x, w, h2..hN
        one_col, self.x_col, self.w_col = H, H + 1, H + 4
        self.h_cols = [0] + [H + 4 + A + (n - 1) * H for n in range(1, N)]
        self.Z = N * H + 4 + A
        cols = {"one": (one_col, 1), "x": (self.x_col, 3), "w": (self.w_col, A)}
        for n in range(N):
            cols[f"h{n + 1}"] = (self.h_cols[n], H)

        with torch.no_grad():
            c1 = model.cell1
            # one out-major matrix per product on its run of z's columns: layers 1..N, output, window
            parts = [{"x": c1.weight_ih[:, :3], "w": c1.weight_ih[:, 3:], "h1": c1.weight_hh,
                      "one": (c1.bias_ih + c1.bias_hh).unsqueeze(1)}]
            runs = [(0, H + 4 + A)]
            for n, lstm in enumerate(model.upper, start=2):
                w_ih = lstm.weight_ih_l0
                parts.append({"x": w_ih[:, :3], f"h{n - 1}": w_ih[:, 3:3 + H], "w": w_ih[:, 3 + H:],
                              f"h{n}": lstm.weight_hh_l0, "one": (lstm.bias_ih_l0 + lstm.bias_hh_l0).unsqueeze(1)})
                first = 0 if n == 2 else one_col
                runs.append((first, self.h_cols[n - 1] + H - first))
            out_part = {f"h{n + 1}": model.output.weight[:, n * H:(n + 1) * H] for n in range(N)}
            parts.append({**out_part, "one": model.output.bias.unsqueeze(1)})
            runs.append((0, self.Z))
            parts.append({"h1": model.window.weight, "one": model.window.bias.unsqueeze(1)})
            runs.append((0, H + 1))
            self.one_col = one_col
            self.firsts = [f for f, _ in runs]
            self.ifog = ifog
            self.g_double = torch.ones(4 * H, device=device)       # g's rows doubled (see the class docstring)
            self.g_double[3 * H:] = 2.0
            self.starts = [s for s, _ in runs]
            self.widths = [w for _, w in runs]
            g_double = self.g_double.unsqueeze(1)
            mats = []
            for k, (part, (first, width)) in enumerate(zip(parts, runs)):
                mat = part["one"].new_zeros(part["one"].shape[0], width)
                for name, block in part.items():
                    col, size = cols[name]
                    mat[:, col - first:col - first + size] = block
                if k < N:
                    mat = mat[ifog] * g_double
                mats.append(mat.t().contiguous())                   # (inputs, outputs): fastest at one row
            self.w_in = mats[:N + 1]                                # layers 1..N, output
            self.ww = mats[N + 1]                                   # window (H + 1, 3K)
            # priming's whole-sequence recurrence (plain gates): the offsets' part, then [w, h]; layers
            # 2..N in nn.LSTM layout
            w1 = torch.cat([c1.weight_ih, c1.weight_hh], 1)[ifog]
            self.w1_x = w1[:, :3].contiguous()                                               # (4H, 3)
            self.w1_rec = w1[:, 3:].t().contiguous()                                          # (A+H, 4H)
            self.b1 = (c1.bias_ih + c1.bias_hh)[ifog].contiguous()
            self.ww_prime = model.window.weight.t().contiguous()                              # (H, 3K)
            self.bw_prime = model.window.bias.detach().clone()
            self.lstm_params = [[p.detach().clone() for p in (
                lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)] for lstm in model.upper]
            self.zero = torch.zeros((), device=device)             # addcmul's input in the window

    def _packed(self, rows: int) -> bool:
        """Whether products over `rows` lines take oneDNN's packed weights (_PackedFastStep)."""
        return False

    def _gates(self, k: int, b: _StepBuffers, packed: bool, rows: List[Tensor]):
        """sigmoid of layer k + 1's gate products, into b.gates (rows: adapter_rows, or empty)."""
        self._plain_gates(k, b, rows)

    def _plain_gates(self, k: int, b: _StepBuffers, rows: List[Tensor]):
        if len(rows) > 0:
            torch.addmm(rows[k], b.inputs[k], self.w_in[k], out=b.gates)
        else:
            torch.mm(b.inputs[k], self.w_in[k], out=b.gates)
        b.gates.sigmoid_()

    def _output(self, b: _StepBuffers, packed: bool, rows: List[Tensor]) -> Tensor:
        if len(rows) > 0:
            return self._rows_output(b, rows)
        return torch.mm(b.inputs[self.N], self.w_in[self.N])

    def _rows_output(self, b: _StepBuffers, rows: List[Tensor]) -> Tensor:
        """Every set's output layer side by side in one product, then each row's own block."""
        out = torch.mm(b.inputs[self.N], rows[self.N + 1])
        B = out.shape[0]
        O = 1 + 6 * self.M
        return out.view(B, out.shape[1] // O, O).gather(1, rows[self.N + 2]).squeeze(1)

    def _cell(self, k: int, b: _StepBuffers, packed: bool, rows: List[Tensor]):
        """LSTM layer k + 1 on its columns of z: its new c in place, its new h into z."""
        self._gates(k, b, packed, rows)
        c = b.cs[k]
        c.mul_(b.f).addcmul_(b.i, b.s, value=2.0).sub_(b.i)       # f c + i (2 s - 1) = f c + i tanh(g)
        torch.mul(b.o, torch.tanh(c), out=b.h[k])

    def _step(self, b: _StepBuffers, onehot: Tensor, u: Tensor, packed: bool, rows: List[Tensor]) -> Tensor:
        """One step on the buffers (h's, c's, w, kappa and phi updated in place): the outputs (B, 1+6M).
        rows: adapter_rows() for a batch whose rows have their own biases and output layer, else empty."""
        self._cell(0, b, packed, rows)
        # the window (see _window): exp(-min(beta (kappa - u)^2, 87)), as max(-beta d d, -87)
        if len(rows) > 0:
            torch.addmm(rows[self.N], b.inputs[self.N + 1], self.ww, out=b.abk)
        else:
            torch.mm(b.inputs[self.N + 1], self.ww, out=b.abk)
        b.abk.exp_()
        b.kappa.add_(b.dkappa)
        d = b.kappa_col - u                                          # (B, K, U)
        e = torch.addcmul(self.zero, b.beta * d, d, value=-1.0).clamp_min_(-87.0).exp_()
        torch.bmm(b.alpha, e, out=b.phi)                             # sum over the K gaussians
        torch.bmm(b.phi, onehot, out=b.w)
        for k in range(1, self.N):
            self._cell(k, b, packed, rows)
        return self._output(b, packed, rows)

    @torch.jit.export
    def adapter_rows(self, sel: Tensor, b1: Tensor, bw: Tensor, b_upper: List[Tensor], w_out: Tensor,
                     b_out: Tensor) -> List[Tensor]:
        """scribe.model.RowParams in this step's layout: [each row's bias minus the laid-out one, for
        layers 1..N (B, 4H) and the window (B, 3K); every set's output layer side by side (Z, S (1+6M));
        the index that takes each row's block]. The steps take it as `rows`."""
        H = self.H
        out: List[Tensor] = []
        for k in range(self.N):
            bias = b1 if k == 0 else b_upper[k - 1]
            laid = self.w_in[k][self.one_col - self.firsts[k]]
            out.append((bias[:, self.ifog] * self.g_double - laid)[sel].contiguous())
        out.append((bw - self.ww[self.one_col])[sel].contiguous())
        S, O = w_out.shape[0], w_out.shape[1]
        mats = w_out.new_zeros(S, self.Z, O)
        for n in range(self.N):
            mats[:, self.h_cols[n]:self.h_cols[n] + H] = w_out[:, :, n * H:(n + 1) * H].transpose(1, 2)
        mats[:, self.one_col] = b_out
        out.append(mats.permute(1, 0, 2).reshape(self.Z, S * O).contiguous())
        out.append(sel.view(-1, 1, 1).expand(sel.shape[0], 1, O).contiguous())
        return out

    def _buffers(self, loop: List[Tensor], U: int) -> _StepBuffers:
        return _StepBuffers(loop[0], loop[1], loop[2], U, self.H, self.K, self.A, self.starts, self.widths,
                            self.h_cols, self.x_col, self.w_col)

    @torch.jit.export
    def loop_state(self, x: Tensor, state: List[Tensor]) -> List[Tensor]:
        """The model's (x, state) as the loop's own tensors [z, c, kappa] (new ones: the step updates
        them in place)."""
        hs = [state[0], torch.ones_like(x.narrow(1, 0, 1)), x, state[2]]
        cs = [state[1]]
        for n in range(self.N - 1):
            hs.append(state[4 + 2 * n])
            cs.append(state[5 + 2 * n])
        return [torch.cat(hs, 1), torch.cat(cs, 1), state[3].clone()]

    def forward(self, x: Tensor, state: List[Tensor], onehot: Tensor, rows: Optional[List[Tensor]] = None
                ) -> Tuple[Tensor, List[Tensor], Tensor]:
        """Same contract as SynthesisNetwork.step: (outputs (B, 1+6M), new state, phi (B, U)); rows:
        adapter_rows(), where the rows have their own biases and output layer."""
        b = self._buffers(self.loop_state(x, state), onehot.shape[1])
        u = torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype)
        no_rows: List[Tensor] = []
        out = self._step(b, onehot, u, self._packed(x.shape[0]), rows if rows is not None else no_rows)
        new_state = [b.h[0], b.cs[0], b.w.squeeze(1), b.kappa]
        for n in range(1, self.N):
            new_state.append(b.h[n])
            new_state.append(b.cs[n])
        return out, new_state, b.phi_row

    @torch.jit.export
    def sample_loop(self, x: Tensor, state: List[Tensor], onehot: Tensor, bias: Tensor, end_pos: Tensor,
                    real: Tensor, dots: Tensor, cap: int, gen: Optional[torch.Generator], rows: List[Tensor]
                    ) -> Tuple[Tensor, Tensor, Tensor, int]:
        """Sampler._sample_loop, compiled: (points (cap, B, 4), steps per line, done per line, steps run)."""
        u = torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype)
        b = self._buffers(self.loop_state(x, state), onehot.shape[1])
        packed = self._packed(x.shape[0])
        run = SamplingRun(cap, x, bias, self.M, end_pos, real, dots)
        ran = 0
        for t in range(cap):
            out = self._step(b, onehot, u, packed, rows)
            x = run.advance(out, b.phi_row, x, t, gen)
            b.x.copy_(x)
            ran = t + 1
            if run.finished():
                break
        return run.points, run.n_steps, run.done, ran

    @torch.jit.export
    def sample_steps(self, loop: List[Tensor], x: Tensor, onehot: Tensor, bias: Tensor, end_pos: Tensor,
                     real: Tensor, dots: Tensor, gen: Optional[torch.Generator], points: Tensor,
                     n_steps: Tensor, past_end_at: Tensor, stroke_from: Tensor, done: Tensor, t0: int, t1: int,
                     rows: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int]:
        """Steps t0 .. t1-1 of sample_loop (fewer if every line ends), resumable: the loop's state comes
        in and goes out (loop_state()'s tensors and points are updated in place), so chunks run back to
        back write the same ink as one sample_loop call. Returns (x, past_end_at, stroke_from, n_steps,
        done, steps run so far)."""
        u = torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype)
        b = self._buffers(loop, onehot.shape[1])
        packed = self._packed(x.shape[0])
        run = SamplingRun(1, x, bias, self.M, end_pos, real, dots)
        run.resume(points, n_steps, past_end_at, stroke_from, done)
        ran = t0
        for t in range(t0, t1):
            out = self._step(b, onehot, u, packed, rows)
            x = run.advance(out, b.phi_row, x, t, gen)
            b.x.copy_(x)
            ran = t + 1
            if run.finished():
                break
        return x, run.past_end_at, run.stroke_from, run.n_steps, run.done, ran

    @torch.jit.export
    def prime(self, ink: Tensor, lengths: Tensor, onehot: Tensor) -> List[Tensor]:
        """State after reading ink[b, :lengths[b]] (teacher forcing), like stepping through it."""
        B = ink.shape[0]
        T = int(lengths.max())
        ink = ink[:, :T]
        state = [ink.new_zeros(B, self.H), ink.new_zeros(B, self.H), ink.new_zeros(B, self.A),
                 ink.new_zeros(B, self.K)]
        for _ in range(self.N - 1):
            state.append(ink.new_zeros(B, self.H))
            state.append(ink.new_zeros(B, self.H))
        if T == 0:
            return state
        xproj = F.linear(ink, self.w1_x, self.b1)
        seq = _layer1_forward(xproj, self.w1_rec, self.ww_prime, self.bw_prime, onehot, False)
        hs, ws, cs, kappas = seq[0], seq[1], seq[2], seq[3]
        for b in range(B):
            L = int(lengths[b])
            if L == 0:
                continue
            last = L - 1
            state[0][b] = hs[b, last]
            state[1][b] = cs[b, last]
            state[2][b] = ws[b, last]
            state[3][b] = kappas[b, last]
            below = hs[b:b + 1, :L]
            for n in range(self.N - 1):
                inp = torch.cat([ink[b:b + 1, :L], below, ws[b:b + 1, :L]], 2)
                below, hn, cn = torch.lstm(inp, [state[4 + 2 * n][b:b + 1].unsqueeze(0),
                                                 state[5 + 2 * n][b:b + 1].unsqueeze(0)],
                                           self.lstm_params[n], True, 1, 0.0, False, False, True)
                state[4 + 2 * n][b] = hn[0, 0]
                state[5 + 2 * n][b] = cn[0, 0]
        return state


class _PackedFastStep(_FastStep):
    """_FastStep whose products over `packed_rows` rows or more use oneDNN's packed weights (CPU).

    Which is faster over a few rows depends on the CPU: on one machine of this project a plain float32
    matmul over 3 rows cost 2.5-3.3x the one-row product and the packed one 1.2-1.6x; on another
    (Intel, AVX-512) the plain one cost 1.2x and the packed one 1.6x. fast_step() measures the two
    once (choose_packed_rows) unless told. One row always takes the plain product; so does the window's
    small product."""

    # (TorchScript reads a class's own annotations only, and needs them for lists that may be empty)
    __annotations__ = {**_FastStep.__annotations__, "w_packed": List[Tensor], "packed_rows": int}

    def __init__(self, model: SynthesisNetwork):
        super().__init__(model)
        self.packed_rows = 2          # fast_step() sets it: given, or choose_packed_rows
        # oneDNN packs from the (outputs, inputs) layout; 3 rows is the size it tunes the packing for
        self.w_packed = [torch.ops.mkldnn._reorder_linear_weight(w.t().contiguous(), 3) for w in self.w_in]

    def _packed(self, rows: int) -> bool:
        return rows >= self.packed_rows

    def _gates(self, k: int, b: _StepBuffers, packed: bool, rows: List[Tensor]):
        if packed:
            product = _packed_product(b.inputs[k], self.w_packed[k])
            if len(rows) > 0:
                product.add_(rows[k])
            torch.sigmoid(product, out=b.gates)
        else:
            self._plain_gates(k, b, rows)

    def _output(self, b: _StepBuffers, packed: bool, rows: List[Tensor]) -> Tensor:
        if len(rows) > 0:
            return self._rows_output(b, rows)
        if packed:
            return _packed_product(b.inputs[self.N], self.w_packed[self.N])
        return torch.mm(b.inputs[self.N], self.w_in[self.N])


def _packed_product(inp: Tensor, w_packed: Tensor) -> Tensor:
    return torch.ops.mkldnn._linear_pointwise(inp, w_packed, None, "none", [], "")


NEVER_PACKED = 1 << 30
PACKED_ROWS_ENV = "SCRIBE_PACKED_ROWS"   # rows from which products use packed weights; unset: measured


def choose_packed_rows(step: _PackedFastStep, margin: float = 0.9) -> int:
    """The fewest rows, of 3, 6 and 12, at which the step's products with packed weights take under
    `margin` of the plain ones' time, else NEVER_PACKED. The margin keeps a noisy measurement
    from flipping the choice (the two give results equal only to rounding, so the same seed could
    write slightly different ink). About 50 ms, once per sampler; $SCRIBE_PACKED_ROWS overrides it."""
    forced = os.environ.get(PACKED_ROWS_ENV, "").strip()
    if forced:
        try:
            return max(2, int(forced))
        except ValueError:
            warnings.warn(f"{PACKED_ROWS_ENV}={forced!r} is not a whole number; measuring instead")
    mats = list(zip(step.w_in, step.w_packed))

    def per_call(fns, reps: int = 2, rounds: int = 4) -> List[float]:
        """Best time per call of each fn; rounds taken in turn so that a busy moment slows both."""
        for fn in fns:                # warm up: oneDNN builds its primitive on the first call
            fn()
            fn()
        best = [float("inf")] * len(fns)
        for _ in range(rounds):
            for i, fn in enumerate(fns):
                t = time.perf_counter()
                for _ in range(reps):
                    fn()
                best[i] = min(best[i], (time.perf_counter() - t) / reps)
        return best

    with torch.no_grad():
        for rows in (3, 6, 12):
            # every product of a step in turn, as the step runs them (the weights then come from the
            # same level of cache as in sampling; one matrix timed alone stays in a nearer one)
            xs = [torch.randn(rows, w.shape[0]) for w, _ in mats]

            def plain():
                for x, (w, _) in zip(xs, mats):
                    torch.mm(x, w)

            def pack():
                for x, (_, p) in zip(xs, mats):
                    _packed_product(x, p)

            t_plain, t_pack = per_call([plain, pack])
            if t_pack < margin * t_plain:
                return rows
    return NEVER_PACKED


def fast_step(model: SynthesisNetwork, packed_rows: Optional[int] = None):
    """A compiled drop-in for `model.step` (with `.sample_loop` and `.prime`), for Sampler(step_fn=...).

    It holds a packed copy of the weights as they are now: build a new one after changing the model.
    On a CPU with oneDNN, products over `packed_rows` lines or more use oneDNN's packed weights
    (default: measured here, choose_packed_rows); elsewhere, or if that fails, plain matmuls on the
    same layout.
    """
    model = model.eval()
    if model.output.weight.device.type == "cpu" and torch.backends.mkldnn.is_available():
        try:
            step = _PackedFastStep(model)
            step.packed_rows = max(2, int(packed_rows)) if packed_rows is not None else choose_packed_rows(step)
            return _jit_script(step)
        except Exception as e:   # an unusual torch build: the plain products still work
            warnings.warn(f"oneDNN packed weights unavailable ({type(e).__name__}: {e}); using plain matmuls")
    return _jit_script(_FastStep(model))


# ---- training ---------------------------------------------------------------------------------------

class _LineParts(NamedTuple):
    """What line_nll and primed_line_nll read of a batch (scribe.dataset.Batch / PairBatch)."""
    inputs: Tensor
    targets: Tensor
    mask: Tensor
    text: Tensor


class _PrimeParts(NamedTuple):
    inputs: Tensor
    text: Tensor
    lengths: Tensor


class _Layer1Recurrence(torch.autograd.Function):
    """(xproj, w_rec, ww, bw, onehot) -> (h (B,T,H), w (B,T,A), c (B,T,H), kappa (B,T,K)) with a
    compiled forward and BPTT. c and kappa are handed out for a prime's end state only (which
    carried_after_prime drops): they carry no gradient."""

    @staticmethod
    def forward(ctx, xproj, w_rec, ww, bw, onehot):
        hs, ws, cs, kappas, acts, abks = _script(_layer1_forward)(xproj, w_rec, ww, bw, onehot, True)
        ctx.save_for_backward(hs, ws, cs, kappas, acts, abks, w_rec, ww, onehot)
        ctx.mark_non_differentiable(cs, kappas)
        return hs, ws, cs, kappas

    @staticmethod
    def backward(ctx, gh, gw, gc, gkappa):
        hs, ws, cs, kappas, acts, abks, w_rec, ww, onehot = ctx.saved_tensors
        gh = torch.zeros_like(hs) if gh is None else gh.contiguous()
        gw = torch.zeros_like(ws) if gw is None else gw.contiguous()
        dx, dw_rec, dww, dbw = _script(_layer1_backward)(gh.to(hs.dtype), gw.to(hs.dtype), hs, ws, cs, kappas,
                                                         acts, abks, w_rec, ww, onehot)
        return dx, dw_rec, dww, dbw, None


def fast_layer1(model: SynthesisNetwork, inputs: Tensor, text: Tensor):
    """model.layer1(inputs, text) with the compiled recurrence: (h, w, c, kappa), in the weights'
    precision (float32) under autocast too; h and w carry the same gradients as eager's."""
    c1 = model.cell1
    with torch.autocast(inputs.device.type, enabled=False):
        x = inputs.to(c1.weight_ih.dtype)
        onehot = model.text_onehot(text, x.dtype)
        ifog = _ifog(model.config.rnn_size, x.device)
        w_ih = c1.weight_ih[ifog]
        xproj = F.linear(x, w_ih[:, :3], (c1.bias_ih + c1.bias_hh)[ifog])
        w_rec = torch.cat([w_ih[:, 3:], c1.weight_hh[ifog]], 1).t()
        return _Layer1Recurrence.apply(xproj.contiguous(), w_rec.contiguous(), model.window.weight.t(),
                                       model.window.bias, onehot)


def fast_forward(model: SynthesisNetwork, inputs: Tensor, text: Tensor, carried: Optional[List[Tensor]] = None
                 ) -> Tensor:
    """model(inputs, text, carried=carried) with the compiled layer-1 recurrence; same outputs, same
    gradients.

    The recurrence always runs in the weights' precision (float32), under autocast too; layers 2..N
    and the output layer follow the surrounding autocast, as in the eager model.
    """
    hs, ws, _, _ = fast_layer1(model, inputs, text)
    return model._upper_and_output(inputs, hs.to(inputs.dtype), ws.to(inputs.dtype), None, carried)


class FastLoss(nn.Module):
    """The training loss of `model` through fast_forward; a module so that DDP can wrap it. Given a
    prime (inputs, text, lengths), the prime-and-continue loss (model.primed_line_nll)."""

    def __init__(self, model: SynthesisNetwork):
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, targets: Tensor, mask: Tensor, text: Tensor,
                prime: Optional[_PrimeParts] = None):
        model = self.model
        if prime is not None:
            return primed_line_nll(model, prime, prime.lengths, _LineParts(inputs, targets, mask, text),
                                   lambda i, t: fast_layer1(model, i, t),
                                   lambda i, t, carried: fast_forward(model, i, t, carried))
        out = fast_forward(model, inputs, text)
        return line_nll(out, _LineParts(inputs, targets, mask, text), model.config.mixtures)


def fast_loss(loss_model: nn.Module, device=None):
    """`batch -> (mean NLL per line, per-line NLL (B,))`, equal to model.loss(batch), faster.

    loss_model is the model or its DistributedDataParallel wrapper. Under DDP the loss module is
    wrapped in its own DDP (same parameters, same process group): DDP only syncs gradients for
    forwards that go through it, and the caller's wrapper is then never called.
    """
    try:                          # compile now, not inside the first training step
        _script(_layer1_forward)
        _script(_layer1_backward)
    except Exception as e:        # train.py falls back to eager training on ImportError
        raise ImportError(f"scribe.fast needs TorchScript, which failed here: {type(e).__name__}: {e}") from e
    ddp = isinstance(loss_model, nn.parallel.DistributedDataParallel)
    model = loss_model.module if ddp else loss_model
    module: nn.Module = FastLoss(model)
    if ddp:
        module = nn.parallel.DistributedDataParallel(module, device_ids=loss_model.device_ids,
                                                     process_group=loss_model.process_group)

    def loss(batch):
        pair = getattr(batch, "prime", None) is not None   # a PairBatch (scribe.dataset)
        line = batch.line if pair else batch
        prime = _PrimeParts(batch.prime.inputs, batch.prime.text, batch.prime_lengths) if pair else None
        return module(line.inputs, line.targets, line.mask, line.text, prime)

    return loss
