"""What the default legibility check costs, and what it buys: the adaptive check against no check and
against the fixed N = 4 check, in one process.

    OMP_NUM_THREADS=1 python benchmarks/legibility_cost.py                 # both parts
    OMP_NUM_THREADS=1 python benchmarks/legibility_cost.py --part timing --seeds 7
    python benchmarks/legibility_cost.py --part timing --seeds 9 --check_threads 2    # the second core

Timing. The guide's three-line document (styles 0 3 7, biases 1.8 0.6 1.2), one torch thread, after
one warm-up write of each kind: for each seed, Hand.write with candidates=1 (no check), with the
default candidates (the default check: lines in a style draw all N and the nearest of the
best-reading is kept, scribe.nearness; lines in no style stop early), the fixed check (N candidates
of every line in one batch, every one read: Hand.sample_candidates + choose_candidates), and the check
by reading alone (no hand scorer: what the check did before scribe.nearness), interleaved so that
the machine's load falls on all alike. Printed: the median over seeds of each one's time over no check's.
`--check_threads K` runs both checks (and a no-check write, for comparison) on K torch threads while the
baseline stays on one: what the second core buys, on a machine with nothing else running.

Reading. The shipped (strict) reader's CER of the chosen lines, over the 13 styles x --texts texts each
x --quality_seeds seeds at the default bias: no check, adaptive, fixed N. The texts are held-out
testset_v transcriptions when the IAM-OnDB data is there (benchmarks/candidates.py picks them), else
a fixed list.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scribe.candidates import DEFAULT_CANDIDATES, LegibilityCheck, line_score   # noqa: E402
from scribe.hand import DEFAULT_BIAS, Hand, LineSpec, use_sampling_threads          # noqa: E402
from scribe.recognizer import load_recognizer, reading_cer                         # noqa: E402

GUIDE = [("Report due by 09:00 on March 15th, 1985.", 0, 1.8),
         ("Can't believe it - met him at 3:00pm!", 3, 0.6),
         ("Got your message (thanks!) - call me.", 7, 1.2)]
FALLBACK_TEXTS = ["the quick brown fox jumps over it", "Meet me at the station at noon.",
                  "She sold her old bicycle last week", "Please call me back tomorrow"]


def fixed(hand, specs, n, seed):
    """The fixed check: n candidates of every line, all read, the best kept."""
    specs = hand.check(specs)
    batch = hand.sample_candidates(specs, n, seed)
    reader = hand.reader()[0]
    check = LegibilityCheck(n)
    return hand.choose_candidates(specs, batch, reader, check), check


def reading_alone(hand) -> Hand:
    """The same model and styles with the check choosing by reading alone (no hand scorer: what the
    check did before scribe.nearness; lines in a style stop early again)."""
    alone = Hand(hand.checkpoint, hand.styles)
    alone.scorer_path = Path("no-hand-scorer.safetensors")     # missing: the check falls back to reading alone
    return alone


def timing(hand, args) -> dict:
    specs = [LineSpec(t, s, b) for t, s, b in GUIDE]
    n = args.candidates
    k_threads = args.check_threads
    alone = reading_alone(hand)
    kinds = {"no check": (lambda s: hand.write(specs, seed=s, candidates=1), 1),
             "adaptive": (lambda s: hand.write(specs, seed=s, candidates=n), k_threads),
             f"fixed N={n}": (lambda s: fixed(hand, specs, n, s), k_threads),
             "reading alone": (lambda s: alone.write(specs, seed=s, candidates=n), k_threads)}
    if k_threads > 1:
        kinds[f"no check, {k_threads} threads"] = (kinds["no check"][0], k_threads)
    for f, threads in kinds.values():       # warm-up: primes the styles, loads the reader
        torch.set_num_threads(threads)
        f(1000)
    times = {k: [] for k in kinds}
    drawn = []
    for seed in range(args.seeds):
        for k, (f, threads) in kinds.items():
            torch.set_num_threads(threads)
            t = time.perf_counter()
            out = f(seed)
            times[k].append(time.perf_counter() - t)
            if k == "adaptive":
                drawn.append(out.legibility.drawn)
    base = times["no check"]
    torch.set_num_threads(1)
    print(f"timing: the guide document, {args.seeds} seeds, no check on 1 torch thread, the checks on {k_threads}, one process; "
          f"load {os.getloadavg()[0]:.1f} at the end")
    print(f"  {'kind':<14s} {'median s':>9s} {'median ratio':>13s} {'mean ratio':>11s}")
    out = {}
    for k, ts in times.items():
        ratios = [t / b for t, b in zip(ts, base)]
        out[k] = statistics.median(ratios)
        print(f"  {k:<14s} {statistics.median(ts):>9.3f} {statistics.median(ratios):>12.2f}x "
              f"{statistics.mean(ratios):>10.2f}x")
    print(f"  adaptive: candidates drawn per write (3 lines) {drawn}")
    out["step_rows"] = step_floor(hand, specs, n, args.seeds)
    return out


def step_floor(hand, specs, n: int, rounds: int) -> float:
    """What n candidates cost at the least: one pen step over the 3 n rows of the check's batch against
    one over the document's 3 rows (the same requests, primed), alternating, median over rounds. The
    check runs its batch for at least as many steps as the no-check write, so it cannot cost less than
    this ratio of the no-check write's sampling."""
    from scribe.candidates import line_requests
    specs = hand.check(specs)
    requests, primed = line_requests(hand, specs, list(range(len(specs))))
    many = requests * n
    many_primed = ([p.repeat(n, *[1] * (p.dim() - 1)) for p in primed[0]], primed[1].repeat(n, 1))
    per_step = {1: [], n: []}
    for r in range(rounds + 1):
        for k, (reqs, pr) in ((1, (requests, primed)), (n, (many, many_primed))):
            t = time.perf_counter()
            lines = hand.sampler.sample(reqs, seed=r, max_steps=300, primed=pr)
            if r:                                  # the first round warms up
                per_step[k].append((time.perf_counter() - t) / lines[0].loop_steps)
    ratio = statistics.median(b / a for a, b in zip(per_step[1], per_step[n]))
    print(f"  one pen step over {len(many)} rows against {len(requests)}: {statistics.median(per_step[n]) * 1e3:.3f} "
          f"against {statistics.median(per_step[1]) * 1e3:.3f} ms, {ratio:.2f}x (median of {rounds})")
    return ratio


def texts_for(hand, count, seed) -> list[str]:
    try:
        from candidates import held_out_sentences
        return held_out_sentences(ROOT.parent / "shared" / "data" / "iam-ondb", hand.alphabet, count, seed)
    except Exception as e:     # no IAM-OnDB data here: a fixed list
        print(f"(held-out texts unavailable: {type(e).__name__}; using a fixed list)")
        return (FALLBACK_TEXTS * count)[:count]


def quality(hand, args) -> dict:
    reader = load_recognizer()
    n = args.candidates
    pool = texts_for(hand, args.texts * len(hand.style_ids), 0)
    chosen = {"no check": [], "adaptive": [], f"fixed N={n}": [], "reading alone": []}
    alone = reading_alone(hand)
    drawn, started = 0, time.perf_counter()
    for k, style in enumerate(hand.style_ids):
        texts = pool[k * args.texts:(k + 1) * args.texts]
        specs = [LineSpec(t, style, DEFAULT_BIAS) for t in texts]
        for q in range(args.quality_seeds):
            seed = 7 + 31 * style + q
            plain = hand.write(specs, seed=seed, candidates=1)
            doc = hand.write(specs, seed=seed, candidates=n)
            lines, _ = fixed(hand, specs, n, seed)
            before = alone.write(specs, seed=seed, candidates=n)
            drawn += doc.legibility.drawn
            for k, ls in (("no check", plain.lines), ("adaptive", doc.lines), (f"fixed N={n}", lines),
                          ("reading alone", before.lines)):
                chosen[k] += [(t, ln.model_offsets) for t, ln in zip(texts, ls)]
    lines_n = len(chosen["adaptive"])
    print(f"reading: {lines_n} lines ({len(hand.style_ids)} styles x {len(texts)} texts x {args.quality_seeds} seeds, "
          f"bias {DEFAULT_BIAS}; each style its own held-out texts) in {time.perf_counter() - started:.0f} s; the shipped reader "
          f"(real CER {reader.metrics.get('real_cer', float('nan')):.3f}); adaptive drew {drawn / lines_n:.2f} "
          f"candidates per line (at most {n})")
    out = {}
    for k, pairs in chosen.items():
        refs = [t for t, _ in pairs]
        readings = reader.read([o for _, o in pairs])
        exact = sum(line_score(h, t)[0] == 0 for h, t in zip(readings, refs)) / len(refs)
        out[k] = reading_cer(readings, refs)
        print(f"  {k:<14s} CER {out[k]:.4f}   lines read exactly {exact:.1%}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("timing", "quality", "both"), default="both")
    p.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    p.add_argument("--seeds", type=int, default=7)
    p.add_argument("--texts", type=int, default=3)
    p.add_argument("--quality_seeds", type=int, default=2)
    p.add_argument("--check_threads", type=int, default=1, help="torch threads for the checks (timing)")
    p.add_argument("--style_dir", default=None, help="style bank (default: the shipped one)")
    p.add_argument("--no_style_adapters", action="store_true", help="the bank's styles by priming alone")
    args = p.parse_args(argv)
    use_sampling_threads(1)
    from scribe.checkpoint import default_checkpoint, load_checkpoint
    from scribe.styles import StyleBank
    hand = Hand(load_checkpoint(default_checkpoint()), StyleBank(args.style_dir, adapters=not args.no_style_adapters))
    if args.part in ("timing", "both"):
        timing(hand, args)
    if args.part in ("quality", "both"):
        quality(hand, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
