"""Per-style adapters: each bank style's own biases and output layer, fitted to its writer's lines.

Priming alone carries a writer's slant and size but only part of their letter shapes: the base
network's weights still hold the average IAM hand (docs/style-fidelity.md measures it). A style adapter
is the small part of the network that `scribe.adapt` (train="bias") fits to a few real lines of the
style's writer: every bias (layer 1, the window, layers 2..N) and the output layer, about 0.1 M numbers
for the 3x256 model. The sampler gives each row of a batch its own style's adapter (scribe.sampling:
per-row biases and output layer), so a page of several styles is still one batch.

On disk: one safetensors file beside the bank (`adapters.safetensors`), tensors `"<style id>/<param>"`
holding adapted minus base values in half precision, and a JSON record (format, the base model's
fingerprint, per style the lines adapted on and the run's figures). The adapters only make sense on the
model they were fitted to: loading checks the fingerprint, and a bank whose file names another model is
written without adapters (and says so), never with the wrong ones.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import ScribeError
from .files import load_tagged, read_tagged_meta, save_tagged
from .styles import ADAPTER_FILE   # noqa: F401 (re-exported: the file's name lives with the bank)
FORMAT = "scribe-style-adapters"


def adapted_names(model: torch.nn.Module) -> list[str]:
    """The parameters a style adapter holds: every bias and the output layer (scribe.adapt's "bias")."""
    return [n for n, _ in model.named_parameters() if "bias" in n or n.startswith("output.")]


def base_fingerprint(model: torch.nn.Module) -> str:
    """A digest of the weights an adapter leaves as they are: which base model the adapters fit."""
    keep = set(adapted_names(model))
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        if name in keep:
            continue
        h.update(name.encode() + str(tuple(p.shape)).encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class StyleAdapter:
    """One style's adapted parameters (full values, float32, on the base model's device) by name."""
    style_id: int
    params: dict
    key: str            # what identifies these values (priming caches states by it)
    strength: float = 1.0     # how much of the fitted delta `params` holds
    # the base values and the fitted deltas, kept to make the same adapter at another strength (`at`)
    base: dict | None = field(default=None, repr=False, compare=False)
    deltas: dict | None = field(default=None, repr=False, compare=False)
    source: str = ""          # the file, model and style the deltas came from (part of every key)

    def at(self, strength: float) -> "StyleAdapter":
        """The same adapter applying `strength` of its fitted delta (a line's likeness,
        scribe.request.LIKENESS_RANGE): base + strength x delta."""
        if strength == self.strength:
            return self
        if self.deltas is None:
            raise AdapterError(f"style {self.style_id}'s adapter has no fitted delta to scale")
        return scaled_adapter(self.style_id, self.base, self.deltas, strength, self.source)

    def applied_to(self, model: torch.nn.Module) -> torch.nn.Module:
        """A copy of `model` with this adapter's values: the eager reference for a row of this style,
        and what priming reads the style's lines with."""
        import copy
        out = copy.deepcopy(model)
        with torch.no_grad():
            named = dict(out.named_parameters())
            for name, value in self.params.items():
                named[name].copy_(value)
        return out.eval()


class AdapterError(ScribeError, ValueError):
    """An adapters file that cannot be used with this model; the message says why."""
    title = "Style adapter problem"


def save_adapters(path: str | Path, base: torch.nn.Module, adapted: dict, records: dict,
                  strength: float = 1.0) -> Path:
    """Write `adapted` {style id: {param name: adapted value}} as deltas from `base`, half precision.
    strength: how much of each delta the sampler applies (1.0: all of it; less trades some of the hand
    for legibility, docs/style-fidelity.md); the deltas are stored whole. A style's record may hold its
    own "strength" (chosen per style by its legibility, train/adapt_styles.py --tune_strength), which
    wins over the file's."""
    base_params = dict(base.named_parameters())
    tensors = {}
    for sid, params in sorted(adapted.items()):
        for name, value in params.items():
            tensors[f"{int(sid)}/{name}"] = (value.detach().float().cpu() - base_params[name].detach().float().cpu())
    meta = {"format": FORMAT, "base": base_fingerprint(base), "strength": float(strength),
            "styles": {str(int(s)): records.get(s, records.get(str(s), {})) for s in sorted(adapted)}}
    return save_tagged(path, tensors, FORMAT, meta, dtype=torch.float16)


def read_adapter_records(path: str | Path) -> dict:
    """The JSON record of an adapters file (no weights read): {"base", "strength", "styles": {id: record}}."""
    try:
        return read_tagged_meta(path, FORMAT, "a Scribe style-adapters file")
    except ValueError as e:
        raise AdapterError(str(e)) from None


def style_strength(meta: dict, sid: int, file_name: str) -> float:
    """How much of style `sid`'s delta the sampler applies, by an adapters file's record `meta`: the
    style's own strength (chosen by legibility), else the file's, else 1. AdapterError for a bad value."""
    styles = meta.get("styles") if isinstance(meta.get("styles"), dict) else {}
    record = styles.get(str(sid))
    own = record.get("strength") if isinstance(record, dict) else None
    value = meta.get("strength", 1.0) if own is None else own
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 2.0:
        whose = f"style {sid}'s strength" if own is not None else "strength"
        raise AdapterError(f"{file_name}: {whose} must be a number from 0 to 2, not {str(value)[:20]}")
    return float(value)


def load_adapters(path: str | Path, model: torch.nn.Module, strength: float | None = None) -> dict[int, StyleAdapter]:
    """{style id: StyleAdapter} for `model`: base + strength x delta, strength each style's own (else
    the file's, `style_strength`) unless given (1.0: the adapted values as fitted). AdapterError (naming
    the file, not its folder) for a file that is unreadable, of another kind, fitted to another model, or
    of the wrong shapes."""
    path = Path(path)
    try:
        tensors, meta = load_tagged(path, FORMAT, "a Scribe style-adapters file")
    except ValueError as e:
        raise AdapterError(str(e)) from None
    if meta.get("base") != base_fingerprint(model):
        raise AdapterError(f"{path.name} was fitted to another model, so these styles are written by priming "
                           "alone (`python train/adapt_styles.py --checkpoint YOUR_MODEL` fits them to yours)")
    base = dict(model.named_parameters())
    wanted = set(adapted_names(model))
    grouped: dict[int, dict] = {}
    for key, delta in tensors.items():
        sid_text, _, name = key.partition("/")
        try:
            sid = int(sid_text)
        except ValueError:
            raise AdapterError(f"{path.name}: tensor {key!r} does not start with a style id") from None
        if name not in wanted or tuple(delta.shape) != tuple(base[name].shape) or not torch.isfinite(delta).all():
            raise AdapterError(f"{path.name}: tensor {key!r} does not fit this model")
        grouped.setdefault(sid, {})[name] = delta
    out = {}
    for sid, deltas in grouped.items():
        if set(deltas) != wanted:
            raise AdapterError(f"{path.name}: style {sid}'s adapter lacks {sorted(wanted - set(deltas))[:3]}")
        s = style_strength(meta, sid, path.name) if strength is None else strength
        bases = {name: base[name].detach() for name in deltas}
        out[sid] = scaled_adapter(sid, bases, {n: d.to(bases[n].device) for n, d in deltas.items()}, s,
                                  f"{path.name}:{meta['base']}:{sid}")
    return out


def scaled_adapter(sid: int, base: dict, deltas: dict, strength: float, source: str) -> StyleAdapter:
    """StyleAdapter of base + strength x delta; its key digests the values, so the same values always
    share one primed state and one parameter set in a batch."""
    params = {name: (base[name] + strength * d).float() for name, d in deltas.items()}
    digest = hashlib.sha256(f"{source}:{strength}".encode())
    for name in sorted(params):
        digest.update(params[name].cpu().numpy().tobytes())
    return StyleAdapter(sid, params, digest.hexdigest()[:16], float(strength), base, deltas, source)


def own_strength(style) -> float | None:
    """The strength a bank style's adapter is written at by default (its own, else its file's), read from
    the file's record alone; None for a style without one in its bank's file (a user's own style, a bank
    without adapters, an unreadable file). What a line's likeness starts from in the app."""
    path = getattr(style, "adapter_file", None)
    if path is None:
        return None
    try:
        stat = Path(path).stat()
        return _own_strengths(str(path), stat.st_mtime_ns, stat.st_size).get(style.style_id)
    except (AdapterError, OSError):
        return None


@functools.lru_cache(maxsize=16)
def _own_strengths(path: str, mtime_ns: int, size: int) -> dict[int, float]:
    """{style id: default strength} of an adapters file, read once per version of the file (the app asks
    for a style's on every style pick and every write)."""
    meta = read_adapter_records(path)
    styles = meta.get("styles") if isinstance(meta.get("styles"), dict) else {}
    return {int(sid): style_strength(meta, int(sid), Path(path).name) for sid in styles}
