"""What a write gives back, in both modes: `Result`, its pages, the ink per line, and notes.

    result = hand.write(WriteRequest([LineSpec("Hello")], seed=7))
    result.export("hello.pdf"); print(result.summary())

A result keeps the request it answers (with the seed that was used), so a saved document is the
request and the ink side by side (scribe.document). Notes have a level: INFO for what a user may
like to know (the legibility check's summary), WARNING for what may be wrong with the ink (a line
cut by the step cap); a front end shows each as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import ink
from .errors import InputError
from .render.export import export_pages
from .render.page import InkLine, Layout, Page, RenderError, layout_page, page_to_svg, svg_to_png
from .request import LineSpec, ParagraphRequest, WriteRequest
from .sampling import LiveBatch

INFO, WARNING = "info", "warning"


@dataclass(frozen=True)
class Note:
    """One thing a front end tells the user about a write: its text and whether it is a warning."""
    text: str
    level: str = WARNING

    def __str__(self) -> str:
        return self.text


def step_cap_note(capped: list[int]) -> str:
    """The one wording of the step-cap warning, for every front end; `capped` holds 0-based line indices."""
    which = ", ".join(str(i + 1) for i in capped)
    return (f"line{'s' if len(capped) > 1 else ''} {which} hit the step cap before the text ended, so the ink "
            f"may be incomplete (a higher bias usually helps)")


def shrunk_note(shrunk: list[int]) -> str:
    return f"{len(shrunk)} line(s) came out wider than the line width and were narrowed to fit"


def legibility_note(check) -> Note | None:
    """The legibility check's summary as a note: information when it ran (its lines that read poorly
    included: the best of N is what there is), a warning when it could not run; None when it was off."""
    if check is None or not check.summary():
        return None
    return Note(check.summary(), WARNING if check.skipped else INFO)


@dataclass
class Result:
    """One write, line mode or paragraph mode: the pages, the ink of every line, and how it was made.

    `lines[i]` is line i's sampled ink (scribe.sampling.SampledLine; None for a blank line) and
    `texts[i]` what it says; in paragraph mode they are the wrapped lines. `request` is the checked
    request, with the seed that was used."""
    request: WriteRequest | ParagraphRequest
    pages: list[Page]
    texts: list[str]
    lines: list                                   # SampledLine | None per line
    ink_height: float                             # the model's typical ink height, in the ink's units
    seed: int
    seconds: float
    legibility: object = None                     # scribe.candidates.LegibilityCheck
    shrunk_lines: list[int] = field(default_factory=list)   # paragraph lines narrowed to fit the width
    line_page: list[int] = field(default_factory=list)      # paragraph mode: each line's page (-1: dropped)
    rounds: int = 1                               # paragraph mode: wrap-and-write passes
    extra_notes: list[Note] = field(default_factory=list)   # what the caller adds (a document's checkpoint...)

    @property
    def paragraph(self) -> bool:
        return isinstance(self.request, ParagraphRequest)

    @property
    def specs(self):
        """The checked LineSpecs, one per line (paragraph mode: each wrapped line in the request's pen)."""
        if not self.paragraph:
            return self.request.lines
        pen = self.request.pen
        return [replace(pen, text=t) for t in self.texts]

    @property
    def layout(self):
        return self.request.layout

    @property
    def paper(self):
        return self.request.paper

    @property
    def capped_lines(self) -> list[int]:
        """Indices of lines cut by the step cap (the text may be incomplete)."""
        return [i for i, ln in enumerate(self.lines) if ln is not None and ln.hit_cap]

    @property
    def lines_written(self) -> int:
        return sum(1 for ln in self.lines if ln is not None)

    def notes(self) -> list[Note]:
        """Everything a front end should tell the user about this write, each with its level."""
        out = [Note(step_cap_note(self.capped_lines))] if self.capped_lines else []
        if self.shrunk_lines:
            out.append(Note(shrunk_note(self.shrunk_lines), INFO))
        check = legibility_note(self.legibility)
        return out + ([check] if check else []) + list(self.extra_notes)

    def summary(self) -> str:
        n, p = self.lines_written, len(self.pages)
        where = f" on {p} page{'s' * (p != 1)}" if self.paragraph else ""
        head = f"Wrote {n} line{'s' * (n != 1)}{where} in {self.seconds:.2f} s · seed {self.seed}"
        return head + "".join(f"\n- {note.text}" for note in self.notes())

    # ---- the page(s) and files ----
    def page(self, layout: Layout | None = None) -> Page:
        """Line mode: the page, laid out again with `layout` if given; paragraph mode: the first page."""
        if self.paragraph or layout is None:
            return self.pages[0]
        return line_page(self.request.lines, self.lines, self.ink_height, layout)

    def svg(self, page: int = 0) -> str:
        return page_to_svg(self.pages[page])

    def svgs(self) -> list[str]:
        return [page_to_svg(p) for p in self.pages]

    def png(self, page: int = 0, dpi: float = 192.0) -> bytes:
        try:
            return svg_to_png(self.svg(page), dpi)
        except RenderError as e:         # over the pixel cap, a bad dpi
            raise InputError(str(e)) from None

    def export(self, path: str | Path, fmt: str | None = None, dpi: float = 192.0, plotter=None, gcode=None,
               animation=None, paper=None) -> list[Path]:
        """Every page in any output format: svg, png, pdf, plotter-svg, gcode, animated-svg or gif
        (scribe.render.export.export_pages; `fmt` None picks by suffix), each file atomically; returns
        the files written. `paper` (PNG and PDF) defaults to the request's. Bad options raise InputError."""
        try:
            return export_pages(self.pages, path, fmt, dpi, plotter, gcode, animation,
                                self.request.paper if paper is None else paper)
        except ValueError as e:
            raise InputError(str(e)) from None

    def save(self, path: str | Path, fmt: str | None = None, dpi: float = 192.0, **options) -> Path:
        """export(), for the usual one-page case: the (first) file written."""
        return self.export(path, fmt, dpi, **options)[0]


def run_to_end(writing):
    """Run a write's generator (Hand.write_live) to its end and return its Result: write() is
    write_live() unwatched."""
    while True:
        try:
            next(writing)
        except StopIteration as end:
            return end.value


def line_page(specs, lines, ink_height: float, layout: Layout) -> Page:
    """Line mode's one page: each spec's ink in its colour and width, laid out by `layout`."""
    return layout_page([InkLine(ink.offsets_to_strokes(ln.offsets) if ln is not None else [], s.color, s.width)
                        for s, ln in zip(specs, lines)], ink_height, layout)


def ink_of(result: Result) -> list[np.ndarray | None]:
    """Each line's offsets as written (None for a blank line): what a saved document keeps."""
    return [None if ln is None else np.asarray(ln.offsets, np.float32) for ln in result.lines]


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
