"""The legibility check, measured honestly: what N candidates per line buy, and what they cost.

    python benchmarks/candidates.py                                   # both parts, shipped model and reader
    python benchmarks/candidates.py --part quality --per_style 8      # 13 styles x 8 = 104 held-out lines
    python benchmarks/candidates.py --part timing --pause_training    # wall time and peak RSS per N

Quality. Held-out sentences (the testset_v transcriptions, which neither the synthesis model nor
the readers trained on; IAM spacing around punctuation undone) are written in every style at each
bias, 8 candidates per line in one batch per style. For N = 1, 2, 4, 8 the shipped reader
(checkpoints/recognizer.safetensors) chooses among the first N candidates of that batch, exactly as
Hand.write does (N = 1: the first candidate, no check); the first N of 8 independent draws are
distributed as N draws, so one batch serves every N. A SECOND reader, never used for selecting
(another size, seed and half of the training writers: train/train_recognizer.py --writers half-b,
see docs/legibility-check.md), then reads the chosen ink: its CER and the share of words it reads exactly are the
figures. Scoring with the selecting reader is printed too, to show how much it flatters.

Timing. The guide's three-line document (styles 0 3 7, biases 1.8 0.6 1.2) is written with
Hand.write(candidates=N), in a fresh process per N (peak RSS is per process), after one warm-up
write that primes the styles and loads the reader; median wall time of --rounds writes, and the
ratio against N = 1 of the same run. --pause_training stops the background training jobs
(`pkill -STOP -f train/train`) for the timing part only and always resumes them.
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import numpy as np
import torch

from scribe.candidates import LegibilityCheck, mean_nll
from scribe.hand import Hand, use_sampling_threads
from scribe.request import LineSpec
from scribe.recognizer import canonical, load_recognizer, reading_cer

GUIDE = [("Report due by 09:00 on March 15th, 1985.", 0, 1.8),
         ("Can't believe it - met him at 3:00pm!", 3, 0.6),
         ("Got your message (thanks!) - call me.", 7, 1.2)]
NS = [1, 2, 4, 8]


def held_out_sentences(iam_dir: Path, alphabet, count: int, seed: int) -> list[str]:
    """`count` distinct testset_v lines of 20-60 characters that the model can write, in a fixed order."""
    from scribe import iam
    forms = iam.read_split_lists(iam.default_split_dir(iam_dir))["testset_v"]
    texts = iam.read_transcriptions(iam_dir)
    pool = sorted({canonical(t) for f in sorted(forms) for t in texts.get(f, [])})
    ok = []
    for t in pool:
        try:
            if 20 <= len(t) <= 60 and alphabet.clean(t) == t:
                ok.append(t)
        except ValueError:
            pass
    rng = np.random.default_rng(seed)
    if len(ok) < count:
        raise SystemExit(f"only {len(ok)} usable held-out lines; ask for fewer")
    return [ok[i] for i in rng.permutation(len(ok))[:count]]


def words_read_exactly(readings: list[str], texts: list[str]) -> float:
    """Share of the texts' words that the readings contain in order (longest common word subsequence)."""
    hit = total = 0
    for h, r in zip(readings, texts):
        a, b = canonical(h).split(), canonical(r).split()
        lcs = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a)):
            for j in range(len(b)):
                lcs[i + 1][j + 1] = lcs[i][j] + 1 if a[i] == b[j] else max(lcs[i][j + 1], lcs[i + 1][j])
        hit, total = hit + lcs[-1][-1], total + len(b)
    return hit / max(1, total)


def quality(args) -> dict:
    hand = Hand.load(args.checkpoint, args.style_dir)
    shipped = load_recognizer(args.reader)
    second = load_recognizer(args.second_reader)
    styles = hand.style_ids
    texts = held_out_sentences(Path(args.iam_dir), hand.alphabet, args.per_style * len(styles), args.seed)
    print(f"quality: {len(texts)} held-out lines ({args.per_style} per style, styles {styles}), "
          f"{max(NS)} candidates each; selecting reader {Path(args.reader or 'checkpoints/recognizer.safetensors').name} "
          f"(real CER {shipped.metrics.get('real_cer', float('nan')):.3f}), scoring reader "
          f"{Path(args.second_reader).name} (real CER {second.metrics.get('real_cer', float('nan')):.3f}, "
          f"{second.metrics.get('writers', '?')} writers, {second.net.config.cell} "
          f"{second.net.config.conv_channels}/{second.net.config.hidden}x{second.net.config.layers})", flush=True)
    results = {}
    for bias in args.biases:
        chosen = {n: [] for n in NS}
        tied, started = {n: 0 for n in NS}, time.perf_counter()
        for k, style in enumerate(styles):
            group = texts[k * args.per_style:(k + 1) * args.per_style]
            specs = hand.check([LineSpec(t, style, bias) for t in group])
            batch = hand.sample_candidates(specs, max(NS), seed=args.seed + 101 * k)
            for n in NS:
                if n == 1:
                    lines = [batch.sampled[i] for i in range(len(specs))]
                else:
                    check = LegibilityCheck(n)
                    lines = hand.choose_candidates(specs, batch, shipped, check, use=n)
                    tied[n] += check.tied_lines
                chosen[n] += [(t, ln.offsets) for t, ln in zip(group, lines)]
        seconds = time.perf_counter() - started
        row = {}
        for n in NS:
            refs = [t for t, _ in chosen[n]]
            ink = [o for _, o in chosen[n]]
            by_second, by_shipped = second.read(ink), shipped.read(ink)
            row[n] = {"second_cer": reading_cer(by_second, refs),
                      "second_words": words_read_exactly(by_second, refs),
                      "selecting_cer": reading_cer(by_shipped, refs), "tied_lines": tied[n]}
        results[bias] = row
        print(f"bias {bias}: {len(texts)} lines x {max(NS)} candidates in {seconds:.0f} s", flush=True)
        print(f"  {'N':>3s} {'2nd reader CER':>15s} {'vs N=1':>8s} {'words exact':>12s} {'selecting reader CER':>21s}"
              f" {'lines tied':>11s}")
        for n in NS:
            r = row[n]
            print(f"  {n:>3d} {r['second_cer']:>15.3f} {r['second_cer'] / row[1]['second_cer'] - 1:>+8.0%} "
                  f"{r['second_words']:>12.1%} {r['selecting_cer']:>21.3f} {r['tied_lines']:>11d}", flush=True)
    return results


def time_one(args) -> None:
    """Child process: the guide document at one N; prints one JSON line."""
    use_sampling_threads()
    hand = Hand.load(args.checkpoint, args.style_dir)
    if args.reader:
        hand.reader_path = args.reader
    specs = [LineSpec(t, s if s in hand.style_ids else None, b) for t, s, b in GUIDE]
    hand.write(specs, seed=args.seed, candidates=args.time_one)          # warm-up: primes, loads the reader
    walls, cpus, doc = [], [], None
    for r in range(args.rounds):       # the same seed every round: the same work, timed again
        t, c = time.perf_counter(), time.process_time()
        doc = hand.write(specs, seed=args.seed, candidates=args.time_one)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tie_s = None
    if args.time_one > 1:   # the cost of the tie-break pass, were every candidate of every line tied
        batch = hand.sample_candidates(hand.check(specs), args.time_one, seed=args.seed)
        t = time.perf_counter()
        with torch.inference_mode():
            mean_nll(hand.sampler, batch.requests, [s.offsets for s in batch.sampled], batch.primed)
        tie_s = time.perf_counter() - t
    print(json.dumps({"n": args.time_one, "walls": walls, "median": statistics.median(walls),
                      "cpu": statistics.median(cpus), "peak_rss_mb": peak_mb,
                      "steps": max(ln.steps for ln in doc.lines if ln), "tie_pass_s": tie_s,
                      "tied_rows": doc.legibility.tied_rows,
                      "summary": doc.legibility.summary()}))


def timing(args) -> dict:
    def pause(sig):
        subprocess.run(["pkill", f"-{sig}", "-f", "train/train"], check=False)

    if args.pause_training:
        handler = lambda *_: (pause("CONT"), sys.exit(1))
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        pause("STOP")
    out = {}
    try:
        base = [sys.executable, __file__, "--rounds", str(args.rounds), "--seed", str(args.seed)]
        for flag, v in (("--checkpoint", args.checkpoint), ("--style_dir", args.style_dir), ("--reader", args.reader)):
            if v:
                base += [flag, str(v)]
        for n in NS:
            r = subprocess.run(base + ["--time_one", str(n)], capture_output=True, text=True, timeout=600,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
            if r.returncode:
                raise SystemExit(f"timing N={n} failed: {r.stderr[-2000:]}")
            out[n] = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        if args.pause_training:
            pause("CONT")
    print(f"timing: the guide document (3 lines), median of {args.rounds} writes after a warm-up, 1 torch "
          f"thread, a fresh process per N; load {os.getloadavg()[0]:.1f}")
    print(f"  {'N':>3s} {'wall s':>8s} {'vs N=1':>8s} {'cpu s':>7s} {'vs N=1':>8s} {'peak RSS MB':>12s} {'loop steps':>11s} "
          f"{'tied rows':>10s} {'all-tied pass s':>16s}")
    for n in NS:
        r = out[n]
        tie = "-" if r["tie_pass_s"] is None else f"{r['tie_pass_s']:.2f}"
        print(f"  {n:>3d} {r['median']:>8.2f} {r['median'] / out[1]['median']:>7.2f}x {r['cpu']:>7.2f} "
              f"{r['cpu'] / out[1]['cpu']:>7.2f}x {r['peak_rss_mb']:>12.0f} "
              f"{r['steps']:>11d} {r['tied_rows']:>10d} {tie:>16s}")
    print("  rounds, wall s: " + "; ".join(f"N={n} " + ", ".join(f"{w:.2f}" for w in out[n]["walls"]) for n in NS))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("quality", "timing", "both"), default="both")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--style_dir", default=None)
    p.add_argument("--reader", default=None, help="the selecting reader (default: the shipped one)")
    p.add_argument("--second_reader", default="runs/second-reader.safetensors",
                   help="the scoring reader (train/train_recognizer.py --writers half-b ...; docs/legibility-check.md)")
    p.add_argument("--iam_dir", default=str(ROOT.parent / "shared" / "data" / "iam-ondb"))
    p.add_argument("--per_style", type=int, default=8, help="held-out lines per style (13 styles)")
    p.add_argument("--biases", type=float, nargs="+", default=[0.75, 1.0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--pause_training", action="store_true")
    p.add_argument("--time_one", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.time_one:
        time_one(args)
        return 0
    if args.part in ("quality", "both"):
        quality(args)
    if args.part in ("timing", "both"):
        timing(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
