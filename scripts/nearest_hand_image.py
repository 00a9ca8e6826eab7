"""Render docs/img/nearest-hand.png: for each style asked, the writer's own line, then one line of the
quality report's sentences as the legibility check keeps it by reading alone and by reading and hand
(scribe.nearness), from the same four candidates (one fixed batch: the seed's draws), with what the
reader read and each pick's nearness to the style's lines. By default the first sentence where the two
picks differ, so that the image shows what the hand changes (in the report's run it changed 49 of 130).

    python scripts/nearest_hand_image.py --styles 1 8 --seed 0
"""
from __future__ import annotations

import argparse
import re
import sys
from html import escape

from scribe.candidates import LegibilityCheck, choose_in_batch, reader_or_reason
from scribe.evaluate import SENTENCES
from scribe.files import atomic_write_bytes
from scribe.hand import Hand, LineSpec
from scribe.nearness import nearness_or_reason
from scribe.render.page import Layout, page_to_svg
from scribe.result import line_page
from scribe.web.views import style_preview_svg

X_HEIGHT, LABEL_H, ROW_GAP = 20.0, 18.0, 8.0     # the same writing size for the writer's ink and the model's


def _size(svg: str) -> tuple[float, float]:
    m = re.search(r'height="([\d.]+)px".*?width="([\d.]+)px"', svg)
    return float(m.group(2)), float(m.group(1))


def compose(rows: list[tuple[str, str]]) -> str:
    """One SVG: each row's label, then its ink under it (labels here are too long to sit beside the ink)."""
    parts, y, width = [], 0.0, 0.0
    for label, svg in rows:
        w, h = _size(svg)
        parts.append(f'<text x="6" y="{y + 13:.1f}" font-family="sans-serif" font-size="13" fill="#444">{label}</text>')
        parts.append(re.sub(r"^<svg ", f'<svg x="6" y="{y + LABEL_H:.1f}" ', svg.strip()))
        y += LABEL_H + h + ROW_GAP
        width = max(width, w + 12, 8.0 * len(label))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{y:.0f}" '
            f'viewBox="0 0 {width:.0f} {y:.0f}"><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>")


def rows_for(hand: Hand, style_id: int, seed: int, bias: float, n: int, reader, judge,
             sentences=SENTENCES) -> list[tuple[str, str]]:
    """(label, svg) rows for one style: its writer's line, then both picks of the first sentence (of
    `sentences`) where they differ (else of the last one tried)."""
    style = hand.styles.get(style_id)
    rows = [(f"style {style_id}: the writer's own line", style_preview_svg(style, x_height_px=X_HEIGHT, width=1.5))]
    for text in sentences:
        specs = hand.check([LineSpec(text, style_id, bias)])
        batch = hand.sample_candidates(specs, n, seed)
        alone, by_hand = LegibilityCheck(n), LegibilityCheck(n)
        a = choose_in_batch(hand, specs, batch, reader, alone, judge=None)[0]
        h = choose_in_batch(hand, specs, batch, reader, by_hand, judge=judge)[0]
        if by_hand.by_hand:
            break
    near = judge.of([a.model_offsets, h.model_offsets], [style, style])
    layout = Layout(x_height_px=X_HEIGHT, line_spacing=2.6, margin_px=3.0)
    for name, line, check, close in (("reading alone", a, alone, near[0]), ("reading and hand", h, by_hand, near[1])):
        label = f"the check by {name}: the reader read {check.readings[0]!r}; nearness to the style {close:.2f}"
        rows.append((escape(label, quote=False), page_to_svg(line_page(specs, [line], hand.stats.ink_height, layout))))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--styles", type=int, nargs="+", default=[1, 8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--out", default="docs/img/nearest-hand.png")
    args = p.parse_args(argv)
    import cairosvg
    hand = Hand.load(args.checkpoint)
    reader, why = reader_or_reason(None)
    judge, why_not = nearness_or_reason(None)
    if reader is None or judge is None:
        sys.exit(f"error: {why or why_not}")
    rows = [row for sid in args.styles for row in rows_for(hand, sid, args.seed, args.bias, args.candidates,
                                                            reader, judge)]
    atomic_write_bytes(args.out, cairosvg.svg2png(bytestring=compose(rows).encode(), output_width=1100))
    print(f"wrote {args.out}: styles {' '.join(map(str, args.styles))}, seed {args.seed}, bias {args.bias:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
