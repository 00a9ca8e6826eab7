"""Turning the loosely typed values of a form or an API call into the library's request objects:
`LineSpec`s, and the plotter, G-code, animation and paragraph options. Each parser raises InputError
naming every problem at once. This is the web front end's one request check; it imports no Gradio, so
it is tested without a server. (The library checks the request again in Hand: these parsers only turn
strings and numbers into typed values and name bad ones in the form's own words.)

The API's inputs hand each value over exactly as the request sent it (scribe.web.api), so every parser
here takes any JSON value: a string, a number, NaN or Infinity, a list, an object, true or false.
Messages show at most a few dozen characters of what was sent.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

from ..errors import InputError
from ..request import (BIAS_RANGE, DEFAULT_BIAS, DEFAULT_CANDIDATES, DEFAULT_COLOR, DEFAULT_WIDTH, MAX_CHARS_PER_LINE,
                       LIKENESS_RANGE, MAX_LINES, SEED_LIMIT, WIDTH_RANGE, LineSpec)
from ..render.animate import SPEED_RANGE, AnimationOptions
from ..render.page import DEFAULT_LINE_SPACING, LINE_SPACING_RANGE, Layout, size_mm
from ..render.paper import PAPER_KINDS, PITCH_RANGE_MM, PaperOptions, line_spacing_for
from ..render.paragraph import ALIGNS, ParagraphLayout, wrap_text
from ..render.plotter import GcodeOptions, PlotterOptions

DEFAULT_DPI = 192
DPI_RANGE = (24, 600)
DEFAULT_WRAP = 60                  # quick mode wraps at this many characters (IAM lines: median 29, max 64)
FREE_STYLE = "free"                # the style choice meaning "no priming: the model's own average hand"
ROW_KEYS = ("text", "style", "bias", "color", "width", "likeness")     # one line's fields (specs_from_rows)

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB = re.compile(r"rgba?\(\s*[\d.]+%?\s*,\s*[\d.]+%?\s*,\s*[\d.]+%?\s*(?:,\s*[\d.]+%?\s*)?\)$")
# Named colours accepted besides hex and rgb(): the ones people actually write ink in.
NAMED_COLORS = {"black", "white", "gray", "grey", "darkgray", "darkgrey", "dimgray", "dimgrey", "red",
                "darkred", "crimson", "maroon", "green", "darkgreen", "blue", "darkblue", "navy",
                "midnightblue", "royalblue", "purple", "indigo", "brown", "saddlebrown", "orange",
                "teal", "darkslategray", "darkslategrey"}
PAPERS = [("A4", "a4"), ("A5", "a5"), ("Letter", "letter")]
PARAGRAPH_PAGES = PAPERS + [("No page (one long sheet)", "none")]
# One default each, read from the option objects, so the UI, the API and the CLI agree.
PLOTTER_MARGIN_MM = PlotterOptions().margin_mm
PARAGRAPH_MARGIN_MM = ParagraphLayout().margin_mm


# ---- single values ---------------------------------------------------------------------------------
SHOWN_CHARS = 40                   # a value echoed in a message is cut to this many characters


def shown(value) -> str:
    """A value as a message shows it: its repr, cut short (a 300-character text is not echoed whole)."""
    r = repr(value)
    return r if len(r) <= SHOWN_CHARS else r[:SHOWN_CHARS - 1] + "…"


def _float(value) -> float | None:
    """A number from a number or a numeric string; None for anything else (bools, lists, objects...)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):   # OverflowError: an integer beyond any float
        return None


def parse_text(value, name: str) -> str | None:
    """A text field: a string, or None when it was left out."""
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{name} must be text (a string), not {type(value).__name__} {shown(value)}")


def parse_flag(value, name: str) -> bool:
    """A checkbox: true/false (also 0/1 and the strings "true"/"false"); left out is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise InputError(f"{name} must be true or false, not {shown(value)}")


def parse_wrap(value) -> int | None:
    """Quick mode's wrap width in characters; None or 0: no wrapping; a blank string: the default."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return DEFAULT_WRAP
    f = _float(value)
    if f is None or not math.isfinite(f) or not f.is_integer():
        raise InputError(f"wrap width must be a whole number of characters, not {shown(value)}")
    if f == 0:
        return None
    if not 5 <= f <= MAX_CHARS_PER_LINE:
        raise InputError(f"wrap width must be between 5 and {MAX_CHARS_PER_LINE} characters, not {shown(value)}")
    return int(f)


# ---- form values -> LineSpecs ------------------------------------------------------------------
def parse_style(value, n: int | None = None) -> int | None:
    """A style choice from the UI or the API: None / "" / "free" -> None, else an integer id."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", FREE_STYLE, "none")):
        return None
    f = _float(value)
    if f is None or math.isnan(f):
        raise InputError(f"{_where(n)}style must be a style id (an integer) or \"free\", not {shown(value)}")
    if not f.is_integer():
        raise InputError(f"{_where(n)}style must be a whole number, not {shown(value)}")
    return int(f)


def parse_color(value, n: int | None = None) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_COLOR
    c = value.strip() if isinstance(value, str) else ""
    if c and (_HEX.match(c) or _RGB.match(c.lower()) or c.lower() in NAMED_COLORS):
        return c
    raise InputError(f"{_where(n)}ink colour {shown(value)} is not a colour: use #rrggbb, rgb(r, g, b) or a name "
                     f"such as black, navy or darkblue")


def parse_number(value, name: str, lo: float, hi: float, default: float, n: int | None = None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    f = _float(value)
    if f is None:
        raise InputError(f"{_where(n)}{name} must be a number, not {shown(value)}")
    if not math.isfinite(f) or not lo <= f <= hi:
        raise InputError(f"{_where(n)}{name} {shown(value)} is outside the allowed range {lo:g}-{hi:g}")
    return f


def parse_candidates(value):
    """Candidates per line for the legibility check: blank means the default. A number outside 1-16
    goes through as it is: Hand writes without the check and the summary says why. Anything that is
    not a number is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_CANDIDATES
    f = _float(value)
    if f is None or math.isnan(f):
        raise InputError(f"candidates per line must be a whole number from 1 to 16, not {shown(value)}")
    return value


def parse_seed(value) -> int | None:
    """Blank means random; otherwise a whole number 0 .. 2**32-1 (NaN is refused, like "nan": it is
    not blank, and a client that sends it meant a number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    f = _float(value)
    if f is None:
        raise InputError(f"seed must be a whole number (or blank for random), not {shown(value)}")
    if not math.isfinite(f) or not f.is_integer() or not 0 <= f < SEED_LIMIT:
        raise InputError(f"seed must be a whole number from 0 to {SEED_LIMIT - 1} (or blank for random), "
                         f"not {shown(value)}")
    return int(f)


def parse_dpi(value) -> float:
    return parse_number(value, "PNG resolution (dpi)", *DPI_RANGE, default=DEFAULT_DPI)


def parse_align(value) -> str:
    a = "left" if value is None or (isinstance(value, str) and not value.strip()) else value
    a = a.strip().lower() if isinstance(a, str) else None
    if a not in ALIGNS:
        raise InputError(f"align must be one of {', '.join(ALIGNS)}, not {shown(value)}")
    return a


def _where(n: int | None) -> str:
    return f"line {n}: " if n is not None else ""


def parse_likeness(value, n: int | None = None) -> float | None:
    """How much of a bank style's fitted hand: blank (or "own") is the style's own, else a number 0-1."""
    if isinstance(value, str) and value.strip().lower() == "own":
        return None
    return None if value is None or (isinstance(value, str) and not value.strip()) \
        else parse_number(value, "likeness", *LIKENESS_RANGE, default=0.0, n=n)


def spec(text, style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR, width=DEFAULT_WIDTH,
         n: int | None = None, likeness=None) -> LineSpec:
    """One LineSpec from loosely typed form or API values; InputError names everything wrong with it."""
    problems, values = [], []
    if text is not None and not isinstance(text, str):
        problems.append(f"{_where(n)}text must be a string, not {type(text).__name__} {shown(text)}")
    for parse in (lambda: parse_style(style, n),
                  lambda: parse_number(bias, "bias", *BIAS_RANGE, default=DEFAULT_BIAS, n=n),
                  lambda: parse_color(color, n),
                  lambda: parse_number(width, "stroke width", *WIDTH_RANGE, default=DEFAULT_WIDTH, n=n),
                  lambda: parse_likeness(likeness, n)):
        try:
            values.append(parse())
        except InputError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))
    return LineSpec(text or "", *values)


def specs_from_rows(rows) -> tuple[list[LineSpec], list[str]]:
    """Per-line rows (dicts with text/style/bias/color/width/likeness, or bare strings) -> (specs, notes).

    An empty row inside the document stays as a blank gap, so that "line n" in every message is the
    user's row n; empty rows at the end are dropped. Every problem in every row is reported at once.
    """
    if isinstance(rows, dict) and "lines" in rows:
        rows = rows["lines"]
    if not isinstance(rows, list):
        raise InputError("lines must be a list: each item a string, or an object with text, style, bias, "
                         "color, width and likeness")
    specs, problems, gaps = [], [], []
    for n, row in enumerate(rows, start=1):
        if isinstance(row, str) or row is None:
            row = {"text": row}
        if not isinstance(row, dict):
            problems.append(f"line {n}: expected a string or an object, not {type(row).__name__}")
            continue
        unknown_keys = set(row) - set(ROW_KEYS)
        if unknown_keys:
            problems.append(f"line {n}: unknown field(s) {', '.join(sorted(map(str, unknown_keys)))}; "
                            f"use {', '.join(ROW_KEYS)}")
            continue
        text = row.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            specs.append(LineSpec(""))
            gaps.append(n)
            continue
        try:
            specs.append(spec(text, row.get("style"), row.get("bias"), row.get("color"), row.get("width"), n=n,
                              likeness=row.get("likeness")))
        except InputError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))
    while specs and not specs[-1].text:
        specs.pop()
    gaps = [n for n in gaps if n <= len(specs)]
    if not specs:
        raise InputError("every line is empty: type some text to write")
    notes = [f"line{'s' if len(gaps) > 1 else ''} {', '.join(map(str, gaps))} "
             f"{'are' if len(gaps) > 1 else 'is'} empty and left as a blank gap (remove it to close the gap)"] \
        if gaps else []
    return specs, notes


def split_block(text: str, wrap_at: int | None = DEFAULT_WRAP) -> tuple[list[str], list[str]]:
    """Quick mode: one block of text -> lines (split on newlines, long lines wrapped at word breaks).

    Blank lines inside the block stay as gaps between paragraphs; blank lines at either end are dropped.
    Returns (lines, notes).
    """
    text = parse_text(text, "the text")
    if text is None or not text.strip():
        raise InputError("nothing to write: type some text")
    wrap_at = parse_wrap(wrap_at)
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while raw and not raw[0].strip():
        raw.pop(0)
    while raw and not raw[-1].strip():
        raw.pop()
    lines, wrapped = [], 0
    for line in raw:
        line = " ".join(line.split())
        if wrap_at and len(line) > wrap_at:
            lines += wrap_text(line, lambda _: True, max_chars=int(wrap_at))   # words are never split
            wrapped += 1
        else:
            lines.append(line)
    notes = [f"wrapped {wrapped} long line{'s' if wrapped > 1 else ''} at {int(wrap_at)} characters"] \
        if wrapped else []
    return lines, notes


def specs_from_block(text, style=None, bias=DEFAULT_BIAS, color=DEFAULT_COLOR, width=DEFAULT_WIDTH,
                     wrap_at: int | None = DEFAULT_WRAP, likeness=None) -> tuple[list[LineSpec], list[str]]:
    lines, notes = split_block(text, wrap_at)
    if len(lines) > MAX_LINES:
        raise InputError(f"too many lines: {len(lines)} after splitting"
                         f"{' and wrapping' if notes else ''}; the limit is {MAX_LINES} per request")
    first = spec("x", style, bias, color, width, likeness=likeness)    # validate the shared settings once
    return [replace(first, text=t) for t in lines], notes


# ---- features' options ----------------------------------------------------------------------------
def _text_option(value, default: str, name: str) -> str:
    value = parse_text(value, name)
    return default if value is None or not value.strip() else value.strip()


def plotter_options(paper=None, landscape=False, margin_mm=None) -> PlotterOptions:
    paper = _text_option(paper, "a4", "paper").lower()
    if paper not in {v for _, v in PAPERS}:
        raise InputError(f"paper {shown(paper)} must be one of a4, a5, letter")
    return PlotterOptions(paper=paper, landscape=parse_flag(landscape, "landscape"),
                          margin_mm=parse_number(margin_mm, "margin (mm)", 0, 100, PLOTTER_MARGIN_MM))


def gcode_options(pen_up=None, pen_down=None, draw_feed=None, travel_feed=None, origin=None,
                  units=None) -> GcodeOptions:
    d = GcodeOptions()
    travel = parse_number(travel_feed, "travel feed (mm/min)", 0, 100_000, 0.0)
    o = GcodeOptions(pen_up=_text_option(pen_up, d.pen_up, "pen_up"),
                     pen_down=_text_option(pen_down, d.pen_down, "pen_down"),
                     draw_feed=parse_number(draw_feed, "drawing feed (mm/min)", 1, 100_000, d.draw_feed),
                     travel_feed=travel or None,        # 0 or blank: rapid G0 moves
                     origin=_text_option(origin, d.origin, "origin"), units=_text_option(units, d.units, "units"))
    o.check()
    return o


def animation_options(speed=None, loop=False, method: str = "smil") -> AnimationOptions:
    o = AnimationOptions(speed=parse_number(speed, "speed", *SPEED_RANGE, 1.0), loop=parse_flag(loop, "loop"),
                         method=method)
    o.check()
    return o


def paragraph_layout(page=None, landscape=False, margin_mm=None, width_mm=None, size_mm=None, line_spacing=None,
                     align=None, variation=None) -> ParagraphLayout:
    page = _text_option(page, "a4", "page").lower()
    width = parse_number(width_mm, "line width (mm)", 0, 2000, 0.0)
    layout = ParagraphLayout(page=None if page == "none" else page, landscape=parse_flag(landscape, "landscape"),
                             margin_mm=parse_number(margin_mm, "margin (mm)", 0, 100, PARAGRAPH_MARGIN_MM),
                             width_mm=width or None,     # 0 or blank: the page inside its margins
                             ink_height_mm=parse_size(size_mm),
                             line_spacing=parse_number(line_spacing, "line spacing", *LINE_SPACING_RANGE,
                                                       DEFAULT_LINE_SPACING),
                             align=parse_align(align),
                             variation=parse_number(variation, "variation", 0, 2, 0.0))
    try:
        layout.check()
    except ValueError as e:
        raise InputError(str(e)) from None
    return layout


def limits_text() -> str:
    return (f"Up to {MAX_LINES} lines of at most {MAX_CHARS_PER_LINE} characters; bias "
            f"{BIAS_RANGE[0]:g}-{BIAS_RANGE[1]:g} (higher is neater); PNG {DPI_RANGE[0]}-{DPI_RANGE[1]} dpi.")


# ---- writing size, line spacing and paper (one definition: scribe.render.page, scribe.render.paper) ----
PAPER_CHOICES = [(k.capitalize(), k) for k in PAPER_KINDS]


def parse_size(value) -> float:
    """Writing size in mm from a number (mm) or "24px"; blank: the default."""
    if isinstance(value, float) and math.isnan(value):
        value = None
    if not (value is None or isinstance(value, str) or _float(value) is not None):
        raise InputError(f"writing size must be a number of mm or a text such as \"24px\", not {shown(value)}")
    try:
        return size_mm(value)
    except ValueError as e:
        raise InputError(str(e)) from None


def paper_options(paper=None, rule_pitch=None, rule_color=None) -> PaperOptions | None:
    """None for no paper (blank); a rule pitch of 0 or blank follows the writing's line spacing."""
    kind = _text_option(paper, "", "paper").lower()
    pitch = parse_number(rule_pitch, "rule pitch (mm)", 0, PITCH_RANGE_MM[1], 0.0)
    if not kind and not pitch:
        return None
    try:
        return PaperOptions(kind or "ruled", pitch or None,
                            _text_option(rule_color, PaperOptions.color, "rule colour")).check()
    except ValueError as e:
        raise InputError(str(e)) from None


def line_look(size=None, line_spacing=None, align=None, paper=None, rule_pitch=None, rule_color=None
              ) -> tuple[Layout, PaperOptions | None]:
    """Line mode's layout and paper from form or API values. A rule pitch sets the line spacing, so that
    each line of writing sits on a rule."""
    mm = parse_size(size)
    spacing = parse_number(line_spacing, "line spacing", *LINE_SPACING_RANGE, DEFAULT_LINE_SPACING)
    sheet = paper_options(paper, rule_pitch, rule_color)
    if sheet is not None and sheet.pitch_mm:
        spacing = line_spacing_for(sheet.pitch_mm, mm)
    try:
        return Layout.sized(mm, spacing, parse_align(align)), sheet
    except ValueError as e:
        raise InputError(f"{e} (the rule pitch over the writing size)" if sheet and sheet.pitch_mm else str(e)) from None


def paragraph_look(values) -> tuple[ParagraphLayout, PaperOptions | None]:
    """Paragraph mode's layout and paper from a form's or a request's values by name (page, margin_mm,
    width_mm, size_mm, line_spacing, align, variation, paper, rule_pitch, rule_color; a missing one is
    blank: its default); a rule pitch sets the line spacing, as in line mode."""
    v = values.get
    sheet = paper_options(v("paper"), v("rule_pitch"), v("rule_color"))
    line_spacing = v("line_spacing")
    if sheet is not None and sheet.pitch_mm:
        line_spacing = line_spacing_for(sheet.pitch_mm, parse_size(v("size_mm")))
    return paragraph_layout(v("page"), False, v("margin_mm"), v("width_mm"), v("size_mm"), line_spacing, v("align"),
                            v("variation")), sheet
