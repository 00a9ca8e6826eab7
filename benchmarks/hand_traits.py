"""Does a style write its writer's hand as a person sees it? Four traits a reader of the page notices,
measured on generated lines and on the writer's own real lines.

    python benchmarks/hand_traits.py                     # 3 seeds, bias 1.0, first draws, about 3 min
    python benchmarks/hand_traits.py --candidates 4      # through the legibility check, as a write gives them

The writer scorer (the quality report's measure) says whether a line is found as its writer; it does not
say which part of a hand is carried and which is lost. Here, for every bank style, the quality report's
10 sentences (scribe.evaluate.SENTENCES) are written at `--bias` for each seed, and the style's writer's
held-out testset_v lines (style_fidelity.bank_writers: never a prime line or a line an adapter was fitted
to) are measured the same way:

- slant: the lean of the downstrokes, degrees (scribe.ink.hand_traits; scribe.style_fidelity.traits_followed);
- width: ink width per character, in ink heights (word gaps included);
- lifts: pen lifts per character (low: joined writing);
- word gap: the mean gap between words, in ink heights (scribe.ink.word_gap).

For each trait: the correlation over the 13 styles between the generated lines' value and the writer's
(1: every style's trait follows its writer's), and the mean distance between them, against the same
distance for the model's own hand (unprimed lines, one set compared with every writer: the floor).
Needs data/iam_ondb.npz and the IAM-OnDB archives (for the writers' clock).
"""
import argparse
import sys

import numpy as np
import torch

from scribe.dataset import ProcessedData
from scribe.evaluate import SENTENCES
from scribe.hand import Hand, LineSpec, use_sampling_threads
from scribe.iam import writers_of_forms
from scribe.style_fidelity import TRAITS, bank_writers, traits_followed


def written(hand, style, seeds: int, bias: float, candidates: int, likeness) -> list[tuple[np.ndarray, str]]:
    out = []
    for seed in range(seeds):
        doc = hand.write([LineSpec(t, style, bias, likeness=likeness) for t in SENTENCES],
                         seed=7919 * seed + (style if style is not None else 99), candidates=candidates)
        out += [(ln.model_offsets, t) for ln, t in zip(doc.lines, SENTENCES)]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--candidates", type=int, default=1, help="1: first draws; more: through the legibility check")
    p.add_argument("--likeness", type=float, default=None, help="every line's likeness (default: each style's own)")
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--iam_dir", default="../shared/data/iam-ondb")
    args = p.parse_args(argv)
    use_sampling_threads(1)
    torch.manual_seed(0)
    hand = Hand.load()
    data = ProcessedData.load(args.data)
    found = bank_writers(hand.styles, data, writers_of_forms(args.iam_dir),
                         hand.style_ids)
    generated = {s: written(hand, s, args.seeds, args.bias, args.candidates, args.likeness)
                 for s in hand.style_ids if s in found.writer_of_style}
    own = written(hand, None, args.seeds, args.bias, args.candidates, None)
    out = traits_followed(data, found, generated, own)
    print(f"{'style':>5}  " + "  ".join(f"{name:>15s}" for name in TRAITS) + "   (generated / writer's own)")
    for sid, v in out["per_style"].items():
        print(f"{sid:>5}  " + "  ".join(f"{g:7.2f}/{r:<7.2f}" for g, r in zip(v["generated"], v["writer"])))
    print(f"\n{len(out['styles'])} styles x {len(SENTENCES)} sentences x {args.seeds} seeds, bias {args.bias:g}, "
          f"{'first draws' if args.candidates == 1 else f'through the check (N = {args.candidates})'}, "
          f"likeness {'by style' if args.likeness is None else args.likeness}")
    for name, t in out["traits"].items():
        r = "-" if t["r"] is None else f"{t['r']:5.2f}"
        print(f"  {name:<9s} follows the writer: r = {r};  mean distance to the writer {t['distance']:.3f} "
              f"(the model's own hand: {t['own_distance']:.3f}); writers {t['writers'][0]:.2f} to {t['writers'][1]:.2f}, "
              f"styles {t['generated'][0]:.2f} to {t['generated'][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
