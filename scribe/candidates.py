"""The legibility check: sample N candidates of every line in one batch, read each back with the
shipped recogniser, keep the one that reads as its text.

A sampled line is one draw; some draws drop a word, turn a letter into another or end in a stray
mark. The reader scores every candidate by its CER against the text (canonical(), as in the quality
report); the lowest wins. At equal CER a candidate that reads whole (as many characters and words as
the text) beats one that reads shorter or longer, and what is still tied goes to the candidate the
model itself finds likelier (mean log-likelihood per point under the unbiased model, one
teacher-forced pass over the tied lines only). N = 1 turns the check off.

Hand.write calls `expand` before sampling and `choose` after; nothing here changes the sampler.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .accents import base_text
from .errors import InputError
from .model import MixtureParams, mixture_nll
from .recognizer import Recognizer, RecognizerError, canonical, edit_distance, load_recognizer
from .request import DEFAULT_CANDIDATES, MAX_CANDIDATES, MIN_CANDIDATES   # the one default N, and its range

APP_CANDIDATES = DEFAULT_CANDIDATES   # the app's starting value
POOR_CER = 0.25               # a chosen line the reader gets this wrong is named in the summary


def check_candidates(n) -> int:
    """N as an int, or an InputError that names the range."""
    try:
        value = int(n)
        ok = not isinstance(n, bool) and float(n) == value
    except (TypeError, ValueError, OverflowError):   # OverflowError: int(inf)
        ok = False
    if not ok or not MIN_CANDIDATES <= value <= MAX_CANDIDATES:
        raise InputError(f"candidates per line must be a whole number from {MIN_CANDIDATES} to "
                         f"{MAX_CANDIDATES} (1 turns the legibility check off); got {repr(n)[:40]}")
    return value


def resolve_candidates(n) -> tuple[int, str]:
    """(N, "") for a good N; (1, why) for a bad one: the write goes ahead without the check and says so."""
    try:
        return check_candidates(n), ""
    except InputError as e:
        return 1, str(e)


@dataclass
class LegibilityCheck:
    """What the check did for one document; `line_cers` and `readings` are per written line."""
    candidates: int                          # N asked for
    line_cers: list[float | None] = field(default_factory=list)   # None: blank line (or not checked)
    readings: list[str | None] = field(default_factory=list)      # what the reader read on the chosen ink
    skipped: str = ""                        # why the check did not run ("" when it ran or N = 1)
    tied_lines: int = 0                      # lines still tied after CER and wholeness (likelihood decided)
    tied_rows: int = 0                       # candidates the likelihood pass read for them
    accents_stripped: bool = False           # some line had accented letters, read as their base letters

    @property
    def ran(self) -> bool:
        return self.candidates > 1 and not self.skipped

    @property
    def lines_checked(self) -> int:
        return sum(c is not None for c in self.line_cers) if self.ran else 0

    @property
    def cer(self) -> float | None:
        """The reader's mean CER over the chosen candidates of the checked lines."""
        cers = [c for c in self.line_cers if c is not None]
        return float(np.mean(cers)) if self.ran and cers else None

    @property
    def poor_lines(self) -> list[int]:
        """0-based indices of lines whose best candidate still reads poorly."""
        return [i for i, c in enumerate(self.line_cers) if self.ran and c is not None and c > POOR_CER]

    def summary(self) -> str:
        """One sentence for every front end ("" when the check is off)."""
        if self.skipped:
            return f"legibility check not run: {self.skipped}; the lines were written without it"
        if not self.ran:
            return ""
        text = (f"legibility check: {self.lines_checked} line{'s' * (self.lines_checked != 1)} checked, "
                f"{self.candidates} candidates each; reader's CER of the chosen ink {self.cer:.3f}")
        poor = self.poor_lines
        if poor:
            text += (f"; line{'s' * (len(poor) > 1)} {', '.join(str(i + 1) for i in poor)} still read"
                     f"{'s' * (len(poor) == 1)} poorly (reader's CER above {POOR_CER:g})")
        if self.accents_stripped:
            text += "; accented letters were compared as their base letters (the reader knows no accents)"
        return text

    def to_dict(self) -> dict:
        return {"candidates": self.candidates, "ran": self.ran, "lines_checked": self.lines_checked,
                "cer": None if self.cer is None else round(self.cer, 4),
                "poor_lines": [i + 1 for i in self.poor_lines],
                "line_cers": [None if c is None else round(c, 4) for c in self.line_cers],
                "skipped": self.skipped, "accents_stripped": self.accents_stripped, "summary": self.summary()}


def reader_or_reason(path=None, cache: dict | None = None) -> tuple[Recognizer | None, str]:
    """(the recogniser, "") or (None, why it cannot be used), naming the file but not its folder."""
    key = str(path)
    if cache is not None and key in cache:
        return cache[key]
    try:
        found = (load_recognizer(path), "")
    except RecognizerError as e:
        from .recognizer import SHIPPED_RECOGNIZER
        name = getattr(path, "name", None) or (str(path).rsplit("/", 1)[-1] if path else SHIPPED_RECOGNIZER.name)
        why = "is missing" if "no recogniser at" in str(e) else "is corrupt or not a Scribe recogniser"
        found = (None, f"the reader's file {name} {why}")
    if cache is not None:
        cache[key] = found
    return found


def line_score(reading: str, text: str) -> tuple[float, bool]:
    """(CER of one reading against its text, whether it reads whole: as many characters and words)."""
    h, r = canonical(reading), canonical(text)
    whole = len(h) == len(r) and len(h.split()) == len(r.split())
    return edit_distance(h, r) / max(1, len(r)), whole


def rank(cers: list[float], whole: list[bool], nll: list[float] | None = None) -> int:
    """Index of the best candidate: lowest CER, then reads whole, then lowest NLL per point."""
    keys = [(c, not w, nll[i] if nll is not None else 0.0) for i, (c, w) in enumerate(zip(cers, whole))]
    return min(range(len(keys)), key=lambda i: keys[i])


@torch.inference_mode()
def mean_nll(sampler, requests, offsets: list[np.ndarray], primed=None) -> list[float]:
    """The unbiased model's mean negative log-likelihood per point of each line of offsets (training
    units), given its request's text and priming: teacher-forced passes over the whole batch.

    A primed line is scored as the sampler writes it (scribe.sampling): layers 2..N run over the
    prime ink and then the candidate, while layer 1 and the window read the prime (with the prime's
    text) and then start afresh on the candidate (with its own text). Only the candidate's points
    are counted. The passes are scribe.fast's compiled layer-1 recurrence (the training path), so
    they cost far less than stepping. `primed` is not needed (the argument stays for callers that
    have it)."""
    model, device, stats = sampler.model, sampler.device, sampler.stats
    start = torch.tensor([[0.0, 0.0, 1.0]])

    def fed(points: torch.Tensor) -> torch.Tensor:
        """What the network reads while writing `points`: the start row, then all but the last."""
        return torch.cat([start, points[:-1]]) if len(points) else points

    cands = [torch.from_numpy(stats.normalise(o)) if len(o) else torch.zeros(0, 3) for o in offsets]
    primes = [torch.from_numpy(np.asarray(r.prime.offsets, np.float32)) if r.prime is not None
              else torch.zeros(0, 3) for r in requests]
    h_c, w_c = _layer1_rows(model, [fed(c) for c in cands], [r.encoded for r in requests], device)
    primed_rows = [i for i, r in enumerate(requests) if r.prime is not None]
    h_p, w_p = {}, {}
    if primed_rows:
        hs, ws = _layer1_rows(model, [fed(primes[i]) for i in primed_rows],
                              [requests[i].prime_encoded for i in primed_rows], device)
        h_p, w_p = dict(zip(primed_rows, hs)), dict(zip(primed_rows, ws))
    B = len(requests)
    T = max(1, max(len(p) + len(c) for p, c in zip(primes, cands)))
    H, A = model.config.rnn_size, model.config.alphabet_size
    inputs, targets = torch.zeros(B, T, 3, device=device), torch.zeros(B, T, 3, device=device)
    h1, ws = torch.zeros(B, T, H, device=device), torch.zeros(B, T, A, device=device)
    mask = torch.zeros(B, T, device=device)
    for i, (p, c) in enumerate(zip(primes, cands)):
        P, C = len(p), len(c)
        if P:
            inputs[i, :P], h1[i, :P], ws[i, :P] = fed(p).to(device), h_p[i][:P], w_p[i][:P]
        inputs[i, P:P + C], h1[i, P:P + C], ws[i, P:P + C] = fed(c).to(device), h_c[i][:C], w_c[i][:C]
        targets[i, P:P + C] = c.to(device)
        mask[i, P:P + C] = 1.0
    out = model._upper_and_output(inputs, h1, ws, None)
    nll = mixture_nll(MixtureParams(out, model.config.mixtures), targets) * mask
    return (nll.sum(1) / mask.sum(1).clamp(min=1)).tolist()


def _layer1_rows(model, rows: list[torch.Tensor], texts: list[list[int]], device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer 1 and the window from the zero state over each row of inputs (T_i, 3) with its text:
    (h (B, T, H), w (B, T, A)), rows padded at the end. scribe.fast's compiled recurrence, or the
    eager model's where TorchScript fails (same maths)."""
    from .sampling import _pad
    T = max(1, max(len(x) for x in rows))
    inputs = torch.zeros(len(rows), T, 3)
    for i, x in enumerate(rows):
        inputs[i, :len(x)] = x
    inputs, text = inputs.to(device), _pad(texts, extra=1).to(device)
    onehot = model.text_onehot(text, inputs.dtype)
    c1 = model.cell1
    try:
        from .fast import _ifog, _layer1_forward, _script
        ifog = _ifog(model.config.rnn_size, inputs.device)
        w_ih = c1.weight_ih[ifog]
        xproj = F.linear(inputs, w_ih[:, :3], (c1.bias_ih + c1.bias_hh)[ifog])
        w_rec = torch.cat([w_ih[:, 3:], c1.weight_hh[ifog]], 1).t()
        hs, ws = _script(_layer1_forward)(xproj.contiguous(), w_rec.contiguous(), model.window.weight.t(),
                                          model.window.bias, onehot, False)[:2]
        return hs, ws
    except Exception:   # an unusual torch build: step the eager layer 1, same maths
        state = model.initial_state(len(rows), inputs.device)
        h, c, w, kappa = state[:4]
        hs, ws = [], []
        for t in range(T):
            h, c = c1(torch.cat([inputs[:, t], w], 1), (h, c))
            w, kappa, _ = model.window_from(h, kappa, onehot)
            hs.append(h)
            ws.append(w)
        return torch.stack(hs, 1), torch.stack(ws, 1)


def choose(texts: list[str], candidates: list[list], reader: Recognizer, likelihood=None
           ) -> tuple[list[int], list[float], list[str]]:
    """For each line (its text and its sampled candidates), (index of the chosen candidate, the
    reader's CER of it, what the reader read). `likelihood(pairs)` -> NLL per (line, candidate) pair:
    called once, for the lines still tied after CER and wholeness (None: ties go to the first).

    The reader knows only IAM-OnDB's letters: each reading is compared with the text as the model
    wrote it (accents.base_text: "Café" as "Cafe", "ß" as "B"), from the model's own ink (without the
    accent marks, which it would read as stray ticks)."""
    texts = [base_text(t) for t in texts]
    flat = [getattr(c, "model_offsets", c.offsets) for cs in candidates for c in cs]
    readings = reader.read(flat) if flat else []
    scores, k = [], 0
    for text, cs in zip(texts, candidates):
        scores.append([line_score(readings[k + j], text) for j in range(len(cs))])
        k += len(cs)
    tied = []
    for i, sc in enumerate(scores):
        best = min((c, not w) for c, w in sc)
        ties = [j for j, (c, w) in enumerate(sc) if (c, not w) == best]
        if len(ties) > 1:
            tied += [(i, j) for j in ties]
    nll = {}
    if tied and likelihood is not None:
        nll = dict(zip(tied, likelihood(tied)))
    chosen, cers, read_back, k = [], [], [], 0
    for i, sc in enumerate(scores):
        j = rank([c for c, _ in sc], [w for _, w in sc], [nll.get((i, j), 0.0) for j in range(len(sc))])
        chosen.append(j)
        cers.append(sc[j][0])
        read_back.append(readings[k + j])
        k += len(sc)
    return chosen, cers, read_back
