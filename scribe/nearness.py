"""How near a line of ink is to its style's hand: the legibility check's second question.

The check (scribe.candidates) draws several candidates of a line. Reading alone picks the one the
reader reads best, and that is often the most generic of them: over the report's sentences the
check's picks were found as their style's writer less often than a random draw (0.68 of the ceiling
against 0.70; docs/style-fidelity.md). So for a line in a style, the candidates that read about as
well as the best (exactly, if one does; else within NEAR_EDITS misread characters: see
scribe.candidates.nearest_of_best) are ranked by how near each is to the style's own lines,
as the writer-identification scorer sees them (scribe.writer_id: a unit embedding of a line's hand,
trained on other writers than the bank's): the cosine between the candidate and the mean of the
style's lines. A line in the model's own hand, or a check without the scorer file, is chosen by
reading alone.

`Nearness` holds the scorer and each style's centroid, cached by the style's content (the digest
priming uses), so a user's style that changes gets a new one.
"""
from __future__ import annotations

import threading

import numpy as np

from .files import loaded_or_reason
from .priming import style_key
from .styles import Style
from .writer_id import SHIPPED_WRITER_ID, WriterId, WriterIdError, load_writer_id

NEAR_EDITS = 1          # when no candidate reads exactly, one may misread this many more characters than
                        # the best and still win by its hand
MAX_CENTROIDS = 256     # styles' centroids kept (a user's styles come and go)


class Nearness:
    """The scorer and the centroid of each style's lines. Safe to share between threads."""

    def __init__(self, scorer: WriterId):
        self.scorer = scorer
        self._centroids: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def centroid(self, style: Style) -> np.ndarray:
        """The unit mean embedding of every line of the style (cached by content)."""
        key = style_key(style)
        found = self._centroids.get(key)
        if found is None:
            emb = self.scorer.embed([np.asarray(o, np.float32) for _, o in style.lines()])
            mean = emb.mean(0)
            found = mean / max(float(np.linalg.norm(mean)), 1e-12)
            with self._lock:
                if len(self._centroids) >= MAX_CENTROIDS:
                    self._centroids.pop(next(iter(self._centroids)))
                self._centroids[key] = found
        return found

    def of(self, inks: list[np.ndarray], styles: list[Style | None]) -> list[float | None]:
        """Per ink, its cosine to its style's centroid (one scorer call for all); None where the style
        is None (the model's own hand has no lines to be near)."""
        rows = [i for i, s in enumerate(styles) if s is not None]
        out: list[float | None] = [None] * len(inks)
        if rows:
            emb = self.scorer.embed([inks[i] for i in rows])
            centre = {id(s): self.centroid(s) for s in styles if s is not None}   # each style hashed once
            for k, i in enumerate(rows):
                out[i] = float(emb[k] @ centre[id(styles[i])])
        return out


def nearness_or_reason(path=None, cache: dict | None = None) -> tuple[Nearness | None, str]:
    """(Nearness over the scorer at `path`, "") or (None, why it cannot be used), naming the file but
    not its folder. None: the shipped scorer."""
    return loaded_or_reason(lambda p: Nearness(load_writer_id(p)), path, SHIPPED_WRITER_ID, WriterIdError,
                            "hand scorer", "scorer", cache, key=f"nearness:{path}")
