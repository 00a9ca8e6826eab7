"""What a user asks Scribe to write: the one default pen, the limits, and the two requests.

    WriteRequest([LineSpec("Hello", style=3)], seed=7)          # line mode: one line of ink per LineSpec
    ParagraphRequest("A long text...", style=3, seed=7)         # paragraph mode: wrapped and set on pages

Every front end (CLI, app, API, notebook, CSV batch) builds one of these; `check()` names every
problem in one InputError, and `to_json`/`from_json` are the one JSON form of a request, shared by
API bodies, saved documents (scribe.document) and CSV rows. Nothing here loads a model: `check` is
given the model's alphabet and a way to look a style up.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Callable

from . import accents
from .alphabet import Alphabet
from .errors import InputError
from .render.page import MM_PER_PX, Layout, RenderError, check_color
from .render.paper import PaperOptions
from .render.paragraph import PARAGRAPH_MAX_CHARS, ParagraphLayout
from .sampling import MAX_STEP_CAP    # the sampler's own cap: what it can do, so it lives there

# ---- the one default pen ---------------------------------------------------------------------------
DEFAULT_STYLE = None           # unprimed: the model's own average hand
DEFAULT_BIAS = 0.75
DEFAULT_COLOR = "#000000"
DEFAULT_WIDTH = 1.5            # stroke width in px

# ---- the limits ------------------------------------------------------------------------------------
MAX_CHARS_PER_LINE = 90        # IAM-OnDB lines have at most 64 characters; beyond this the window drifts
MAX_LINES = 40
BIAS_RANGE = (0.0, 4.0)
# how much of a bank style's fitted hand (its adapter, scribe.style_adapters) a line applies: 0 is the
# writer's prime alone (the model's neater hand), 1 the adapter as fitted; None: the style's own strength
LIKENESS_RANGE = (0.0, 1.0)
WIDTH_RANGE = (0.2, 10.0)      # stroke width in px
SEED_LIMIT = 2**32             # seeds are 0 .. 2**32-1
MIN_CANDIDATES, MAX_CANDIDATES = 1, 16
DEFAULT_CANDIDATES = 4         # the legibility check's N everywhere (CLI, API, app, Hand.write); 1 turns it off


def unknown_note(unknown, alphabet: Alphabet) -> str:
    """The one wording of the unknown-character problem: only what cannot be written is listed."""
    return (f"this model cannot write {', '.join(repr(c) for c in sorted(unknown))}; it knows: {alphabet.chars} "
            f"and the accented Latin letters (docs/accents.md)")


def finite(value) -> float | None:
    """`value` as a finite float, or None when it is not one (text, NaN, infinity, a list...)."""
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _whole(value, lo: int, hi: int) -> int | None:
    """`value` as an int in lo..hi, or None when it is not one (a fraction, a bool, text, NaN...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not lo <= value <= hi:
        return None
    return int(value)


def check_seed(seed) -> int | None:
    """None (random) or a whole number 0 .. SEED_LIMIT-1; InputError otherwise."""
    if seed is not None and _whole(seed, 0, SEED_LIMIT - 1) is None:
        raise InputError(f"seed must be a whole number from 0 to {SEED_LIMIT - 1}, not {str(seed)[:30]}")
    return None if seed is None else int(seed)


def check_max_steps(max_steps) -> int | None:
    """None (the model's own cap) or a whole number of pen steps 1 .. MAX_STEP_CAP; InputError otherwise."""
    if max_steps is not None and _whole(max_steps, 1, MAX_STEP_CAP) is None:
        raise InputError(f"the step cap must be a whole number from 1 to {MAX_STEP_CAP}, not {str(max_steps)[:30]}")
    return None if max_steps is None else int(max_steps)


def _tries(problems: list[str], check, value, prefix: str = ""):
    """check(value), or None with its message added to `problems`."""
    try:
        return check(value)
    except (InputError, RenderError, ValueError) as e:
        problems.append(prefix + str(e))
        return None


@dataclass
class LineSpec:
    """One line of line mode: its text and the pen it is written with."""
    text: str
    style: int | None = DEFAULT_STYLE      # None: unprimed (the model's own average hand)
    bias: float = DEFAULT_BIAS
    color: str = DEFAULT_COLOR
    width: float = DEFAULT_WIDTH
    likeness: float | None = None          # None: the style's own (chosen by legibility); LIKENESS_RANGE


def check_likeness(likeness) -> float | None:
    """None (the style's own strength) or a number in LIKENESS_RANGE; InputError otherwise."""
    if likeness is None:
        return None
    value = finite(likeness)
    if value is None or not LIKENESS_RANGE[0] <= value <= LIKENESS_RANGE[1]:
        raise InputError(f"likeness {str(likeness)[:20]} is not a number in {LIKENESS_RANGE[0]:g}-{LIKENESS_RANGE[1]:g} "
                         f"(or none for the style's own)")
    return value


def check_pen(style, bias, color, width, text: str, style_of: Callable | None, where: str = ""
              ) -> tuple[list[str], float | None, float | None]:
    """The problems of one pen, each starting with `where` ("line 3: "), and its bias and width as numbers."""
    problems = []
    b = finite(bias)
    if b is None or not BIAS_RANGE[0] <= b <= BIAS_RANGE[1]:
        problems.append(f"{where}bias {str(bias)[:20]} is not a number in {BIAS_RANGE[0]}-{BIAS_RANGE[1]}")
    w = finite(width)
    if w is None or not WIDTH_RANGE[0] <= w <= WIDTH_RANGE[1]:
        problems.append(f"{where}stroke width {str(width)[:20]} is not a number of px in "
                        f"{WIDTH_RANGE[0]:g}-{WIDTH_RANGE[1]:g}")
    _tries(problems, check_color, color, where)
    if style is not None and (isinstance(style, bool) or not isinstance(style, numbers.Integral)):
        problems.append(f"{where}style must be a style id (a whole number) or None, not {str(style)[:20]!r}")
    elif style is not None and text and style_of is not None:
        _tries(problems, style_of, style, where)
    return problems, b, w


# ---- line mode -------------------------------------------------------------------------------------
@dataclass
class WriteRequest:
    """Line mode: every LineSpec is one line of ink, all sampled in one batch, laid out on one page.
    The page look is `layout` (writing size, line spacing, align) and `paper` (drawn in PNG and PDF)."""
    lines: list[LineSpec]
    seed: int | None = None                       # None: a random seed, reported in the result
    layout: Layout = field(default_factory=Layout)
    paper: PaperOptions | None = None
    candidates: int = DEFAULT_CANDIDATES          # the legibility check's N (1: off)
    max_steps: int | None = None                  # pen steps per line at most (None: the model's cap)

    def check(self, alphabet: Alphabet, style_of: Callable | None = None) -> "WriteRequest":
        """The request cleaned (accented letters composed, numbers as numbers), or one InputError naming
        every problem found. `style_of(id)` raises StyleError for a style that cannot be used.
        `candidates` is not a problem: a bad N writes without the legibility check, which says why
        (scribe.candidates.resolve_candidates)."""
        specs = self.lines
        if not isinstance(specs, (list, tuple)) or not specs:
            raise InputError("nothing to write: give at least one line of text")
        if len(specs) > MAX_LINES:
            raise InputError(f"too many lines: {len(specs)}; the limit is {MAX_LINES} per request")
        problems, cleaned, unknown = [], [], set()
        seed = _tries(problems, check_seed, self.seed)
        max_steps = _tries(problems, check_max_steps, self.max_steps)
        if isinstance(self.layout, Layout):
            _tries(problems, Layout.check, self.layout)
        else:
            problems.append(f"layout must be a Layout, not {type(self.layout).__name__}")
        _check_paper(self.paper, problems)
        for n, s in enumerate(specs, start=1):
            if not isinstance(s, LineSpec):
                problems.append(f"line {n}: expected a LineSpec, not {type(s).__name__}")
                continue
            if not isinstance(s.text, (str, type(None))):
                problems.append(f"line {n}: the text must be a string, not {type(s.text).__name__}")
                cleaned.append(s)
                continue
            try:
                text = accents.clean(alphabet, s.text or "")
            except ValueError as e:
                unknown.update(e.unknown)
                text = s.text
            if len(text) > MAX_CHARS_PER_LINE:
                problems.append(f"line {n} has {len(text)} characters; the limit is {MAX_CHARS_PER_LINE} "
                                f"(split it, or use paragraph mode, which wraps)")
            pen_problems, bias, width = check_pen(s.style, s.bias, s.color, s.width, text, style_of, f"line {n}: ")
            problems += pen_problems
            likeness = _tries(problems, check_likeness, s.likeness, f"line {n}: ")
            # a width given as a number is kept as given (3 stays "3" in the SVG); "3" becomes 3.0
            cleaned.append(LineSpec(text, s.style, bias, s.color,
                                    s.width if isinstance(s.width, (int, float)) else width, likeness))
        if unknown:
            problems.insert(0, unknown_note(unknown, alphabet))
        if not any(isinstance(s, LineSpec) and s.text for s in cleaned) and not problems:
            problems.append("every line is empty: type some text to write")
        if problems:
            raise InputError("; ".join(problems))
        return replace(self, lines=cleaned, seed=seed, max_steps=max_steps)

    # ---- the one JSON form ----
    def to_json(self) -> dict:
        return {"seed": self.seed, "candidates": self.candidates, "max_steps": self.max_steps,
                "layout": layout_json(self.layout), "paper": paper_json(self.paper),
                "lines": [pen_json(s, text=s.text) for s in self.lines]}

    @classmethod
    def from_json(cls, data) -> "WriteRequest":
        """The request in `data` (a dict from JSON); InputError naming every field of the wrong type
        or out of range. Values are checked here as JSON; `check()` checks them against a model."""
        problems = []
        if not isinstance(data, dict):
            raise InputError(f"a write request must be a JSON object, not {type(data).__name__}")
        seed, candidates, max_steps = _request_numbers(data, problems)
        layout = _tries(problems, line_layout_from_json, data.get("layout")) or Layout()
        paper = _tries(problems, paper_from_json, data.get("paper"))
        rows = data.get("lines")
        if not isinstance(rows, list) or not rows:
            problems.append("lines must be a non-empty list")
            rows = []
        if len(rows) > MAX_LINES:
            problems.append(f"there are {len(rows)} lines; the limit is {MAX_LINES}")
            rows = []
        specs = []
        for n, row in enumerate(rows, start=1):
            spec = _tries(problems, line_from_json, row, f"line {n}: ")
            if spec is not None:
                specs.append(spec)
        if problems:
            raise InputError("; ".join(problems))
        return cls(specs, seed, layout, paper, candidates, max_steps)


# ---- paragraph mode --------------------------------------------------------------------------------
@dataclass
class ParagraphRequest:
    """Paragraph mode: `text` wrapped to the line width in the hand's own measure, in one pen, set on
    pages by `layout` (scribe.render.paragraph.ParagraphLayout)."""
    text: str
    style: int | None = DEFAULT_STYLE
    bias: float = DEFAULT_BIAS
    color: str = DEFAULT_COLOR
    width: float = DEFAULT_WIDTH
    layout: ParagraphLayout = field(default_factory=ParagraphLayout)
    paper: PaperOptions | None = None
    seed: int | None = None
    candidates: int = DEFAULT_CANDIDATES
    max_steps: int | None = None
    likeness: float | None = None      # as LineSpec.likeness

    def check(self, alphabet: Alphabet, style_of: Callable | None = None) -> "ParagraphRequest":
        """The request cleaned (line ends as \\n, accented letters composed), or one InputError naming
        every problem found."""
        problems = []
        seed = _tries(problems, check_seed, self.seed)
        max_steps = _tries(problems, check_max_steps, self.max_steps)
        layout = replace(self.layout) if isinstance(self.layout, ParagraphLayout) else None
        if layout is None:
            problems.append(f"layout must be a ParagraphLayout, not {type(self.layout).__name__}")
        else:
            _tries(problems, ParagraphLayout.check, layout)
        _check_paper(self.paper, problems)
        if not isinstance(self.text, (str, type(None))):
            raise InputError(f"the text must be a string, not {type(self.text).__name__}")
        text = (self.text or "").replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise InputError("nothing to write: type some text")
        if len(text) > PARAGRAPH_MAX_CHARS:
            problems.append(f"the text has {len(text)} characters; paragraph mode takes up to {PARAGRAPH_MAX_CHARS}")
        unknown = set()
        for raw in text.split("\n"):
            try:
                accents.clean(alphabet, raw)
            except ValueError as e:
                unknown.update(getattr(e, "unknown", []))
        if unknown:
            problems.insert(0, unknown_note(unknown, alphabet))
        long_words = [w for w in text.split() if len(w) > MAX_CHARS_PER_LINE]
        if long_words:
            problems.append(f"a word of {len(long_words[0])} characters cannot fit one line "
                            f"(the limit is {MAX_CHARS_PER_LINE}): {long_words[0][:20]}...")
        pen_problems, bias, width = check_pen(self.style, self.bias, self.color, self.width, text, style_of)
        problems += pen_problems
        likeness = _tries(problems, check_likeness, self.likeness)
        if problems:
            raise InputError("; ".join(problems))
        text = "\n".join(accents.clean(alphabet, raw) if raw.strip() else "" for raw in text.split("\n"))
        return replace(self, text=text, bias=bias, width=self.width if isinstance(self.width, (int, float)) else width,
                       layout=layout, seed=seed, max_steps=max_steps, likeness=likeness)

    @property
    def pen(self) -> LineSpec:
        """The pen every wrapped line is written with, as a LineSpec of no text yet."""
        return LineSpec("", self.style, self.bias, self.color, self.width, self.likeness)

    def to_json(self) -> dict:
        lay = self.layout
        return {"seed": self.seed, "candidates": self.candidates, "max_steps": self.max_steps,
                "layout": {"page": lay.page, "landscape": lay.landscape, "margin_mm": lay.margin_mm,
                           "width_mm": lay.width_mm, "size_mm": lay.ink_height_mm, "line_spacing": lay.line_spacing,
                           "align": lay.align, "variation": lay.variation, "straighten": lay.straighten,
                           "max_chars": lay.max_chars},
                "paper": paper_json(self.paper), **pen_json(self.pen, text=self.text)}

    @classmethod
    def from_json(cls, data) -> "ParagraphRequest":
        problems = []
        if not isinstance(data, dict):
            raise InputError(f"a paragraph request must be a JSON object, not {type(data).__name__}")
        seed, candidates, max_steps = _request_numbers(data, problems)
        layout = _tries(problems, paragraph_layout_from_json, data.get("layout")) or ParagraphLayout()
        paper = _tries(problems, paper_from_json, data.get("paper"))
        pen = _tries(problems, line_from_json, data)
        if problems:
            raise InputError("; ".join(problems))
        return cls(pen.text, pen.style, pen.bias, pen.color, pen.width, layout, paper, seed, candidates, max_steps,
                   pen.likeness)


def _check_paper(paper, problems: list[str]) -> None:
    if isinstance(paper, PaperOptions):
        _tries(problems, PaperOptions.check, paper)
    elif paper is not None:
        problems.append(f"paper must be PaperOptions or None, not {type(paper).__name__}")


# ---- JSON pieces (shared with scribe.document and scribe.batch) ------------------------------------------
def pen_json(s: LineSpec, text: str) -> dict:
    out = {"text": text, "style": s.style, "bias": s.bias, "color": s.color, "width": s.width}
    if s.likeness is not None:      # absent: the style's own (and documents saved before it read the same)
        out["likeness"] = s.likeness
    return out


def layout_json(layout: Layout) -> dict:
    return {"size_mm": round(layout.x_height_px * MM_PER_PX, 6), "line_spacing": layout.line_spacing,
            "align": layout.align}


def paper_json(paper: PaperOptions | None) -> dict | None:
    return None if paper is None else {"kind": paper.kind, "pitch_mm": paper.pitch_mm, "color": paper.color}


def json_number(value, name: str) -> float | None:
    """A JSON number as a float (None stays None); ValueError naming `name` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, not {str(value)[:20]!r}")
    return float(value)


def _json_whole(data: dict, key: str, lo: int, hi: int, default, problems: list[str], what: str):
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        problems.append(f"{key} must be a whole number from {lo} to {hi}{what}, not {str(value)[:20]!r}")
        return default
    return value


def _request_numbers(data: dict, problems: list[str]) -> tuple:
    """(seed, candidates, max_steps) of a request's JSON, each a whole number of its range (or None)."""
    seed = _json_whole(data, "seed", 0, SEED_LIMIT - 1, None, problems, " (or null for a random one)")
    candidates = _json_whole(data, "candidates", MIN_CANDIDATES, MAX_CANDIDATES, DEFAULT_CANDIDATES, problems,
                             " (1 turns the legibility check off)")
    max_steps = _json_whole(data, "max_steps", 1, MAX_STEP_CAP, None, problems, " (or null)")
    return seed, candidates, max_steps


def line_from_json(row) -> LineSpec:
    """One line (or a paragraph's text and pen) from JSON; ValueError naming what is of the wrong type.
    A missing pen value is the default pen's."""
    if not isinstance(row, dict):
        raise ValueError(f"expected an object with a text string, not {type(row).__name__}")
    text = row.get("text", "")
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, not {type(text).__name__}")
    style = row.get("style", DEFAULT_STYLE)
    if style is not None and (isinstance(style, bool) or not isinstance(style, int)):
        raise ValueError(f"style must be a style id or null, not {str(style)[:40]!r}")
    color = row.get("color", DEFAULT_COLOR)
    if color is None:
        color = DEFAULT_COLOR
    if not isinstance(color, str):
        raise ValueError(f"color must be a string, not {type(color).__name__}")
    bias, width = json_number(row.get("bias", DEFAULT_BIAS), "bias"), json_number(row.get("width", DEFAULT_WIDTH), "width")
    return LineSpec(text, style, DEFAULT_BIAS if bias is None else bias, color, DEFAULT_WIDTH if width is None else width,
                    json_number(row.get("likeness"), "likeness"))


def line_layout_from_json(lay) -> Layout:
    lay = {} if lay is None else lay
    if not isinstance(lay, dict):
        raise ValueError("layout must be an object with size_mm, line_spacing and align")
    align = lay.get("align") or "left"
    if align not in ("left", "center", "right"):
        raise ValueError(f"align {str(align)[:20]!r} must be left, center or right")
    return Layout.sized(json_number(lay.get("size_mm"), "size_mm"), json_number(lay.get("line_spacing"), "line_spacing"),
                        align)


def paragraph_layout_from_json(lay) -> ParagraphLayout:
    lay = {} if lay is None else lay
    if not isinstance(lay, dict):
        raise ValueError("layout must be an object (page, margin_mm, size_mm, line_spacing, align, ...)")
    d = ParagraphLayout()
    page = lay.get("page", d.page)
    if page is not None and not isinstance(page, str):
        raise ValueError(f"page must be a paper size name or null, not {str(page)[:20]!r}")
    flags = {k: lay.get(k, getattr(d, k)) for k in ("landscape", "straighten")}
    for k, v in flags.items():
        if not isinstance(v, bool):
            raise ValueError(f"{k} must be true or false, not {str(v)[:20]!r}")
    align = lay.get("align", d.align)
    if not isinstance(align, str):
        raise ValueError(f"align must be left, center or right, not {str(align)[:20]!r}")
    nums = {k: json_number(lay.get(key, getattr(d, k)), key) for k, key in
            (("margin_mm", "margin_mm"), ("width_mm", "width_mm"), ("ink_height_mm", "size_mm"),
             ("line_spacing", "line_spacing"), ("variation", "variation"), ("max_chars", "max_chars"))}
    for k in ("margin_mm", "ink_height_mm", "line_spacing", "variation", "max_chars"):
        if nums[k] is None:
            nums[k] = getattr(d, k)
    layout = ParagraphLayout(page=page, align=align, **flags, **{k: v for k, v in nums.items() if k != "max_chars"},
                             max_chars=int(nums["max_chars"]))
    layout.check()
    return layout


def paper_from_json(p) -> PaperOptions | None:
    if p is None:
        return None
    if not isinstance(p, dict):
        raise ValueError("paper must be an object with kind, pitch_mm and color, or null")
    kind, color = p.get("kind", "plain"), p.get("color") or PaperOptions.color
    if not isinstance(kind, str) or not isinstance(color, str):
        raise ValueError("paper kind and color must be strings")
    return PaperOptions(kind, json_number(p.get("pitch_mm"), "pitch_mm"), color).check()
