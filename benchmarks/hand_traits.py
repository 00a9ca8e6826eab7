"""Does a style write its writer's hand as a person sees it? Four traits a reader of the page notices,
measured on generated lines and on the writer's own real lines.

    python benchmarks/hand_traits.py                     # 3 seeds, bias 1.0, first draws, about 3 min
    python benchmarks/hand_traits.py --candidates 4      # through the legibility check, as a write gives them

The writer scorer (the quality report's measure) says whether a line is found as its writer; it does not
say which part of a hand is carried and which is lost. Here, for every bank style, the quality report's
10 sentences (scribe.evaluate.SENTENCES) are written at `--bias` for each seed, and the style's writer's
held-out testset_v lines (style_fidelity.bank_writers: never a prime line or a line an adapter was fitted
to) are measured the same way:

- slant: the lean of the downstrokes, degrees (scribe.ink.hand_traits);
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
from scribe.iam import derive_writers, read_form_clocks, writer_of_form
from scribe.ink import hand_traits, word_gap
from scribe.style_fidelity import bank_writers

TRAITS = ("slant", "width", "lifts", "word gap")


def traits(lines: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """The four TRAITS of a set of (offsets, text) lines of one hand."""
    t = hand_traits(lines)
    gaps = [g for g in (word_gap(o, text) for o, text in lines) if g is not None]
    return np.array([t.slant_deg, t.width, t.strokes_per_char, float(np.median(gaps)) if gaps else np.nan])


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
    found = bank_writers(hand.styles, data, writer_of_form(derive_writers(read_form_clocks(args.iam_dir))),
                         hand.style_ids)
    styles = [s for s in hand.style_ids if s in found.writer_of_style]
    own = traits(written(hand, None, args.seeds, args.bias, args.candidates, None))
    gen, real = [], []
    print(f"{'style':>5}  " + "  ".join(f"{name:>15s}" for name in TRAITS) + "   (generated / writer's own)")
    for sid in styles:
        lines = [(data.line(i), str(data.texts[i])) for i in found.held_out[found.writer_of_style[sid]]]
        gen.append(traits(written(hand, sid, args.seeds, args.bias, args.candidates, args.likeness)))
        real.append(traits(lines))
        print(f"{sid:>5}  " + "  ".join(f"{g:7.2f}/{r:<7.2f}" for g, r in zip(gen[-1], real[-1])), flush=True)
    gen, real = np.array(gen), np.array(real)
    print(f"\n{len(styles)} styles x {len(SENTENCES)} sentences x {args.seeds} seeds, bias {args.bias:g}, "
          f"{'first draws' if args.candidates == 1 else f'through the check (N = {args.candidates})'}, "
          f"likeness {'by style' if args.likeness is None else args.likeness}")
    for k, name in enumerate(TRAITS):
        ok = ~np.isnan(gen[:, k]) & ~np.isnan(real[:, k])
        r = float(np.corrcoef(gen[ok, k], real[ok, k])[0, 1])
        primed = float(np.mean(np.abs(gen[ok, k] - real[ok, k])))
        floor = float(np.mean(np.abs(own[k] - real[ok, k])))
        print(f"  {name:<9s} follows the writer: r = {r:5.2f};  mean distance to the writer {primed:.3f} "
              f"(the model's own hand: {floor:.3f}); writers range {real[ok, k].min():.2f}-{real[ok, k].max():.2f}, "
              f"styles {gen[ok, k].min():.2f}-{gen[ok, k].max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
