"""`Hand`: the one high-level API. The app, the CLI and the notebook all write through it.

    hand = Hand.load()                                   # the shipped checkpoint and style bank
    doc = hand.write([LineSpec("Hello world", style=3, bias=1.0)], seed=7)
    doc.save("hello.svg"); doc.save("hello.png", dpi=300)
"""
from __future__ import annotations

import copy
import math
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import accents
from .alphabet import Alphabet
from . import candidates as legibility
from . import cost
from .candidates import LegibilityCheck
from .checkpoint import Checkpoint, default_checkpoint, load_checkpoint
from .errors import InputError
from .render import paragraph
from .render.page import (MAX_PNG_PIXELS, InkLine, Layout, Page, RenderError, check_color, layout_page,
                          page_to_svg, save_png, save_svg, svg_to_png)
from .sampling import LIVE_EVERY, MAX_STEP_CAP, LiveBatch, SampledLine, Sampler
from .styles import StyleBank, StyleError
from . import ink

MAX_CHARS_PER_LINE = 90    # IAM-OnDB lines have at most 64 characters; beyond this the window drifts
MAX_LINES = 40
BIAS_RANGE = (0.0, 4.0)
DEFAULT_BIAS = 0.75
WIDTH_RANGE = (0.2, 10.0)      # stroke width in px
SEED_LIMIT = 2**32             # seeds are 0 .. 2**32-1


def use_sampling_threads(n: int | None = None) -> None:
    """Intra-op threads for sampling: 1 unless SCRIBE_THREADS says otherwise.

    A sampling step multiplies a few rows by each weight matrix, too little work to share, and on a
    busy machine OpenMP threads wait for each other: two threads measured up to 10x slower than one
    while another process was running (README, Speed). Front ends call this; the library does not.
    """
    torch.set_num_threads(max(1, n or int(os.environ.get("SCRIBE_THREADS", "1"))))


def step_cap_note(capped: list[int]) -> str:
    """The one wording of the step-cap warning, for every front end; `capped` holds 0-based line indices."""
    which = ", ".join(str(i + 1) for i in capped)
    return (f"line{'s' if len(capped) > 1 else ''} {which} hit the step cap before the text ended, so the ink "
            f"may be incomplete (a higher bias usually helps)")


def unknown_note(unknown, alphabet: Alphabet) -> str:
    """The one wording of the unknown-character problem: only what cannot be written is listed."""
    return (f"this model cannot write {', '.join(repr(c) for c in sorted(unknown))}; it knows: {alphabet.chars} "
            f"and the accented Latin letters (docs/accents.md)")


def check_seed(seed) -> int | None:
    """None (random) or a whole number 0 .. SEED_LIMIT-1; InputError otherwise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, float)) or not math.isfinite(seed) \
            or seed != int(seed) or not 0 <= seed < SEED_LIMIT:
        raise InputError(f"seed must be a whole number from 0 to {SEED_LIMIT - 1}, not {str(seed)[:30]}")
    return int(seed)


def check_max_steps(max_steps) -> int | None:
    """None (the model's own cap) or a whole number of pen steps 1 .. MAX_STEP_CAP; InputError otherwise."""
    if max_steps is None:
        return None
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, float)) or not math.isfinite(max_steps) \
            or max_steps != int(max_steps) or not 1 <= max_steps <= MAX_STEP_CAP:
        raise InputError(f"the step cap must be a whole number from 1 to {MAX_STEP_CAP}, not {str(max_steps)[:30]}")
    return int(max_steps)


@dataclass
class LineSpec:
    text: str
    style: int | None = None      # None: unprimed (the model's own average hand)
    bias: float = DEFAULT_BIAS
    color: str = "#000000"
    width: float = 1.5


@dataclass
class Handwriting:
    """The result of one write(): sampled ink per line, and how it was made."""
    specs: list[LineSpec]
    lines: list[SampledLine | None]      # None for a blank line
    ink_height: float
    seed: int
    seconds: float
    layout: Layout = field(default_factory=Layout)
    legibility: LegibilityCheck | None = None   # the candidates check (scribe.candidates)

    @property
    def capped_lines(self) -> list[int]:
        """Indices of lines cut by the step cap (the text may be incomplete)."""
        return [i for i, ln in enumerate(self.lines) if ln is not None and ln.hit_cap]

    def page(self, layout: Layout | None = None) -> Page:
        lines = [InkLine(ink.offsets_to_strokes(ln.offsets) if ln is not None else [], s.color, s.width)
                 for s, ln in zip(self.specs, self.lines)]
        return layout_page(lines, self.ink_height, layout or self.layout)

    def svg(self, layout: Layout | None = None) -> str:
        return page_to_svg(self.page(layout))

    def png(self, dpi: float = 192.0, layout: Layout | None = None) -> bytes:
        try:
            return svg_to_png(self.svg(layout), dpi)
        except RenderError as e:
            raise InputError(str(e)) from None

    def save(self, path: str | Path, dpi: float = 192.0, layout: Layout | None = None) -> Path:
        """Write .svg or .png, chosen by the file's suffix; atomically."""
        path = Path(path)
        svg = self.svg(layout)
        if path.suffix.lower() == ".svg":
            return save_svg(svg, path)
        if path.suffix.lower() == ".png":
            try:
                return save_png(svg, path, dpi)
            except RenderError as e:
                raise InputError(str(e)) from None
        raise InputError(f"unknown output format {path.suffix!r}: use .svg or .png")

    def export(self, path: str | Path, fmt: str | None = None, dpi: float = 192.0, layout: Layout | None = None,
               plotter=None, gcode=None, animation=None, paper=None) -> Path:
        """Write any output format: svg, png, pdf, plotter-svg, gcode, animated-svg or gif (see
        scribe.render.export.export_pages; `fmt` None picks by suffix). Options: scribe.render.plotter.PlotterOptions,
        GcodeOptions, scribe.render.animate.AnimationOptions, scribe.render.paper.PaperOptions (PNG, PDF)."""
        from .render.export import export_pages
        try:
            return export_pages([self.page(layout)], path, fmt, dpi, plotter, gcode, animation, paper)[0]
        except ValueError as e:
            raise InputError(str(e)) from None


def _finite(value) -> float | None:
    """`value` as a finite float, or None when it is not one (text, NaN, infinity, a list...)."""
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def run_to_end(gen):
    """Run a generator to its end and return its return value (write() is write_live() unwatched)."""
    while True:
        try:
            next(gen)
        except StopIteration as end:
            return end.value


class LiveInk:
    """A write in progress (Hand.write_live): every line's ink so far, after `step` of at most `cap`
    pen steps. With the legibility check (N candidates per line), a line shows its first candidate;
    the check picks among all N once every line is written, so the final ink may differ.

    Read it before the generator runs on: the loop goes on writing into the same buffers.
    """

    def __init__(self, specs: list[LineSpec], rows: list[int], batch: LiveBatch, ink_height: float,
                 layout: Layout | None = None, candidates: int = 1):
        self.specs, self.rows, self.batch, self.ink_height = specs, rows, batch, ink_height
        self.layout, self.candidates = layout or Layout(), candidates
        self.step, self.cap = batch.step, batch.cap
        self.paper = None   # the PaperOptions its PNG and PDF will have, for a preview (scribe.web.outputs sets it)
        self._row = {i: k for k, i in enumerate(rows)}          # spec index -> its first candidate's row

    def finished(self, i: int) -> bool:
        """Spec i's line is finished (a blank line always is): its ink is final."""
        return i not in self._row or bool(self.batch.done[self._row[i]])

    @property
    def lines_done(self) -> int:
        """Lines of ink (blank ones not counted) whose ink is final."""
        return sum(1 for i in self.rows if self.finished(i))

    def strokes_done(self) -> int:
        """Strokes finished so far in every line shown (a number that grows as the pen lifts)."""
        return sum(self.batch.strokes_done(self._row[i]) for i in self.rows)

    def line(self, i: int, partial: bool = True):
        """Spec i's ink so far, as (T, 3) offsets (None for a blank line, or an unfinished one without
        `partial`); see LiveBatch.line."""
        return self.batch.line(self._row[i], partial) if i in self._row else None

    def page(self, layout: Layout | None = None, partial: bool = True, min_width: float = 0.0) -> Page:
        """The page so far: finished lines as they will be, the others empty or (`partial`) with their
        finished strokes. `min_width` (px) keeps the page from growing as the ink does."""
        lines = []
        for i, s in enumerate(self.specs):
            offs = self.line(i, partial)
            lines.append(InkLine(ink.offsets_to_strokes(offs) if offs is not None and len(offs) else [], s.color,
                                 s.width))
        page = layout_page(lines, self.ink_height, layout or self.layout)
        page.width = max(page.width, min_width)
        return page


def _fast_step_or_none(model):
    """scribe.fast's compiled step, or None (the eager step) where TorchScript cannot build it."""
    try:
        from .fast import fast_step
        return fast_step(model)
    except Exception as e:   # an unusual torch build must not stop the app from writing
        import warnings
        warnings.warn(f"fast sampler unavailable ({type(e).__name__}: {e}); using the eager step")
        return None


class Hand:
    def __init__(self, checkpoint: Checkpoint, styles: StyleBank | None = None, device: str = "cpu",
                 fast: bool = True):
        self.checkpoint = checkpoint
        self.alphabet: Alphabet = checkpoint.alphabet
        self.stats = checkpoint.stats
        self.model = checkpoint.build_model(device)
        # fast: the compiled step and loops of scribe.fast (same ink); False: the eager reference.
        step_fn = _fast_step_or_none(self.model) if fast else None
        self.sampler = Sampler(self.model, self.stats, step_fn=step_fn)
        self.styles = styles
        self.reader_path: str | Path | None = None   # the legibility check's reader; None: the shipped one
        self._readers: dict = {}
        self._primed: dict[int, tuple[list[torch.Tensor], torch.Tensor]] = {}

    @classmethod
    def load(cls, checkpoint: str | Path | None = None, style_dir: str | Path | None = None,
             device: str = "cpu", user_style_dir: str | Path | None = None, fast: bool = True) -> "Hand":
        ckpt = load_checkpoint(checkpoint or default_checkpoint())
        try:
            styles = StyleBank(style_dir)
        except StyleError:
            if style_dir:
                raise
            styles = None   # no shipped style bank: unprimed writing still works
        hand = cls(ckpt, styles, device, fast)
        if user_style_dir is not None and Path(user_style_dir).is_dir():
            hand.add_user_styles(user_style_dir)
        return hand

    @property
    def style_ids(self) -> list[int]:
        return self.styles.ids if self.styles else []

    def use_styles(self, style_dir: str | Path) -> None:
        self.styles = StyleBank(style_dir)
        self._primed.clear()

    # ---- checking a request -----------------------------------------------------------------------
    def check(self, specs: list[LineSpec]) -> list[LineSpec]:
        """Validate and clean a request; raise InputError naming every problem found."""
        if not specs:
            raise InputError("nothing to write: give at least one line of text")
        if len(specs) > MAX_LINES:
            raise InputError(f"too many lines: {len(specs)}; the limit is {MAX_LINES} per request")
        problems, cleaned, unknown = [], [], set()
        for n, s in enumerate(specs, start=1):
            if not isinstance(s.text, (str, type(None))):
                problems.append(f"line {n}: the text must be a string, not {type(s.text).__name__}")
                cleaned.append(s)
                continue
            try:
                text = accents.clean(self.alphabet, s.text or "")
            except ValueError as e:
                unknown.update(e.unknown)
                text = s.text
            if len(text) > MAX_CHARS_PER_LINE:
                problems.append(f"line {n} has {len(text)} characters; the limit is {MAX_CHARS_PER_LINE} "
                                f"(split it, or use paragraph mode, which wraps)")
            bias = _finite(s.bias)
            if bias is None or not BIAS_RANGE[0] <= bias <= BIAS_RANGE[1]:
                problems.append(f"line {n}: bias {str(s.bias)[:20]} is not a number in {BIAS_RANGE[0]}-{BIAS_RANGE[1]}")
            width = _finite(s.width)
            if width is None or not WIDTH_RANGE[0] <= width <= WIDTH_RANGE[1]:
                problems.append(f"line {n}: stroke width {str(s.width)[:20]} is not a number of px in "
                                f"{WIDTH_RANGE[0]:g}-{WIDTH_RANGE[1]:g}")
            try:
                check_color(s.color)
            except RenderError as e:
                problems.append(f"line {n}: {e}")
            if s.style is not None and text:
                try:
                    self._style(s.style)
                except StyleError as e:
                    problems.append(f"line {n}: {e}")
            # a width given as a number is kept as given (3 stays "3" in the SVG); "3" becomes 3.0
            cleaned.append(LineSpec(text, s.style, bias, s.color,
                                    s.width if isinstance(s.width, (int, float)) else width))
        if unknown:
            problems.insert(0, unknown_note(unknown, self.alphabet))
        if not any(s.text for s in cleaned) and not problems:
            problems.append("every line is empty: type some text to write")
        if problems:
            raise InputError("; ".join(problems))
        return cleaned

    def _style(self, style_id):
        if self.styles is None:
            raise StyleError("no style bank is loaded (checkpoints/styles is missing); use style None "
                             "or pass a style folder")
        return self.styles.get(style_id)

    # ---- writing ----------------------------------------------------------------------------------
    def _prime(self, style_id: int):
        """(primed state, Prime, encoded window text) for one style; computed once, then reused.

        Priming depends only on the style, never on the new text: the window sits on the prime text
        while the prime is read, so the state can be cached and shared by every line in that style.
        """
        if style_id not in self._primed:
            style = self._style(style_id)
            try:
                encoded = [self.alphabet.encode(text) + self.alphabet.encode_separator() for text, _ in style.lines()]
            except ValueError as e:
                raise StyleError(f"style {style_id}'s text uses characters this model lacks ({e})") from e
            primes = style.primes(self.stats)
            self._primed[style_id] = (self.sampler.style_state(primes, encoded), primes[0], encoded[0])
        return self._primed[style_id]

    def write(self, specs: list[LineSpec], seed: int | None = None, layout: Layout | None = None,
              max_steps: int | None = None, on_step=None, candidates: int = 1,
              budget: float | None = None) -> Handwriting:
        """Sample every line in one batch. candidates = N > 1: N candidates of each line, all in that
        batch, and the legibility check keeps the one that reads back best (scribe.candidates).
        `on_step(step, cap, lines_done)`: progress after every pen step (see Sampler.sample); raise
        from it to stop. `budget`: the most seconds the request may cost (scribe.cost), checked before
        any sampling: over it, N is lowered (and the check's summary says so) or the write refused."""
        return run_to_end(self._writing(specs, seed, layout, max_steps, on_step, candidates, None, budget))

    def write_live(self, specs: list[LineSpec], seed: int | None = None, layout: Layout | None = None,
                   max_steps: int | None = None, candidates: int = 1, every: int = LIVE_EVERY,
                   budget: float | None = None):
        """write(), as a generator: it yields a LiveInk (every line's ink so far) after every `every`
        pen steps, and returns the same Handwriting as write() (same seed, same ink). The loop runs in
        compiled chunks of `every` steps (Sampler.sample_live), so watching costs little. Closing the
        generator stops the sampling loop at the end of the chunk under way."""
        return (yield from self._writing(specs, seed, layout, max_steps, None, candidates, every, budget))

    def _writing(self, specs, seed, layout, max_steps, on_step, candidates, every, budget=None):
        started = time.perf_counter()
        seed, max_steps = check_seed(seed), check_max_steps(max_steps)
        specs = self.check(specs)
        n, bad = legibility.resolve_candidates(candidates)
        n, lowered = cost.fit_budget([len(s.text) for s in specs], n, budget, live=every is not None)
        check, reader = LegibilityCheck(n, skipped=bad, lowered=lowered), None
        if n > 1:
            reader, check.skipped = legibility.reader_or_reason(self.reader_path, self._readers)
            if reader is None:
                n = 1
        seed = random.randrange(2**31) if seed is None else seed
        lines = yield from self._live(specs, layout, n, legibility.checked_lines(
            self, specs, n, seed, reader, check, max_steps, on_step, every))
        return Handwriting(specs, lines, self.stats.ink_height, seed, time.perf_counter() - started,
                           layout or Layout(), check)

    def _live(self, specs, layout, n, gen):
        """Pass on a candidates generator's (LiveBatch, rows) as LiveInk; return what it returns."""
        try:
            while True:
                batch, rows = next(gen)
                yield LiveInk(specs, rows, batch, self.stats.ink_height, layout, n)
        except StopIteration as end:
            return end.value
        finally:
            gen.close()

    def sample_candidates(self, specs: list[LineSpec], n: int, seed: int, max_steps: int | None = None,
                          on_step=None) -> "legibility.CandidateBatch":
        """n candidates of every non-blank line of checked `specs`, all in one sampler batch (the
        fixed-N check; Hand.write's own check is adaptive: scribe.candidates)."""
        return run_to_end(legibility.sample_batch(self, specs, n, seed, max_steps, on_step))

    def choose_candidates(self, specs: list[LineSpec], batch: "legibility.CandidateBatch", reader,
                          check: LegibilityCheck, use: int | None = None) -> list[SampledLine | None]:
        """Per spec, the candidate (of the first `use`, default all) of a fixed batch that `reader`
        reads best, None for a blank line; fills in `check`."""
        return legibility.choose_in_batch(self, specs, batch, reader, check, use)

    # ---- paragraphs and user styles (scribe.render.paragraph, scribe.user_style) -----------------------------
    def write_paragraph(self, text: str, style: int | None = None, bias: float = DEFAULT_BIAS,
                        color: str = "#000000", width: float = 1.5, layout=None, seed: int | None = None,
                        max_steps: int | None = None, candidates: int = 1, budget: float | None = None,
                        png_dpi: float | None = None):
        """Wrap `text` to the line width in this hand's own measure and set it on pages (several if it
        runs over). `layout` is a scribe.render.paragraph.ParagraphLayout. Returns a ParagraphDocument;
        with candidates N > 1 its `legibility` says what the check found, per wrapped line. `budget`
        (seconds, scribe.cost) and `png_dpi` (the PNG the pages will be saved as) are checked before any
        sampling: N lowered or the request refused; a page over the PNG pixel cap refused."""
        return write_paragraph(self, text, style, bias, color, width, layout, seed, max_steps,
                               candidates=candidates, budget=budget, png_dpi=png_dpi)

    def write_paragraph_live(self, text: str, style: int | None = None, bias: float = DEFAULT_BIAS,
                             color: str = "#000000", width: float = 1.5, layout=None, seed: int | None = None,
                             max_steps: int | None = None, candidates: int = 1, every: int = LIVE_EVERY,
                             budget: float | None = None, png_dpi: float | None = None):
        """write_paragraph(), as a generator: it yields a LiveInk (the wrapped lines being written, up to
        MAX_LINES at a time) every `every` pen steps and returns the same ParagraphDocument (same seed,
        same ink). Closing it stops the sampling loop."""
        return (yield from paragraph_writing(self, text, style, bias, color, width, layout, seed, max_steps,
                                             candidates=candidates, every=every, budget=budget, png_dpi=png_dpi))

    def add_user_styles(self, folder: str | Path) -> None:
        """Use the styles in `folder` as well as the current bank (ids are shared: see LayeredStyleBank)."""
        from .styles import LayeredStyleBank
        Path(folder).mkdir(parents=True, exist_ok=True)
        user = StyleBank(folder)
        if self.styles is None:
            self.styles = user
        else:
            banks = self.styles.banks if hasattr(self.styles, "banks") else [self.styles]
            banks = [b for b in banks if b.folder is None or Path(b.folder).resolve() != Path(folder).resolve()]
            self.styles = LayeredStyleBank(banks + [user])
        self._primed.clear()

    def adapt(self, lines, options=None, out: str | Path | None = None, style_dir: str | Path | None = None,
              replay=None, on_progress=None, stop=None):
        """Fine-tune this hand's model on one person's (text, ink) lines (scribe.adapt): at least 5,
        the last held out. With `out`, write the adapted model there (.safetensors); with `style_dir`,
        save the person's first line there as a style and use that folder. Returns (AdaptResult,
        style id or None). This Hand keeps its own model: load `out` to write with the new one."""
        from .adapt import adapt, save_adapted, save_person_style
        result = adapt(self.checkpoint, lines, options, replay=replay, on_progress=on_progress, stop=stop)
        if out is not None:
            save_adapted(result, out)
        style_id = None
        if style_dir is not None:
            style_id = save_person_style(result, style_dir, avoid_ids=self.style_ids)
            self.add_user_styles(style_dir)
        return result, style_id

    def with_styles(self, extra) -> "Hand":
        """A Hand that shares this one's model, sampler and reader and also sees the styles in `extra`
        (a StyleBank or MemoryStyleBank: one app visitor's own, say); this hand is left as it was, so
        another caller never sees them. Primed states of the styles both share are reused."""
        from .styles import LayeredStyleBank
        view = copy.copy(self)
        base = [] if self.styles is None else list(getattr(self.styles, "banks", [self.styles]))
        view.styles = LayeredStyleBank(base + [extra])
        own = set(extra.ids)
        view._primed = {k: v for k, v in dict(self._primed).items() if k not in own}
        return view

    def style_from_ink(self, source, text: str | None = None, save_to: str | Path | None = None):
        """Build a style from the user's ink (path, bytes, JSON, parsed strokes: see scribe.inkml.read_ink)
        and the text it says; with `save_to`, save it there under the next free id and use that folder.

        Returns (UserStyle, style id or None). Raises scribe.user_style.UserStyleError (a StyleError)
        with a message for the user."""
        from .user_style import build_style, save_style
        style = build_style(source, text, self.alphabet, self.stats)
        if save_to is None:
            return style, None
        style_id = save_style(style, save_to, avoid_ids=self.style_ids)
        self.add_user_styles(save_to)
        return style, style_id


def write_paragraph(hand, text: str, style: int | None = None, bias: float | None = None,
                    color: str = "#000000", width: float = 1.5, layout: paragraph.ParagraphLayout | None = None,
                    seed: int | None = None, max_steps: int | None = None,
                    max_rounds: int = paragraph.MAX_ROUNDS, candidates: int = 1, budget: float | None = None,
                    png_dpi: float | None = None) -> paragraph.ParagraphDocument:
    """Write `text` as wrapped paragraphs in one style; see the module docstring. Raises InputError."""
    return run_to_end(paragraph_writing(hand, text, style, bias, color, width, layout, seed, max_steps,
                                        max_rounds, candidates, every=None, budget=budget, png_dpi=png_dpi))


def paragraph_writing(hand, text: str, style: int | None = None, bias: float | None = None,
                      color: str = "#000000", width: float = 1.5, layout: paragraph.ParagraphLayout | None = None,
                      seed: int | None = None, max_steps: int | None = None,
                      max_rounds: int = paragraph.MAX_ROUNDS, candidates: int = 1, every: int | None = None,
                      budget: float | None = None, png_dpi: float | None = None):
    """write_paragraph as a generator: with `every`, each chunk of wrapped lines is written live
    (Hand.write_live) and its LiveInk yielded; it returns the ParagraphDocument."""
    started = time.perf_counter()
    seed, max_steps = check_seed(seed), check_max_steps(max_steps)
    layout = layout or paragraph.ParagraphLayout()
    bias = DEFAULT_BIAS if bias is None else (_finite(bias) if _finite(bias) is not None else bias)
    problems = []
    try:
        layout.check()
    except ValueError as e:
        problems.append(str(e))
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("nothing to write: type some text")
    if len(text) > paragraph.PARAGRAPH_MAX_CHARS:
        problems.append(f"the text has {len(text)} characters; paragraph mode takes up to "
                        f"{paragraph.PARAGRAPH_MAX_CHARS}")
    unknown = set()
    for raw in text.split("\n"):
        try:
            accents.clean(hand.alphabet, raw)
        except ValueError as e:
            unknown.update(getattr(e, "unknown", []))
    if unknown:
        problems.insert(0, unknown_note(unknown, hand.alphabet))
    long_words = [w for w in text.split() if len(w) > MAX_CHARS_PER_LINE]
    if long_words:
        problems.append(f"a word of {len(long_words[0])} characters cannot fit one line "
                        f"(the limit is {MAX_CHARS_PER_LINE}): {long_words[0][:20]}...")
    if _finite(bias) is None or not BIAS_RANGE[0] <= bias <= BIAS_RANGE[1]:
        problems.append(f"bias {str(bias)[:20]} is not a number in {BIAS_RANGE[0]}-{BIAS_RANGE[1]}")
    candidates, bad_candidates = legibility.resolve_candidates(candidates)
    measure = paragraph.Measure()
    if style is not None:
        try:
            st = hand._style(style)
            measure = paragraph.Measure.from_ink(st.text, st.strokes())
        except StyleError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))
    text = "\n".join(accents.clean(hand.alphabet, raw) if raw.strip() else "" for raw in text.split("\n"))
    seed = random.randrange(2**31) if seed is None else seed

    target = layout.line_width_mm() / layout.ink_height_mm       # line width in ink heights
    # What it will cost, from the first wrap (the lines round 1 writes), before any sampling.
    planned = [t for t, _ in paragraph.wrap_lines(text, lambda t: measure.width(t) <= target * paragraph.SAFETY,
                                                  int(layout.max_chars))]
    if png_dpi is not None:
        cost.check_png_pixels(*paragraph.page_size_px(layout, len(planned)), png_dpi, MAX_PNG_PIXELS)
    candidates, lowered = cost.fit_budget([len(t) for t in planned], candidates, budget, live=every is not None,
                                          paragraph=True)
    written: dict[tuple[str, int], paragraph.WrittenLine] = {}   # (text, occurrence) -> ink
    read: dict[tuple[str, int], tuple[float | None, str | None]] = {}   # -> the check's (CER, reading)
    check = LegibilityCheck(candidates, skipped=bad_candidates, lowered=lowered)
    first_width: dict[str, float] = {}
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        def fits(t: str) -> bool:
            return first_width[t] <= target if t in first_width else measure.width(t) <= target * paragraph.SAFETY
        pairs = paragraph.wrap_lines(text, fits, int(layout.max_chars))
        wrapped = [t for t, _ in pairs]
        keys, seen = [], Counter()
        for t in wrapped:
            seen[t] += 1
            keys.append((t, seen[t]))
        todo = [k for k in keys if k[0] and k not in written]
        for c in range(0, len(todo), MAX_LINES):
            chunk = todo[c:c + MAX_LINES]
            chunk_specs = [LineSpec(t, style, bias, color, width) for t, _ in chunk]
            chunk_seed = (seed + 7919 * rounds + c) % SEED_LIMIT
            if every is None:
                doc = hand.write(chunk_specs, seed=chunk_seed, max_steps=max_steps, candidates=candidates)
            else:
                doc = yield from hand.write_live(chunk_specs, seed=chunk_seed, max_steps=max_steps,
                                                 candidates=candidates, every=every)
            check.skipped = check.skipped or doc.legibility.skipped
            check.accents_stripped = check.accents_stripped or doc.legibility.accents_stripped
            for k, key in enumerate(chunk):
                read[key] = (doc.legibility.line_cers[k] if doc.legibility.line_cers else None,
                             doc.legibility.readings[k] if doc.legibility.readings else None)
            for key, sampled in zip(chunk, doc.lines):
                strokes = ink.offsets_to_strokes(sampled.offsets)
                w = paragraph.ink_width(strokes) / hand.stats.ink_height
                written[key] = paragraph.WrittenLine(key[0], strokes, w, sampled.hit_cap)
                first_width.setdefault(key[0], w)
        overflow = any(written[k].width > target for k in keys if k[0])
        # Lines broken for width should come near it; if most fall short, the estimate was too wide.
        fill = [written[k].width / target for k, (_, broken) in zip(keys, pairs) if broken]
        underfilled = len(fill) >= 2 and float(np.median(fill)) < paragraph.UNDERFILL
        if not (overflow or underfilled) or rounds == max_rounds:
            break
        measure = paragraph.Measure.fit([(ln.text, ln.width) for ln in written.values()])
    lines = [written[k] if k[0] else paragraph.WrittenLine("", [], 0.0) for k in keys]
    pages, line_page, shrunk = paragraph.set_pages(lines, hand.stats.ink_height, layout, color, width, seed)
    if check.ran:
        check.line_cers = [read[k][0] if k[0] else None for k in keys]
        check.readings = [read[k][1] if k[0] else None for k in keys]
    return paragraph.ParagraphDocument(pages, wrapped, line_page, shrunk, [i for i, ln in enumerate(lines) if ln.hit_cap],
                             rounds, seed, time.perf_counter() - started, layout, check)
