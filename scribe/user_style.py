"""Your own hand: turn captured or uploaded ink plus its typed text into a style that primes the network.

    style = build_style(read_ink("me.inkml"), "the quick brown fox", hand.alphabet, hand.stats)
    svg = style.preview_svg()                       # the ink as the model will see it
    style_id = save_style(style, "user_styles", avoid_ids=hand.style_ids)

The ink goes through `scribe.ink.prepare_ink`, the very preprocessing of the training data, after
scaling it to the training data's ink height; it is saved in the shared `style-N` layout.

Checks (each failure is a UserStyleError that says what to do):
- text: at least MIN_CHARS characters, at most MAX_CHARS, all in the model's alphabet;
- ink: enough points, one line (no empty band across it with writing above and below);
- ink vs text: width and pen-path length per character inside generous bounds around what real
  handwriting shows. On 3,000 random IAM-OnDB lines the width per character (in ink heights) ranged
  0.21-1.43 (0.1st-99.9th percentile) and the pen path per character 0.35-2.96.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import ink
from .alphabet import Alphabet
from .dataset import NormStats
from .inkml import InkData, InkFileError, read_ink
from .request import DEFAULT_COLOR, DEFAULT_WIDTH
from .styles import StyleError, style_ids, write_style

MIN_CHARS, MAX_CHARS = 5, 80
MIN_POINTS = 20                              # after resampling like the training data
WIDTH_PER_CHAR = (0.15, 2.0)                 # ink heights per character
PATH_PER_CHAR = (0.25, 4.5)                  # ink heights of pen-down path per character
# Cost bounds, checked on the ink's size relative to its own ink height before any work that grows
# with it: far beyond any line of MAX_CHARS characters (at most 160 ink heights wide, 360 of path).
MAX_SPAN_HEIGHTS = 400.0                     # width or height of the bounding box
MAX_PATH_HEIGHTS = 1000.0                    # pen-down path
MAX_STYLE_POINTS = 2500                      # after resampling; IAM-OnDB lines have at most 741


class UserStyleError(StyleError):
    """Ink or text that cannot become a style; the message says what is wrong and how to fix it."""


@dataclass
class UserStyle:
    text: str
    offsets: np.ndarray                      # (T, 3) prepared offsets in training units, y up
    measures: dict = field(default_factory=dict)   # width_per_char, path_per_char, points, strokes

    def strokes(self) -> list[np.ndarray]:
        return ink.offsets_to_strokes(self.offsets)

    def page(self, color: str = DEFAULT_COLOR, width: float = DEFAULT_WIDTH, x_height_px: float = 36.0):
        from .render.page import InkLine, Layout, layout_page
        return layout_page([InkLine(self.strokes(), color, width)], float(self.measures.get("ink_height", 1.0)),
                           Layout(x_height_px=x_height_px))

    def preview_svg(self, color: str = DEFAULT_COLOR, width: float = DEFAULT_WIDTH) -> str:
        """The normalised ink, as the model will read it when priming."""
        from .render.page import page_to_svg
        return page_to_svg(self.page(color, width))

    def preview_png(self, dpi: float = 144.0) -> bytes:
        from .render.page import svg_to_png
        return svg_to_png(self.preview_svg(), dpi)


def _pen_path(strokes: list[np.ndarray]) -> float:
    return float(sum(np.hypot(*np.diff(s, axis=0).T).sum() for s in strokes if len(s) > 1))


def _has_gap_band(strokes: list[np.ndarray], height: float) -> bool:
    """True when an empty horizontal band of at least 0.4 ink heights has at least a fifth of the ink
    above it and a fifth below: two lines of writing, not one."""
    pts = np.concatenate([_dense(s, height / 20) for s in strokes])
    ys = np.sort(pts[:, 1])
    gaps = np.diff(ys)
    n = len(ys)
    for i in np.nonzero(gaps > 0.4 * height)[0]:
        if min(i + 1, n - i - 1) >= 0.2 * n:
            return True
    return False


def _has_carriage_return(strokes: list[np.ndarray]) -> bool:
    """True when, in writing order, the pen jumps back left over most of what it has written and the
    writing after the jump sits lower by half an ink height: a second line. (On 4,000 real IAM-OnDB
    lines this fired once; on real lines stacked in pairs it caught 97-99%.)"""
    n = sum(len(s) for s in strokes)
    lo = np.minimum.accumulate([s[:, 0].min() for s in strokes])
    hi = np.maximum.accumulate([s[:, 0].max() for s in strokes])
    total_w, done = hi[-1] - lo[-1], 0
    for k in range(1, len(strokes)):
        done += len(strokes[k - 1])
        width_before = hi[k - 1] - lo[k - 1]
        jump_left = strokes[k - 1][-1, 0] - strokes[k][0, 0]
        if width_before > 0.25 * total_w and jump_left > 0.6 * width_before and 0.15 * n <= done <= 0.85 * n:
            before, after = np.concatenate(strokes[:k]), np.concatenate(strokes[k:])
            if np.median(after[:, 1]) - np.median(before[:, 1]) > 0.5 * ink.ink_height(strokes[:k]):
                return True
    return False


def _dense(s: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` along a stroke, so that long straight segments count as ink everywhere."""
    if len(s) < 2:
        return s
    out = [s[:1]]
    # build_style bounds the path to MAX_PATH_HEIGHTS ink heights; this bounds the points regardless
    step = max(step, float(np.hypot(*np.diff(s, axis=0).T).sum()) / 100_000)
    for a, b in zip(s[:-1], s[1:]):
        n = max(1, int(np.hypot(*(b - a)) / max(step, 1e-9)))
        out.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.concatenate(out)


def build_style(source, text: str | None, alphabet: Alphabet, stats: NormStats) -> UserStyle:
    """Validate ink + text and normalise the ink like the training data.

    `source` is anything `scribe.inkml.read_ink` reads (path, bytes, JSON string, parsed strokes) or an
    InkData. `text` is what the ink says; None uses the file's own transcription if it has one.
    """
    try:
        data = source if isinstance(source, InkData) else read_ink(source)
    except InkFileError as e:
        raise UserStyleError(f"could not read the ink: {e}") from None
    text = text if text is not None and text.strip() else data.text
    if not text or not text.strip():
        raise UserStyleError("type the text you wrote: the style needs the words that go with the ink")
    try:
        text = alphabet.clean(text)
    except ValueError as e:
        raise UserStyleError(f"the text uses characters the model cannot learn from: "
                             f"{', '.join(repr(c) for c in getattr(e, 'unknown', []))}; "
                             f"it knows {alphabet.chars!r}") from None
    if len(text) < MIN_CHARS:
        raise UserStyleError(f"the sample is too short: {len(text)} characters; write at least {MIN_CHARS} "
                             f"(a phrase of 15-40 characters on one line works best)")
    if len(text) > MAX_CHARS:
        raise UserStyleError(f"the sample is too long: {len(text)} characters; write at most {MAX_CHARS}, "
                             f"on one line")
    strokes = ink.clean_strokes(data.strokes)
    if not strokes or sum(len(s) for s in strokes) < 2:
        raise UserStyleError("the ink holds no usable strokes: write the text with the pen down")
    ys = np.concatenate(strokes)[:, 1]
    if np.percentile(ys, 95) - np.percentile(ys, 5) <= 0:
        raise UserStyleError("the ink is a single point or a flat line; write the text as you normally do")
    raw_height = ink.ink_height(strokes)
    span_w, span_h, path = ink.extent_in_heights(strokes, raw_height)
    if max(span_w, span_h) > MAX_SPAN_HEIGHTS or path > MAX_PATH_HEIGHTS:
        raise UserStyleError(
            f"the ink is out of proportion to one line of writing: it spans {span_w:.3g} x {span_h:.3g} ink "
            f"heights with {path:.3g} ink heights of pen path (one line of handwriting spans at most "
            f"{MAX_SPAN_HEIGHTS:g} and has under {MAX_PATH_HEIGHTS:g}); write one line, at one size")
    scale = stats.ink_height / raw_height
    offsets = ink.prepare_ink(strokes, stats.min_step, scale=scale)
    if len(offsets) > MAX_STYLE_POINTS:
        raise UserStyleError(f"the ink is too long: {len(offsets)} points after normalising; a style holds at "
                             f"most {MAX_STYLE_POINTS} (one line of up to {MAX_CHARS} characters)")
    prepared = ink.offsets_to_strokes(offsets)
    height = ink.ink_height(prepared)
    n = len(text)
    bx0, _, bx1, _ = ink.bounding_box(prepared)
    measures = {"width_per_char": (bx1 - bx0) / height / n, "path_per_char": _pen_path(prepared) / height / n,
                "points": int(len(offsets)), "strokes": len(prepared), "ink_height": height,
                "source": data.source}
    if len(offsets) < MIN_POINTS:
        raise UserStyleError(f"the ink is too short: {len(offsets)} points after normalising; write at least "
                             f"a few words")
    # On the ink as written: normalising clamps long pen-up jumps, which hides a return to the margin.
    if _has_gap_band(strokes, ink.ink_height(strokes)) or _has_carriage_return(strokes):
        raise UserStyleError("the ink looks like more than one line of writing; write the sample on one line")
    w, p = measures["width_per_char"], measures["path_per_char"]
    if w < WIDTH_PER_CHAR[0] or p < PATH_PER_CHAR[0]:
        raise UserStyleError(
            f"the ink is too short for the text: {n} characters typed, but the ink is only {w:.2f} ink heights "
            f"wide per character (handwriting is {WIDTH_PER_CHAR[0]}-{WIDTH_PER_CHAR[1]}); did you type more "
            f"than you wrote?")
    if w > WIDTH_PER_CHAR[1] or p > PATH_PER_CHAR[1]:
        raise UserStyleError(
            f"the ink is too long for the text: {n} characters typed, but the ink has {p:.1f} ink heights of pen "
            f"path per character (handwriting has up to {PATH_PER_CHAR[1]}); did you write more than you typed?")
    return UserStyle(text, offsets.astype(np.float32), measures)


def next_style_id(folder: str | Path, avoid_ids=()) -> int:
    """The next id above every style in `folder` and every id in `avoid_ids` (e.g. the shipped bank)."""
    folder = Path(folder)
    taken = set(avoid_ids) | (set(style_ids(folder)) if folder.is_dir() else set())
    return max(taken, default=-1) + 1


def save_style(style: UserStyle, folder: str | Path, avoid_ids=()) -> int:
    """Write the style into `folder` (style-N-chars.npy / style-N-strokes.npy) under the next free id.

    The id is reserved by creating its chars file exclusively first, so two saves at once (two app
    users) never pick the same id; the files are then written atomically.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    style_id = next_style_id(folder, avoid_ids)
    while True:
        try:
            os.close(os.open(folder / f"style-{style_id}-chars.npy", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            style_id += 1
    try:
        write_style(folder, style_id, style.text, style.offsets)
    except BaseException:
        for kind in ("chars", "strokes"):
            (folder / f"style-{style_id}-{kind}.npy").unlink(missing_ok=True)
        raise
    return style_id
