"""Accented Latin letters: the model writes the base letter, and the mark is drawn as pen strokes.

IAM-OnDB has no accents, so the model never learnt any. A writer puts a mark on after writing the
base letter, and the sampler knows at every pen step which character the attention window is on
(`SampledLine.window`), so it knows where each base letter was written. This module holds:

- the table: every supported letter -> the letter(s) the model writes and the mark drawn on them
  (`LETTERS`; `base_text` is what the model writes, `clean` the one text check);
- the geometry (`add_marks`): each mark's place and size come from its base letter's own ink (its
  x-range from the window's alignment, its top), the line's x-height, baseline and slant, with a
  little variation seeded from the ink itself (same seed, same ink). Marks are ordinary strokes,
  inserted in path order right after the word that holds their letter (as most writers dot and
  accent a word once it is written), so every output and the animation get them as they are.

Letters the model writes from its own letters: ae/AE for æ/Æ and oe/OE for œ/Œ (cursive joins them
as a ligature), B for ß (a handwritten ß is a tall stem with two bowls: the model's B in a lowercase
word has that shape; "ss" would be a spelling, not the letter), ij/IJ for ĳ/Ĳ. ı is an i whose dot is
taken away; í ì î ï ĩ ī ĭ (and ĵ) lose the i's (j's) dot too, so the mark replaces it.
"""
from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

from .alphabet import Alphabet, UnknownCharactersError, normalise_text


@dataclass(frozen=True)
class Accent:
    base: str               # what the model writes (one letter, or two for a ligature)
    mark: str | None        # the mark drawn on base[0] (MARKS), or None
    drop_dot: bool = False  # the base is i or j whose own dot the mark replaces (or ı: no dot at all)


# Combining marks (what NFD splits a letter into) -> the mark drawn.
_COMBINING = {"\u0301": "acute", "\u0300": "grave", "\u0302": "circumflex", "\u0308": "diaeresis",
              "\u0303": "tilde", "\u030a": "ring", "\u0327": "cedilla", "\u0328": "ogonek", "\u030c": "caron",
              "\u030b": "double_acute", "\u0307": "dot", "\u0306": "breve", "\u0304": "macron",
              "\u0326": "comma_below"}
# Latin-1's letters, Latin Extended-A's (but ŉ ĸ ŀ Ŀ ŋ Ŋ ſ, which no base letter gives), Romanian ș ț.
_DECOMPOSED = ("ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
               "ĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţ"
               "ŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžȘșȚț")
_SPECIAL = {
    "æ": Accent("ae", None), "Æ": Accent("AE", None), "œ": Accent("oe", None), "Œ": Accent("OE", None),
    "ĳ": Accent("ij", None), "Ĳ": Accent("IJ", None), "ß": Accent("B", None),
    "ø": Accent("o", "slash"), "Ø": Accent("O", "slash"), "ł": Accent("l", "bar_slant"), "Ł": Accent("L", "bar_slant"),
    "đ": Accent("d", "bar"), "Đ": Accent("D", "bar"), "ð": Accent("d", "bar"), "Ð": Accent("D", "bar"),
    "ħ": Accent("h", "bar"), "Ħ": Accent("H", "bar"), "ŧ": Accent("t", "bar"), "Ŧ": Accent("T", "bar"),
    "þ": Accent("p", "ascender"), "Þ": Accent("P", "descender"), "ı": Accent("i", None, drop_dot=True),
    # a caron on a tall lowercase letter (and Ľ) is written as an apostrophe beside it
    "ď": Accent("d", "caron_right"), "ť": Accent("t", "caron_right"), "ľ": Accent("l", "caron_right"),
    "Ľ": Accent("L", "caron_right"),
    # Latvian ģ carries its cedilla above as a turned comma; ķ ļ ņ ŗ (and capitals) as a comma below
    "ģ": Accent("g", "comma_above"),
}
_COMMA_CEDILLA = set("ĢĶķĻļŅņŖŗ")


def _table() -> dict[str, Accent]:
    table = {}
    for c in _DECOMPOSED:
        base, *marks = unicodedata.normalize("NFD", c)
        mark = _COMBINING[marks[0]]
        if c in _COMMA_CEDILLA:
            mark = "comma_below"
        # the mark replaces the dot of i and j (but an ogonek hangs below, and İ has its dot as the mark)
        table[c] = Accent(base, mark, drop_dot=base in "ij" and mark not in ("ogonek",))
    table.update(_SPECIAL)
    return table


LETTERS: dict[str, Accent] = _table()
MARKS = ("acute", "grave", "circumflex", "caron", "breve", "macron", "tilde", "diaeresis", "dot", "ring",
         "double_acute", "comma_above", "caron_right", "cedilla", "ogonek", "comma_below", "slash", "bar_slant",
         "bar", "ascender", "descender")
BELOW = ("cedilla", "ogonek", "comma_below", "descender")      # drawn under the letter
THROUGH = ("slash", "bar_slant", "bar")                        # drawn across the letter


def base_text(text: str) -> str:
    """The text the model writes: every supported letter as its base letter(s)."""
    return "".join(LETTERS[c].base if c in LETTERS else c for c in text)


def has_accents(text: str) -> bool:
    return any(c in LETTERS for c in text)


def marks_of(text: str) -> list[tuple[int, Accent]]:
    """(position in base_text(text), Accent) of each letter that needs a mark or a dot taken away."""
    out, at = [], 0
    for c in text:
        a = LETTERS.get(c)
        if a is not None and (a.mark or a.drop_dot):
            out.append((at, a))
        at += len(a.base) if a is not None else 1
    return out


def clean(alphabet: Alphabet, text: str) -> str:
    """The one text check of a request: map lookalikes, keep supported accented letters, and raise
    UnknownCharactersError listing only what can still not be written (other scripts, emoji...)."""
    text = normalise_text(text)
    unknown = sorted({c for c in text if c not in LETTERS and c not in alphabet.chars}
                     | {c for c in text if c in LETTERS and any(b not in alphabet.chars for b in LETTERS[c].base)})
    if unknown:
        raise UnknownCharactersError(unknown, alphabet)
    return text


# ---- the geometry -------------------------------------------------------------------------------------
# Letters by the part of the line they fill, to find the x-height band and a letter's top.
SMALL = set("acemnorsuvwxz")
TALL = set("bdfhklt")
NARROW = set("ijltIJ1")


def widest(c: str) -> float:
    """The widest a written letter c is, joining stroke included, in x-heights."""
    if c in NARROW:
        return 0.7
    if c in "mwMW":
        return 1.8
    return 1.5 if c.isupper() else 1.1


# Shapes in x-heights, y up; above marks sit on (0, 0), below marks hang from it. Each mark is a list of
# strokes, each a list of control points in the order a writer draws them; "dot" points are tiny ticks.
_SHAPES = {
    "acute": [[(0.17, 0.40), (0.04, 0.20), (-0.10, 0.02)]],
    "grave": [[(-0.17, 0.40), (-0.04, 0.20), (0.10, 0.02)]],
    "circumflex": [[(-0.20, 0.02), (-0.08, 0.18), (0.0, 0.28), (0.08, 0.18), (0.20, 0.02)]],
    "caron": [[(-0.20, 0.28), (-0.08, 0.12), (0.0, 0.02), (0.08, 0.12), (0.20, 0.28)]],
    "breve": [[(-0.20, 0.26), (-0.13, 0.08), (0.0, 0.02), (0.13, 0.08), (0.20, 0.26)]],
    "macron": [[(-0.22, 0.10), (0.0, 0.12), (0.22, 0.11)]],
    "tilde": [[(-0.24, 0.05), (-0.14, 0.17), (-0.04, 0.15), (0.05, 0.08), (0.14, 0.06), (0.24, 0.18)]],
    "diaeresis": [[(-0.18, 0.12), (-0.14, 0.06)], [(0.14, 0.12), (0.18, 0.06)]],
    "dot": [[(-0.01, 0.12), (0.03, 0.06)]],
    "ring": [[(0.02, 0.32), (-0.10, 0.27), (-0.12, 0.14), (-0.02, 0.05), (0.10, 0.10), (0.12, 0.23),
              (0.04, 0.32), (-0.04, 0.30)]],
    "double_acute": [[(0.03, 0.38), (-0.12, 0.02)], [(0.22, 0.38), (0.07, 0.02)]],
    "comma_above": [[(0.03, 0.36), (0.01, 0.30), (0.03, 0.18), (0.08, 0.08)]],
    "caron_right": [[(0.05, 0.0), (0.04, -0.06), (0.0, -0.26)]],
    "cedilla": [[(0.0, 0.08), (0.01, -0.08), (0.12, -0.16), (0.11, -0.28), (0.0, -0.34), (-0.12, -0.31)]],
    "ogonek": [[(0.02, 0.08), (-0.08, -0.08), (-0.13, -0.24), (-0.05, -0.36), (0.10, -0.38), (0.16, -0.33)]],
    "comma_below": [[(0.02, -0.10), (0.04, -0.14), (0.01, -0.24), (-0.07, -0.34)]],
}
GAP = 0.30            # x-heights between a letter's top and the bottom of its mark
CAPITAL_GAP = 0.22
DOT_SIZE = 0.15       # a stroke whose box fits this many line ink heights is a dot (sampling.DOT_SIZE)


@dataclass
class Line:
    """What the marks are placed by: one line's points, strokes, window, and its measures."""
    points: np.ndarray        # (T, 2) absolute, y up
    window: np.ndarray        # (T,) character position per point
    strokes: list[tuple[int, int]]
    baseline: float
    x_height: float
    ascender: float           # the top of tall letters
    slant: float              # dx per dy of downstrokes (a right-leaning hand is positive)
    step: float               # the median pen-down step
    _xd: np.ndarray | None = None

    def letter(self, k: int, text: str) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of character k's ink by the window's alignment, x deslanted
        (deslant). The window moves on to the next character once a letter is written, so a letter
        ends where the points on it end and begins where the previous letter's end (an i's own dot,
        the writer's mark of where the i is, sits at the right end: tests/test_accents.py); the
        window stays on a space until the next word's first letter is well under way, so a word's
        first letter begins where the previous word ends. A character the window skipped gets the
        room between its neighbours."""
        right = self._right(k)
        j = k - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        left = self._right(j) if j >= 0 else None
        if right is None:
            after = [self._left(j) for j in range(k + 1, len(text)) if self._left(j) is not None]
            right = after[0] if after else float(self.xd.max())
            left = left if left is not None else right - 0.6 * self.x_height
        elif left is None or left > right - 0.2 * self.x_height:
            own = self._left(k)
            left = own if own is not None and own < right - 0.2 * self.x_height else right - 0.6 * self.x_height
        # no wider than such a letter can be (a word's first letter would take in the gap before it)
        left = max(left, right - widest(text[k]) * self.x_height)
        near = (self.xd >= left) & (self.xd <= right) & (np.abs(self.window - k) <= 1)
        ys = self.points[near, 1] if near.sum() >= 2 else self.points[self.window == k, 1]
        if len(ys) < 2:
            tall = text[k] in TALL or text[k].isupper()
            return left, right, self.baseline, self.ascender if tall else self.baseline + self.x_height
        return left, right, float(np.percentile(ys, 8)), float(np.percentile(ys, 95))

    def _right(self, k: int) -> float | None:
        x = self.xd[self.window == k]
        return None if len(x) == 0 else float(np.percentile(x, 97) if len(x) >= 8 else x.max())

    def _left(self, k: int) -> float | None:
        x = self.xd[self.window == k]
        return None if len(x) == 0 else float(x.min())

    def centre(self, k: int, text: str) -> float:
        """Where a mark on character k goes across (deslanted x): a narrow letter is its right end, a
        wider one a little right of the middle of its span (the span begins with the joining stroke)."""
        left, right, _, _ = self.letter(k, text)
        if text[k] in NARROW:
            return right - 0.03 * self.x_height
        return right - 0.42 * (right - left)

    @property
    def xd(self) -> np.ndarray:
        if self._xd is None:
            self._xd = self.points[:, 0] - self.slant * (self.points[:, 1] - (self.baseline + self.x_height / 2))
        return self._xd

    def deslant(self, x: float, y: float) -> float:
        """x moved along the line's slant to the height of the x-height band's middle."""
        return x - self.slant * (y - (self.baseline + self.x_height / 2))


def measure(offsets: np.ndarray, window: np.ndarray, text: str, height: float) -> Line:
    """A line's measures from its ink (offsets in data units, y up) and its window; `text` is the
    text the model wrote (base_text) and `height` the size of a line of ink (stats.ink_height)."""
    pts = np.cumsum(offsets[:, :2].astype(np.float64), 0)
    strokes = _strokes(offsets)
    down = np.ones(len(pts), bool)
    down[0] = False
    down[1:] = offsets[:-1, 2] < 0.5              # the move into point i is drawn
    seg = np.diff(pts, axis=0, prepend=pts[:1])
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    drawn = down & (lengths > 0)
    step = float(np.median(lengths[drawn])) if drawn.any() else height / 12
    steep = drawn & (np.abs(seg[:, 1]) > 2 * np.abs(seg[:, 0]))
    slant = float(np.clip(np.median(seg[steep, 0] / seg[steep, 1]), -0.3, 0.8)) if steep.sum() >= 5 else 0.2
    bottoms, tops, tall = [], [], []
    for k, c in enumerate(text):
        sel = window[:len(pts)] == k
        if sel.sum() < 3:
            continue
        ys = pts[sel, 1]
        if c in SMALL:
            bottoms.append(np.percentile(ys, 5))
            tops.append(np.percentile(ys, 92))
        elif c in TALL or c.isupper():
            tall.append(ys.max())
    if bottoms:
        baseline, top = float(np.median(bottoms)), float(np.median(tops))
    else:
        baseline, top = (float(v) for v in np.percentile(pts[:, 1], [15, 65]))
    x_height = float(np.clip(top - baseline, 0.18 * height, 0.6 * height))
    ascender = float(np.median(tall)) if tall else baseline + 2.2 * x_height
    ascender = float(np.clip(ascender, baseline + 1.4 * x_height, baseline + 3.2 * x_height))
    return Line(pts, np.asarray(window[:len(pts)]), strokes, baseline, x_height, ascender, slant, step)


def _strokes(offsets: np.ndarray) -> list[tuple[int, int]]:
    ends = np.flatnonzero(offsets[:, 2] > 0.5)
    if not len(ends) or ends[-1] != len(offsets) - 1:
        ends = np.append(ends, len(offsets) - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(a), int(b)) for a, b in zip(starts, ends) if a <= b]


@dataclass
class PlacedMark:
    """One drawn mark: its letter's position in the written text, its kind, and its strokes (y up)."""
    position: int
    kind: str
    strokes: list[np.ndarray]


def place(line: Line, k: int, text: str, kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes of mark `kind` on character k of `text` (the written text), in data units, y up."""
    lo, hi, bottom, top = line.letter(k, text)
    c, xh = text[k], line.x_height
    capital, tall = c.isupper(), c in TALL or c.isupper() or c.isdigit()
    # the letter's own baseline: a hand drifts up and down along a line, and a letter with it
    # (less so under it: the bottom of a letter the window only half covers can read high)
    raised = 0.3 if kind in BELOW else 0.9
    base = float(np.clip(bottom, line.baseline - 0.4 * xh, line.baseline + raised * xh))
    if not tall:   # a small letter's top is the x-height, whatever its connecting strokes reach
        top = float(np.clip(top, base + 0.85 * xh, base + 1.35 * xh))
    else:
        top = float(np.clip(top, base + 1.2 * xh, base + 3.4 * xh))
    mid_y = line.baseline + xh / 2                  # the height centre() and deslant() refer to
    centre = line.centre(k, text)                  # on the band's middle line
    width = 0.3 * xh if c in NARROW else max(0.8 * (hi - lo), 0.3 * xh)   # the span less its joining stroke
    size = xh * float(np.exp(rng.normal(0, 0.08))) * (0.9 if capital else 1.0)
    angle = float(rng.normal(0, 0.08))
    jitter = rng.normal(0, 0.04, 2) * xh
    if kind in BELOW + THROUGH:   # these start on the letter's own ink: they vary along it, not off it
        jitter[1] = 0.0

    def at(x: float, y: float) -> tuple[float, float]:
        """A point of the letter's own frame: x across the letter's centre at height y (slanted)."""
        return centre + x + line.slant * (y - mid_y) + jitter[0], y + jitter[1]

    if kind in _SHAPES:
        if kind == "caron_right":   # beside the top of the ascender, to its right
            ox, oy = at(0.3 * width + 0.15 * xh, top + 0.05 * xh)
        elif kind == "ogonek":      # from the bottom of the letter's right side (of an i's stem)
            ox, oy = at(0.05 * xh if c in NARROW else (hi - centre) - 0.08 * xh, base)
        elif kind in BELOW:
            ox, oy = at(0.0, base - (0.0 if kind == "cedilla" else 0.02 * xh))
        else:
            y0 = top + (CAPITAL_GAP if tall else GAP) * xh
            ox, oy = at(0.0, y0)
        strokes = []
        for ctrl in _SHAPES[kind]:
            p = np.array(ctrl, np.float64) + rng.normal(0, 0.012, (len(ctrl), 2))
            p[:, 0] += line.slant * p[:, 1]                      # lean with the hand
            cos, sin = np.cos(angle), np.sin(angle)
            p = p @ np.array([[cos, sin], [-sin, cos]])
            strokes.append(p * size + (ox, oy))
    elif kind == "slash":           # through the letter, from above its top right to below its base left
        a, b = at(0.5 * width, top + 0.15 * xh), at(-0.5 * width, base - 0.2 * xh)
        strokes = [np.array([a, b])]
    elif kind == "bar_slant":       # ł Ł: a short rising bar across the stem
        h = base + (0.9 if not capital else 0.55) * xh
        sx = -0.25 * width if capital else 0.0
        strokes = [np.array([at(sx - 0.28 * xh, h - 0.12 * xh), at(sx + 0.28 * xh, h + 0.14 * xh)])]
    elif kind == "bar":             # đ ð ħ ŧ Đ Ħ Ŧ: a level bar across the stem
        if c in "dh":
            h = (base + xh + top) / 2 + 0.1 * xh
            sx = 0.3 * width if c == "d" else -0.3 * width
            strokes = [np.array([at(sx - 0.25 * xh, h), at(sx + 0.25 * xh, h + 0.02 * xh)])]
        elif c == "t":
            h = base + 0.45 * xh
            strokes = [np.array([at(-0.28 * xh, h), at(0.28 * xh, h + 0.02 * xh)])]
        elif c == "H":
            h = base + 0.72 * (top - base)
            strokes = [np.array([at(-0.6 * width, h), at(0.6 * width, h + 0.02 * xh)])]
        else:                       # D, T: across the stem at mid-height
            h = base + 0.48 * (top - base)
            sx = -0.3 * width if c == "D" else 0.0
            strokes = [np.array([at(sx - 0.3 * xh, h), at(sx + 0.25 * xh, h + 0.02 * xh)])]
    elif kind == "ascender":        # þ: the p's stem carried up to the ascender line
        x0 = -0.3 * width
        strokes = [np.array([at(x0, line.ascender), at(x0, base + 0.8 * xh)])]
    elif kind == "descender":       # Þ: the P's stem carried down below the baseline
        x0 = -0.3 * width
        strokes = [np.array([at(x0, base + 0.1 * xh), at(x0, base - 0.9 * xh)])]
    else:
        raise ValueError(f"unknown mark {kind!r}")
    if kind not in BELOW + THROUGH + ("ascender", "caron_right"):
        strokes = _clear_of(line, k, strokes)
    return [_pen(s, line.step, xh, rng) for s in strokes]


def _clear_of(line: Line, k: int, strokes: list[np.ndarray]) -> list[np.ndarray]:
    """A mark above a letter moved up until it clears the letter's own ink under it (a letter taller
    than its x-height, a loop written high), by an x-height at most."""
    pts = np.vstack(strokes)
    xh = line.x_height
    own = line.points[line.window == k]
    under = own[(own[:, 0] >= pts[:, 0].min() - 0.1 * xh) & (own[:, 0] <= pts[:, 0].max() + 0.1 * xh)]
    if not len(under):
        return strokes
    lift = float(np.clip(under[:, 1].max() + 0.15 * xh - pts[:, 1].min(), 0.0, xh))
    return [s + (0.0, lift) for s in strokes]


def _pen(ctrl: np.ndarray, step: float, xh: float, rng: np.random.Generator) -> np.ndarray:
    """Control points -> pen points: a smooth curve through them, at about the model's point spacing
    for long strokes and closer for small ones (the renderer draws a spline through the points), with
    a tremor far below the stroke width."""
    ctrl = np.asarray(ctrl, np.float64)
    if len(ctrl) > 2:   # Catmull-Rom through the control points
        p = np.vstack([ctrl[:1], ctrl, ctrl[-1:]])
        t = np.linspace(0, 1, 6, endpoint=False)[:, None]
        pieces = []
        for i in range(1, len(p) - 2):
            p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
            pieces.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                                 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
        curve = np.vstack(pieces + [ctrl[-1:]])
    else:
        curve = ctrl
    seg = np.hypot(*np.diff(curve, axis=0).T)
    length = float(seg.sum())
    n = int(np.clip(np.ceil(length / min(step, 0.12 * xh)), 1, 40)) + 1
    along = np.concatenate([[0], np.cumsum(seg)])
    if length == 0:
        return curve[:1].repeat(2, 0)
    s = np.linspace(0, length, n)
    out = np.column_stack([np.interp(s, along, curve[:, 0]), np.interp(s, along, curve[:, 1])])
    out[1:-1] += rng.normal(0, 0.008 * xh, (n - 2, 2))
    return out


def ink_seed(offsets: np.ndarray, k: int) -> int:
    """The variation's seed: the line's own ink (so the same seed gives the same marks) and the letter."""
    return zlib.crc32(np.ascontiguousarray(offsets[:, :2], np.float32).tobytes()) ^ (k * 2654435761 % 2**32)


def _dot_to_drop(line: Line, k: int, text: str, height: float) -> int | None:
    """The stroke that is the dot of the i or j at k (a dot-sized stroke above the x-height over it),
    or None. The dot is found by where it is, not by the window: it is often put down after the word."""
    lo, hi, _, _ = line.letter(k, text)
    best, best_d = None, None
    for s, (a, b) in enumerate(line.strokes):
        p = line.points[a:b + 1]
        if np.ptp(p, 0).max() >= DOT_SIZE * height:
            continue
        cx, cy = p.mean(0)
        if cy < line.baseline + 0.8 * line.x_height:
            continue
        x = line.deslant(cx, cy)
        d = max(lo - 0.35 * line.x_height - x, x - hi - 0.35 * line.x_height, 0.0)
        if d == 0.0:
            d = abs(x - line.centre(k, text)) * 1e-3      # inside: prefer the nearest to the centre
            if best_d is None or d < best_d:
                best, best_d = s, d
    return best


def add_marks(offsets: np.ndarray, window: np.ndarray, text: str, marks: list[tuple[int, Accent]],
              height: float) -> tuple[np.ndarray, np.ndarray, list[PlacedMark]]:
    """A finished line's ink with its marks: (offsets, window per point, the marks drawn).

    offsets: (T, 3) in data units, y up; window: (T,) the window's position per point; text: what the
    model wrote (base_text); marks: marks_of(the line's text). Each mark's strokes go in right after
    the stroke that ends the word holding its letter; an i's or j's dot that a mark replaces is taken
    out. Without marks the ink comes back as it is."""
    if not marks or len(offsets) == 0:
        return offsets, window, []
    window = np.asarray(window)[:len(offsets)]
    line = measure(offsets, window, text, height)
    drop, placed = set(), []
    for k, accent in marks:
        if k >= len(text):
            continue
        if accent.drop_dot:
            s = _dot_to_drop(line, k, text, height)
            if s is not None:
                drop.add(s)
        if accent.mark:
            rng = np.random.default_rng(ink_seed(offsets, k))
            placed.append(PlacedMark(k, accent.mark, place(line, k, text, accent.mark, rng)))
    # where each mark goes in: after the last stroke written while the window was on its word
    word_end = {}
    for m in placed:
        e = m.position
        while e + 1 < len(text) and not text[e + 1].isspace():
            e += 1
        word_end[m.position] = e
    after: dict[int, list[PlacedMark]] = {}
    last = len(line.strokes) - 1
    for m in placed:
        on_word = np.flatnonzero(window <= word_end[m.position])
        s = last
        if len(on_word):
            p = int(on_word.max())
            s = next(i for i, (a, b) in enumerate(line.strokes) if a <= p <= b)
        after.setdefault(s, []).append(m)
    pieces, wins = [], []
    for s, (a, b) in enumerate(line.strokes):
        if s not in drop:
            pieces.append(line.points[a:b + 1])
            wins.append(window[a:b + 1])
        for m in after.get(s, []):
            for st in m.strokes:
                pieces.append(st)
                wins.append(np.full(len(st), m.position, dtype=window.dtype))
    if not pieces:       # nothing but the dot that was taken away: keep the ink as it was
        return offsets, window, []
    pts = np.vstack(pieces)
    out = np.zeros((len(pts), 3), np.float32)
    out[:, :2] = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    out[np.cumsum([len(p) for p in pieces]) - 1, 2] = 1.0
    return out, np.concatenate(wins), placed
