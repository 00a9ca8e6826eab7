"""What per-step progress costs: the guide's three-line document written with and without an
`on_step` callback (which runs the Python step loop around the same compiled step, instead of the
compiled loop).

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/progress_cost.py --rounds 5

The model is loaded and the styles primed before timing; both paths run in turn, same seed, and must
write the same ink. Prints median wall times and the ratio (with callback over without).
"""
import argparse
import statistics
import sys
import time

from scribe.hand import Hand, use_sampling_threads

from scribe.request import LineSpec

LINES = ["Report due by 09:00 on March 15th, 1985.", "Can't believe it - met him at 3:00pm!",
         "Got your message (thanks!) - call me."]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    use_sampling_threads()
    hand = Hand.load(args.checkpoint)
    styles = (hand.style_ids[:3] + [None] * 3)[:3] if hand.style_ids else [None] * 3
    specs = [LineSpec(t, s, b) for t, s, b in zip(LINES, styles, (1.8, 0.6, 1.2))]
    hand.write(specs, seed=0, candidates=1)         # prime the styles, warm up
    steps = []
    times = {"compiled loop": [], "per-step callback": []}
    for r in range(args.rounds):
        plain = None
        for name in times:
            cb = (lambda t, cap, done: steps.append(t)) if name == "per-step callback" else None
            started = time.perf_counter()
            doc = hand.write(specs, seed=r + 1, on_step=cb, candidates=1)
            times[name].append(time.perf_counter() - started)
            if plain is None:
                plain = doc.svg()
            else:
                assert doc.svg() == plain, "the callback changed the ink"
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:18s}: {v:.2f} s (median of {args.rounds})")
    print(f"per-step callback / compiled loop: {med['per-step callback'] / med['compiled loop']:.2f}x "
          f"({max(steps)} steps in the longest round)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
