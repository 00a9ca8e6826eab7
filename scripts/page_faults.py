"""Faults a reader sees on the page, with the sampler's full-stop rule off and on, in one run:

- the first word of a primed line (a malformed first letter, a lead-in stroke) against the other
  words, read by the strict recogniser: overall, per style, and split by the first word's case. The
  fair comparison is the lowercase one: a capital is written worse than a lowercase letter anywhere
  in a line (this model's capitals are its weak point), and every other word here is lowercase;
- doubled full stops and stray marks after a final ".": lines ending in two or more dot-sized strokes.

    python scripts/page_faults.py                        # 13 styles x 10 sentences x 2 seeds, bias 1.0
    python scripts/page_faults.py --checkpoint FILE --recognizer FILE --seeds 1 2 3
    python scripts/page_faults.py --prefix "and"         # the same words, moved into the line

--prefix writes each sentence after the given words and counts the sentence's own first word as the
"first word": the control for how well those words read when they do not start the line.

Each sentence ends in "."; half begin with a capital, half with a lowercase word. The same seeds are
drawn with the rule off and on, so the two columns differ only by what the rule removed.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from scribe.hand import Hand, LineSpec
from scribe.recognizer import load_recognizer, reading_cer, word_matches
from scribe.sampling import DOT_SIZE, strokes_of

CAPITAL_FIRST = ["Sunday mornings were slow and quiet.", "Spring came late to the hills that year.",
                 "He wrote it on the whiteboard.", "The train left at noon.", "We ate bread and soup."]
LOWERCASE_FIRST = ["after the rain the streets were quiet.", "most of the shops closed early today.",
                   "her brother found the keys in the car.", "only a few boats left the harbour.",
                   "from the window we could see the sea."]
SENTENCES = CAPITAL_FIRST + LOWERCASE_FIRST


def trailing_dots(offsets: np.ndarray, dot_size: float) -> int:
    """How many dot-sized strokes end the line."""
    pts = np.cumsum(offsets[:, :2], 0)
    n = 0
    for a, b in reversed(strokes_of(offsets)):
        if np.ptp(pts[a:b + 1], 0).max() >= dot_size:
            break
        n += 1
    return n


def measure(hand: Hand, reader, specs: list[LineSpec], seeds: list[int], skip: int = 0) -> dict:
    """Sample specs once per seed (40 lines per request) and read them back; the first `skip` words
    of each text are a prefix, not counted."""
    dot = DOT_SIZE * hand.stats.ink_height
    lines = []
    for seed in seeds:
        for i in range(0, len(specs), 40):        # a request holds at most 40 lines
            lines += hand.write(specs[i:i + 40], seed=seed + i, candidates=1).lines
    all_specs = specs * len(seeds)
    reads = reader.read([ln.offsets for ln in lines])
    out = {"first": {"capital": [], "lowercase": []}, "rest": {"capital": [], "lowercase": []},
           "style_first": {}, "style_rest": {}, "doubled": 0, "lines": len(lines),
           "cer": reading_cer(reads, [s.text for s in all_specs])}
    for spec, ln, read in zip(all_specs, lines, reads):
        marks = word_matches(read, spec.text)[skip:]
        kind = "capital" if spec.text.split()[skip][0].isupper() else "lowercase"
        out["first"][kind].append(marks[0])
        out["rest"][kind] += marks[1:]
        out["style_first"].setdefault(spec.style, []).append(marks[0])
        out["style_rest"].setdefault(spec.style, []).extend(marks[1:])
        out["doubled"] += trailing_dots(ln.offsets, dot) >= 2
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--recognizer", default=None)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--prefix", default="", help="words written before each sentence (not counted)")
    args = p.parse_args(argv)
    prefix = " ".join(args.prefix.split())
    torch.set_num_threads(1)
    hand = Hand.load(args.checkpoint)
    reader = load_recognizer(args.recognizer)
    styles = hand.style_ids
    specs = [LineSpec(f"{prefix} {t}" if prefix else t, style=s, bias=args.bias) for s in styles for t in SENTENCES]
    print(f"{len(styles)} styles x {len(SENTENCES)} sentences x {len(args.seeds)} seeds = "
          f"{len(specs) * len(args.seeds)} lines per column, bias {args.bias}"
          + (f"; each sentence after {prefix!r}, whose words are not counted" if prefix else ""))
    result = {}
    for tidy in (False, True):
        hand.sampler.tidy = tidy
        result[tidy] = measure(hand, reader, specs, args.seeds, len(prefix.split()))
    mean = lambda v: float(np.mean(v)) if len(v) else float("nan")
    both = lambda d: d["capital"] + d["lowercase"]
    rows = [("first word read exactly" if not prefix else "the sentence's first word", lambda r: mean(both(r["first"]))),
            ("other words read exactly", lambda r: mean(both(r["rest"]))),
            ("  lowercase first word", lambda r: mean(r["first"]["lowercase"])),
            ("  its line's other words", lambda r: mean(r["rest"]["lowercase"])),
            ("  capital first word", lambda r: mean(r["first"]["capital"])),
            ("  its line's other words ", lambda r: mean(r["rest"]["capital"]))]
    print(f"{'':30s} {'rule off':>10s} {'rule on':>10s}")
    for name, f in rows:
        print(f"{name:30s} {f(result[False]):10.1%} {f(result[True]):10.1%}")
    print(f"{'CER':30s} {result[False]['cer']:10.3f} {result[True]['cer']:10.3f}")
    print(f"{'lines ending in 2+ dots':30s} {result[False]['doubled']:10d} {result[True]['doubled']:10d}")
    on = result[True]
    print("rule on, per style, first word / other words read exactly: " + ", ".join(
        f"{s}: {mean(on['style_first'][s]):.0%}/{mean(on['style_rest'][s]):.0%}" for s in styles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
