"""Training steps per second: the eager reference (model.loss) vs scribe.fast, same batches, same process.

    python benchmarks/train_speed.py --device cuda                      # full size, bf16 autocast
    python benchmarks/train_speed.py --device cpu --rnn_size 256 --batch_size 16 --steps 4 --threads 1

A step is what train/train.py does: loss, backward, gradient clipping, Adam. Both paths start from the
same weights and see the same batches (real lines from data/iam_ondb.npz when it exists, else
synthetic ones of the same lengths), taken in turn, several rounds, so that a busy machine slows both
alike. It prints each path's steps/s and sequences/s and the ratio (median over rounds); on CPU also
the ratio of CPU time used by this process, which other work on the machine disturbs less.
"""
import argparse
import copy
import statistics
import sys
import time
from pathlib import Path


import numpy as np
import torch

from scribe.alphabet import Alphabet
from scribe.dataset import BucketBatches, ProcessedData, collate
from scribe.fast import fast_loss
from scribe.model import ModelConfig, SynthesisNetwork


def real_batches(path: Path, batch_size: int, n: int, max_len: int | None, seed: int):
    data = ProcessedData.load(path)
    texts = [str(data.texts[i]) for i in data.indices("train")]
    alphabet = Alphabet.from_texts(texts)
    batches = BucketBatches(data, "train", alphabet, batch_size, seed=seed, max_len=max_len)
    order = batches.epoch()[:n]
    return [batches.make(idx) for idx in order], alphabet.size, "real IAM-OnDB training lines"


def synthetic_batches(batch_size: int, n: int, length: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        T = int(rng.integers(length // 2, length))
        offs = [np.column_stack([rng.normal(0, 1, (T, 2)), rng.random(T) < 0.05]).astype(np.float32)
                for _ in range(batch_size)]
        texts = [list(rng.integers(1, 60, max(2, T // 12))) for _ in range(batch_size)]
        out.append(collate(offs, texts))
    return out, 80, f"synthetic lines of {length // 2}-{length} points"


def make_step(model, loss_fn, opt, autocast):
    def step(batch):
        with autocast():
            loss, per_line = loss_fn(batch)
        per_point = loss * len(per_line) / batch.mask.sum()
        opt.zero_grad(set_to_none=True)
        per_point.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        return float(per_point.detach())
    return step


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--device", default="auto")
    p.add_argument("--rnn_size", type=int, default=400)
    p.add_argument("--nmixtures", type=int, default=20)
    p.add_argument("--nwindow", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--steps", type=int, default=10, help="timed batches per path per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max_len", type=int, default=0, help="skip lines longer than this (0: keep all)")
    p.add_argument("--synthetic_len", type=int, default=700)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available on this machine: run with --device cpu, or on a GPU.")
        return 2
    path = Path(args.data)
    n = args.steps + 1   # one warm-up batch
    if path.exists():
        batches, alphabet_size, source = real_batches(path, args.batch_size, n, args.max_len or None, args.seed)
    else:
        batches, alphabet_size, source = synthetic_batches(args.batch_size, n, args.synthetic_len, args.seed)
    batches = [b.to(device) for b in batches]
    torch.manual_seed(args.seed)
    cfg = ModelConfig(alphabet_size, args.rnn_size, 3, args.nwindow, args.nmixtures, 12.0)
    eager_model = SynthesisNetwork(cfg).to(device).train()
    fast_model = copy.deepcopy(eager_model)
    amp = device.type == "cuda"
    autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)
    paths = {
        "eager reference": make_step(eager_model, eager_model.loss, torch.optim.Adam(eager_model.parameters(), 1e-4),
                                 autocast),
        "scribe.fast": make_step(fast_model, fast_loss(fast_model, device),
                                 torch.optim.Adam(fast_model.parameters(), 1e-4), autocast),
    }
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    points = sum(int(b.mask.sum()) for b in batches[1:])
    print(f"device {device}{' (bf16 autocast)' if amp else ''}, torch threads {torch.get_num_threads()}, "
          f"model 3x{args.rnn_size} K={args.nwindow} M={args.nmixtures}, batch {args.batch_size}, "
          f"{args.steps} timed steps x {args.rounds} rounds, {source} "
          f"(mean {points / args.steps / args.batch_size:.0f} points per line)")
    first = {name: step(batches[0]) for name, step in paths.items()}   # warm-up; also the same loss
    print("first-batch loss per point: " + ", ".join(f"{k} {v:.5f}" for k, v in first.items()))
    seconds = {name: [] for name in paths}   # (wall, CPU time of this process) per round
    for _ in range(args.rounds):
        for name, step in paths.items():
            sync()
            t, c = time.perf_counter(), time.process_time()
            for b in batches[1:]:
                step(b)
            sync()
            seconds[name].append((time.perf_counter() - t, time.process_time() - c))
    wall = {name: statistics.median(w for w, _ in s) for name, s in seconds.items()}
    cpu = {name: statistics.median(c for _, c in s) for name, s in seconds.items()}
    for name in paths:
        sps = args.steps / wall[name]
        print(f"{name:12s} {sps:8.3f} steps/s  {sps * args.batch_size:9.1f} sequences/s  "
              f"{cpu[name] / args.steps:7.2f} CPU s/step  (rounds, wall: "
              f"{', '.join(f'{w:.2f}s' for w, _ in seconds[name])})")
    e, f = "eager reference", "scribe.fast"
    print(f"ratio (eager reference / scribe.fast, median round): {wall[e] / wall[f]:.2f}x wall"
          + ("" if device.type == "cuda" else f", {cpu[e] / cpu[f]:.2f}x CPU time"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
