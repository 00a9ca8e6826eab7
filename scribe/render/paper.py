"""Paper behind the writing: ruled, grid or dotted, for PNG and PDF only.

It is never in the plain or the plotter SVG: a plotter would draw every rule. The rules follow the
writing, not the other way round: they are spaced at the page's line pitch and sit on the lines'
baselines, so a front end that lets the user choose the rule pitch sets the writing's line spacing from
it (`line_spacing_for`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .page import MM_PER_PX, Page, page_to_svg

PAPER_KINDS = ("plain", "ruled", "grid", "dotted")
PITCH_RANGE_MM = (3.0, 40.0)
DEFAULT_RULE_COLOR = "#a9c4e0"      # the pale blue of a school exercise book
_COLOR = re.compile(r"(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


@dataclass
class PaperOptions:
    kind: str = "plain"                 # plain (white), ruled, grid, dotted
    pitch_mm: float | None = None       # None: the writing's own line pitch
    color: str = DEFAULT_RULE_COLOR

    def check(self) -> "PaperOptions":
        problems = []
        self.kind = str(self.kind or "plain").strip().lower()
        if self.kind not in PAPER_KINDS:
            problems.append(f"paper {self.kind!r} must be one of {', '.join(PAPER_KINDS)}")
        if self.pitch_mm is not None and not PITCH_RANGE_MM[0] <= float(self.pitch_mm) <= PITCH_RANGE_MM[1]:
            problems.append(f"rule pitch {self.pitch_mm} mm is outside {PITCH_RANGE_MM[0]:g}-{PITCH_RANGE_MM[1]:g} mm")
        if not _COLOR.match(str(self.color or "").strip()):
            problems.append(f"rule colour {self.color!r} is not a colour: use #rrggbb or a name")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def line_spacing_for(pitch_mm: float, size_mm: float) -> float:
    """The line spacing (in writing sizes) that puts one line of writing on every rule."""
    return float(pitch_mm) / float(size_mm)


def baseline_offset(page: Page) -> float:
    """How far below a line's median height its baseline lies, in px: the median over the page's lines
    of the 80th percentile of each line's y (y down), less the line's median. Ascenders and
    descenders move the bounding box about; the body of the writing sits steadily above this."""
    offsets = []
    for ln in page.lines:
        if ln.strokes:
            y = np.concatenate(ln.strokes)[:, 1]
            offsets.append(float(np.percentile(y, 80) - np.median(y)))
    if offsets:
        return float(np.median(offsets))
    return 0.25 * (page.ink_height_px or 0.0)


def rule_rows(page: Page, paper: PaperOptions) -> list[float]:
    """The y of every rule on the page, in px: one on each line's baseline, at the line pitch."""
    pitch = page.pitch_px or (paper.pitch_mm or 10.0) / MM_PER_PX
    first = (page.first_line_y if page.first_line_y is not None else pitch / 2) + baseline_offset(page)
    k0 = -int(first // pitch)
    return [first + k * pitch for k in range(k0, int((page.height - first) // pitch) + 1)
            if 0 < first + k * pitch < page.height]


def paper_svg(page: Page, paper: PaperOptions | None) -> str:
    """The page's SVG with the paper drawn behind the ink (for rasterising to PNG or PDF only)."""
    svg = page_to_svg(page)
    if paper is None:
        return svg
    paper.check()
    w, h = page.width, page.height
    parts = [f'<g id="paper"><rect x="0" y="0" width="{w:.2f}" height="{h:.2f}" fill="white"/>']
    if paper.kind != "plain":
        rows = rule_rows(page, paper)
        pitch = page.pitch_px or (paper.pitch_mm or 10.0) / MM_PER_PX
        c, sw = paper.color.strip(), 0.6
        if paper.kind in ("ruled", "grid"):
            parts += [f'<line x1="0" y1="{y:.2f}" x2="{w:.2f}" y2="{y:.2f}" stroke="{c}" stroke-width="{sw}"/>'
                      for y in rows]
        cols = list(np.arange(pitch / 2, w, pitch)) if paper.kind in ("grid", "dotted") else []
        if paper.kind == "grid":
            parts += [f'<line x1="{x:.2f}" y1="0" x2="{x:.2f}" y2="{h:.2f}" stroke="{c}" stroke-width="{sw}"/>'
                      for x in cols]
        if paper.kind == "dotted":
            parts += [f'<circle cx="{x:.2f}" cy="{y:.2f}" r="1.1" fill="{c}"/>' for y in rows for x in cols]
    parts.append("</g>")
    end = svg.index(">", svg.index("<svg")) + 1     # right after the root element's opening tag
    return svg[:end] + "".join(parts) + svg[end:]
