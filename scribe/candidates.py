"""The legibility check: sample candidates of every line, read each back with the shipped
recogniser, keep the one that reads as its text.

It stops early (`checked_lines`): the N candidates of every line run in one sampler batch, and
finished candidates are read while it runs whenever that could end it (worth_reading: every line
still running has a finished candidate not yet read), at most every READ_EVERY pen steps; the rest
are read in one call at the end. A line is kept as soon as
one of its finished candidates reads as its text (CER ACCEPT_CER = 0); its unfinished candidates are
dropped, and the batch ends when every line is either kept or has all its candidates finished. So a
line never costs more than the fixed check (sample N, read N) and often less; what it chooses reads
exactly as well (a CER of 0 is the best any candidate can do). Dropping a row does not change the
random draws of the others: a seed gives the same ink (scribe.sampling.Sampler.sample_live).
benchmarks/legibility_cost.py measures time and reading figures against the fixed check.

A sampled line is one draw; some draws drop a word, turn a letter into another or end in a stray
mark. The reader scores every candidate by its CER against the text (canonical(), as in the quality
report); the lowest wins. At equal CER a candidate that reads whole (as many characters and words as
the text) beats one that reads shorter or longer, and what is still tied goes to the candidate the
reader is surest says its text (CTC likelihood of the text, one reader pass over the tied candidates
only; mean_nll, the model's own likelihood, with a reader that cannot tell). N = 1 turns the check off.

A line in a style has a second question: is it in that style's hand? Reading alone picks the most
generic candidate more often than not, so such a line (when the hand scorer is there: scribe.nearness)
keeps, of its candidates reading about as well as the best (exactly, when one reads exactly; else
within NEAR_EDITS misread characters), the one nearest the style's own lines; it draws all N (an
exact reading does not end it early, as a nearer exact candidate may still be running). Lines in the
model's own hand stop early as above.

Hand.write calls `checked_lines`; nothing here changes the sampler.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from . import accents
from .accents import base_text
from .errors import InputError
from .model import MixtureParams, carried_after_prime, mixture_nll
from .nearness import NEAR_EDITS
from .files import loaded_or_reason
from .recognizer import (SHIPPED_RECOGNIZER, Recognizer, RecognizerError, canonical, edit_distance,
                         load_recognizer)
from .request import DEFAULT_CANDIDATES, MAX_CANDIDATES, MIN_CANDIDATES   # the one default N, and its range
from .sampling import LineRequest, SampledLine, ends_in_full_stop, late_dot_ok

APP_CANDIDATES = DEFAULT_CANDIDATES   # the app's starting value
POOR_CER = 0.25               # a chosen line the reader gets this wrong is named in the summary
REAL_CER = 0.077              # the shipped reader's CER on real testset_v lines (checkpoints/quality/report.md),
                              # for a reader whose file does not say its own
ACCEPT_CER = 0.0              # a line is kept as soon as one finished candidate reads this well
CHECK_EVERY = 16              # pen steps per chunk of the sampling loop (when not watched live)
READ_EVERY = 64               # pen steps at least between two readings (worth_reading says when): one
                              # reader call costs about as much as 40 pen steps


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
    candidates: int                          # N asked for (at most N per line are drawn)
    drawn: int = 0                           # candidates drawn in all, over every line
    accept_cer: float | None = None          # a first draw reading this well or better was kept at once
    line_cers: list[float | None] = field(default_factory=list)   # None: blank line (or not checked)
    readings: list[str | None] = field(default_factory=list)      # what the reader read on the chosen ink
    skipped: str = ""                        # why the check did not run ("" when it ran or N = 1)
    tied_lines: int = 0                      # lines still tied after CER and wholeness (likelihood decided)
    tied_rows: int = 0                       # candidates the likelihood pass read for them
    accents_stripped: bool = False           # some line had accented letters, read as their base letters
    lowered: str = ""                        # N was lowered to fit the request budget (scribe.cost): why
    rounds: int = 1                          # paragraph mode's wrap-and-write passes the draws were made in
    hand_picked: list[bool] = field(default_factory=list)   # per written line: the style's hand picked
                                                             # another candidate than reading alone would
    hand_skipped: str = ""                   # why lines in a style were chosen by reading alone ("" when not)

    @property
    def ran(self) -> bool:
        return self.candidates > 1 and not self.skipped

    @property
    def lines_checked(self) -> int:
        return sum(c is not None for c in self.line_cers) if self.ran else 0

    @property
    def by_hand(self) -> int:
        """Lines where the style's hand (scribe.nearness) picked another candidate than reading alone."""
        return sum(self.hand_picked)

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
            return self.lowered
        text = (f"legibility check: {self.lines_checked} line{'s' * (self.lines_checked != 1)} checked, "
                f"{self.candidates} candidates at most ({self.drawn} drawn"
                f"{f' over {self.rounds} wrap rounds' if self.rounds > 1 else ''}); reader's CER of the chosen ink "
                f"{self.cer:.3f}")
        poor = self.poor_lines
        if poor:
            text += (f"; line{'s' * (len(poor) > 1)} {', '.join(str(i + 1) for i in poor)} still read"
                     f"{'s' * (len(poor) == 1)} poorly (reader's CER above {POOR_CER:g})")
        if self.by_hand:
            text += (f"; {self.by_hand} line{'s' * (self.by_hand != 1)} kept a candidate nearer its style's hand "
                     f"that reads about as well")
        if self.hand_skipped:
            text += f"; chosen by reading alone ({self.hand_skipped})"
        if self.accents_stripped:
            text += "; accented letters were compared as their base letters (the reader knows no accents)"
        return text + (f"; {self.lowered}" if self.lowered else "")

    def to_dict(self) -> dict:
        return {"candidates": self.candidates, "drawn": self.drawn, "ran": self.ran, "lines_checked": self.lines_checked,
                "cer": None if self.cer is None else round(self.cer, 4),
                "poor_lines": [i + 1 for i in self.poor_lines],
                "line_cers": [None if c is None else round(c, 4) for c in self.line_cers],
                "skipped": self.skipped, "accents_stripped": self.accents_stripped, "lowered": self.lowered,
                "by_hand": self.by_hand, "hand_skipped": self.hand_skipped,
                "summary": self.summary()}


def reader_or_reason(path=None, cache: dict | None = None) -> tuple[Recognizer | None, str]:
    """(the recogniser, "") or (None, why it cannot be used), naming the file but not its folder."""
    return loaded_or_reason(load_recognizer, path, SHIPPED_RECOGNIZER, RecognizerError, "reader", "recogniser", cache)


def line_score(reading: str, text: str) -> tuple[float, bool]:
    """(CER of one reading against its text, whether it reads whole: as many characters and words)."""
    h, r = canonical(reading), canonical(text)
    whole = len(h) == len(r) and len(h.split()) == len(r.split())
    return edit_distance(h, r) / max(1, len(r)), whole


def nearest_of_best(text: str, cers: list[float], near: list[float], default: int) -> int:
    """Of the candidates reading about as well as the best (CERs against `text`), the one nearest its
    style's hand; `default` (reading's own pick) wins a tie. "About as well": exactly, when some
    candidate reads exactly (a line that reads as its text stays so); else within NEAR_EDITS
    misread characters of the best."""
    length = max(1, len(canonical(text)))
    edits = [round(c * length) for c in cers]
    slack = NEAR_EDITS if min(edits) > 0 else 0
    fair = [j for j, e in enumerate(edits) if e <= min(edits) + slack]
    return max(fair, key=lambda j: (near[j], j == default))


def rank(cers: list[float], whole: list[bool], nll: list[float] | None = None) -> int:
    """Index of the best candidate: lowest CER, then reads whole, then lowest NLL per point."""
    keys = [(c, not w, nll[i] if nll is not None else 0.0) for i, (c, w) in enumerate(zip(cers, whole))]
    return min(range(len(keys)), key=lambda i: keys[i])


@torch.inference_mode()
def mean_nll(sampler, requests, offsets: list[np.ndarray], primed=None, carried: list | None = None) -> list[float]:
    """The unbiased model's mean negative log-likelihood per point of each line of offsets (training
    units), given its request's text and priming: teacher-forced passes over the whole batch.

    A primed line is scored as the sampler writes it (scribe.sampling): layers 2..N run over the
    prime ink and then the candidate, while layer 1 and the window read the prime (with the prime's
    text) and then start afresh on the candidate (with its own text). Only the candidate's points
    are counted. The passes are scribe.fast's compiled layer-1 recurrence (the training path), so
    they cost far less than stepping. `primed` is not needed (the argument stays for callers that
    have it).

    `carried`, per line: the primed state the sampler started its layers 2..N from
    (carried_after_prime of Hand._prime's state, one row) or None for an unprimed line. With it no
    prime ink is read again (the tie-break of the legibility check: several times cheaper), and a
    style primed by several lines is scored from the very state its ink was written from."""
    model, device, stats = sampler.model, sampler.device, sampler.stats
    start = torch.tensor([[0.0, 0.0, 1.0]])
    if carried is not None:
        return _nll_from_carried(model, device, stats, requests, offsets, carried)

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


def _nll_from_carried(model, device, stats, requests, offsets, carried) -> list[float]:
    """mean_nll's lines, layers 2..N started from `carried` (see mean_nll)."""
    start = torch.tensor([[0.0, 0.0, 1.0]])
    cands = [torch.from_numpy(stats.normalise(o)) if len(o) else torch.zeros(0, 3) for o in offsets]
    fed = [torch.cat([start, c[:-1]]) if len(c) else c for c in cands]
    h1, ws = _layer1_rows(model, fed, [r.encoded for r in requests], device)
    B, T = len(requests), h1.shape[1]
    inputs, targets = torch.zeros(B, T, 3, device=device), torch.zeros(B, T, 3, device=device)
    mask = torch.zeros(B, T, device=device)
    for i, c in enumerate(cands):
        inputs[i, :len(c)], targets[i, :len(c)], mask[i, :len(c)] = fed[i].to(device), c.to(device), 1.0
    H = model.config.rnn_size
    rows = [[torch.zeros(1, H, device=device)] * (2 * len(model.upper)) if c is None else c for c in carried]
    state = [torch.cat([r[k] for r in rows]) for k in range(2 * len(model.upper))]
    out = model._upper_and_output(inputs, h1, ws, None, state)
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


class Chosen(NamedTuple):
    """choose()'s answer, per line."""
    index: list[int]          # the chosen candidate
    cers: list[float]         # the reader's CER of it
    readings: list[str]       # what the reader read on it
    by_hand: list[bool]       # the style's hand picked it over reading's own pick


def choose(texts: list[str], candidates: list[list], reader: Recognizer, likelihood=None,
           readings: list[list[str]] | None = None, nearness: list | None = None) -> Chosen:
    """For each line (its text and its sampled candidates), the chosen candidate (Chosen: its index,
    the reader's CER of it, what the reader read, whether the hand chose it). `likelihood(pairs)` -> NLL per (line, candidate) pair:
    called once, for the lines still tied after CER and wholeness (None: ties go to the first).
    `readings`, per line and candidate, when the caller has read them already. `nearness`, per line,
    None or each candidate's nearness to the line's style (scribe.nearness): such a line keeps, of
    the candidates reading about as well as the best (nearest_of_best), the nearest.

    The reader knows only IAM-OnDB's letters: each reading is compared with the text as the model
    wrote it (accents.base_text: "Café" as "Cafe", "ß" as "B"), from the model's own ink (without the
    accent marks, which it would read as stray ticks)."""
    texts = [base_text(t) for t in texts]
    if readings is None:
        flat = [getattr(c, "model_offsets", c.offsets) for cs in candidates for c in cs]
        readings = reader.read(flat) if flat else []
    else:   # already read, per line (the adaptive check reads each round as it ends)
        readings = [h for per_line in readings for h in per_line]
    scores, k = [], 0
    for text, cs in zip(texts, candidates):
        scores.append([line_score(readings[k + j], text) for j in range(len(cs))])
        k += len(cs)
    near = nearness or [None] * len(texts)
    tied = []
    for i, sc in enumerate(scores):
        best = min((c, not w) for c, w in sc)
        ties = [j for j, (c, w) in enumerate(sc) if (c, not w) == best]
        if len(ties) > 1:
            tied += [(i, j) for j in ties]
    nll = {}
    if tied and likelihood is not None:
        nll = dict(zip(tied, likelihood(tied)))
    chosen, cers, read_back, by_hand, k = [], [], [], [], 0
    for i, sc in enumerate(scores):
        # reading's own pick; on a line in a style the hand may take another reading about as well
        j = own = rank([c for c, _ in sc], [w for _, w in sc], [nll.get((i, j), 0.0) for j in range(len(sc))])
        if near[i] is not None:
            j = nearest_of_best(texts[i], [c for c, _ in sc], near[i], own)
        chosen.append(j)
        cers.append(sc[j][0])
        read_back.append(readings[k + j])
        by_hand.append(j != own)
        k += len(sc)
    return Chosen(chosen, cers, read_back, by_hand)


# ---- sampling candidates and choosing among them (Hand.write's legibility check) -----------------------

@dataclass
class CandidateBatch:
    """One sampler batch of n candidates per line: candidate j of line i is sampled[j * len(rows) + i]."""
    rows: list[int]               # the spec index of each non-blank line
    requests: list[LineRequest]
    sampled: list[SampledLine]
    primed: tuple | None          # the primed state of the batch's primed rows, in row order
    n: int


def line_requests(hand, specs, rows: list[int]) -> tuple[list[LineRequest], tuple | None]:
    """The sampler's requests for specs[i], i in rows (checked, non-blank), and their primed state."""
    requests, primed_parts = [], []
    for i in rows:
        s = specs[i]
        written = accents.base_text(s.text)    # accented letters: the model writes the base letter
        req = LineRequest(hand.alphabet.encode(written), s.bias, late_dot_ok=late_dot_ok(s.text),
                          final_stop=ends_in_full_stop(s.text), marks=accents.marks_of(s.text), written=written)
        if s.style is not None:
            style = hand.primed(int(s.style), s.likeness)
            req.prime, req.prime_encoded, req.adapter = style.prime, style.encoded, style.adapter
            primed_parts.append(style.state)
        requests.append(req)
    primed = None
    if primed_parts:
        n_state = len(primed_parts[0][0])
        primed = ([torch.cat([p[0][k] for p in primed_parts]) for k in range(n_state)],
                  torch.cat([p[1] for p in primed_parts]))
    return requests, primed


def sample_batch(hand, specs, n: int, seed: int, max_steps: int | None = None, on_step=None, every=None,
                 rows: list[int] | None = None):
    """n candidates of every non-blank line of checked `specs` (or of specs[i], i in `rows`), all in
    one sampler batch: a generator that yields (LiveBatch, rows) every `every` pen steps (none
    without `every`) and returns the CandidateBatch."""
    rows = [i for i, s in enumerate(specs) if s.text] if rows is None else rows   # blank lines stay blank
    requests, primed = line_requests(hand, specs, rows)
    if n > 1:   # candidate j of line i is row j * len(requests) + i: N = 1 is the plain batch
        requests = requests * n
        primed = None if primed is None else ([p.repeat(n, *[1] * (p.dim() - 1)) for p in primed[0]],
                                              primed[1].repeat(n, 1))
    sampler = hand.sampler
    if every is None:
        sampled = sampler.sample(requests, seed=seed, max_steps=max_steps, primed=primed, on_step=on_step)
    else:
        live = sampler.sample_live(requests, seed=seed, max_steps=max_steps, primed=primed, every=every)
        try:
            while True:
                yield next(live), rows
        except StopIteration as end:
            sampled = end.value
        finally:
            live.close()      # closing the caller's generator closes the sampling loop
    return CandidateBatch(rows, requests, sampled, primed, n)


def _likelihood(hand, specs, rows, check: LegibilityCheck, ink: dict, reader=None):
    """likelihood(pairs) for choose(): per (line, candidate) pair, with `ink` mapping a pair to (its
    LineRequest, its SampledLine) and line k being specs[rows[k]], the reader's NLL of the line's text
    (Recognizer.text_nll: one reader pass, a few times cheaper than the model's), or without one the
    model's NLL (mean_nll)."""
    def likelihood(pairs):
        check.tied_lines, check.tied_rows = len({i for i, _ in pairs}), len(pairs)
        if hasattr(reader, "text_nll"):
            return reader.text_nll([ink[p][1].model_offsets for p in pairs],
                                   [base_text(specs[rows[i]].text) for i, _ in pairs])
        pens = [specs[rows[i]] for i, _ in pairs]
        carried = [None if s.style is None else carried_after_prime(hand.primed(int(s.style), s.likeness).state[0])
                   for s in pens]
        return mean_nll(hand.sampler, [ink[p][0] for p in pairs], [ink[p][1].model_offsets for p in pairs],
                        carried=carried)
    return likelihood


def choose_in_batch(hand, specs, batch: CandidateBatch, reader, check: LegibilityCheck, use: int | None = None,
                    judge=None) -> list[SampledLine | None]:
    """Per spec, the candidate of a fixed batch (of the first `use`, default all) that `reader` reads
    best (and, with a `judge`, scribe.nearness, nearest its style's hand among those reading about as
    well), None for a blank line; fills in `check`. (The fixed-N check: benchmarks compare against it.)"""
    m, use = len(batch.rows), use or batch.n
    per_line = [[batch.sampled[j * m + i] for j in range(use)] for i in range(m)]
    ink = {(i, j): (batch.requests[j * m + i], per_line[i][j]) for i in range(m) for j in range(use)}
    styles = line_styles(hand, specs, batch.rows, judge)
    picked = choose([specs[r].text for r in batch.rows], per_line, reader,
                    _likelihood(hand, specs, batch.rows, check, ink, reader),
                    nearness=nearness_of(judge, per_line, styles))
    check.drawn = m * use
    return _fill(specs, batch.rows, [per_line[i][c] for i, c in enumerate(picked.index)], picked, check)


def line_styles(hand, specs, rows: list[int], judge) -> list:
    """Per checked line, its Style when the hand can judge it (a judge, a line in a style), else None."""
    if judge is None:
        return [None] * len(rows)
    return [None if specs[r].style is None else hand.style(int(specs[r].style)) for r in rows]


def nearness_of(judge, per_line: list[list], styles: list) -> list | None:
    """Per line, each candidate's nearness to the line's style (one scorer call), or None for a line
    the hand does not judge; None when no line is judged."""
    judged = [k for k, st in enumerate(styles) if st is not None]
    if judge is None or not judged:
        return None
    flat = [(k, c) for k in judged for c in per_line[k]]
    near = judge.of([c.model_offsets for _, c in flat], [styles[k] for k, _ in flat])
    out: list = [None] * len(per_line)
    i = 0
    for k in judged:
        out[k] = near[i:i + len(per_line[k])]
        i += len(per_line[k])
    return out


def _fill(specs, rows, lines_picked, picked: Chosen, check: LegibilityCheck) -> list[SampledLine | None]:
    check.line_cers, check.readings = [None] * len(specs), [None] * len(specs)
    check.hand_picked = [False] * len(specs)
    check.accents_stripped = any(accents.has_accents(specs[r].text) for r in rows)
    lines: list[SampledLine | None] = [None] * len(specs)
    for k, r in enumerate(rows):
        check.line_cers[r], check.readings[r], lines[r] = picked.cers[k], picked.readings[k], lines_picked[k]
        check.hand_picked[r] = picked.by_hand[k]
    return lines


def accept_cer(reader) -> float:
    """The loosest acceptance a caller may ask for: the reader's CER on real writers' lines."""
    return float(getattr(reader, "metrics", {}).get("real_cer", REAL_CER) or REAL_CER)


def checked_lines(hand, specs, n: int, seed: int, reader, check: LegibilityCheck, max_steps: int | None = None,
                  on_step=None, every=None, accept: float = ACCEPT_CER, chunk: int = CHECK_EVERY, judge=None):
    """The legibility check (see the module docstring): a generator that yields (LiveBatch, rows)
    every `every` pen steps (none without `every`) and returns the chosen SampledLine (None for a
    blank line) per spec; fills in `check`. n = 1 (or no reader): the plain batch, unread. `judge`
    (scribe.nearness): lines in a style draw all n candidates and keep, of those reading about as well
    as the best (nearest_of_best), the one nearest the style's hand."""
    rows = [i for i, s in enumerate(specs) if s.text]            # blank lines stay blank
    if n <= 1 or reader is None or not rows:
        batch = yield from sample_batch(hand, specs, 1, seed, max_steps, on_step, every)
        lines: list[SampledLine | None] = [None] * len(specs)
        for i, ln in zip(batch.rows, batch.sampled):
            lines[i] = ln
        return lines
    requests, primed = line_requests(hand, specs, rows)
    m = len(rows)
    requests = requests * n               # candidate j of line k is row j * m + k
    primed = None if primed is None else ([p.repeat(n, *[1] * (p.dim() - 1)) for p in primed[0]],
                                          primed[1].repeat(n, 1))
    texts = [base_text(specs[r].text) for r in rows]
    styles = line_styles(hand, specs, rows, judge)
    # A line the hand judges never stops early: an exact reading may lose to a nearer candidate still running.
    can_stop = {k for k in range(m) if styles[k] is None}
    check.accept_cer = accept
    read: dict[int, str] = {}             # batch row -> what the reader read on its finished ink
    scored: dict = {}                     # batch row -> the reader's log-probabilities (the tie-break's)
    scoring = hasattr(reader, "read_scored")

    def read_rows(rows, lines):
        if scoring:
            texts_read, logps = reader.read_scored(lines)
            scored.update(zip(rows, logps))
        else:
            texts_read = reader.read(lines)
        read.update(zip(rows, texts_read))
        return texts_read

    accepted: set[int] = set()            # lines with a finished candidate that reads well enough
    dropped: set[int] = set()
    step = chunk if every is None else max(1, int(every))
    live = hand.sampler.sample_live(requests, seed=seed, max_steps=max_steps, primed=primed, every=step)
    drop, read_at = None, 0
    try:
        while True:
            batch = live.send(drop)
            new = []
            if batch.step - read_at >= READ_EVERY:
                new = worth_reading(batch.done, m, read, dropped, can_stop)
                if new:
                    read_at = batch.step
            if new:
                for b, h in zip(new, read_rows(new, [batch.model_line(int(b)) for b in new])):
                    if b % m in can_stop and line_score(h, texts[b % m])[0] <= accept:
                        accepted.add(b % m)
            drop = [b for b in range(len(requests)) if b % m in accepted and not batch.done[b] and b not in dropped]
            dropped.update(drop)
            if on_step is not None:
                on_step(batch.step, batch.cap, batch.done)
            if every is not None:
                yield batch, rows
    except StopIteration as end:
        sampled = end.value
    finally:
        live.close()
    left = [j * m + k for k in range(m) for j in range(n)            # cut by the step cap; line by line
            if j * m + k not in read and j * m + k not in dropped]
    if left:
        read_rows(left, [sampled[b].model_offsets for b in left])
    per_line = [[j * m + k for j in range(n) if j * m + k in read] for k in range(m)]
    check.drawn = sum(len(c) for c in per_line)
    ink = {(k, q): (requests[b], sampled[b]) for k, bs in enumerate(per_line) for q, b in enumerate(bs)}
    def from_readings(pairs):             # ties: from the reading's own log-probabilities, no second pass
        check.tied_lines, check.tied_rows = len({i for i, _ in pairs}), len(pairs)
        return [reader.nll_of(scored[per_line[k][q]], texts[k]) for k, q in pairs]
    likelihood = from_readings if scoring else _likelihood(hand, specs, rows, check, ink, reader)
    cands = [[sampled[b] for b in bs] for bs in per_line]
    picked = choose(texts, cands, reader, likelihood, [[read[b] for b in bs] for bs in per_line],
                    nearness=nearness_of(judge, cands, styles))
    return _fill(specs, rows, [sampled[per_line[k][c]] for k, c in enumerate(picked.index)], picked, check)


def worth_reading(done, m: int, read, dropped, can_stop=None) -> list[int]:
    """The finished, unread rows to read now, or none: only when reading could end the loop, i.e. when
    every line that still has a candidate running can stop early (all lines, or those in `can_stop`)
    and has a finished one not yet read (if it reads as its text, the line's running candidates are
    dropped). Reading sooner cannot shorten the loop (a row's step costs little; the loop runs until
    its last row ends) and a reader call costs tens of pen steps. Rows in line order (line = row % m)."""
    running = {b % m for b in range(len(done)) if not done[b] and b not in dropped}
    ready = [int(b) for b in np.flatnonzero(done) if b not in read and b not in dropped]
    if not running or not running <= {b % m for b in ready}:
        return []
    if can_stop is not None and not running <= can_stop:
        return []
    return sorted((b for b in ready if b % m in running), key=lambda b: (b % m, b))


def run_to_end(gen):
    """Run a generator to its end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value
