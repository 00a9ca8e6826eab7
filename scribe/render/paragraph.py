"""Paragraph mode: long text wrapped to a line width measured in the handwriting itself, set on pages.

    result = hand.write(ParagraphRequest(text, style=3, layout=ParagraphLayout(page="a4", align="left")))
    result.export("letter.svg")   # letter.svg, or letter-1.svg, letter-2.svg, ... when it runs over

How a line width is kept without ever splitting a word:
1. estimate each candidate line's width from character widths scaled to the hand (the style's own
   ink when there is one), and wrap greedily with a little room to spare;
2. write the lines, then measure the real ink; if one is too wide (or most lines fall well short of
   the width), refit the scale on every line written so far, re-wrap, and write only the lines whose
   text changed (known widths are reused);
3. a line that is still too wide after the last round is shrunk to the width (reported).
Each input line is wrapped on its own; a blank input line is kept as a blank line (a paragraph break).
This module measures, wraps and sets pages; the write loop is scribe.paragraph (Hand.write of a
ParagraphRequest), and its result a scribe.result.Result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import ink
from ..accents import base_text
from .page import (DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM, LINE_SPACING_RANGE, MM_PER_PX, SIZE_RANGE_MM, InkLine,
                   Page, paper_size_mm)

PARAGRAPH_MAX_CHARS = 5000
# Width units per character: a rough typographic class, scaled to the hand by `Measure.per_unit`.
NARROW, SEMI, WIDE = set("ijl.,;:'!|`\""), set("frtI1()-/ "), set("mwMW")
# Ink heights per unit before the hand is measured; IAM-OnDB lines run about 0.54 ink heights per
# character, spaces included.
DEFAULT_PER_UNIT = 0.55
SAFETY = 0.95          # estimated lines may fill this much of the width; measured ones all of it
UNDERFILL = 0.8        # re-wrap when the median line broken for width fills less than this
MAX_ROUNDS = 3


def char_units(c: str) -> float:
    if c in NARROW:
        return 0.45
    if c in SEMI:
        return 0.75
    if c in WIDE:
        return 1.5
    return 1.25 if c.isupper() else 1.0


def text_units(text: str) -> float:
    return sum(char_units(c) for c in base_text(text))     # what the model writes: æ is "ae"


def ink_width(strokes: list[np.ndarray]) -> float:
    if not strokes:
        return 0.0
    pts = np.concatenate(strokes)
    return float(pts[:, 0].max() - pts[:, 0].min())


@dataclass
class Measure:
    """Width of text in ink heights: per_unit x the text's width units."""
    per_unit: float = DEFAULT_PER_UNIT

    def width(self, text: str) -> float:
        return self.per_unit * text_units(text)

    @classmethod
    def fit(cls, samples: list[tuple[str, float]]) -> "Measure":
        units = sum(text_units(t) for t, _ in samples)
        return cls(sum(w for _, w in samples) / units) if units > 0 else cls()

    @classmethod
    def from_ink(cls, text: str, strokes: list[np.ndarray]) -> "Measure":
        """The measure of a written line (a style): its width over its ink height, per unit."""
        return cls.fit([(text, ink_width(strokes) / ink.ink_height(strokes))])


def wrap_lines(text: str, fits: Callable[[str], bool], max_chars: int = 60) -> list[tuple[str, bool]]:
    """Greedy word wrap of every input line: (line, broken) pairs, where `broken` says the line ended
    because the next word did not fit the width (not at the end of an input line, nor at `max_chars`);
    "" for a blank line. Words are never split: a word that fits nowhere gets a line of its own."""
    out = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        words = raw.split()
        if not words:
            out.append(("", False))
            continue
        line = words[0]
        for w in words[1:]:
            candidate = f"{line} {w}"
            short_enough = len(candidate) <= max_chars
            if short_enough and fits(candidate):
                line = candidate
            else:
                out.append((line, short_enough))
                line = w
        out.append((line, False))
    return out


def wrap_text(text: str, fits: Callable[[str], bool], max_chars: int = 60) -> list[str]:
    """Greedy word wrap (see `wrap_lines`); "" for a blank line."""
    return [line for line, _ in wrap_lines(text, fits, max_chars)]


ALIGNS = ("left", "center", "right")


@dataclass
class ParagraphLayout:
    page: str | None = "a4"          # "a4", "a5", "letter"; None: one page as tall as the text
    landscape: bool = False
    margin_mm: float = 20.0
    width_mm: float | None = None    # line width; None: the page's width inside the margins (160 mm without a page)
    ink_height_mm: float = DEFAULT_SIZE_MM   # size of the writing: the typical ink height (render/page.py)
    line_spacing: float = DEFAULT_LINE_SPACING   # line pitch in ink heights
    align: str = "left"              # left, center, right
    variation: float = 0.0           # 0: none; 1: natural baseline, tilt and size changes between lines
    straighten: bool = True          # level each line's baseline first, so sloping lines never collide
    max_chars: int = 60              # the model learnt lines of up to about 64 characters

    def check(self) -> None:
        problems = []
        if self.page is not None:
            try:
                paper_size_mm(self.page)
            except ValueError as e:
                problems.append(str(e))
        if self.align == "centre":
            self.align = "center"
        if self.align not in ALIGNS:
            problems.append(f"align {self.align!r} must be one of {', '.join(ALIGNS)}")
        if not 0 <= self.margin_mm <= 100:
            problems.append(f"margin {self.margin_mm} mm is outside 0-100 mm")
        if not SIZE_RANGE_MM[0] <= self.ink_height_mm <= SIZE_RANGE_MM[1]:
            problems.append(f"writing size {self.ink_height_mm} mm is outside {SIZE_RANGE_MM[0]:g}-{SIZE_RANGE_MM[1]:g} mm")
        if not LINE_SPACING_RANGE[0] <= self.line_spacing <= LINE_SPACING_RANGE[1]:
            problems.append(f"line spacing {self.line_spacing} is outside {LINE_SPACING_RANGE[0]:g}-{LINE_SPACING_RANGE[1]:g}")
        if not 0 <= self.variation <= 2:
            problems.append(f"variation {self.variation} is outside 0-2")
        if not 5 <= int(self.max_chars) <= 90:
            problems.append(f"max_chars {self.max_chars} is outside 5-90")
        if not problems:
            inner = self.inner_width_mm()
            if inner is not None and inner < 4 * self.ink_height_mm:
                problems.append(f"margins of {self.margin_mm} mm leave {inner:.0f} mm of line; that is too narrow")
            elif self.width_mm is not None and not (4 * self.ink_height_mm <= self.width_mm <= (inner or 2000)):
                problems.append(f"line width {self.width_mm} mm must be between {4 * self.ink_height_mm:g} mm "
                                f"(four ink heights) and {inner or 2000:.0f} mm (the page inside the margins)")
            elif self.lines_per_page() < 1:
                problems.append("the page is too short for one line at this size and spacing")
        if problems:
            raise ValueError("; ".join(problems))

    def paper_mm(self) -> tuple[float, float] | None:
        return paper_size_mm(self.page, self.landscape) if self.page else None

    def inner_width_mm(self) -> float | None:
        paper = self.paper_mm()
        return paper[0] - 2 * self.margin_mm if paper else None

    def line_width_mm(self) -> float:
        return self.width_mm or self.inner_width_mm() or 160.0

    def pitch_mm(self) -> float:
        return self.line_spacing * self.ink_height_mm

    def lines_per_page(self) -> int | float:
        paper = self.paper_mm()
        if paper is None:
            return float("inf")
        return int((paper[1] - 2 * self.margin_mm) // self.pitch_mm())


MAX_STRAIGHTEN_DEG = 15.0


def baseline_angle(points: np.ndarray) -> float:
    """The slope of a written line in radians (y down: positive runs downhill), from a least-squares
    fit of y on x over all its points; clipped to +-15 degrees."""
    x, y = points[:, 0], points[:, 1]
    if np.ptp(x) <= 0:
        return 0.0
    slope = np.polyfit(x, y, 1)[0]
    return float(np.clip(np.arctan(slope), -np.radians(MAX_STRAIGHTEN_DEG), np.radians(MAX_STRAIGHTEN_DEG)))


@dataclass
class WrittenLine:
    text: str
    strokes: list[np.ndarray]    # model units, y down ([] for a blank line)
    width: float                 # in ink heights
    hit_cap: bool = False
    color: str | None = None     # this line's ink, if not the page's


def set_pages(lines: list[WrittenLine], ink_height: float, layout: ParagraphLayout, color: str = "#000000",
              stroke_width: float = 1.5, seed: int = 0) -> tuple[list[Page], list[int], list[int]]:
    """Place written lines on pages. Returns (pages, page index per line (-1: a dropped blank line at
    the top of a page), indices of lines shrunk to fit the width)."""
    px = 1.0 / MM_PER_PX
    ink_px = layout.ink_height_mm * px
    s = ink_px / ink_height                     # model units -> px
    pitch = layout.pitch_mm() * px
    margin = layout.margin_mm * px
    line_w = layout.line_width_mm() * px
    per_page = layout.lines_per_page()
    rng = np.random.default_rng(seed)
    v = float(layout.variation)
    noise = lambda: float(np.clip(rng.normal(), -2.0, 2.0))

    slots: list[list[InkLine]] = [[]]
    line_page, shrunk, row = [], [], 0
    for i, ln in enumerate(lines):
        if row >= per_page:
            slots.append([])
            row = 0
        if not ln.strokes:
            if row == 0 and len(slots) > 1:     # no blank line at the top of a continued page
                line_page.append(-1)
                continue
            line_page.append(len(slots) - 1)
            row += 1
            continue
        pts = np.concatenate(ln.strokes)
        origin = np.array([pts[:, 0].min(), np.median(pts[:, 1])])
        size, dy, tilt = 1.0, 0.0, 0.0
        if layout.straighten:
            tilt = -baseline_angle(pts)
        if v:   # a hand never keeps exactly the same size and baseline from line to line
            size, dy = 1 + 0.035 * v * noise(), 0.05 * v * pitch * noise()
            tilt += np.radians(0.6 * v * noise())
        rot = np.array([[np.cos(tilt), np.sin(tilt)], [-np.sin(tilt), np.cos(tilt)]])
        placed = [((st - origin) * s * size) @ rot for st in ln.strokes]
        allp = np.concatenate(placed)
        width = float(allp[:, 0].max() - allp[:, 0].min())
        if width > line_w:
            placed = [p * (line_w / width) for p in placed]
            allp = allp * (line_w / width)
            width = line_w
            shrunk.append(i)
        x_left = float(allp[:, 0].min())
        dx = margin - x_left + {"left": 0.0, "center": (line_w - width) / 2, "right": line_w - width}[layout.align]
        # the line's median height sits on its slot (levelling moved it: it turns about the left end)
        y = margin + (row + 0.5) * pitch + dy - float(np.median(allp[:, 1]))
        slots[-1].append(InkLine([p + np.array([dx, y]) for p in placed], ln.color or color, stroke_width))
        line_page.append(len(slots) - 1)
        row += 1
    paper = layout.paper_mm()
    size_px = page_size_px(layout, len([p for p in line_page if p >= 0]))
    if paper:
        pages = [Page(*size_px, ls, size_mm=paper, ink_height_px=ink_px, pitch_px=pitch,
                      first_line_y=margin + 0.5 * pitch) for ls in slots]
    else:   # one page as tall as the text
        pages = [Page(*size_px, slots[0], ink_height_px=ink_px, pitch_px=pitch, first_line_y=margin + 0.5 * pitch)]
    return pages, line_page, shrunk


def page_size_px(layout: ParagraphLayout, rows: int) -> tuple[float, float]:
    """A page's (width, height) in CSS px: the paper's, or without one, as tall as `rows` lines."""
    px = 1.0 / MM_PER_PX
    paper = layout.paper_mm()
    if paper:
        return paper[0] * px, paper[1] * px
    return (layout.line_width_mm() + 2 * layout.margin_mm) * px, \
        (2 * layout.margin_mm + max(1, rows) * layout.pitch_mm()) * px
