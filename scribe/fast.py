"""Fast paths: the same maths as scribe.model, with the per-step overhead taken out.

Sampling (`fast_step(model)`): a TorchScript module whose forward is a drop-in `step_fn` for
`scribe.sampling.Sampler`. Its weights are packed once into the layout the CPU likes (transposed,
contiguous, layer-1 input and recurrent weights concatenated so that layer 1 is one addmm), and it
also carries the two loops that dominate sampling, compiled so no Python runs per step:
- `sample_loop`: the whole sampling loop (step, biased draw, Graves' stop test), using the very
  same functions as the Python loop in scribe.sampling, so a seed gives the same ink;
- `prime`: teacher-forced priming, which knows every input up front, so layers 2..N run as whole
  sequences (one big matmul for their inputs) and the output layer, unused while priming, is skipped.

Training (`fast_loss(model, device)`): the layer-1 + window recurrence as one autograd Function
whose forward and backward (hand-written BPTT) are TorchScript loops, so autograd records one node
per sequence instead of ~25 per time step. Layers 2..N stay fused nn.LSTMs (cuDNN on GPU).

Everything here is checked against the eager model in tests/test_fast.py.
"""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .model import MixtureParams, SynthesisNetwork, mixture_nll
from .sampling import FINISH_STROKE_STEPS, DrawParams, StopTest, loop_start, sample_point, stop_update


# ---- the layer-1 + window recurrence, shared by priming and training ------------------------------

def _window(h: Tensor, kappa: Tensor, ww: Tensor, bw: Tensor, u: Tensor, onehot: Tensor, K: int):
    """Attention window from layer 1's output h (B, H): (w (B, A), kappa (B, K), phi (B, U), abk)."""
    abk = torch.addmm(bw, h, ww).exp()                       # alpha | beta | kappa increment
    kappa = kappa + abk[:, 2 * K:]
    d = kappa.unsqueeze(2) - u                               # (B, K, U)
    # exp() of arguments below about -87 (results that underflow float32) takes a slow path on x86,
    # 50-150x slower, and most characters are that far from the window. exp(-87) = 1.6e-38: clamp.
    e = torch.exp(-torch.clamp_max(abk[:, K:2 * K].unsqueeze(2) * (d * d), 87.0))
    phi = torch.bmm(abk[:, :K].unsqueeze(1), e).squeeze(1)   # sum over the K gaussians
    w = torch.bmm(phi.unsqueeze(1), onehot).squeeze(1)
    return w, kappa, phi, abk


def _layer1_forward(xproj: Tensor, w_rec: Tensor, ww: Tensor, bw: Tensor, onehot: Tensor,
                    save: bool) -> List[Tensor]:
    """Run layer 1 + window over a whole sequence from zero state.

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
    for t in range(T):
        gates = torch.addmm(xproj[:, t], torch.cat([w, h], 1), w_rec)
        ifo = torch.sigmoid(gates[:, :2 * H])
        g = torch.tanh(gates[:, 2 * H:3 * H])
        o = torch.sigmoid(gates[:, 3 * H:])
        c = ifo[:, H:] * c + ifo[:, :H] * g
        h = o * torch.tanh(c)
        w, kappa, phi, abk = _window(h, kappa, ww, bw, u, onehot, K)
        hs.append(h)
        ws.append(w)
        cs.append(c)
        kappas.append(kappa)
        if save:
            acts.append(torch.cat([ifo, g, o], 1))
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
    """
    B, T, H = hs.shape
    A = ws.shape[2]
    K = kappas.shape[2]
    u = torch.arange(onehot.shape[1], device=hs.device, dtype=hs.dtype)
    onehot_t = onehot.transpose(1, 2)                        # (B, A, U)
    w_rec_t = w_rec.t()
    ww_t = ww.t()
    dh = hs.new_zeros(B, H)      # gradient reaching h_t from step t+1
    dc = hs.new_zeros(B, H)      # ... reaching c_t
    dw = hs.new_zeros(B, A)      # ... reaching w_t
    dkappa = hs.new_zeros(B, K)  # ... reaching kappa_t
    dgates_rev, dabk_rev = [], []
    c_zero = hs.new_zeros(B, H)
    for t in range(T - 1, -1, -1):
        # window: phi = sum_k alpha exp(-beta (kappa - u)^2), w = phi @ onehot
        abk = abks[:, t]
        alpha = abk[:, :K]
        beta = abk[:, K:2 * K]
        dphi = torch.bmm((gw[:, t] + dw).unsqueeze(1), onehot_t)          # (B, 1, U)
        d = kappas[:, t].unsqueeze(2) - u                                 # (B, K, U)
        e = torch.exp(-torch.clamp_max(beta.unsqueeze(2) * (d * d), 87.0))   # as in _window
        dalpha = torch.bmm(e, dphi.transpose(1, 2)).squeeze(2)           # (B, K)
        q = e * dphi * alpha.unsqueeze(2)                                 # dL/d(exponent) * -1
        qd = q * d
        dbeta = -(qd * d).sum(2)
        dkappa = dkappa - 2 * beta * qd.sum(2)
        # exp'd parameters: d/da exp(a) = exp(a)
        dabk = torch.cat([dalpha * alpha, dbeta * beta, dkappa * abk[:, 2 * K:]], 1)
        dabk_rev.append(dabk)
        dh_t = gh[:, t] + dh + torch.mm(dabk, ww_t)
        # LSTM cell
        act = acts[:, t]
        i = act[:, :H]
        f = act[:, H:2 * H]
        g = act[:, 2 * H:3 * H]
        o = act[:, 3 * H:]
        tc = torch.tanh(cs[:, t])
        dc_t = dc + dh_t * o * (1 - tc * tc)
        c_prev = cs[:, t - 1] if t > 0 else c_zero
        dgates = torch.cat([dc_t * g * i * (1 - i), dc_t * c_prev * f * (1 - f),
                            dc_t * i * (1 - g * g), dh_t * tc * o * (1 - o)], 1)
        dgates_rev.append(dgates)
        dz = torch.mm(dgates, w_rec_t)
        dw = dz[:, :A]
        dh = dz[:, A:]
        dc = dc_t * f
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


_scripted: dict = {}


def _script(fn):
    """TorchScript a function once per process (a few hundred ms), then reuse it."""
    if fn.__name__ not in _scripted:
        _scripted[fn.__name__] = torch.jit.script(fn)
    return _scripted[fn.__name__]


# ---- sampling ---------------------------------------------------------------------------------------

class _FastStep(nn.Module):
    """The model's `step` with packed weights; scripted by fast_step()."""

    wu: List[Tensor]
    bu: List[Tensor]
    lstm_params: List[List[Tensor]]

    def __init__(self, model: SynthesisNetwork):
        super().__init__()
        cfg = model.config
        self.H, self.A, self.K, self.M = cfg.rnn_size, cfg.alphabet_size, cfg.window_gaussians, cfg.mixtures
        self.n_upper = cfg.num_layers - 1
        self.finish_steps = FINISH_STROKE_STEPS
        H = self.H
        # Gate rows reordered from nn.LSTM's (i, f, g, o) to (i, f, o, g): one sigmoid covers three gates.
        ifog = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])

        def packed(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tuple[Tensor, Tensor]:
            """One (inputs + H, 4H) matrix acting on [input, h], and the summed bias."""
            return (torch.cat([w_ih, w_hh], 1)[ifog].t().contiguous(), (b_ih + b_hh)[ifog].contiguous())

        with torch.no_grad():
            c1 = model.cell1
            self.w1, self.b1 = packed(c1.weight_ih, c1.weight_hh, c1.bias_ih, c1.bias_hh)   # on [x, w, h]
            # the same layer in nn.LSTMCell's gate order, for the whole-sequence recurrence (priming)
            self.w1_rec = torch.cat([c1.weight_ih[:, 3:], c1.weight_hh], 1).t().contiguous()  # (A+H, 4H)
            self.w1_x = c1.weight_ih[:, :3].contiguous()
            self.b1_seq = (c1.bias_ih + c1.bias_hh).contiguous()
            self.ww = model.window.weight.t().contiguous()                                  # (H, 3K)
            self.bw = model.window.bias.detach().clone()
            # layers 2..N: one addmm over [x, below, w, h]; also kept in nn.LSTM layout for priming
            self.wu, self.bu, self.lstm_params = [], [], []
            for lstm in model.upper:
                w, b = packed(lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
                self.wu.append(w)
                self.bu.append(b)
                self.lstm_params.append([p.detach().clone() for p in (
                    lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)])
            self.wo = model.output.weight.t().contiguous()                                  # (N*H, 1+6M)
            self.bo = model.output.bias.detach().clone()

    def _cell(self, inp: Tensor, c: Tensor, w: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
        H = self.H
        gates = torch.addmm(b, inp, w)
        ifo = torch.sigmoid(gates[:, :3 * H])
        c = torch.addcmul(ifo[:, H:2 * H] * c, ifo[:, :H], torch.tanh(gates[:, 3 * H:]))
        return ifo[:, 2 * H:] * torch.tanh(c), c

    def _step(self, x: Tensor, state: List[Tensor], onehot: Tensor, u: Tensor
              ) -> Tuple[Tensor, List[Tensor], Tensor]:
        h, c = self._cell(torch.cat([x, state[2], state[0]], 1), state[1], self.w1, self.b1)
        w, kappa, phi, _ = _window(h, state[3], self.ww, self.bw, u, onehot, self.K)
        new_state = [h, c, w, kappa]
        outs = [h]
        below = h
        for n in range(self.n_upper):
            hn, cn = self._cell(torch.cat([x, below, w, state[4 + 2 * n]], 1), state[5 + 2 * n],
                                self.wu[n], self.bu[n])
            new_state.append(hn)
            new_state.append(cn)
            outs.append(hn)
            below = hn
        return torch.addmm(self.bo, torch.cat(outs, 1), self.wo), new_state, phi

    def forward(self, x: Tensor, state: List[Tensor], onehot: Tensor
                ) -> Tuple[Tensor, List[Tensor], Tensor]:
        """Same contract as SynthesisNetwork.step: (outputs (B, 1+6M), new state, phi (B, U))."""
        return self._step(x, state, onehot, torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype))

    @torch.jit.export
    def sample_loop(self, x: Tensor, state: List[Tensor], onehot: Tensor, bias: Tensor, end_pos: Tensor,
                    real: Tensor, cap: int, gen: Optional[torch.Generator]
                    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Sampler._sample_loop, compiled: (points (cap, B, 3), steps per line, done per line)."""
        u = torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype)
        points, n_steps, past_end_at, done = loop_start(cap, x)
        draw = DrawParams(self.M, bias)
        stop = StopTest(end_pos, real)
        for t in range(cap):
            out, state, phi = self._step(x, state, onehot, u)
            x = sample_point(out, draw, gen)
            points[t] = x
            past_end_at, n_steps, done = stop_update(phi, x, t, stop, past_end_at, n_steps, done,
                                                     self.finish_steps)
            if bool(done.all()):
                break
        return points, n_steps, done

    @torch.jit.export
    def prime(self, ink: Tensor, lengths: Tensor, onehot: Tensor) -> List[Tensor]:
        """State after reading ink[b, :lengths[b]] (teacher forcing), like stepping through it."""
        B = ink.shape[0]
        T = int(lengths.max())
        ink = ink[:, :T]
        state = [ink.new_zeros(B, self.H), ink.new_zeros(B, self.H), ink.new_zeros(B, self.A),
                 ink.new_zeros(B, self.K)]
        for _ in range(self.n_upper):
            state.append(ink.new_zeros(B, self.H))
            state.append(ink.new_zeros(B, self.H))
        if T == 0:
            return state
        xproj = F.linear(ink, self.w1_x, self.b1_seq)
        seq = _layer1_forward(xproj, self.w1_rec, self.ww, self.bw, onehot, False)
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
            for n in range(self.n_upper):
                inp = torch.cat([ink[b:b + 1, :L], below, ws[b:b + 1, :L]], 2)
                below, hn, cn = torch.lstm(inp, [state[4 + 2 * n][b:b + 1].unsqueeze(0),
                                                 state[5 + 2 * n][b:b + 1].unsqueeze(0)],
                                           self.lstm_params[n], True, 1, 0.0, False, False, True)
                state[4 + 2 * n][b] = hn[0, 0]
                state[5 + 2 * n][b] = cn[0, 0]
        return state


def fast_step(model: SynthesisNetwork):
    """A compiled drop-in for `model.step` (with `.sample_loop` and `.prime`), for Sampler(step_fn=...).

    It holds a packed copy of the weights as they are now: build a new one after changing the model.
    """
    return torch.jit.script(_FastStep(model.eval()))


# ---- training ---------------------------------------------------------------------------------------

class _Layer1Recurrence(torch.autograd.Function):
    """(xproj, w_rec, ww, bw, onehot) -> (h (B,T,H), w (B,T,A)) with a compiled forward and BPTT."""

    @staticmethod
    def forward(ctx, xproj, w_rec, ww, bw, onehot):
        hs, ws, cs, kappas, acts, abks = _script(_layer1_forward)(xproj, w_rec, ww, bw, onehot, True)
        ctx.save_for_backward(hs, ws, cs, kappas, acts, abks, w_rec, ww, onehot)
        return hs, ws

    @staticmethod
    def backward(ctx, gh, gw):
        hs, ws, cs, kappas, acts, abks, w_rec, ww, onehot = ctx.saved_tensors
        gh = torch.zeros_like(hs) if gh is None else gh.contiguous()
        gw = torch.zeros_like(ws) if gw is None else gw.contiguous()
        dx, dw_rec, dww, dbw = _script(_layer1_backward)(gh.to(hs.dtype), gw.to(hs.dtype), hs, ws, cs, kappas,
                                                         acts, abks, w_rec, ww, onehot)
        return dx, dw_rec, dww, dbw, None


def fast_forward(model: SynthesisNetwork, inputs: Tensor, text: Tensor) -> Tensor:
    """model(inputs, text) with the compiled layer-1 recurrence; same outputs, same gradients.

    The recurrence always runs in the weights' precision (float32), under autocast too; layers 2..N
    and the output layer follow the surrounding autocast, as in the eager model.
    """
    c1 = model.cell1
    with torch.autocast(inputs.device.type, enabled=False):
        x = inputs.to(c1.weight_ih.dtype)
        onehot = model.text_onehot(text, x.dtype)
        xproj = F.linear(x, c1.weight_ih[:, :3], c1.bias_ih + c1.bias_hh)
        w_rec = torch.cat([c1.weight_ih[:, 3:], c1.weight_hh], 1).t()
        hs, ws = _Layer1Recurrence.apply(xproj.contiguous(), w_rec.contiguous(), model.window.weight.t(),
                                         model.window.bias, onehot)
    return model._upper_and_output(inputs, hs.to(inputs.dtype), ws.to(inputs.dtype), None)


class FastLoss(nn.Module):
    """The training loss of `model` through fast_forward; a module so that DDP can wrap it."""

    def __init__(self, model: SynthesisNetwork):
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, targets: Tensor, mask: Tensor, text: Tensor):
        out = fast_forward(self.model, inputs, text)
        nll = mixture_nll(MixtureParams(out, self.model.config.mixtures), targets) * mask
        per_line = nll.sum(1)
        return per_line.mean(), per_line


def fast_loss(loss_model: nn.Module, device=None):
    """`batch -> (mean NLL per line, per-line NLL (B,))`, equal to model.loss(batch), faster.

    loss_model is the model or its DistributedDataParallel wrapper. Under DDP the loss module is
    wrapped in its own DDP (same parameters, same process group): DDP only syncs gradients for
    forwards that go through it, and the caller's wrapper is then never called.
    """
    ddp = isinstance(loss_model, nn.parallel.DistributedDataParallel)
    model = loss_model.module if ddp else loss_model
    module: nn.Module = FastLoss(model)
    if ddp:
        module = nn.parallel.DistributedDataParallel(module, device_ids=loss_model.device_ids,
                                                     process_group=loss_model.process_group)
    _script(_layer1_forward)      # compile now, not inside the first training step
    _script(_layer1_backward)

    def loss(batch):
        return module(batch.inputs, batch.targets, batch.mask, batch.text)

    return loss
