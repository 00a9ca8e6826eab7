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

from .errors import InputError
from .model import MixtureParams, mixture_nll
from .recognizer import Recognizer, RecognizerError, canonical, edit_distance, load_recognizer

MIN_CANDIDATES, MAX_CANDIDATES = 1, 16
DEFAULT_CANDIDATES = 4        # the CLI's and the API's default (README, "Legibility check")
APP_CANDIDATES = 4            # the app's starting value
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
        return text

    def to_dict(self) -> dict:
        return {"candidates": self.candidates, "ran": self.ran, "lines_checked": self.lines_checked,
                "cer": None if self.cer is None else round(self.cer, 4),
                "poor_lines": [i + 1 for i in self.poor_lines],
                "line_cers": [None if c is None else round(c, 4) for c in self.line_cers],
                "skipped": self.skipped, "summary": self.summary()}


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
    units), given its request's text and priming: one teacher-forced pass over the whole batch.

    A primed line is run as its prime ink followed by the candidate, from the zero state (which is
    what priming is), and only the candidate's points are counted. The pass is scribe.fast's compiled
    forward (the training path), so it costs far less than stepping. `primed` is not needed (the
    argument stays for callers that have it)."""
    model, device, stats = sampler.model, sampler.device, sampler.stats
    rows, texts, starts = [], [], []
    for r, o in zip(requests, offsets):
        cand = torch.from_numpy(stats.normalise(o)) if len(o) else torch.zeros(0, 3)
        prime = torch.from_numpy(np.asarray(r.prime.offsets, np.float32)) if r.prime is not None else torch.zeros(0, 3)
        rows.append(torch.cat([prime, cand]))
        starts.append(len(prime))
        texts.append((r.prime_encoded + r.encoded) if r.prime is not None else r.encoded)
    B, T = len(rows), max(len(x) for x in rows)
    targets = torch.zeros(B, T, 3)
    mask = torch.zeros(B, T)
    for i, (x, s0) in enumerate(zip(rows, starts)):
        targets[i, :len(x)] = x
        mask[i, s0:len(x)] = 1.0
    inputs = torch.cat([torch.tensor([[[0.0, 0.0, 1.0]]]).expand(B, 1, 3), targets[:, :-1]], 1)
    from .sampling import _pad
    text = _pad(texts, extra=1).to(device)
    inputs, targets, mask = inputs.to(device), targets.to(device), mask.to(device)
    try:
        out = _compiled_forward(model, inputs, text)
    except Exception:   # an unusual torch build: the eager forward, same maths
        out = model(inputs, text)
    nll = mixture_nll(MixtureParams(out, model.config.mixtures), targets) * mask
    return (nll.sum(1) / mask.sum(1).clamp(min=1)).tolist()


def _compiled_forward(model, inputs: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """model(inputs, text) through scribe.fast's compiled layer-1 recurrence, inference only: unlike
    fast.fast_forward it keeps none of what a backward pass would need (less time, far less memory)."""
    from .fast import _ifog, _layer1_forward, _script
    c1 = model.cell1
    onehot = model.text_onehot(text, inputs.dtype)
    ifog = _ifog(model.config.rnn_size, inputs.device)
    w_ih = c1.weight_ih[ifog]
    xproj = F.linear(inputs, w_ih[:, :3], (c1.bias_ih + c1.bias_hh)[ifog])
    w_rec = torch.cat([w_ih[:, 3:], c1.weight_hh[ifog]], 1).t()
    hs, ws = _script(_layer1_forward)(xproj.contiguous(), w_rec.contiguous(), model.window.weight.t(),
                                      model.window.bias, onehot, False)[:2]
    return model._upper_and_output(inputs, hs, ws, None)


def choose(texts: list[str], candidates: list[list], reader: Recognizer, likelihood=None
           ) -> tuple[list[int], list[float], list[str]]:
    """For each line (its text and its sampled candidates), (index of the chosen candidate, the
    reader's CER of it, what the reader read). `likelihood(pairs)` -> NLL per (line, candidate) pair:
    called once, for the lines still tied after CER and wholeness (None: ties go to the first)."""
    flat = [c.offsets for cs in candidates for c in cs]
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
