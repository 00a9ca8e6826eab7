"""Training step throughput on the CPU: float32 vs bfloat16 autocast, batch 16/32/64, 1 vs 2 threads.

    python benchmarks/train_precision.py                     # the stand-in's size (3x256)
    python benchmarks/train_precision.py --rnn_size 400 --lines 64

Every setting trains on the same real training lines (a band of similar lengths around the median, so
padding is alike), with the step train/train.py takes (scribe.fast loss, backward, clipping, Adam).
Settings run in turn for several rounds, so that a slow moment of the machine hits them alike; it
prints sequences per second (median round) as a ratio to float32, batch 16, 1 thread.
"""
from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import sys
import time

import numpy as np
import torch

from scribe.alphabet import Alphabet
from scribe.dataset import BucketBatches, ProcessedData
from scribe.fast import fast_loss
from scribe.model import ModelConfig, SynthesisNetwork

from scribe.train.train import autocast_for, cpu_runs_bf16


def band_of_lines(data: ProcessedData, n: int, max_len: int) -> np.ndarray:
    """n training lines whose lengths sit just around the median of those up to max_len."""
    idx = data.indices("train")
    lengths = data.lengths()[idx]
    idx = idx[lengths <= max_len]
    order = idx[np.argsort(data.lengths()[idx])]
    mid = len(order) // 2
    return order[mid - n // 2: mid - n // 2 + n]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--rnn_size", type=int, default=256)
    p.add_argument("--lines", type=int, default=128, help="lines per timed pass (a multiple of 64)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max_len", type=int, default=520)
    args = p.parse_args(argv)

    data = ProcessedData.load(args.data)
    alphabet = Alphabet.from_texts(str(data.texts[i]) for i in data.indices("train"))
    lines = band_of_lines(data, args.lines, args.max_len)
    bb = BucketBatches(data, "train", alphabet, 16, indices=lines)
    torch.manual_seed(0)
    base = SynthesisNetwork(ModelConfig(alphabet.size, args.rnn_size, 3, 10, 20, 12.0))
    precisions = ("fp32", "bf16") if cpu_runs_bf16() else ("fp32",)
    if len(precisions) == 1:
        print("bf16 left out: this CPU's oneDNN has no bfloat16 LSTM (no AVX-512 BF16)")
    settings = list(itertools.product(precisions, (16, 32, 64), (1, 2)))
    runs = {}
    for prec, bs, threads in settings:
        model = copy.deepcopy(base).train()
        opt = torch.optim.Adam(model.parameters(), 1e-4)
        runs[(prec, bs, threads)] = (model, fast_loss(model, "cpu"), opt,
                                     [bb.make(lines[i:i + bs]) for i in range(0, len(lines), bs)])
    lengths = data.lengths()[lines]
    print(f"model 3x{args.rnn_size} K=10 M=20; {len(lines)} real training lines of {lengths.min()}-{lengths.max()} "
          f"points per pass; {args.rounds} rounds; torch {torch.__version__}")

    def one_pass(key) -> float:
        prec, bs, threads = key
        model, loss_fn, opt, batches = runs[key]
        torch.set_num_threads(threads)
        autocast = autocast_for("cpu", prec)
        t = time.perf_counter()
        for b in batches:
            with autocast():
                loss, per_line = loss_fn(b)
            per_point = loss * len(per_line) / b.mask.sum()
            opt.zero_grad(set_to_none=True)
            per_point.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
        return time.perf_counter() - t

    for key in runs:          # warm-up: first-call compilation and allocation
        prec, bs, threads = key
        model, loss_fn, opt, batches = runs[key]
        runs[key] = (model, loss_fn, opt, batches[:1])
        one_pass(key)
        runs[key] = (model, loss_fn, opt, batches)
    times = {key: [] for key in runs}
    for _ in range(args.rounds):
        for key in runs:
            times[key].append(one_pass(key))
    sps = {key: len(lines) / statistics.median(t) for key, t in times.items()}
    ref = sps[("fp32", 16, 1)]
    print(f"{'precision':9s} {'batch':>5s} {'threads':>7s} {'seq/s':>7s} {'ratio':>6s}")
    for key in sorted(sps, key=sps.get, reverse=True):
        prec, bs, threads = key
        print(f"{prec:9s} {bs:5d} {threads:7d} {sps[key]:7.2f} {sps[key] / ref:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
