"""Whose hand the legibility check hands over: the report's style measure on lines chosen by the check.

    python benchmarks/style_choice.py                                   # 6 seeds, bias 1.0, about 6 min
    python benchmarks/style_choice.py --seeds 2 --scorer OTHER.safetensors   # and an independent scorer

For each seed, every bank style writes the quality report's 10 sentences (scribe.evaluate.SENTENCES)
as one fixed batch of N candidates per line (Hand.sample_candidates: the draws the default check makes
for lines in a style, which never stop early), and three rules pick one candidate per line:

- first draw: candidate 0, what a write without the check gives (one draw);
- reading alone: the check before scribe.nearness (lowest reader's CER, then wholeness, then the
  reader's likelihood);
- reading and hand (the default): of the candidates reading about as well as the best (exactly, when
  one does; else within NEAR_EDITS misread characters), the nearest the style's own lines (what
  Hand.write and Hand.choose_candidates keep; scribe.nearness).

Each rule's lines are measured as the quality report measures primed lines (scribe.style_fidelity:
found as their writer among the bank's 13, against the writers' own held-out lines as the ceiling;
the most-chosen writer's share over a fair share), with the shipped scorer and with each `--scorer`
given (a scorer trained apart from the shipped one shows whether the hand's pick is nearer the writer
or only nearer what the shipped scorer likes), and read by the shipped reader (CER, lines read
exactly). Needs data/iam_ondb.npz and the IAM-OnDB archives (for the writers' clock).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from scribe.candidates import LegibilityCheck, choose_in_batch, line_score
from scribe.dataset import ProcessedData
from scribe.evaluate import SENTENCES
from scribe.hand import Hand, LineSpec, use_sampling_threads
from scribe.nearness import nearness_or_reason
from scribe.iam import writers_of_forms
from scribe.recognizer import reading_cer
from scribe.style_fidelity import bank_writers, measure
from scribe.writer_id import SHIPPED_WRITER_ID, load_writer_id

RULES = ("first draw", "reading alone", "reading and hand")


def picks(hand, style: int, bias: float, n: int, seed: int, reader, judge,
          likeness: float | None = None) -> dict[str, list[np.ndarray]]:
    """Each rule's chosen ink for one style's sentences."""
    specs = hand.check([LineSpec(t, style, bias, likeness=likeness) for t in SENTENCES])
    batch = hand.sample_candidates(specs, n, seed)
    m = len(batch.rows)
    out = {"first draw": [batch.sampled[i].model_offsets for i in range(m)]}
    for rule, by in (("reading alone", None), ("reading and hand", judge)):
        lines = choose_in_batch(hand, specs, batch, reader, LegibilityCheck(n), judge=by)
        out[rule] = [ln.model_offsets for ln in lines]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=6)
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--likeness", type=float, default=None,
                   help="every line's likeness (default: each style's own strength)")
    p.add_argument("--scorer", action="append", default=[], help="another writer-id scorer to measure with")
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--iam_dir", default="../shared/data/iam-ondb")
    args = p.parse_args(argv)
    use_sampling_threads(1)
    torch.manual_seed(0)
    hand = Hand.load()
    reader, why = hand.reader()
    if reader is None:
        sys.exit(f"no reader: {why}")
    judge, why = nearness_or_reason(None)
    if judge is None:
        sys.exit(f"no hand scorer: {why}")
    data = ProcessedData.load(args.data)
    writers = bank_writers(hand.styles, data, writers_of_forms(args.iam_dir),
                           hand.style_ids)
    scorers = {"shipped": load_writer_id(SHIPPED_WRITER_ID)}
    scorers.update({Path(s).name: load_writer_id(s) for s in args.scorer})
    found = {r: {s: [] for s in scorers} for r in RULES}
    spread = {r: {s: [] for s in scorers} for r in RULES}
    reading = {r: [] for r in RULES}
    started = time.perf_counter()
    texts = [t for _ in hand.style_ids for t in SENTENCES]
    for seed in range(args.seeds):
        chosen = {r: [] for r in RULES}
        for style in hand.style_ids:
            for r, lines in picks(hand, style, args.bias, args.candidates, seed, reader, judge,
                                   args.likeness).items():
                chosen[r] += [(style, args.bias, o) for o in lines]
        for r in RULES:
            for name, scorer in scorers.items():
                e = measure(scorer, data, writers, chosen[r])["by_bias"][f"{args.bias:g}"]["primed"]
                found[r][name].append(e["vs_ceiling"])
                spread[r][name].append(e["max_share_over_fair"])
            heard = reader.read([o for _, _, o in chosen[r]])
            reading[r].append((reading_cer(heard, texts),
                               float(np.mean([line_score(h, t)[0] == 0 for h, t in zip(heard, texts)]))))
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{len(texts)} lines a seed ({len(hand.style_ids)} styles x {len(SENTENCES)} sentences), bias {args.bias:g}, "
          f"N = {args.candidates}, likeness {'by style' if args.likeness is None else args.likeness}, "
          f"seeds 0-{args.seeds - 1}; found = share of the ceiling (mean, range over seeds)")
    for r in RULES:
        cer = statistics.mean(c for c, _ in reading[r])
        exact = statistics.mean(x for _, x in reading[r])
        cols = "  ".join(f"{name}: found {statistics.mean(found[r][name]):.3f} ({min(found[r][name]):.2f}-"
                         f"{max(found[r][name]):.2f}), most-chosen/fair {min(spread[r][name]):.1f}-{max(spread[r][name]):.1f}"
                         for name in scorers)
        print(f"  {r:<17s} reader's CER {cer:.4f}, read exactly {exact:.1%}  |  {cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
