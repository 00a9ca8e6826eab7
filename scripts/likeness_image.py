"""Render docs/img/likeness.png: a style's writer's own line, then the model writing the same text in that
style at likeness 0 (priming alone), at the style's own likeness (the default) and at 1 (the fitted hand
in full), for each style asked; the same seed throughout, bias 1.0, no legibility check.

    python scripts/likeness_image.py --styles 4 6 --seed 3
"""
from __future__ import annotations

import argparse
import re
import sys

from scribe.files import atomic_write_bytes
from scribe.hand import Hand, LineSpec
from scribe.render.page import Layout, page_to_svg
from scribe.style_adapters import own_strength
from scribe.web.views import style_preview_svg

ROW_GAP, LABEL_W, X_HEIGHT = 10.0, 230.0, 20.0     # the same writing size for the writer's ink and the model's


def _size(svg: str) -> tuple[float, float]:
    m = re.search(r'height="([\d.]+)px".*?width="([\d.]+)px"', svg)
    return float(m.group(2)), float(m.group(1))


def rows_for(hand: Hand, style_id: int, seed: int, bias: float) -> list[tuple[str, str]]:
    """(label, svg) rows for one style."""
    style = hand.styles.get(style_id)
    own = own_strength(style)
    rows = [(f"style {style_id}: the writer's own line", style_preview_svg(style, x_height_px=X_HEIGHT, width=1.5))]
    for likeness, name in ((0.0, "likeness 0 (priming alone)"), (own, f"likeness {own:g} (the style's own)"),
                           (1.0, "likeness 1 (the fitted hand)")):
        result = hand.write([LineSpec(style.text, style_id, bias, likeness=likeness)], seed=seed, candidates=1)
        rows.append((name, page_to_svg(result.page(Layout(x_height_px=X_HEIGHT, line_spacing=2.6, margin_px=3.0)))))
    return rows


def compose(rows: list[tuple[str, str]]) -> str:
    """One SVG: each row's label on the left, its ink on the right, one under the other."""
    parts, y, width = [], 0.0, 0.0
    for label, svg in rows:
        w, h = _size(svg)
        inner = re.sub(r"^<svg ", f'<svg x="{LABEL_W}" y="{y:.1f}" ', svg.strip())
        parts.append(f'<text x="6" y="{y + h / 2 + 5:.1f}" font-family="sans-serif" font-size="13" '
                     f'fill="#444">{label}</text>{inner}')
        y += h + ROW_GAP
        width = max(width, LABEL_W + w + 12)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{y:.0f}" '
            f'viewBox="0 0 {width:.0f} {y:.0f}"><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--styles", type=int, nargs="+", default=[4, 6])
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--out", default="docs/img/likeness.png")
    args = p.parse_args(argv)
    import cairosvg
    hand = Hand.load(args.checkpoint)
    rows = [row for sid in args.styles for row in rows_for(hand, sid, args.seed, args.bias)]
    atomic_write_bytes(args.out, cairosvg.svg2png(bytestring=compose(rows).encode(), output_width=1100))
    print(f"wrote {args.out}: styles {' '.join(map(str, args.styles))}, seed {args.seed}, bias {args.bias:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
