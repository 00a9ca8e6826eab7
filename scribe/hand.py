"""`Hand`: the one high-level API. The app, the CLI, the notebook and the CSV batch all write through it.

    hand = Hand.load()                                   # the shipped checkpoint and style bank
    result = hand.write(WriteRequest([LineSpec("Hello world", style=3, bias=1.0)], seed=7))
    result.save("hello.svg"); result.export("hello.png", dpi=300)

A request (scribe.request) says what to write, and `write` gives back a Result (scribe.result) in
both modes. Paragraph mode's wrap-and-write loop is scribe.paragraph; the legibility check's choice
among candidates is scribe.candidates; primed states are cached by scribe.priming.
"""
from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import replace
from pathlib import Path

import torch

from .alphabet import Alphabet
from . import candidates as legibility
from . import cost
from .candidates import LegibilityCheck
from .checkpoint import Checkpoint, default_checkpoint, load_checkpoint
from .nearness import nearness_or_reason
from .priming import PrimedStyle, PrimingCache, fast_step_or_none
from .render.page import Layout
from .render.paragraph import ParagraphLayout
from .request import (DEFAULT_BIAS, DEFAULT_CANDIDATES, DEFAULT_COLOR, DEFAULT_WIDTH, LineSpec, ParagraphRequest,
                      WriteRequest)
from .result import INFO, WARNING, LiveInk, Note, Result, line_page, run_to_end
from .sampling import LIVE_EVERY, SampledLine, Sampler
from .styles import LayeredStyleBank, StyleBank, StyleError, StyleSource


def use_sampling_threads(n: int | None = None) -> None:
    """Intra-op threads for sampling: 1 unless SCRIBE_THREADS says otherwise.

    A sampling step multiplies a few rows by each weight matrix, too little work to share, and on a
    busy machine OpenMP threads wait for each other: two threads measured up to 10x slower than one
    while another process was running (benchmarks/sample_speed.py --threads). Front ends call this;
    the library does not.
    """
    torch.set_num_threads(max(1, n or int(os.environ.get("SCRIBE_THREADS", "1"))))


def as_request(request, **changes) -> WriteRequest | ParagraphRequest:
    """`request` with `changes` (seed=..., candidates=...); a list of LineSpecs is a WriteRequest."""
    if not isinstance(request, (WriteRequest, ParagraphRequest)):
        request = WriteRequest(list(request) if isinstance(request, (list, tuple)) else request)
    if "layout" in changes and changes["layout"] is None:       # layout=None: the request type's default look
        changes["layout"] = ParagraphLayout() if isinstance(request, ParagraphRequest) else Layout()
    return replace(request, **changes) if changes else request


class Hand:
    """A model (one checkpoint) with its style bank, its reader for the legibility check and its
    priming cache. A Hand is shared between callers (the app's sessions): nothing a write does changes
    it, and a different set of styles is a new Hand (`with_styles`) or an atomic swap of `styles`."""

    def __init__(self, checkpoint: Checkpoint, styles: StyleSource | None = None, device: str = "cpu",
                 fast: bool = True):
        self.checkpoint = checkpoint
        self.alphabet: Alphabet = checkpoint.alphabet
        self.stats = checkpoint.stats
        self.model = checkpoint.build_model(device)
        # fast: the compiled step and loops of scribe.fast (same ink); False: the eager reference.
        step_fn = fast_step_or_none(self.model) if fast else None
        self.sampler = Sampler(self.model, self.stats, step_fn=step_fn)
        self.styles = styles
        self.reader_path: str | Path | None = None   # the legibility check's reader; None: the shipped one
        self.scorer_path: str | Path | None = None   # the check's hand scorer (scribe.nearness); None: the shipped one
        self._readers: dict = {}                     # loaded readers and scorers, by path
        self.priming = PrimingCache(self.sampler, self.alphabet, self.stats)   # keyed by style content

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
        self.styles = StyleBank(style_dir)     # one assignment: a write under way keeps the bank it read

    # ---- checking a request -----------------------------------------------------------------------
    def check(self, request):
        """The request checked against this model and its styles (scribe.request: one InputError names
        every problem). A list of LineSpecs gives back the cleaned list."""
        checked = as_request(request).check(self.alphabet, self.style)
        return checked.lines if isinstance(request, list) else checked

    def style(self, style_id):
        """The bank style `style_id` (scribe.styles.Style); StyleError when there is no bank or no such style."""
        if self.styles is None:
            raise StyleError("no style bank is loaded (checkpoints/styles is missing); use style None "
                             "or pass a style folder")
        return self.styles.get(style_id)

    def reader(self):
        """(the legibility check's reader, "") loaded once, or (None, why it cannot be used: the file's
        name, never its folder)."""
        return legibility.reader_or_reason(self.reader_path, self._readers)

    # ---- writing ----------------------------------------------------------------------------------
    def primed(self, style_id: int, likeness: float | None = None) -> PrimedStyle:
        """One style as the model reads it (primed state, prime line, window text, adapter at `likeness`,
        None: the style's own strength), from the shared priming cache."""
        return self.priming.get(self.style(style_id), likeness)

    def write(self, request, on_step=None, budget: float | None = None, png_dpi: float | None = None,
              **changes) -> Result:
        """Write a WriteRequest (line mode: every line in one batch) or a ParagraphRequest (wrapped and
        set on pages, scribe.paragraph); a list of LineSpecs is a WriteRequest. `changes` replace the
        request's fields (seed=7, candidates=1, ...). With candidates N > 1 (the default,
        scribe.request.DEFAULT_CANDIDATES) the legibility check draws up to N candidates of every line
        and keeps the one that reads back best (scribe.candidates).
        `on_step(step, cap, lines_done)`: line mode's progress after every pen step (see Sampler.sample);
        raise from it to stop. `budget`: the most seconds the request may cost (scribe.cost), checked
        before any sampling: over it, N is lowered (the check's summary says so) or the write refused;
        `png_dpi` (paragraphs): the PNG the pages will be saved as, refused before sampling if too big."""
        return run_to_end(self.write_live(request, every=None, on_step=on_step, budget=budget, png_dpi=png_dpi,
                                          **changes))

    def write_live(self, request, every: int | None = LIVE_EVERY, on_step=None, budget: float | None = None,
                   png_dpi: float | None = None, **changes):
        """write(), as a generator: it yields a LiveInk (every line's ink so far) after every `every`
        pen steps, and returns the same Result as write() (same seed, same ink). The loop runs in
        compiled chunks of `every` steps (Sampler.sample_live), so watching costs little. Closing the
        generator stops the sampling loop at the end of the chunk under way."""
        request = as_request(request, **changes)
        if isinstance(request, ParagraphRequest):
            from .paragraph import paragraph_writing
            return (yield from paragraph_writing(self, request, every=every, budget=budget, png_dpi=png_dpi))
        return (yield from self._writing(request, on_step, every, budget))

    def _writing(self, request: WriteRequest, on_step, every, budget=None):
        started = time.perf_counter()
        request = self.check(request)
        specs, layout = request.lines, request.layout
        n, bad = legibility.resolve_candidates(request.candidates)
        n, lowered = cost.fit_budget([len(s.text) for s in specs], n, budget, live=every is not None,
                                     primings=self.primings_needed(specs))
        check, reader = LegibilityCheck(n, skipped=bad, lowered=lowered), None
        if n > 1:
            reader, check.skipped = self.reader()
            if reader is None:
                n = 1
        judge = self._judge(specs, check) if n > 1 else None
        seed = random.randrange(2**31) if request.seed is None else request.seed
        lines = yield from self._live(specs, layout, n, legibility.checked_lines(
            self, specs, n, seed, reader, check, request.max_steps, on_step, every, judge=judge))
        seconds = time.perf_counter() - started
        result = Result(replace(request, seed=seed), [line_page(specs, lines, self.stats.ink_height, layout)],
                        [s.text for s in specs], lines, self.stats.ink_height, seed, seconds, check)
        result.extra_notes += self.adapter_notes([s.style for s in specs]) + self.likeness_notes(specs)
        return result

    def _judge(self, specs, check: LegibilityCheck):
        """The check's hand scorer (scribe.nearness) when some line is in a style, else None; a scorer
        that cannot be loaded leaves those lines to reading alone, and the check says why."""
        if not any(s.text and s.style is not None for s in specs):
            return None
        judge, check.hand_skipped = nearness_or_reason(self.scorer_path, self._readers)
        return judge

    def adapter_notes(self, style_ids) -> list[Note]:
        """A warning per style adapters file that the styles written with could not use (fitted to
        another model, damaged): those styles were written by priming alone."""
        files = {str(self.style(s).adapter_file) for s in set(style_ids) if s is not None}
        return [Note(f"written without the styles' adapters: {why}", WARNING)
                for path, why in sorted(self.priming.problems.items()) if path in files]

    def primings_needed(self, specs) -> int:
        """How many styles (each at its likeness) writing checked `specs` would prime for the first time:
        part of the request's cost (scribe.cost), since a hostile request can ask for many likenesses."""
        pens = {(int(s.style), s.likeness) for s in specs if s.text and s.style is not None}
        return sum(not self.priming.has(self.style(sid), like) for sid, like in pens)

    def likeness_notes(self, specs) -> list[Note]:
        """A note when a line asks for a likeness its style cannot give (no fitted hand to scale: the
        model's own hand, a user's style, a bank without usable adapters)."""
        styles = sorted({-1 if s.style is None else int(s.style) for s in specs if s.text and s.likeness is not None
                         and (s.style is None or self.priming.adapter(self.style(int(s.style))) is None)})
        if not styles:
            return []
        names = ["the model's own hand" if sid < 0 else f"style {sid}" for sid in styles]
        return [Note(f"likeness changes only bank styles with a fitted hand: {' and '.join(names)} "
                     f"{'has' if len(names) == 1 else 'have'} none, so likeness did nothing there", INFO)]

    def _live(self, specs, layout, n, gen):
        """Pass on a candidates generator's (LiveBatch, rows) as LiveInk; return what it returns."""
        try:
            while True:
                batch, rows = next(gen)
                yield LiveInk(specs, rows, batch, self.stats.ink_height, layout, n)
        except StopIteration as end:
            return end.value
        finally:
            gen.close()       # closing write_live closes the sampling loop (GeneratorExit lands here)

    def sample_candidates(self, specs: list[LineSpec], n: int, seed: int, max_steps: int | None = None,
                          on_step=None) -> "legibility.CandidateBatch":
        """n candidates of every non-blank line of checked `specs`, all in one sampler batch (the
        fixed-N check; Hand.write's own check stops early: scribe.candidates)."""
        return run_to_end(legibility.sample_batch(self, specs, n, seed, max_steps, on_step))

    def choose_candidates(self, specs: list[LineSpec], batch: "legibility.CandidateBatch", reader,
                          check: LegibilityCheck, use: int | None = None) -> list[SampledLine | None]:
        """Per spec, the candidate (of the first `use`, default all) of a fixed batch that `reader`
        reads best (a line in a style: nearest its hand of those reading about as well, as write()
        chooses), None for a blank line; fills in `check`."""
        return legibility.choose_in_batch(self, specs, batch, reader, check, use, judge=self._judge(specs, check))

    # ---- paragraphs and user styles (scribe.paragraph, scribe.user_style) -----------------------------
    def write_paragraph(self, text: str, style: int | None = None, bias: float = DEFAULT_BIAS,
                        color: str = DEFAULT_COLOR, width: float = DEFAULT_WIDTH, layout=None,
                        seed: int | None = None, max_steps: int | None = None,
                        candidates: int = DEFAULT_CANDIDATES, budget: float | None = None,
                        png_dpi: float | None = None) -> Result:
        """write(ParagraphRequest(...)), spelled out: wrap `text` to the line width in this hand's own
        measure and set it on pages (several if it runs over). `layout`: a ParagraphLayout."""
        return self.write(ParagraphRequest(text, style, bias, color, width, layout or ParagraphLayout(), None,
                                           seed, candidates, max_steps), budget=budget, png_dpi=png_dpi)

    def write_paragraph_live(self, text: str, style: int | None = None, bias: float = DEFAULT_BIAS,
                             color: str = DEFAULT_COLOR, width: float = DEFAULT_WIDTH, layout=None,
                             seed: int | None = None, max_steps: int | None = None,
                             candidates: int = DEFAULT_CANDIDATES, every: int = LIVE_EVERY,
                             budget: float | None = None, png_dpi: float | None = None):
        """write_paragraph(), as a generator of LiveInk (the wrapped lines being written, up to
        MAX_LINES at a time) every `every` pen steps; it returns the same Result."""
        return (yield from self.write_live(ParagraphRequest(text, style, bias, color, width,
                                                            layout or ParagraphLayout(), None, seed, candidates,
                                                            max_steps), every=every, budget=budget,
                                                   png_dpi=png_dpi))

    def add_user_styles(self, folder: str | Path) -> None:
        """Use the styles in `folder` as well as the current bank (ids are shared: see LayeredStyleBank)."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        user = StyleBank(folder)
        banks = [] if self.styles is None else [b for b in self.styles.banks if b.folder is None
                                                 or Path(b.folder).resolve() != Path(folder).resolve()]
        self.styles = LayeredStyleBank(banks + [user]) if banks else user    # one assignment, never torn

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
        another caller never sees them. The priming cache is shared (it is keyed by the style's ink)."""
        view = copy.copy(self)
        view.styles = LayeredStyleBank(([] if self.styles is None else self.styles.banks) + [extra])
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
