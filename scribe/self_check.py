"""The compiled training path, checked against the eager model on the first batch.

scribe.fast is proven equal to the eager model by tests on the CPU; on a GPU (other kernels, cuDNN,
TorchScript's CUDA fuser) it is checked here, once, when training starts. If it raises or disagrees,
training goes on with the eager model (cuDNN LSTMs for layers 2-3) and the log says why.
"""
from __future__ import annotations

import math

import torch

LOSS_RTOL = 1e-3    # on the mean NLL per line (hundreds of nats): float32 reductions in another order
GRAD_RTOL = 1e-2    # |g_fast - g_eager| / |g_eager| per parameter tensor


def _loss_and_grads(model, loss_fn, batch, autocast):
    model.zero_grad(set_to_none=True)
    with autocast():
        loss, per_line = loss_fn(batch)
    (loss * len(per_line) / batch.mask.sum()).backward()   # per pen point, as train.py
    grads = {n: p.grad.detach().float().clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), grads


def fast_disagreement(model, fast_fn, eager_fn, batch, autocast=None) -> tuple[str | None, str]:
    """(why the compiled loss cannot be trusted, or None; what was compared).

    Loss and every gradient are compared in float32. With `autocast` (the training precision), the
    compiled loss is also run once under it and must give a finite loss and gradients. The weights
    are left as they were and the gradients cleared."""
    fp32 = lambda: torch.autocast(batch.mask.device.type, enabled=False)   # noqa: E731
    try:
        fast_loss, fast_grads = _loss_and_grads(model, fast_fn, batch, fp32)
    except Exception as e:   # any failure of the compiled path means: train without it
        model.zero_grad(set_to_none=True)
        return f"the compiled loss raised {type(e).__name__}: {e}", ""
    eager_loss, eager_grads = _loss_and_grads(model, eager_fn, batch, fp32)
    loss_diff = abs(fast_loss - eager_loss) / max(1.0, abs(eager_loss))
    if not math.isfinite(fast_loss) or not loss_diff <= LOSS_RTOL:
        return f"its loss is {fast_loss:.6g}, the eager model's {eager_loss:.6g}", ""
    missing = sorted(set(eager_grads) - set(fast_grads))
    if missing:
        return f"it gives no gradient for {', '.join(missing)}", ""
    worst, worst_name = 0.0, ""
    for name, g in eager_grads.items():
        diff = float((fast_grads[name] - g).norm() / g.norm().clamp_min(1e-12))
        if not math.isfinite(diff) or diff > worst:
            worst, worst_name = (math.inf if not math.isfinite(diff) else diff), name
    if worst > GRAD_RTOL:
        return f"the gradient of {worst_name} differs from the eager one by {worst:.1%}", ""
    if autocast is not None:
        try:
            amp_loss, amp_grads = _loss_and_grads(model, fast_fn, batch, autocast)
        except Exception as e:
            model.zero_grad(set_to_none=True)
            return f"the compiled loss raised {type(e).__name__} under the training precision: {e}", ""
        if not math.isfinite(amp_loss) or not all(bool(torch.isfinite(g).all()) for g in amp_grads.values()):
            return f"under the training precision its loss or gradients are not finite (loss {amp_loss})", ""
    return None, (f"loss {fast_loss:.3f} vs {eager_loss:.3f} nats/line (relative difference {loss_diff:.1e}), "
                  f"worst gradient relative difference {worst:.1e} ({worst_name})")


def checked_loss(model, fast_fn, batch, log, autocast=None):
    """fast_fn if it agrees with model.loss on this batch, else model.loss (cuDNN on), saying why."""
    why, agreement = fast_disagreement(model, fast_fn, model.loss, batch, autocast)
    if why is None:
        log(f"Self-check on the first batch: the compiled training path matches the eager model ({agreement})")
        return fast_fn
    torch.backends.cudnn.enabled = True
    log(f"Self-check on the first batch FAILED: {why}. Training with the eager model (cuDNN LSTMs) instead.")
    return model.loss
