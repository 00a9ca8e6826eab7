"""Batch throughput: rows per minute for `python -m scribe.sample --batch`, row by row vs grouped.

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/batch_rows.py            # 12 rows, the shipped model
    python benchmarks/batch_rows.py --rows 24 --rounds 3 --format png

Writes the same CSV (short two-line cards, styles cycling, the texts of a name-badge or greeting-card
run) through scribe.batch.run_batch twice per round, in turn: once with each row sampled on its own
(`group=False`), once with the lines of consecutive rows sampled together in batches of up to 40 lines
(`group=True`, what the CLI does). The model is loaded and every style primed before timing. Prints
the median rows per minute of each and the ratio (grouped over row by row), from the same process.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scribe.batch import run_batch
from scribe.hand import Hand, use_sampling_threads
from scribe.request import LineSpec

CARDS = [("Dear Ada", "Thank you for the tables."), ("Happy birthday", "from all of us"),
         ("Meet me at noon", "Bring the map."), ("Dr. Grace Hopper", "Room 12, second floor"),
         ("With love", "see you soon"), ("Charles Babbage", "The engine works.")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--rows", type=int, default=12)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--format", default="svg")
    args = p.parse_args(argv)
    use_sampling_threads()
    hand = Hand.load(args.checkpoint)
    styles = hand.style_ids[:4] or [None]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "rows.csv"
        body = "".join(f'"{a}\\n{b}",{"" if styles[i % len(styles)] is None else styles[i % len(styles)]},1.0,,'
                       f'card-{i}\n' for i, (a, b) in ((i, CARDS[i % len(CARDS)]) for i in range(args.rows)))
        csv.write_text("text,style,bias,color,out\n" + body)
        hand.write([LineSpec("warm up", s) for s in styles], seed=0, candidates=1)      # prime every style, warm the step
        times = {"row by row": [], "grouped": []}
        for r in range(args.rounds):
            for name, group in (("row by row", False), ("grouped", True)):
                started = time.perf_counter()
                report = run_batch(hand, csv, Path(tmp) / f"{name}-{r}", args.format, seed=r, group=group,
                                   candidates=1)
                times[name].append(time.perf_counter() - started)
                assert len(report.written) == args.rows and not report.failed, report.failed
                print(f"round {r + 1}: {name:10s} {times[name][-1]:6.1f} s", file=sys.stderr)
    rpm = {k: 60 * args.rows / statistics.median(v) for k, v in times.items()}
    for k, v in rpm.items():
        print(f"{k:10s}: {v:6.1f} rows/min (median of {args.rounds}, {args.rows} two-line rows, {args.format})")
    print(f"grouped / row by row: {rpm['grouped'] / rpm['row by row']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
