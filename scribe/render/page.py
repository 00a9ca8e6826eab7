"""Putting lines of ink on a page: layout, SVG (svgwrite) and PNG (cairosvg). Every other format is
written by scribe.render.export, which imports this module, never the other way round.

Every pen-down stroke becomes one unfilled path with round caps, and there is no background
rectangle, so a pen plotter draws exactly the handwriting. The PNG gets its white background from the
rasteriser, not from the SVG. Page coordinates are CSS pixels (96 per inch), y down.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import ink
from ..errors import ScribeError
from ..files import atomic_write_bytes

CSS_DPI = 96.0
MM_PER_PX = 25.4 / CSS_DPI
# Paper presets, portrait (width, height) in mm.
PAPER_SIZES_MM = {"a4": (210.0, 297.0), "a5": (148.0, 210.0), "letter": (215.9, 279.4)}
# Every PNG, from every front end: about 160 MB of RGBA while cairo rasterises it.
MAX_PNG_PIXELS = 40_000_000
_UNIT_PX = {"": 1.0, "px": 1.0, "mm": 1 / MM_PER_PX, "cm": 10 / MM_PER_PX, "in": CSS_DPI, "pt": CSS_DPI / 72}
_SVG_TAG = re.compile(r"<svg\b[^>]*>", re.S)
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB = re.compile(r"rgba?\(\s*[\d.]+%?\s*,\s*[\d.]+%?\s*,\s*[\d.]+%?\s*(?:,\s*[\d.]+%?\s*)?\)$")


class RenderError(ScribeError, ValueError):
    """Output that cannot be made as asked (a PNG over the pixel limit, a bad resolution or colour)."""
    title = "Output settings"


def check_color(value) -> str:
    """An ink colour every output can draw: #rgb / #rrggbb (with alpha), rgb()/rgba(), or a CSS name."""
    from PIL import ImageColor
    c = value.strip() if isinstance(value, str) else ""
    if c and len(c) <= 40 and (_HEX.match(c) or _RGB.match(c.lower()) or c.lower() in ImageColor.colormap):
        return c
    shown = repr(value)[:30] if isinstance(value, str) else type(value).__name__
    raise RenderError(f"ink colour {shown} is not a colour: use #rrggbb, rgb(r, g, b) or a CSS name such "
                      f"as black, navy or darkblue")


def svg_size_px(svg: str) -> tuple[float, float]:
    """(width, height) in CSS px of an SVG document, from its root's width/height (else its viewBox)."""
    tag = _SVG_TAG.search(svg[:4096])
    attrs = dict(re.findall(r'([\w:-]+)="([^"]*)"', tag.group(0))) if tag else {}
    out = []
    for key, i in (("width", 2), ("height", 3)):
        m = re.fullmatch(r"\s*([\d.]+(?:[eE][-+]?\d+)?)\s*(px|mm|cm|in|pt)?\s*", attrs.get(key, ""))
        if m:
            out.append(float(m.group(1)) * _UNIT_PX[m.group(2) or ""])
            continue
        box = attrs.get("viewBox", "").replace(",", " ").split()
        try:
            out.append(float(box[i]))
        except (IndexError, ValueError):
            raise RenderError("cannot tell the size of the SVG to rasterise") from None
    return out[0], out[1]


MAX_DPI = 10_000.0


def check_dpi(dpi) -> float:
    """A resolution in dots per inch: a finite number above 0 and at most MAX_DPI (the pixel limit
    then decides what a given page can have)."""
    try:
        f = float(dpi)
    except (TypeError, ValueError):
        raise RenderError(f"PNG resolution must be a number of dpi, not {str(dpi)[:20]!r}") from None
    if not math.isfinite(f) or not 0 < f <= MAX_DPI:
        raise RenderError(f"PNG resolution {f:g} dpi is outside 1-{MAX_DPI:g} dpi")
    return f


def max_png_dpi(width_px: float, height_px: float, max_pixels: int = MAX_PNG_PIXELS) -> float:
    """The highest whole dpi at which a page of this size stays within `max_pixels`."""
    return float(math.floor(CSS_DPI * math.sqrt(max_pixels / max(1.0, width_px * height_px))))


# The writing size and the line spacing: one definition for line mode, paragraph mode, the app, the API
# and the CLI. The size is the typical ink height (descender to ascender spread) of the writing; the
# spacing is the line pitch in writing sizes.
DEFAULT_SIZE_MM = 6.0
SIZE_RANGE_MM = (2.0, 40.0)
DEFAULT_LINE_SPACING = 1.7
LINE_SPACING_RANGE = (0.8, 5.0)


def size_mm(value) -> float:
    """A writing size in mm from 6, "6", "6mm" or "24px" (CSS px, 96 per inch); blank: the default.
    Raises ValueError naming the value and the range."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_SIZE_MM
    text = str(value).strip().lower()
    scale = MM_PER_PX if text.endswith("px") else 1.0
    try:
        mm = float(text[:-2] if text.endswith(("px", "mm")) else text) * scale
    except ValueError:
        raise RenderError(f"writing size {value!r} must be a number of mm, or of px ending in px (24px)") from None
    lo, hi = SIZE_RANGE_MM
    if not lo <= mm <= hi:    # also false for nan
        raise RenderError(f"writing size {value} is outside {lo:g}-{hi:g} mm ({lo / MM_PER_PX:.0f}-"
                         f"{hi / MM_PER_PX:.0f} px)")
    return mm


@dataclass
class InkLine:
    strokes: list[np.ndarray]    # y down, in the model's units
    color: str = "#000000"
    width: float = 1.5           # stroke width in px


@dataclass
class Layout:
    x_height_px: float = DEFAULT_SIZE_MM / MM_PER_PX   # the writing size: the typical ink height, in px
    line_spacing: float = DEFAULT_LINE_SPACING         # line pitch, in ink heights
    margin_px: float = 24.0
    align: str = "left"          # left, center, right

    def check(self) -> None:
        """RenderError naming every setting that would put NaN or nonsense coordinates in the SVG."""
        problems = []
        for name, lo, hi in (("x_height_px", 1.0, 1000.0), ("line_spacing", 0.5, 10.0), ("margin_px", 0.0, 2000.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                problems.append(f"{name.replace('_', ' ')} {str(v)[:20]} is not a number in {lo:g}-{hi:g}")
        if self.align not in ("left", "center", "right"):
            problems.append(f"align {str(self.align)[:20]!r} must be left, center or right")
        if problems:
            raise RenderError("; ".join(problems))


    @classmethod
    def sized(cls, size=None, line_spacing=None, align: str = "left") -> "Layout":
        """A layout from the writing size (see `size_mm`) and line spacing the user gave (None: defaults)."""
        spacing = DEFAULT_LINE_SPACING if line_spacing is None else float(line_spacing)
        lo, hi = LINE_SPACING_RANGE
        if not lo <= spacing <= hi:
            raise RenderError(f"line spacing {line_spacing} is outside {lo:g}-{hi:g}")
        return cls(x_height_px=size_mm(size) / MM_PER_PX, line_spacing=spacing, align=align)


@dataclass
class Page:
    width: float
    height: float
    lines: list[InkLine] = field(default_factory=list)   # strokes already in page px
    size_mm: tuple[float, float] | None = None   # set when the page is a sheet of paper (paragraph mode)
    ink_height_px: float | None = None           # the typical ink height in px (paces the animation)
    pitch_px: float | None = None                # the line pitch; ruled paper follows it (render/paper.py)
    first_line_y: float | None = None            # where the first line's median height sits, in px


def layout_page(lines: list[InkLine], ink_height: float, layout: Layout | None = None) -> Page:
    """Scale lines to px, left-align them (or centre/right) and stack them at a fixed pitch.

    Each line is placed by the median height of its ink, which follows the writing's body (x-height)
    and is steadier than the bounding box, which ascenders and descenders push about.
    """
    layout = layout or Layout()
    layout.check()
    s = layout.x_height_px / ink_height
    pitch = layout.line_spacing * layout.x_height_px
    placed, widths = [], []
    for ln in lines:
        if not ln.strokes:
            placed.append(InkLine([], ln.color, ln.width))
            widths.append(0.0)
            continue
        pts = np.concatenate(ln.strokes)
        x0, mid = pts[:, 0].min(), np.median(pts[:, 1])
        placed.append(InkLine([np.column_stack([(st[:, 0] - x0) * s, (st[:, 1] - mid) * s])
                               for st in ln.strokes], ln.color, ln.width))
        widths.append(float((pts[:, 0].max() - x0) * s))
    content_w = max(widths, default=0.0)
    page_w = content_w + 2 * layout.margin_px
    for i, (ln, w) in enumerate(zip(placed, widths)):
        dx = layout.margin_px + {"left": 0.0, "center": (content_w - w) / 2,
                                 "right": content_w - w}[layout.align]
        dy = layout.margin_px + (i + 0.5) * pitch
        ln.strokes = [st + np.array([dx, dy]) for st in ln.strokes]
    top = min((float(st[:, 1].min()) for ln in placed for st in ln.strokes), default=0.0)
    bottom = max((float(st[:, 1].max()) for ln in placed for st in ln.strokes), default=0.0)
    # Grow the page where ink pokes past the nominal slots (tall ascenders on the first line).
    shift = max(0.0, layout.margin_px - top)
    if shift:
        for ln in placed:
            ln.strokes = [st + np.array([0.0, shift]) for st in ln.strokes]
    page_h = max(layout.margin_px * 2 + len(lines) * pitch, bottom + shift + layout.margin_px)
    return Page(page_w, page_h, placed, ink_height_px=layout.x_height_px, pitch_px=pitch,
                first_line_y=layout.margin_px + 0.5 * pitch + shift)


def stroke_path(points: np.ndarray, precision: int = 2) -> str:
    """SVG path data for one stroke: a smooth quadratic spline through the midpoints of its segments."""
    f = lambda v: f"{v:.{precision}f}".rstrip("0").rstrip(".")
    p = points
    if len(p) == 1:   # a dot: a zero-length line, which round caps draw as a dot
        return f"M{f(p[0, 0])} {f(p[0, 1])}l0 0"
    if len(p) == 2:
        return f"M{f(p[0, 0])} {f(p[0, 1])}L{f(p[1, 0])} {f(p[1, 1])}"
    first_mid = (p[0] + p[1]) / 2
    parts = [f"M{f(p[0, 0])} {f(p[0, 1])}L{f(first_mid[0])} {f(first_mid[1])}"]
    # Each interior point is a control point; the curve passes through the midpoints around it.
    for ctrl, end in zip(p[1:-1], (p[1:-1] + p[2:]) / 2):
        parts.append(f"Q{f(ctrl[0])} {f(ctrl[1])} {f(end[0])} {f(end[1])}")
    parts.append(f"L{f(p[-1, 0])} {f(p[-1, 1])}")
    return "".join(parts)


def flatten_stroke(points: np.ndarray, per_curve: int = 4) -> np.ndarray:
    """The polyline that `stroke_path` draws: each quadratic piece cut into `per_curve` straight
    segments. G-code and the GIF animation trace this, so every output shows the same curve."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) <= 2:
        return p.copy()
    mids = (p[:-1] + p[1:]) / 2
    t = (np.arange(1, per_curve + 1) / per_curve)[:, None, None]          # (k, 1, 1)
    start, ctrl, end = mids[:-1][None], p[1:-1][None], mids[1:][None]     # (1, m, 2)
    curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * ctrl + t * t * end    # (k, m, 2)
    curve = curve.transpose(1, 0, 2).reshape(-1, 2)
    return np.concatenate([p[:1], mids[:1], curve, p[-1:]])


def paper_size_mm(paper: str, landscape: bool = False) -> tuple[float, float]:
    """(width, height) in mm of a paper preset; raises ValueError naming the presets."""
    key = str(paper).strip().lower()
    if key not in PAPER_SIZES_MM:
        raise ValueError(f"unknown page size {paper!r}; choose one of {', '.join(PAPER_SIZES_MM)}")
    w, h = PAPER_SIZES_MM[key]
    return (h, w) if landscape else (w, h)


def page_to_svg(page: Page) -> str:
    import svgwrite
    w, h = round(page.width, 2), round(page.height, 2)
    dwg = svgwrite.Drawing(size=(f"{w}px", f"{h}px"), viewBox=f"0 0 {w} {h}", profile="full")
    for i, ln in enumerate(page.lines):
        group = dwg.g(id=f"line-{i + 1}", fill="none", stroke=ln.color, stroke_width=ln.width,
                      stroke_linecap="round", stroke_linejoin="round")
        for st in ln.strokes:
            group.add(dwg.path(d=stroke_path(st)))
        dwg.add(group)
    return dwg.tostring()


def svg_to_png(svg: str, dpi: float = 192.0, max_pixels: int = MAX_PNG_PIXELS) -> bytes:
    """Rasterise on white; `dpi` counts the SVG's px as CSS pixels (96 per inch). A PNG over
    `max_pixels` is refused (RenderError naming the highest dpi that fits) before cairo allocates it."""
    import cairosvg
    dpi = check_dpi(dpi)
    w, h = svg_size_px(svg)
    scale = dpi / CSS_DPI
    pixels = w * scale * h * scale
    if pixels > max_pixels:
        raise RenderError(f"a PNG of this page at {dpi:g} dpi would be {w * scale:,.0f} x {h * scale:,.0f} pixels "
                          f"({pixels / 1e6:,.0f} megapixels); the limit is {max_pixels / 1e6:g} megapixels: "
                          f"use at most {max_png_dpi(w, h, max_pixels):g} dpi for this page")
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale, background_color="white")


def save_svg(svg: str, path: str | Path) -> Path:
    return atomic_write_bytes(path, svg.encode("utf-8"))


def save_png(svg: str, path: str | Path, dpi: float = 192.0) -> Path:
    return atomic_write_bytes(path, svg_to_png(svg, dpi))


def offsets_to_ink_line(offsets: np.ndarray, color: str = "#000000", width: float = 1.5) -> InkLine:
    return InkLine(ink.offsets_to_strokes(offsets), color, width)
