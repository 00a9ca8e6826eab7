"""Primed states of styles, computed once and shared: the one priming cache (Hand and the evaluation
both use it), and the compiled sampling step with its eager fallback.

Priming depends only on the style's ink and text and, for a bank style with an adapter
(scribe.style_adapters), that adapter's weights; never on its id nor on the new text (the window sits
on the prime text while the prime is read), so the cache is keyed by that content. A style bank
swapped for another, or the same ink under another id, can never give a stale or a missing state:
there is nothing to clear, and a reader never sees an entry vanish under it.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import torch

from .alphabet import Alphabet
from .dataset import NormStats
from .sampling import Prime, Sampler
from .style_adapters import AdapterError, StyleAdapter, load_adapters
from .styles import Style, StyleError

MAX_PRIMED = 512     # states kept per cache (a few kB each); the oldest go first
MAX_SCALED = 32      # style adapters kept at a line's likeness (about 0.4 MB each for the shipped model)


def fast_step_or_none(model):
    """scribe.fast's compiled step, or None (the eager step) where TorchScript cannot build it."""
    try:
        from .fast import fast_step
        return fast_step(model)
    except Exception as e:   # an unusual torch build must not stop the app from writing
        import warnings
        warnings.warn(f"fast sampler unavailable ({type(e).__name__}: {e}); using the eager step")
        return None


@dataclass(frozen=True)
class PrimedStyle:
    """A style read by the model: the state to start from, its first line as a Prime, and that line's
    text as the window saw it."""
    state: tuple[list[torch.Tensor], torch.Tensor]
    prime: Prime
    encoded: list[int]
    adapter: StyleAdapter | None = None     # the style's own biases and output layer, if its bank has them


def style_key(style: Style) -> str:
    """A digest of everything priming reads: each line's text and ink."""
    h = hashlib.sha1()
    for text, offsets in style.lines():
        h.update(text.encode("utf-8", "surrogatepass") + b"\0")
        arr = np.ascontiguousarray(offsets, np.float32)
        h.update(str(arr.shape).encode() + arr.tobytes())
    return h.hexdigest()


class PrimingCache:
    """PrimedStyle per style content, for one sampler (one model). Safe to share between threads: a
    miss computes outside the lock, and an entry, once in, is only ever dropped for room."""

    def __init__(self, sampler: Sampler, alphabet: Alphabet, stats: NormStats):
        self.sampler, self.alphabet, self.stats = sampler, alphabet, stats
        self._states: dict[str, PrimedStyle] = {}
        self._adapters: dict[str, dict] = {}     # adapters file (path and mtime) -> {style id: StyleAdapter}
        self._scaled_adapters: dict[tuple, StyleAdapter] = {}   # (adapter key, a line's likeness) -> its values
        self._lock = threading.Lock()
        # why a bank's adapters file was not used (another model's, damaged), by its path: results say it
        self.problems: dict[str, str] = {}

    def adapter(self, style: Style) -> StyleAdapter | None:
        """The style's adapter from its bank's file, if the file fits this model (else None, and the
        reason in `problems`)."""
        path = style.adapter_file
        if path is None:
            return None
        try:
            key = f"{path}:{path.stat().st_mtime_ns}"
        except OSError:
            return None
        found = self._adapters.get(key)
        if found is None:
            try:
                found = load_adapters(path, self.sampler.model)
            except AdapterError as e:
                found = {}
                self.problems[str(path)] = str(e)
            self._adapters[key] = found
        return found.get(style.style_id)

    def __len__(self) -> int:
        return len(self._states)

    def _scaled(self, adapter: StyleAdapter, strength: float) -> StyleAdapter:
        """adapter.at(strength), made once (a line's likeness asks for it on every write)."""
        key = (adapter.key, strength)
        found = self._scaled_adapters.get(key)
        if found is None:
            found = adapter.at(strength)
            with self._lock:
                while len(self._scaled_adapters) >= MAX_SCALED:
                    self._scaled_adapters.pop(next(iter(self._scaled_adapters)))
                self._scaled_adapters[key] = found
        return found

    def _key_and_adapter(self, style: Style, likeness: float | None) -> tuple[str, StyleAdapter | None]:
        adapter = self.adapter(style)
        if adapter is not None and likeness is not None:
            adapter = self._scaled(adapter, float(likeness))
        return style_key(style) + (f":{adapter.key}" if adapter is not None else ""), adapter

    def has(self, style: Style, likeness: float | None = None) -> bool:
        """Whether get(style, likeness) is already primed (costs nothing)."""
        return self._key_and_adapter(style, likeness)[0] in self._states

    def get(self, style: Style, likeness: float | None = None) -> PrimedStyle:
        """The style primed (cached), its adapter at `likeness` of the fitted delta (None: the style's own
        strength); likeness does nothing for a style without an adapter."""
        key, adapter = self._key_and_adapter(style, likeness)
        found = self._states.get(key)
        if found is not None:
            return found
        try:
            encoded = [self.alphabet.encode(text) + self.alphabet.encode_separator() for text, _ in style.lines()]
        except ValueError as e:
            raise StyleError(f"style {style.style_id}'s text uses characters this model lacks ({e})") from e
        primes = style.primes(self.stats)
        found = PrimedStyle(self.sampler.style_state(primes, encoded, adapter), primes[0], encoded[0], adapter)
        with self._lock:
            while len(self._states) >= MAX_PRIMED:
                self._states.pop(next(iter(self._states)))
            self._states[key] = found
        return found
