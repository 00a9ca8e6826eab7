"""The sampling loop: a batch of lines, each with its own text, bias and priming style.

Per line:
- priming runs the network over a real line (its ink and its text) so that the LSTM state carries the
  writer's style. The new text then starts as a line of its own: layers 2..N keep the primed state
  (the hand), while layer 1 and the attention window start from zero on the new text, with the
  start-of-line input, as every training line starts. Carrying layer 1 and the window on from the
  end of the prime (the window reading prime text + " " + new text) left the model at the end of a
  finished line, a place it never continued from in training; the fresh start reads better (scripts/page_faults.py
  measures it; docs/lab-notes.md has the figures: lowercase first words and the lines' CER improve on
  average, capital first words do not);
- bias b sharpens the output: mixture weights softmax(logits * (1 + b)), deviations exp(log_sigma - b);
- the line stops once the window has moved past its last character (Graves' test: the attention on
  the position after the text beats every real character), after the pen lifts from the stroke in
  progress; a stroke begun after that point is dropped unless it is a dot, so nothing is written after
  the text; a step cap is the safety net and is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Generator   # (a plain name: TorchScript resolves class annotations by name)

from . import accents
from .dataset import NormStats
from .model import LAYER1_STATE, RowParams, SynthesisNetwork, carried_after_prime   # LAYER1_STATE: re-exported

# A line may take at most this many times the model's typical steps per character before it is cut.
STEP_CAP_FACTOR = 4.0
MAX_STEP_CAP = 20_000      # pen steps per line, whatever is asked: a 90-character line needs about 2,000
# After the window passes the end, a stroke in progress may go on this many steps to lift the pen.
FINISH_STROKE_STEPS = 6
# A stroke that starts once the window has passed the end is kept only if it is a dot (a full stop or
# an i-dot put down late) that lifts within this many points; a longer one is dropped whole, so the
# model's start on a next word never shows.
LATE_DOT_STEPS = 3


def late_dot_ok(text: str) -> bool:
    """Whether a dot put down after the window passed the end may be a wanted one (an i-dot or a full
    stop written late). Not after a text that ends in "." or ",": it would be a second one."""
    return not text.rstrip().endswith((".", ","))


def ends_in_full_stop(text: str) -> bool:
    return text.rstrip().endswith(".")


# A stroke whose ink fits in a box this many ink heights wide and high is a dot.
DOT_SIZE = 0.15
# Sampler.sample_live hands back the ink after this many pen steps (about 0.1 ink height per step).
LIVE_EVERY = 16


@dataclass
class Prime:
    offsets: np.ndarray   # (T, 3) normalised model-space offsets of a real line
    text: str


@dataclass
class LineRequest:
    encoded: list[int]            # the text to write, as alphabet indices
    bias: float = 0.75
    prime: Prime | None = None
    prime_encoded: list[int] | None = None   # prime text + " ", as alphabet indices (read while priming)
    late_dot_ok: bool = True      # late_dot_ok(text): a dot after the end of the text may be kept
    final_stop: bool = False      # ends_in_full_stop(text): the line is done once that dot is drawn
    # accents.marks_of(the line's text): the marks drawn on the finished ink, and the written text
    # (accents.base_text) they are placed by
    marks: list = field(default_factory=list)
    written: str = ""
    # the style's adapter (scribe.style_adapters.StyleAdapter: its own biases and output layer), if any;
    # the primed state must then come from the same adapter (Sampler.prime_states(..., adapter))
    adapter: object = None


@dataclass
class SampledLine:
    offsets: np.ndarray   # (T, 3) in the training data's units, y up
    steps: int
    hit_cap: bool         # stopped by the step cap, not by reaching the end of the text
    steps_per_char: float
    loop_steps: int = 0   # steps the batch's loop ran (one loop for every line of a batch): the time cost
    # the window's position (index into the line's text) at each kept point
    window: np.ndarray | None = None
    # a line with accents: the model's own ink before its marks were added (offsets then holds the
    # marks too), and the marks drawn (accents.PlacedMark)
    unmarked: np.ndarray | None = None
    marks: list = field(default_factory=list)
    unmarked_window: np.ndarray | None = None

    @property
    def model_offsets(self) -> np.ndarray:
        """The ink the model wrote, without accent marks: what the legibility check reads and scores."""
        return self.offsets if self.unmarked is None else self.unmarked

    @property
    def model_window(self) -> np.ndarray | None:
        """The window's position per point of model_offsets."""
        return self.window if self.unmarked is None else self.unmarked_window


def _pad(seqs: list[list[int]], extra: int = 0) -> torch.Tensor:
    out = torch.zeros(len(seqs), max(len(s) for s in seqs) + extra, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out


class Sampler:
    # End full-stop lines at their dot. False gives the raw draw, to measure what the rule changes
    # (scripts/page_faults.py sets it per sampler).
    tidy = True

    def __init__(self, model: SynthesisNetwork, stats: NormStats, step_fn=None):
        self.model = model.eval()
        self.stats = stats
        # step_fn(x, state, onehot) -> (outputs, state, phi); defaults to the model's eager step.
        # A step_fn may also offer .prime(ink, lengths, onehot) and .sample_loop(...) (scribe.fast):
        # compiled versions of the two loops below, same maths.
        self.step_fn = step_fn or model.step
        self.device = next(model.parameters()).device

    def _step(self, x, state, onehot, row_params):
        """One step of step_fn, with the batch's per-row parameters where it has them."""
        if row_params is None:
            return self.step_fn(x, state, onehot)
        return self.step_fn(x, state, onehot, row_params)

    def row_params(self, requests: list[LineRequest]):
        """The per-row biases and output layers of a batch whose requests carry style adapters, in the
        step function's own form (scribe.fast's adapter_rows, or RowParams for the eager step); None
        when no request has one (the model's own weights, as ever)."""
        adapters = [r.adapter for r in requests]
        if all(a is None for a in adapters):
            return None
        at, sets, sel = {}, [], []
        for a in adapters:
            key = None if a is None else a.key
            if key not in at:
                at[key] = len(sets)
                sets.append(None if a is None else a.params)
            sel.append(at[key])
        rp = RowParams.of(self.model, sets, sel)
        if hasattr(self.step_fn, "adapter_rows"):
            return self.step_fn.adapter_rows(rp.sel, rp.b1, rp.bw, rp.b_upper, rp.w_out, rp.b_out)
        return rp

    @torch.inference_mode()
    def prime_states(self, primes: list[Prime], encoded: list[list[int]], adapter=None) -> tuple[list, torch.Tensor]:
        """Run the network over each prime (teacher forcing). Returns (state, last input row).
        adapter: a style adapter, read with that adapter's weights (every line is then of that style).

        sample() takes only carried_after_prime(state) (layers 2..N; training takes the same) and starts
        layer 1 and the window afresh; the last row (what a continuation of the prime would read next) goes unused."""
        n = len(primes)
        lengths = torch.tensor([len(p.offsets) for p in primes])
        T = int(lengths.max())
        ink = torch.zeros(n, T + 1, 3)
        ink[:, 0, 2] = 1.0
        for i, p in enumerate(primes):
            ink[i, 1:len(p.offsets) + 1] = torch.from_numpy(p.offsets)
        last = ink[torch.arange(n), lengths].to(self.device)
        ink = ink.to(self.device)
        if adapter is not None:
            # the whole-sequence forward of the adapted model: the same state as stepping through it.
            # The copy is not kept: a style is primed once (scribe.priming caches its state), and 13
            # copies of the model would hold about 90 MB for nothing.
            model = adapter.applied_to(self.model)
            return model.prime_state(ink[:, :T], _pad(encoded).to(self.device), lengths), last
        onehot = self.model.text_onehot(_pad(encoded).to(self.device))
        if hasattr(self.step_fn, "prime"):
            return self.step_fn.prime(ink, lengths, onehot), last
        state = self.model.initial_state(n, self.device)
        lengths = lengths.to(self.device)
        for t in range(T):
            _, new_state, _ = self.step_fn(ink[:, t], state, onehot)
            live = (t < lengths).unsqueeze(1)   # lines whose prime has ended keep their state
            state = [torch.where(live, new, old) for new, old in zip(new_state, state)]
        return state, last

    def style_state(self, primes: list[Prime], encoded: list[list[int]], adapter=None) -> tuple[list, torch.Tensor]:
        """The primed state of one style given by one or more lines of its writer, as one row: each line
        is primed (prime_states) and the states are averaged. Several lines carry the hand better than
        one and read better too (docs/style-fidelity.md); one line gives exactly prime_states."""
        state, last = self.prime_states(primes, encoded, adapter)
        if len(primes) == 1:
            return state, last
        return [s.mean(0, keepdim=True) for s in state], last[:1]

    @torch.inference_mode()
    def sample(self, requests: list[LineRequest], seed: int | None = None,
               max_steps: int | None = None, primed: tuple[list, torch.Tensor] | None = None,
               on_step=None) -> list[SampledLine]:
        """Sample every request in one batch. `primed` is an optional precomputed prime_states().
        `on_step(step, cap, lines_done)`, if given, is called after every pen step (the Python loop
        around the same step function, not the compiled loop); raising from it stops sampling."""
        setup = self._setup(requests, seed, max_steps, primed)
        loop = getattr(self.step_fn, "sample_loop", None)
        if loop is not None and on_step is None:
            points, n_steps, done, ran = loop(*setup.loop_args(), setup.compiled_rows())
        else:
            points, n_steps, done, ran = self._sample_loop(*setup.loop_args(), on_step, setup.row_params)
        return self._results(setup, points, n_steps, done, ran)

    @torch.inference_mode()
    def sample_live(self, requests: list[LineRequest], seed: int | None = None, max_steps: int | None = None,
                    primed: tuple[list, torch.Tensor] | None = None, every: int = LIVE_EVERY):
        """sample(), as a generator: it yields a LiveBatch (the ink so far) after every `every` pen steps
        and once more at the end, and returns the same SampledLines as sample() (same seed, same ink).
        The loop runs in chunks of `every` steps: compiled ones where the step function has them
        (scribe.fast), else the Python loop. Closing the generator (or dropping it) stops the loop at
        the end of the chunk under way: nothing runs between two chunks.

        The caller may send() row indices back for a yield: those rows are dropped (ended where they
        are, their ink no longer wanted), so the loop can end once every row is finished or dropped.
        Every row still runs every step until the loop ends (rows are not compacted out), so the
        random draws, and the ink of the rows kept, are those of a run without dropping."""
        setup = self._setup(requests, seed, max_steps, primed)
        every = max(1, int(every))
        x, state, onehot, bias, end_pos, real, dots, cap, gen = setup.loop_args()
        run = SamplingRun(cap, x, bias, self.model.config.mixtures, end_pos, real, dots)
        chunk = getattr(self.step_fn, "sample_steps", None)
        ran = 0
        if chunk is not None:
            loop = self.step_fn.loop_state(x, state)       # the compiled loop's own state, updated in place
            while ran < cap and not run.finished():
                x, past_end_at, stroke_from, n_steps, done, ran = chunk(
                    loop, x, onehot, bias, end_pos, real, dots, gen, run.points, run.n_steps,
                    run.past_end_at, run.stroke_from, run.done, ran, min(cap, ran + every), setup.compiled_rows())
                run.resume(run.points, n_steps, past_end_at, stroke_from, done)
                run.drop((yield LiveBatch(self, setup, run.points, run.n_steps, run.done, ran)), ran)
        else:
            for t in range(cap):
                out, state, phi = self._step(x, state, onehot, setup.row_params)
                x = run.advance(out, phi, x, t, gen)
                ran = t + 1
                if run.finished() or ran % every == 0 or ran == cap:
                    run.drop((yield LiveBatch(self, setup, run.points, run.n_steps, run.done, ran)), ran)
                if run.finished():
                    break
        return self._results(setup, run.points, run.n_steps, run.done, ran)

    def _setup(self, requests: list[LineRequest], seed: int | None, max_steps: int | None,
               primed: tuple[list, torch.Tensor] | None) -> "_Setup":
        """Everything the loop needs for `requests`: the window text, the primed state, the cap."""
        model, B, device = self.model, len(requests), self.device
        gen = torch.Generator(device).manual_seed(seed if seed is not None else int(torch.seed() % 2**62))
        # Every line starts like a training line: the window at the start of its own text, layer 1
        # from zero, the start-of-line input; a primed line's layers 2..N carry its prime's state.
        full = [r.encoded for r in requests]
        text_len = [len(seq) for seq in full]
        onehot = model.text_onehot(_pad(full, extra=1).to(device))   # one padding slot marks "past the end"
        state = model.initial_state(B, device)
        x = torch.zeros(B, 3, device=device)
        x[:, 2] = 1.0
        primed_rows = [i for i, r in enumerate(requests) if r.prime is not None]
        if primed_rows:
            p_state, _ = primed if primed is not None else self.prime_states(
                [requests[i].prime for i in primed_rows], [requests[i].prime_encoded for i in primed_rows])
            rows = torch.tensor(primed_rows, device=device)
            # the same entries on both sides: carried_after_prime hands back the state's own tensors
            for s, ps in zip(carried_after_prime(state), carried_after_prime(p_state)):
                s[rows] = ps
        new_chars = torch.tensor([len(r.encoded) for r in requests], dtype=torch.float32)
        cap = max_steps or int(STEP_CAP_FACTOR * model.config.steps_per_char * int(new_chars.max()) + 20)
        cap = min(max(1, int(cap)), MAX_STEP_CAP)
        end_pos = torch.tensor(text_len, device=device)
        real = torch.arange(onehot.shape[1], device=device).unsqueeze(0) < end_pos.unsqueeze(1)   # (B, U+1)
        bias = torch.tensor([r.bias for r in requests], dtype=torch.float32, device=device).unsqueeze(1)
        dots = torch.tensor([r.late_dot_ok for r in requests], device=device)
        return _Setup(requests, x, state, onehot, bias, end_pos, real, dots, cap, gen, text_len, new_chars,
                      self.row_params(requests))

    def _results(self, setup: "_Setup", points, n_steps, done, ran) -> list[SampledLine]:
        pts, n_steps, done = points.cpu().numpy(), n_steps.cpu(), done.cpu()
        results = []
        for b in range(len(setup.requests)):
            n = int(n_steps[b])
            offs, window, unmarked, marks, own = self._finish(setup, b, pts[:n, b])
            results.append(SampledLine(offs, n, not bool(done[b]), n / max(1.0, float(setup.new_chars[b])),
                                       int(ran), window.astype(np.int64), unmarked, marks,
                                       None if own is None else own.astype(np.int64)))
        return results

    def _finish(self, setup: "_Setup", b: int, pts: np.ndarray):
        """Line b's kept points (n, 4) -> its final ink: (offsets in data units, window, the model's own
        ink or None when no mark was added, the marks, the model's own ink's window or None). The one
        place a line's ink is finished, for sample() and live ink alike: the end rules (_tidy), then
        the accent marks (scribe.accents)."""
        offs, window = self._tidy(setup, b, pts)
        offs = self.stats.denormalise(offs)
        r = setup.requests[b]
        if not r.marks:
            return offs, window, None, [], None
        marked, marked_window, placed = accents.add_marks(offs, window, r.written, r.marks, self.stats.ink_height)
        return marked, marked_window, offs, placed, window

    def _tidy(self, setup: "_Setup", b: int, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Line b's kept points (n, 4) -> (model-space offsets, window): the full-stop rule."""
        r = setup.requests[b]
        window = pts[:, 3]
        offs = pts[:, :3].copy()
        if r.final_stop and self.tidy:
            offs = end_at_final_stop(offs, self.stats.denormalise(offs), window, setup.text_len[b] - 1,
                                     DOT_SIZE * self.stats.ink_height)
        window = window[:len(offs)]
        if len(offs):
            offs[-1, 2] = 1.0
        return offs, window

    def _sample_loop(self, x, state, onehot, bias, end_pos, real, dots, cap: int, gen, on_step=None, row_params=None):
        """Step, draw, test for the end; until every line is done or the cap. Returns (points, steps
        kept per line, done per line, steps run). on_step(t, cap, done) after each step, if given.
        The Python reference
        for the compiled scribe.fast sample_loop, which runs the very same SamplingRun."""
        run = SamplingRun(cap, x, bias, self.model.config.mixtures, end_pos, real, dots)
        ran = 0
        for t in range(cap):
            out, state, phi = self._step(x, state, onehot, row_params)
            x = run.advance(out, phi, x, t, gen)
            ran = t + 1
            if on_step is not None:
                on_step(t + 1, cap, run.done)
            if run.finished():
                break
        return run.points, run.n_steps, run.done, ran


@dataclass
class _Setup:
    """One sampling call's loop inputs (Sampler._setup), and what its results are read with."""
    requests: list[LineRequest]
    x: torch.Tensor
    state: list
    onehot: torch.Tensor
    bias: torch.Tensor
    end_pos: torch.Tensor
    real: torch.Tensor
    dots: torch.Tensor
    cap: int
    gen: torch.Generator
    text_len: list[int]
    new_chars: torch.Tensor
    row_params: object = None     # Sampler.row_params: per-row adapters, or None

    def loop_args(self) -> tuple:
        return (self.x, self.state, self.onehot, self.bias, self.end_pos, self.real, self.dots, self.cap, self.gen)

    def compiled_rows(self) -> list:
        """row_params as the compiled loops take it: a list of tensors, empty for none."""
        return [] if self.row_params is None else self.row_params


class LiveBatch:
    """The ink of a sampling call so far (Sampler.sample_live), between two chunks of pen steps.

    Valid only until the generator runs on (the loop writes into the same tensors): read it at once.
    """

    def __init__(self, sampler: Sampler, setup: _Setup, points: torch.Tensor, n_steps: torch.Tensor,
                 done: torch.Tensor, step: int):
        self.sampler, self.setup, self.step, self.cap = sampler, setup, int(step), setup.cap
        self._points, self._n_steps = points, n_steps
        self.done = done.cpu().numpy().copy()     # (B,) bool: the line is finished, its ink final

    def __len__(self) -> int:
        return len(self.done)

    def line(self, b: int, partial: bool = True) -> np.ndarray | None:
        """Line b's ink so far as (T, 3) offsets in data units (like SampledLine.offsets). A finished
        line gets exactly its final ink (the same end and lead-in rules). An unfinished one, with
        `partial`, gets its strokes finished so far (up to its last pen-up), without the end rules;
        without `partial`, None."""
        if self.done[b]:
            n = int(self._n_steps[b])
            return self.sampler._finish(self.setup, b, self._points[:n, b].cpu().numpy())[0]
        if not partial:
            return None
        pts = self._points[:self.step, b].cpu().numpy()
        ends = np.flatnonzero(pts[:, 2] > 0.5)
        if not len(ends):
            return np.zeros((0, 3), dtype=np.float32)
        pts = pts[:ends[-1] + 1]
        return self.sampler.stats.denormalise(pts[:, :3].copy())

    def model_line(self, b: int) -> np.ndarray:
        """Finished line b's own ink (without accent marks), like SampledLine.model_offsets."""
        n = int(self._n_steps[b])
        offs, _, unmarked, _, _ = self.sampler._finish(self.setup, b, self._points[:n, b].cpu().numpy())
        return offs if unmarked is None else unmarked

    def strokes_done(self, b: int) -> int:
        """Pen-ups so far in line b (finished strokes, before the end rules)."""
        n = int(self._n_steps[b]) if self.done[b] else self.step
        return int((self._points[:n, b, 2] > 0.5).sum())


def strokes_of(offsets: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) point index of each stroke of (T, 3) offsets: a stroke ends at an end-of-stroke."""
    ends = np.flatnonzero(offsets[:, 2] > 0.5)
    if not len(ends) or ends[-1] != len(offsets) - 1:
        ends = np.append(ends, len(offsets) - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(a), int(b)) for a, b in zip(starts, ends) if a <= b]


def end_at_final_stop(offsets: np.ndarray, ink: np.ndarray, window: np.ndarray, stop_at: int,
                      dot_size: float) -> np.ndarray:
    """A text that ends in "." is finished once the window is on that full stop and a dot has been
    drawn there: cut what follows. The model sometimes puts down a second dot, or starts a mark, in
    the steps before Graves' test sees the window leave the text ("quiet..", "soup./").

    offsets: (T, 3) model-space; ink: the same points in data units (for the dot's size); window: the
    window's position per point; stop_at: the full stop's position in the window text.
    """
    pts = np.cumsum(ink[:, :2], 0)
    for a, b in strokes_of(offsets):
        if window[a:b + 1].max() >= stop_at and np.ptp(pts[a:b + 1], 0).max() < dot_size:
            return offsets[:b + 1]
    return offsets


# Everything below is TorchScript-compatible: scribe.fast compiles it into its loop.

def loop_start(cap: int, x: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(points (cap, B, 4): dx, dy, end of stroke and the window's position (the character the attention
    is most on) at each step; steps per line, step at which the window passed the end, step at which the
    current stroke began, done)."""
    B, device = x.shape[0], x.device
    return (torch.zeros(cap, B, 4, device=device), torch.full((B,), cap, dtype=torch.long, device=device),
            torch.full((B,), -1, dtype=torch.long, device=device),
            torch.zeros(B, dtype=torch.long, device=device),
            torch.zeros(B, dtype=torch.bool, device=device))


class SamplingRun:
    """Everything in the sampling loop but the network step, for one sampling call: the biased draw,
    the points written, and the end test. The Python loop above and scribe.fast's compiled loop both
    run it, so a seed gives the same ink through either."""

    def __init__(self, cap: int, x: torch.Tensor, bias: torch.Tensor, mixtures: int, end_pos: torch.Tensor,
                 real: torch.Tensor, dots: torch.Tensor, finish_steps: int = FINISH_STROKE_STEPS,
                 dot_steps: int = LATE_DOT_STEPS):
        # (the constants come in as defaults: TorchScript cannot read module globals)
        self.points, self.n_steps, self.past_end_at, self.stroke_from, self.done = loop_start(cap, x)
        self.draw = DrawParams(mixtures, bias)
        self.stop = StopTest(end_pos, real, dots, finish_steps, dot_steps)
        # Until some line's window has passed its end no line can finish, and the end test can skip
        # most of a line (some 25 small ops a step; the step's cost is mostly ops). Only a stroke that
        # begins at or after that step is late, so the start of a stroke begun before it (stroke_from,
        # left at 0 while skipping) changes nothing (tests/test_sampling.py checks the two ways agree).
        self.any_past = False
        self.dropped = False          # some rows were dropped by the caller (sample_live)

    def resume(self, points: torch.Tensor, n_steps: torch.Tensor, past_end_at: torch.Tensor,
               stroke_from: torch.Tensor, done: torch.Tensor):
        """Carry on from an earlier run's state (a chunk of a loop run in chunks)."""
        self.points, self.n_steps, self.past_end_at, self.stroke_from, self.done = (points, n_steps, past_end_at,
                                                                                    stroke_from, done)
        self.any_past = bool((past_end_at >= 0).any())

    def advance(self, out: torch.Tensor, phi: torch.Tensor, x: torch.Tensor, t: int,
                gen: Optional[Generator]) -> torch.Tensor:
        """Step t's outputs and attention, and the previous point x -> step t's point, recorded."""
        new_x = sample_point(out, self.draw, gen)
        at = window_position(phi, self.stop)
        torch.cat([new_x, at], 1, out=self.points[t])             # the point and the window's position
        past = at == self.stop.end_column
        if not self.any_past:
            if not bool(past.any()):
                return new_x
            self.any_past = True
        self.past_end_at, self.stroke_from, self.n_steps, self.done = stop_update(
            past.squeeze(1), new_x, x.select(1, 2) > 0.5, t, self.stop, self.past_end_at, self.stroke_from,
            self.n_steps, self.done)
        return new_x

    def finished(self) -> bool:
        return (self.any_past or self.dropped) and bool(self.done.all())

    @torch.jit.unused
    def drop(self, rows, ran: int) -> None:
        """End `rows` (indices, or None for none) after `ran` steps: done, their ink cut there."""
        if rows is None or not len(rows):
            return
        idx = torch.as_tensor(list(rows), dtype=torch.long, device=self.done.device)
        self.done[idx] = True
        self.n_steps[idx] = torch.minimum(self.n_steps[idx], torch.full_like(idx, ran))
        self.dropped = True


class DrawParams:
    """What sample_point needs besides the step outputs; fixed for a whole sampling call."""

    def __init__(self, mixtures: int, bias: torch.Tensor):
        M = mixtures
        self.mixtures = M
        self.bias = bias              # (B, 1)
        self.sharpen = 1 + bias       # mixture logits are scaled by 1 + bias
        # output columns of component 0's mu_x, mu_y, log_sigma_x, log_sigma_y, rho (see MixtureParams)
        self.columns = torch.tensor([[1 + M, 1 + 2 * M, 1 + 3 * M, 1 + 4 * M, 1 + 5 * M]], device=bias.device)
        self.one = torch.ones((), device=bias.device)


def sample_point(out: torch.Tensor, draw: DrawParams, gen: Optional[torch.Generator]) -> torch.Tensor:
    """Draw one (dx, dy, eos) per line from the biased mixture of the step outputs (B, 1 + 6M).

    The output layout is MixtureParams'; only the chosen component's parameters are read out. Each
    op here runs every step, so the maths is written in few ops (columns, not one tensor per number).
    """
    M = draw.mixtures
    out = out.float()
    B = out.shape[0]
    weights = torch.softmax(out.narrow(1, 1, M) * draw.sharpen, -1)
    k = pick_component(weights, gen)                                                # (B, 1)
    # the chosen component's five parameters in one gather (elementwise maths after a gather gives the
    # same numbers as before it, on far fewer elements): mu_x, mu_y, log sigma_x, log sigma_y, rho
    chosen = out.gather(1, k + draw.columns)
    sigma = (chosen.narrow(1, 2, 2) - draw.bias).exp_()
    rho = torch.tanh(chosen.narrow(1, 4, 1)).mul_(1 - 1e-5)
    z = torch.randn([B, 2], generator=gen, device=out.device)
    z0 = z.narrow(1, 0, 1)
    # (z0, rho z0 + sqrt(1 - rho^2) z1): a standard normal pair with correlation rho
    z_y = torch.addcmul(rho * z0, torch.addcmul(draw.one, rho, rho, value=-1.0).sqrt_(), z.narrow(1, 1, 1))
    dxy = torch.addcmul(chosen.narrow(1, 0, 2), sigma, torch.cat([z0, z_y], 1))
    eos = torch.rand([B, 1], generator=gen, device=out.device) < torch.sigmoid(out.narrow(1, 0, 1))
    return torch.cat([dxy, eos], 1)


def pick_component(weights: torch.Tensor, gen: Optional[torch.Generator]) -> torch.Tensor:
    """torch.multinomial(weights, 1, generator=gen), without its input checks (a dozen small ops).

    Same draw from the same generator state: multinomial picks argmax(p / q), q ~ Exp(1)
    (tests/test_fast.py checks that the two agree).
    """
    q = torch.empty_like(weights).exponential_(1.0, generator=gen)
    return torch.argmax(weights / q, -1, keepdim=True)


class StopTest:
    """What stop_update needs besides the step; fixed for a whole sampling call."""

    def __init__(self, end_pos: torch.Tensor, real: torch.Tensor, dots: torch.Tensor, finish_steps: int,
                 dot_steps: int):
        self.end_column = end_pos.unsqueeze(1)   # (B, 1): the padding slot just after each text
        # (B, U+1): slots that are neither a character of the text nor its end slot (a shorter text's
        # padding in a batch); whether there are any (there are none for one line, or for lines of one
        # length), so the window's position need not mask them
        self.outside = (~real).scatter(1, self.end_column, False)
        self.padded = bool(self.outside.any())
        self.dots = dots                         # (B,) bool: LineRequest.late_dot_ok
        self.finish_steps = finish_steps         # FINISH_STROKE_STEPS
        self.dot_steps = dot_steps               # LATE_DOT_STEPS


def window_position(phi: torch.Tensor, stop: StopTest) -> torch.Tensor:
    """(B, 1): the slot the attention phi (B, U+1) is most on, of the line's characters and its end slot.

    It is the end slot exactly when Graves' test says the window is past the end (the attention on the
    slot after the text exceeds every real character; a tie goes to the character, as argmax takes the
    first largest)."""
    if stop.padded:
        phi = phi.masked_fill(stop.outside, float("-inf"))
    return phi.argmax(1, keepdim=True)


def stop_update(past: torch.Tensor, x: torch.Tensor, pen_was_up: torch.Tensor, t: int, stop: StopTest,
                past_end_at: torch.Tensor, stroke_from: torch.Tensor, n_steps: torch.Tensor, done: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Graves' stopping test after step t, then end the line cleanly.

    past (B,): the window is past the end (window_position is the end slot). Then a stroke already
    under way ends at its pen-up, or `finish_steps` later at most; a stroke that starts after that
    point is kept only if it lifts within `dot_steps` points (a late dot) and the line allows late
    dots, else the line ends before it. pen_was_up (B,): the point x starts a stroke.
    Returns (past_end_at, stroke_from, n_steps, done), updated.
    """
    stroke_from = torch.where(pen_was_up, t, stroke_from)
    past_end_at = torch.where(past & (past_end_at < 0), t, past_end_at)
    live = (past_end_at >= 0) & ~done
    lifts = x.select(1, 2) > 0.5
    late = stroke_from >= past_end_at                  # this stroke began once the text was done
    points_in_stroke = t - stroke_from + 1
    finish = live & ~late & (lifts | (past_end_at <= t - stop.finish_steps))
    keep_dot = live & late & stop.dots & lifts & (points_in_stroke <= stop.dot_steps)
    drop = live & late & (~stop.dots | (~lifts & (points_in_stroke >= stop.dot_steps)))
    n_steps = torch.where(finish | keep_dot, t + 1, torch.where(drop, stroke_from, n_steps))
    return past_end_at, stroke_from, n_steps, done | finish | keep_dot | drop
