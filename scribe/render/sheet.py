"""The quality report's sample sheet: a grid of generated lines, one row per label, one column per
heading, each line shrunk to its cell when it drifts, so the whole of it shows.
"""
from __future__ import annotations

import numpy as np

from .. import ink
from .page import stroke_path


def _cell_strokes(offsets: np.ndarray, scale: float, max_h: float, max_w: float):
    """Strokes of one line in px, left edge at x=0 and centred on y=0, shrunk if they overflow the cell.

    A well-behaved line keeps the nominal scale (its median height on y=0); a line that drifts off
    its baseline is shrunk to fit, so the sheet shows the whole of it without overlapping its neighbours.
    """
    strokes = ink.offsets_to_strokes(offsets)
    if not strokes:
        return [], 0.0
    pts = np.concatenate(strokes)
    x0, mid = pts[:, 0].min(), float(np.median(pts[:, 1]))
    lo, hi = pts[:, 1].min(), pts[:, 1].max()
    if max(hi - mid, mid - lo) * 2 * scale > max_h or np.ptp(pts[:, 0]) * scale > max_w:
        scale = min(scale, max_h / max(hi - lo, 1e-6), max_w / max(np.ptp(pts[:, 0]), 1e-6))
        mid = (hi + lo) / 2
    return [np.column_stack([(s[:, 0] - x0) * scale, (s[:, 1] - mid) * scale]) for s in strokes], \
        float(np.ptp(pts[:, 0]) * scale)


def sheet_svg(rows: list[tuple[str, list[np.ndarray | None]]], columns: list[str], ink_height: float,
              x_height_px: float = 22.0, captions: list[str] | None = None) -> str:
    """A grid of lines: one row per label, one column per heading; optional caption under each row."""
    import svgwrite   # imported here so the training path never loads it
    scale = x_height_px / ink_height
    ink_h = 3.0 * x_height_px
    label_w = 16.0 + 6.6 * max([len(label) for label, _ in rows] + [10])   # ~6.6 px per char of 12 px text
    pad, row_h = 16.0, ink_h + (18.0 if captions else 6.0)
    cells = [[_cell_strokes(o, scale, ink_h, 60 * x_height_px) if o is not None else ([], 0.0) for o in offs]
             for _, offs in rows]
    col_w = [max([c[j][1] for c in cells] + [60.0]) + pad for j in range(len(columns))]
    width = label_w + sum(col_w) + pad
    if captions:   # ~6.6 px per character of 12 px sans-serif
        width = max(width, label_w + 6.6 * max(len(c) for c in captions) + pad)
    height = 30.0 + row_h * len(rows) + pad
    dwg = svgwrite.Drawing(size=(f"{width:.0f}px", f"{height:.0f}px"), viewBox=f"0 0 {width:.0f} {height:.0f}")
    font = {"font_family": "sans-serif", "font_size": "12px", "fill": "#555555"}
    x = label_w
    for j, head in enumerate(columns):
        dwg.add(dwg.text(head, insert=(x, 18), **font))
        x += col_w[j]
    for r, ((label, _), row) in enumerate(zip(rows, cells)):
        y = 30.0 + r * row_h + ink_h / 2
        dwg.add(dwg.text(label, insert=(8, y + 4), **font))
        x = label_w
        for j, (strokes, _) in enumerate(row):
            g = dwg.g(fill="none", stroke="#000000", stroke_width=1.2, stroke_linecap="round",
                      stroke_linejoin="round")
            for s in strokes:
                g.add(dwg.path(d=stroke_path(s + np.array([x, y]))))
            dwg.add(g)
            x += col_w[j]
        if captions:
            dwg.add(dwg.text(captions[r], insert=(label_w, y + ink_h / 2 + 12), **font))
    return dwg.tostring()
