"""The request cost model (scribe/cost.py) against the clock, and the costliest requests under the
app's default budget.

    OMP_NUM_THREADS=1 python benchmarks/request_cost.py
    OMP_NUM_THREADS=1 python benchmarks/request_cost.py --part hostile

Calibrate. Writes of several shapes (lines x characters x candidates, live or not) with the shipped
model and reader, one torch thread, one process, after a warm-up: the estimate (seconds of one core)
beside the measured wall time, and their ratio. Re-fit STEP_S / ROW_S / READ_S in scribe/cost.py
when the ratios drift far from 1 on the machine that serves.

Hostile. The two requests of issue 27 with the app's default budget (cost.DEFAULT_BUDGET_S), written
as the app writes them (scribe.web.outputs, in this process, one thread): the 4,990-character
paragraph on A5 with candidates=16, and 40 lines of 90 characters live with candidates=16. Printed:
what the budget did (N lowered, or refused), wall and CPU seconds, and the growth of the process's
peak RSS.
"""
import argparse
import resource
import statistics
import sys
import time

from scribe import cost
from scribe.hand import Hand, LineSpec, use_sampling_threads

TEXT = "The quick brown fox jumps over the lazy dog and then it runs far away into the deep forest again"
SHAPES = [(1, 30, 1, False), (3, 40, 1, False), (3, 40, 4, False), (10, 60, 1, False), (10, 60, 4, False),
          (40, 50, 1, False), (10, 60, 4, True)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def calibrate(hand, rounds):
    hand.write([LineSpec(TEXT[:40], 3)] * 3, seed=0, candidates=4)     # warm-up: primes, loads the reader
    print(f"  {'lines':>5s} {'chars':>5s} {'N':>3s} {'live':>5s} {'estimate s':>11s} {'measured s':>11s} {'ratio':>6s}")
    for lines, chars, n, live in SHAPES:
        specs = [LineSpec(TEXT[:chars], 3, 0.75)] * lines
        walls = []
        for r in range(rounds):
            t = time.perf_counter()
            if live:
                gen = hand.write_live(specs, seed=r, candidates=n)
                for ink in gen:
                    ink.page()            # what a live update renders at the least
            else:
                hand.write(specs, seed=r, candidates=n)
            walls.append(time.perf_counter() - t)
        est, got = cost.estimate([chars] * lines, n, live), statistics.median(walls)
        print(f"  {lines:>5d} {chars:>5d} {n:>3d} {str(live):>5s} {est:>11.2f} {got:>11.2f} {got / est:>6.2f}", flush=True)


def hostile(hand, budget):
    import tempfile
    from pathlib import Path
    from scribe.render.paragraph import ParagraphLayout
    from scribe.request import ParagraphRequest, WriteRequest
    from scribe.web import outputs
    paragraph = ("The quick brown fox jumps over the lazy dog, and then it runs far into the woods. " * 70)[:4990]
    lines = [LineSpec((TEXT * 2)[:90], 3, 0.75)] * 40
    with tempfile.TemporaryDirectory() as tmp:
        def para():
            r = outputs.write_files(hand, ParagraphRequest(paragraph, 3, 0.75, layout=ParagraphLayout(page="a5"),
                                                           seed=1, candidates=16), out_root=Path(tmp), budget=budget)
            return r.legibility
        def live():
            writing = outputs.write_files_live(hand, WriteRequest(lines, 1, candidates=16), out_root=Path(tmp),
                                               budget=budget)
            try:
                while True:
                    next(writing).page()
            except StopIteration as end:
                return end.value.legibility
        for name, fn in (("paragraph 4,990 chars, A5, candidates=16", para),
                         ("40 lines x 90 chars live, candidates=16", live)):
            before, t, c = peak_mb(), time.perf_counter(), time.process_time()
            try:
                check = fn()
                what = f"N lowered to {check.candidates}" if check.lowered else f"N = {check.candidates}"
            except cost.RequestTooCostly as e:
                what = f"refused: {e}"
            print(f"  {name}: {what}; {time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} s CPU, "
                  f"peak RSS +{peak_mb() - before:.0f} MB", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("calibrate", "hostile", "both"), default="both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--budget", type=float, default=cost.DEFAULT_BUDGET_S)
    args = p.parse_args(argv)
    use_sampling_threads(1)
    hand = Hand.load()
    if args.part in ("calibrate", "both"):
        print("calibrate: estimate (scribe/cost.py) against the median of", args.rounds, "writes, one thread")
        calibrate(hand, args.rounds)
    if args.part in ("hostile", "both"):
        print(f"hostile: the app's default budget ({args.budget:g} s), as the app writes them, one thread")
        hostile(hand, args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
