"""Faults a reader sees on the page, with the sampler's two tidy-up rules off and on, in one run:

- the first word of a primed line (a lead-in stroke or a malformed first letter) against the others,
  read by the recogniser, per style;
- doubled full stops and stray marks after a final ".": lines ending in two or more dot-sized strokes.

    python scripts/page_faults.py                        # 13 styles x 5 sentences x 2 seeds, bias 1.0
    python scripts/page_faults.py --checkpoint FILE --recognizer FILE --seeds 1 2 3

Each sentence ends in "."; the same seeds are drawn with the rules off and on, so the two columns
differ only by what the rules removed.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from scribe.hand import Hand, LineSpec
from scribe.recognizer import load_recognizer, word_matches
from scribe.sampling import DOT_SIZE, strokes_of

SENTENCES = ["Sunday mornings were slow and quiet.", "Spring came late to the hills that year.",
             "He wrote it on the whiteboard.", "The train left at noon.", "We ate bread and soup."]


def trailing_dots(offsets: np.ndarray, dot_size: float) -> int:
    """How many dot-sized strokes end the line."""
    pts = np.cumsum(offsets[:, :2], 0)
    n = 0
    for a, b in reversed(strokes_of(offsets)):
        if np.ptp(pts[a:b + 1], 0).max() >= dot_size:
            break
        n += 1
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--recognizer", default=None)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    hand = Hand.load(args.checkpoint)
    reader = load_recognizer(args.recognizer)
    styles = hand.style_ids
    specs = [LineSpec(t, style=s, bias=args.bias) for s in styles for t in SENTENCES]
    dot = DOT_SIZE * hand.stats.ink_height
    print(f"{len(styles)} styles x {len(SENTENCES)} sentences x {len(args.seeds)} seeds = "
          f"{len(specs) * len(args.seeds)} lines per column, bias {args.bias}")
    result = {}
    for tidy in (False, True):
        hand.sampler.tidy = tidy
        first, rest, doubled, per_style = [], [], 0, {s: [] for s in styles}
        for seed in args.seeds:
            lines = []
            for i in range(0, len(specs), 40):        # a request holds at most 40 lines
                lines += hand.write(specs[i:i + 40], seed=seed + i).lines
            reads = reader.read([ln.offsets for ln in lines])
            for spec, ln, read in zip(specs, lines, reads):
                marks = word_matches(read, spec.text)
                first.append(marks[0])
                rest += marks[1:]
                per_style[spec.style].append(marks[0])
                doubled += trailing_dots(ln.offsets, dot) >= 2
        result[tidy] = (np.mean(first), np.mean(rest), doubled, {s: np.mean(v) for s, v in per_style.items()})
    print(f"{'':28s} {'rules off':>10s} {'rules on':>10s}")
    print(f"{'first word read exactly':28s} {result[False][0]:10.1%} {result[True][0]:10.1%}")
    print(f"{'other words read exactly':28s} {result[False][1]:10.1%} {result[True][1]:10.1%}")
    print(f"{'lines ending in 2+ dots':28s} {result[False][2]:10d} {result[True][2]:10d}")
    print("first word read exactly, per style (off -> on): " + ", ".join(
        f"{s}: {result[False][3][s]:.0%}->{result[True][3][s]:.0%}" for s in styles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
