"""Render docs/img/accents.png: a line of French, German and Spanish, each in its own style, written by
the shipped model with the accent marks drawn in the same hand (scribe/accents.py).

    python scripts/accents_image.py [--seed 10] [--styles 0 3 7] [--out docs/img/accents.png]

It writes with the legibility check on (4 candidates per line, as the CLI does) and prints what the
reader read, against the text with accents stripped.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from scribe.accents import base_text
from scribe.hand import Hand, LineSpec, use_sampling_threads

LINES = ("Noël à Orléans: crème brûlée et café",
         "Grüße aus Köln und schöne Straßen",
         "Mañana, señor Núñez, en Andalucía")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped model")
    p.add_argument("--styles", type=int, nargs=3, default=[0, 3, 7])
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--dpi", type=float, default=130)
    p.add_argument("--out", default="docs/img/accents.png")
    args = p.parse_args(argv)
    use_sampling_threads()
    hand = Hand.load(args.checkpoint)
    specs = [LineSpec(t, style=s, bias=args.bias) for t, s in zip(LINES, args.styles)]
    doc = hand.write(specs, seed=args.seed, candidates=4)
    for spec, ln, reading in zip(specs, doc.lines, doc.legibility.readings):
        print(f"style {spec.style}: {spec.text!r} -> {len(ln.marks)} marks; read {reading!r} "
              f"against {base_text(spec.text)!r}")
    print(doc.legibility.summary())
    path = doc.save(Path(args.out), dpi=args.dpi)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
