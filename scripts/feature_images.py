"""Render the feature images of docs/features.md: a paragraph-mode page, the plotter SVG, an animated SVG.

    python scripts/feature_images.py --checkpoint runs/cpu_standin/checkpoint-3200.pt [--style 3]

Writes docs/img/paragraph.png, docs/img/plotter.png (the plotter SVG rasterised by cairosvg, with its
layers in two colours) and docs/img/writing.svg, and prints the pen-up travel before and after
path ordering on the plotted page and on a full A4 paragraph page.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from scribe.render.animate import AnimationOptions, animated_svg
from scribe.files import atomic_write_bytes
from scribe.hand import Hand, LineSpec
from scribe import ink
from scribe.render.paragraph import ParagraphLayout, WrittenLine, set_pages
from scribe.render.plotter import PlotterOptions, plan_page, plotter_svg

TEXT = ("Dear reader, this page was written by a neural network that learnt to write from people "
        "writing on a whiteboard. Long text wraps to the line width in the hand's own measure, and no "
        "word is ever split.\n\n"
        "A blank line starts a new paragraph. Text that runs past the bottom of the page carries on "
        "on the next one.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--style", type=int, default=None)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default="docs/img")
    args = p.parse_args(argv)
    import cairosvg
    out = Path(args.out)
    hand = Hand.load(args.checkpoint)
    layout = ParagraphLayout(page="a5", margin_mm=14, ink_height_mm=6.5, align="left", variation=1.0)
    doc = hand.write_paragraph(TEXT, args.style, args.bias, layout=layout, seed=args.seed)
    atomic_write_bytes(out / "paragraph.png", doc.png(0, dpi=110))
    print(f"paragraph: {len(doc.pages)} page(s), {sum(1 for t in doc.texts if t)} lines, {doc.rounds} round(s), "
          f"{len(doc.shrunk_lines)} narrowed, {doc.seconds:.1f}s")

    specs = [LineSpec("Plotters change pens per layer:", args.style, args.bias, "#1a1a1a"),
             LineSpec("one Inkscape layer per ink colour.", args.style, args.bias, "#b0302a")]
    written = hand.write(specs, seed=args.seed)
    lines = [WrittenLine(s.text, ink.offsets_to_strokes(ln.offsets), 0.0, color=s.color)
             for s, ln in zip(specs, written.lines)]
    sheet = ParagraphLayout(page="a5", landscape=True, margin_mm=12, ink_height_mm=8)
    page = set_pages(lines, hand.stats.ink_height, sheet)[0][0]
    options = PlotterOptions(paper="a5", landscape=True)
    plan = plan_page(page, options)
    svg = plotter_svg(page, options)
    atomic_write_bytes(out / "plotter.png", cairosvg.svg2png(bytestring=svg.encode(), dpi=110,
                                                              background_color="white"))
    print(f"plotter: {len(plan.strokes)} strokes; pen-up travel {plan.travel_before_mm:.0f} mm in writing order, "
          f"{plan.travel_after_mm:.0f} mm ordered ({plan.travel_after_mm / plan.travel_before_mm:.2f}x)")
    anim = hand.write([LineSpec("Watch the pen write", args.style, args.bias)], seed=args.seed)
    atomic_write_bytes(out / "writing.svg", animated_svg(anim.page(), AnimationOptions(speed=1.5, loop=True))
                       .encode())
    print(f"wrote {out / 'paragraph.png'}, {out / 'plotter.png'}, {out / 'writing.svg'}")

    # Path ordering on a full A4 paragraph page: pen-up travel in writing order, greedy, greedy + 2-opt.
    a4 = hand.write_paragraph(TEXT + "\n\n" + TEXT, args.style, args.bias, layout=ParagraphLayout(page="a4"),
                              seed=args.seed).pages[0]
    greedy = plan_page(a4, PlotterOptions(paper="a4", improve_passes=0))
    full = plan_page(a4, PlotterOptions(paper="a4"))
    print(f"A4 paragraph page, {len(full.strokes)} strokes: pen-up travel {full.travel_before_mm:.0f} mm in writing "
          f"order, {greedy.travel_after_mm:.0f} mm greedy ({greedy.travel_after_mm / full.travel_before_mm:.2f}x), "
          f"{full.travel_after_mm:.0f} mm greedy + 2-opt ({full.travel_after_mm / full.travel_before_mm:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
