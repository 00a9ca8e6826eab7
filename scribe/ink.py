"""Stroke maths. Ink lives in two forms:

- strokes: a list of (n, 2) point arrays, y pointing down (whiteboard, screen, SVG);
- offsets: one (T, 3) float32 array of rows (dx, dy, end_of_stroke) with y pointing UP, the layout of
  the model and of the style files. end_of_stroke = 1 marks the last point of a stroke; the pen lifts
  after it, so the next row is a pen-up move.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A pen jump this many times the line's median step inside one stroke is a capture glitch, not ink.
GLITCH_FACTOR = 40.0
# Pen-up moves longer than this many line heights are clamped (a stray point far off the line).
MAX_JUMP_HEIGHTS = 3.0


def clean_strokes(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Drop repeated points, split strokes at glitch jumps, drop strokes that became empty."""
    out = []
    steps = [np.linalg.norm(np.diff(s, axis=0), axis=1) for s in strokes if len(s) > 1]
    nonzero = np.concatenate(steps) if steps else np.zeros(0)
    nonzero = nonzero[nonzero > 0]
    limit = GLITCH_FACTOR * float(np.median(nonzero)) if len(nonzero) else np.inf
    for s in strokes:
        s = np.asarray(s, dtype=np.float64)
        if len(s) == 0:
            continue
        keep = np.ones(len(s), dtype=bool)
        keep[1:] = np.any(np.diff(s, axis=0) != 0, axis=1)
        s = s[keep]
        cuts = np.nonzero(np.linalg.norm(np.diff(s, axis=0), axis=1) > limit)[0] + 1
        out.extend(piece for piece in np.split(s, cuts) if len(piece))
    return out


def ink_height(strokes: list[np.ndarray]) -> float:
    """A sampling-rate-independent size of the writing: the 5-95 percentile spread of y."""
    ys = np.concatenate([s[:, 1] for s in strokes])
    return float(np.percentile(ys, 95) - np.percentile(ys, 5)) or 1.0


def resample_strokes(strokes: list[np.ndarray], min_step: float) -> list[np.ndarray]:
    """Keep a point only once the pen has moved `min_step` from the last kept one (ends always kept).

    IAM-OnDB samples pen position at a fixed rate, so slow parts of a letter are dense with points that
    carry jitter, not shape. Dropping them shortens sequences (which drives both training time and
    sampling latency) with little loss of shape.
    """
    if min_step <= 0:
        return [np.asarray(s, dtype=np.float64) for s in strokes]
    out = []
    for s in strokes:
        s = np.asarray(s, dtype=np.float64)
        xs, ys = s[:, 0].tolist(), s[:, 1].tolist()  # plain floats: this loop runs per point
        kept = [0]
        lx, ly = xs[0], ys[0]
        for i in range(1, len(s) - 1):
            if math.hypot(xs[i] - lx, ys[i] - ly) >= min_step:
                kept.append(i)
                lx, ly = xs[i], ys[i]
        if len(s) > 1:
            kept.append(len(s) - 1)
        out.append(s[kept])
    return out


def strokes_to_offsets(strokes: list[np.ndarray]) -> np.ndarray:
    """Strokes (y down) -> offsets (y up). The first row is the move from the origin to the first point."""
    points = np.concatenate(strokes).astype(np.float64)
    eos = np.zeros(len(points), dtype=np.float32)
    eos[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    deltas = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    deltas[:, 1] *= -1.0
    return np.column_stack([deltas, eos]).astype(np.float32)


def offsets_to_strokes(offsets: np.ndarray) -> list[np.ndarray]:
    """Offsets (y up) -> strokes (y down). The end of the array always ends a stroke."""
    offsets = np.asarray(offsets, dtype=np.float64)
    if len(offsets) == 0:
        return []
    points = np.cumsum(offsets[:, :2], axis=0)
    points[:, 1] *= -1.0
    ends = np.nonzero(offsets[:, 2] > 0.5)[0] + 1
    pieces = np.split(points, ends)
    return [p for p in pieces if len(p)]


def clamp_jumps(offsets: np.ndarray, max_norm: float) -> np.ndarray:
    """Shrink any move longer than max_norm to max_norm, keeping its direction."""
    offsets = offsets.copy()
    norms = np.linalg.norm(offsets[:, :2], axis=1)
    big = norms > max_norm
    offsets[big, :2] *= (max_norm / norms[big])[:, None]
    return offsets


def prepare_ink(strokes: list[np.ndarray], min_step: float, scale: float = 1.0) -> np.ndarray:
    """The one preprocessing path shared by training data, style files and user ink.

    `scale` converts the ink's units to the training data's (1.0 for IAM-OnDB itself).
    """
    strokes = clean_strokes([np.asarray(s, dtype=np.float64) * scale for s in strokes])
    if not strokes:
        raise ValueError("the ink holds no points")
    height = ink_height(strokes)
    strokes = resample_strokes(strokes, min_step)
    offsets = strokes_to_offsets(strokes)
    offsets[0, :2] = 0.0  # where the line starts on the board carries no information
    return clamp_jumps(offsets, MAX_JUMP_HEIGHTS * height)


def extent_in_heights(strokes: list[np.ndarray], height: float) -> tuple[float, float, float]:
    """(width, height, pen-down path length) of the ink, each in units of `height` (its ink height).
    Cheap (one pass over the points), so it can bound the work before anything costly runs."""
    x0, y0, x1, y1 = bounding_box(strokes)
    path = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in strokes if len(s) > 1)
    h = max(float(height), 1e-12)
    return (x1 - x0) / h, (y1 - y0) / h, path / h


def bounding_box(strokes: list[np.ndarray]) -> tuple[float, float, float, float]:
    """(min_x, min_y, max_x, max_y) of all points."""
    pts = np.concatenate(strokes)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


# ---- what a hand looks like ----------------------------------------------------------------------------
def word_gap(offsets: np.ndarray, text: str) -> float | None:
    """The mean gap between words of a line, in its ink heights: the ink is cut where no stroke overlaps
    another along x, and the line's widest cuts, as many as its text has spaces, are its word gaps. None
    for a line of one word, or one whose ink has fewer cuts than spaces (words run together)."""
    spaces = len(text.split()) - 1
    strokes = offsets_to_strokes(np.asarray(offsets, dtype=np.float64))
    if spaces < 1 or not strokes:
        return None
    spans = sorted((float(s[:, 0].min()), float(s[:, 0].max())) for s in strokes)
    gaps, right = [], spans[0][1]
    for left, end in spans[1:]:
        if left > right:
            gaps.append(left - right)
        right = max(right, end)
    if len(gaps) < spaces:
        return None
    return float(np.mean(sorted(gaps)[-spaces:])) / max(ink_height(strokes), 1e-9)


@dataclass
class HandTraits:
    """A few measurable traits of a hand, from lines of its ink (offsets, y up), for describing a style."""
    slant_deg: float            # lean of the downstrokes from vertical; positive: to the right
    width: float                # ink width per character, in ink heights
    strokes_per_char: float     # pen lifts per character: low for joined (cursive) writing

    def describe(self) -> str:
        """A short description a person recognises: "upright, narrow, joined"."""
        # width and joins: the terciles of testset_v's 21 writers, so the words tell hands apart
        s = self.slant_deg
        lean = ("upright" if abs(s) < 5 else f"slanted {'right' if s > 0 else 'left'}" if abs(s) < 15
                else f"strongly slanted {'right' if s > 0 else 'left'}")
        size = "narrow" if self.width < 0.51 else "wide" if self.width > 0.58 else "medium width"
        join = ("mostly joined" if self.strokes_per_char < 0.87 else "printed letters"
                if self.strokes_per_char > 1.14 else "partly joined")
        return f"{lean}, {size}, {join}"

    def to_dict(self) -> dict:
        return {"slant_deg": round(self.slant_deg, 1), "width": round(self.width, 3),
                "strokes_per_char": round(self.strokes_per_char, 3), "description": self.describe()}


def hand_traits(lines: list[tuple[np.ndarray, str]]) -> HandTraits:
    """The traits of a hand from (offsets, text) pairs of its lines (offsets (T, 3), y up, any units)."""
    down_dx = down_dy = 0.0
    widths, lifts, chars = [], 0, 0
    for offsets, text in lines:
        strokes = offsets_to_strokes(np.asarray(offsets, dtype=np.float64))     # y down from here
        if not strokes:
            continue
        h = max(ink_height(strokes), 1e-9)
        for s in strokes:
            d = np.diff(s, axis=0)
            # downstrokes: moving down (dy > 0) more than sideways; their mean lean is the slant
            down = d[(d[:, 1] > 0) & (np.abs(d[:, 1]) > np.abs(d[:, 0]))]
            down_dx += float(down[:, 0].sum())
            down_dy += float(down[:, 1].sum())
        x0, _, x1, _ = bounding_box(strokes)
        n = max(len(text.replace(" ", "")), 1)
        widths.append((x1 - x0) / h / max(len(text), 1))
        lifts += len(strokes)
        chars += n
    # a downstroke leaning right runs down and to the left: its dx is negative
    slant = float(np.degrees(np.arctan2(-down_dx, max(down_dy, 1e-9))))
    return HandTraits(slant, float(np.median(widths)) if widths else 0.0, lifts / max(chars, 1))
