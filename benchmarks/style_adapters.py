"""What the style adapters cost at write time: the guide's three-line document (styles 0 3 7, biases
1.8 0.6 1.2) written with the bank's adapters against the same bank by priming alone, in one process.

    OMP_NUM_THREADS=1 python benchmarks/style_adapters.py --seeds 9

For each seed, Hand.write with candidates 1 and 4, with and without the adapters, interleaved so that
the machine's load falls on both alike, after one warm-up write of each (which primes the styles: with
an adapter, priming reads the style's lines with the adapter's weights, once per style and process).
Printed: the median over seeds of each write's time over the same write without adapters, and the
first priming of the three styles each way.
"""
import argparse
import statistics
import time

import torch

from scribe.checkpoint import default_checkpoint, load_checkpoint
from scribe.hand import Hand, LineSpec
from scribe.styles import StyleBank

GUIDE = [("Report due by 09:00 on March 15th, 1985.", 0, 1.8),
         ("Can't believe it - met him at 3:00pm!", 3, 0.6),
         ("Got your message (thanks!) - call me.", 7, 1.2)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--style_dir", default=None, help="default: the shipped bank")
    p.add_argument("--seeds", type=int, default=9)
    args = p.parse_args()
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint or default_checkpoint())
    hands = {"adapters": Hand(ckpt, StyleBank(args.style_dir)),
             "priming alone": Hand(ckpt, StyleBank(args.style_dir, adapters=False))}
    if hands["adapters"].styles.adapter_file is None:
        raise SystemExit("this bank has no adapters file (train/adapt_styles.py makes one)")
    specs = [LineSpec(t, s, b) for t, s, b in GUIDE]
    for name, hand in hands.items():
        t = time.perf_counter()
        for s in (0, 3, 7):
            hand.primed(s)
        print(f"priming styles 0 3 7 the first time, {name}: {(time.perf_counter() - t) * 1000:.0f} ms")
        for n in (1, 4):
            hand.write(specs, seed=1000, candidates=n)          # warm-up (the reader, the compiled step)
    times = {(name, n): [] for name in hands for n in (1, 4)}
    for seed in range(args.seeds):
        for n in (1, 4):
            for name, hand in hands.items():
                t = time.perf_counter()
                hand.write(specs, seed=seed, candidates=n)
                times[(name, n)].append(time.perf_counter() - t)
    print(f"the guide document, {args.seeds} seeds, one torch thread")
    for n in (1, 4):
        base = times[("priming alone", n)]
        ratio = [a / b for a, b in zip(times[("adapters", n)], base)]
        print(f"  candidates {n}: priming alone {statistics.median(base):.3f} s, with adapters "
              f"{statistics.median(times[('adapters', n)]):.3f} s, ratio (median over seeds) {statistics.median(ratio):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
