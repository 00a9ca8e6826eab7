"""Speed and memory of adapting the model to one person's hand (scribe.adapt), on this CPU.

    OMP_NUM_THREADS=1 python benchmarks/adapt_speed.py              # 6 real testset_v lines, default options
    python benchmarks/adapt_speed.py --threads 2 --max_steps 60

Times, in one process: a teacher-forced forward pass over the person's training lines (the baseline:
what one NLL check costs), then one whole adaptation with the given options. Prints seconds per
adaptation step, the ratio of a step to the baseline forward pass, the whole adaptation's time and
the process's peak RSS. Uses the first testset_v form with enough lines (data/iam_ondb.npz); with
--synthetic, made-up loops of the same length instead (no data needed).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import torch

from scribe.adapt import AdaptOptions, adapt, prepare_lines
from scribe.checkpoint import default_checkpoint, load_checkpoint
from scribe.dataset import collate


def person_lines(args, n: int):
    if args.synthetic:
        rng = np.random.default_rng(0)
        out = []
        for i in range(n):
            t = np.linspace(0, 40 * np.pi, 600)
            pts = np.column_stack([t * 9 + rng.normal(0, 1, t.size), 120 * np.sin(t)])
            out.append(("the quick brown fox jumps", [pts]))
        return out
    from scribe.dataset import ProcessedData
    data = ProcessedData.load(args.data)
    forms: dict[str, list[int]] = {}
    for i in data.indices("valid"):
        forms.setdefault(str(data.line_ids[i]).rpartition("-")[0], []).append(int(i))
    idx = next(v for _, v in sorted(forms.items()) if len(v) >= n)
    return [(str(data.texts[i]), data.line(i)) for i in idx[:n]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--lines", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max_steps", type=int, default=AdaptOptions.max_steps)
    p.add_argument("--minutes", type=float, default=AdaptOptions.minutes)
    p.add_argument("--train", choices=("all", "shapes", "bias"), default=AdaptOptions.train)
    p.add_argument("--repeat", type=int, default=3, help="baseline forward passes (the median is used)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = load_checkpoint(default_checkpoint())
    lines = person_lines(args, args.lines)
    prepared = prepare_lines(lines, base.alphabet, base.stats)[:-1]
    model = base.build_model()
    batch = collate([w.offsets for w in prepared], [w.encoded for w in prepared])
    times = []
    with torch.no_grad():
        for _ in range(args.repeat):
            t = time.perf_counter()
            model.loss(batch)
            times.append(time.perf_counter() - t)
    forward = float(np.median(times))
    points = int(batch.mask.sum())
    # patience high: time the whole budget, not an early stop
    options = AdaptOptions(minutes=args.minutes, max_steps=args.max_steps, train=args.train, patience=10_000)
    t = time.perf_counter()
    result = adapt(base, lines, options)
    total = time.perf_counter() - t
    steps = result.record["steps"]
    checks = len(result.history)
    per_step = total / max(1, steps)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model {base.config.rnn_size}x{base.config.num_layers}, {len(prepared)} training lines "
          f"({points} points), {args.threads} thread(s), train={args.train}")
    print(f"baseline: forward pass over the training lines {forward:.3f} s")
    print(f"adaptation: {steps} steps and {checks} held-out checks in {total:.1f} s "
          f"({per_step:.3f} s per step including checks; step / forward = {per_step / forward:.2f}x)")
    print(f"held-out NLL {result.record['held_out_nll']['base']:.4f} -> {result.record['held_out_nll']['adapted']:.4f}"
          f" nats/point (best at step {result.record['best_step']})")
    print(f"peak RSS {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
