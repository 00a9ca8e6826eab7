"""Train the legibility recogniser (scribe/recognizer.py) on the training split of the processed data.

    OMP_NUM_THREADS=1 python train/train_recognizer.py --minutes 95   # the shipped strict reader ("arc" features)
    OMP_NUM_THREADS=1 python train/train_recognizer.py --features offsets --stride 3 --minutes 85
                                                    # the earlier design (raw offsets): CER 0.107, 0.093 warm
    python train/train_recognizer.py --minutes 20 --device cuda   # a GPU gets much further

--minutes is the TOTAL training time: the run saves its state every few minutes (to --state, an
ignored file) and a re-run resumes until the total is spent; the learning rate follows a cosine over
that total. At the end it measures the CER on real testset_v lines and writes the small half-precision
safetensors file (--out, default checkpoints/recognizer.safetensors) that scribe.evaluate loads.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from pathlib import Path


import numpy as np
import torch

from scribe import cli
from scribe.alphabet import Alphabet
from scribe.dataset import ProcessedData
from scribe.files import atomic_write
from scribe.recognizer import (FEATURE_SIZES, Recognizer, augment, batch_features, load_recognizer,
                              reading_cer)

WARMUP_STEPS = 200


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz", help="processed data from train/prepare_data.py")
    p.add_argument("--out", default="checkpoints/recognizer.safetensors", type=cli.file_to_write)
    p.add_argument("--state", default="data/recognizer-state.pt", type=cli.file_to_write,
                   help="resumable training state (full precision + optimizer; keep it out of git)")
    p.add_argument("--minutes", type=cli.number(0), default=38.0, help="total training time, across resumes")
    p.add_argument("--max_steps", type=cli.whole(0), default=0, help="stop after this many updates (0: no limit)")
    p.add_argument("--batch_size", type=cli.whole(1, 100_000), default=32)
    p.add_argument("--lr", type=cli.number(above=0), default=2e-3)
    p.add_argument("--conv_channels", type=cli.whole(1, 4096), default=96)
    p.add_argument("--hidden", type=cli.whole(1, 8192), default=192)
    p.add_argument("--layers", type=cli.whole(1, 16), default=2)
    p.add_argument("--stride", type=cli.whole(1, 64), default=4,
                   help="input points per output frame (arc features give about 15 points per character)")
    p.add_argument("--cell", choices=("gru", "lstm"), default="lstm")
    p.add_argument("--features", choices=sorted(FEATURE_SIZES), default="arc",
                   help="pen features: 'arc' (resampled along the path; the strict reader) or 'offsets' "
                        "(the points as they come; earlier readers)")
    p.add_argument("--watch_lines", type=cli.whole(0), default=200,
                   help="at each save, print the CER on this many testset_v lines (0: never)")
    p.add_argument("--writers", choices=["all", "half-a", "half-b"], default="all",
                   help="train on all training writers, or on one half of them (split by form: a second, "
                        "independent reader for measuring what the first one selected)")
    p.add_argument("--train_lines", type=cli.whole(0), default=0, help="use only this many training lines (0: all)")
    p.add_argument("--valid_lines", type=cli.whole(0), default=0, help="testset_v lines for the final CER (0: all)")
    p.add_argument("--save_minutes", type=cli.number(above=0), default=5.0)
    p.add_argument("--seed", type=cli.whole(0, 2**32 - 1), default=0)
    p.add_argument("--init_from", default="", type=lambda v: cli.file_to_read(v) if v else v,
                   help="start from this recogniser's weights (a .safetensors from this script, same size and "
                        "alphabet) with a fresh optimiser and learning-rate schedule")
    p.add_argument("--device", default="cpu", type=cli.device)
    return p.parse_args(argv)


def lr_at(base: float, step: int, progress: float) -> float:
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return base * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar-length lines (little padding), in shuffled order."""
    order = np.argsort(lengths * rng.uniform(0.9, 1.1, len(lengths)))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def train_steps(rec: Recognizer, lines: list[np.ndarray], targets: list[list[int]], opt, *, steps: int,
                batch_size: int, lr: float, rng: np.random.Generator, start_step: int = 0,
                progress=lambda step: 0.0, stop=lambda: False, augment_ink: bool = True,
                device="cpu", log=None) -> int:
    """Run up to `steps` CTC updates over (lines, targets); returns the new global step count."""
    net = rec.net.train().to(device)
    lengths = np.array([len(o) for o in lines], dtype=np.float64)
    step, queue, smooth = start_step, [], None
    while step < start_step + steps and not stop():
        if not queue:
            queue = length_batches(lengths, batch_size, rng)
        idx = queue.pop()
        ink = [augment(lines[i], rng) if augment_ink else lines[i] for i in idx]
        feats, n = batch_features(ink, rec.net.config.features)
        for g in opt.param_groups:
            g["lr"] = lr_at(lr, step, progress(step))
        loss = net.ctc_loss(feats.to(device), n.to(device), [targets[i] for i in idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        lv = float(loss.detach())
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        if log and step % 50 == 0:
            log(step, smooth)
    rec.net.eval()
    return step


def writer_half(line_ids, half: str) -> np.ndarray:
    """Mask of the lines in one half of the writers. The processed data stores no writer id, only
    line ids (a01-000u-01); a form (a01-000u) is one writer's page, so the halves share no page.
    The half of a form is a hash of its id, so it does not move when other forms come or go."""
    forms = [str(i).rpartition("-")[0] for i in line_ids]
    in_a = np.array([zlib.crc32(f.encode()) % 2 == 0 for f in forms], dtype=bool)
    return in_a if half == "half-a" else ~in_a


def real_cer(rec: Recognizer, data: ProcessedData, indices) -> float:
    texts = [str(data.texts[i]) for i in indices]
    return reading_cer(rec.read([data.line(i) for i in indices]), texts)


@cli.command
def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    data = ProcessedData.load(args.data)     # DatasetError: one line, exit 2
    train_idx = data.indices("train")
    alphabet = Alphabet.from_texts(str(data.texts[i]) for i in train_idx)
    if args.writers != "all":
        train_idx = train_idx[writer_half(data.line_ids[train_idx], args.writers)]
    if args.train_lines:
        train_idx = np.random.default_rng(args.seed).permutation(train_idx)[:args.train_lines]
    lines = [data.line(i) for i in train_idx]
    targets = [alphabet.encode(str(data.texts[i])) for i in train_idx]
    valid_idx = data.indices("valid")
    if args.valid_lines:
        valid_idx = valid_idx[:args.valid_lines]

    rec = Recognizer.new(alphabet, conv_channels=args.conv_channels, hidden=args.hidden, layers=args.layers,
                         cell=args.cell, features=args.features,
                         stride=args.stride)
    opt = torch.optim.Adam(rec.net.parameters(), lr=args.lr)
    step, minutes_done, seed = 0, 0.0, args.seed
    state_path = Path(args.state)
    if args.init_from and not state_path.is_file():
        base = load_recognizer(args.init_from)   # RecognizerError: one line, exit 2
        if base.alphabet.chars != alphabet.chars or base.net.config != rec.net.config:
            print(f"error: {Path(args.init_from).name} has another alphabet or size than this run "
                  f"({base.net.config} vs {rec.net.config})", file=sys.stderr)
            return 2
        rec.net.load_state_dict(base.net.state_dict())
        print(f"Warm start from {Path(args.init_from).name} (its CER {base.metrics.get('real_cer', '?')})")
    if state_path.is_file():
        try:
            blob = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as e:   # torch raises many kinds on a damaged file
            raise cli.UsageError(f"{state_path} is not a readable training state ({cli.one_line(str(e))[:120]}); "
                                 f"delete it to start over") from None
        if blob["alphabet"] != alphabet.chars or blob["config"] != rec.net.config.to_dict():
            print(f"error: {state_path} was trained with another alphabet or size; delete it to start over",
                  file=sys.stderr)
            return 2
        rec.net.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
        step, minutes_done, seed = int(blob["step"]), float(blob["minutes"]), int(blob["seed"]) + 1
        print(f"Resumed from {state_path}: step {step}, {minutes_done:.1f} of {args.minutes} minutes spent")
    n_params = sum(p.numel() for p in rec.net.parameters())
    print(f"Recogniser: {n_params:,} parameters, {len(alphabet)} characters; {len(lines)} training lines, "
          f"{len(valid_idx)} validation lines", flush=True)

    def save_state():
        blob = {"model": rec.net.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "minutes": minutes_done, "seed": seed, "alphabet": alphabet.chars,
                "config": rec.net.config.to_dict()}
        atomic_write(state_path, lambda f: torch.save(blob, f))

    rng = np.random.default_rng(seed)
    started = time.time()
    spent = lambda: minutes_done + (time.time() - started) / 60
    log = lambda s, loss: print(f"step {s}: ctc loss {loss:.2f} nats/line, {spent():.1f} min", flush=True)
    while spent() < args.minutes and not (args.max_steps and step >= args.max_steps):
        chunk_end = time.time() + args.save_minutes * 60
        remaining = (args.max_steps - step) if args.max_steps else 10**9
        step = train_steps(rec, lines, targets, opt, steps=remaining, batch_size=args.batch_size, lr=args.lr,
                           rng=rng, start_step=step, progress=lambda s: spent() / args.minutes,
                           stop=lambda: time.time() > chunk_end or spent() >= args.minutes,
                           device=args.device, log=log)
        minutes_done, started = spent(), time.time()
        save_state()
        watch = f", CER {real_cer(rec, data, valid_idx[:args.watch_lines]):.3f} on {args.watch_lines} testset_v " \
                f"lines" if args.watch_lines else ""
        print(f"Saved {state_path} at step {step} ({minutes_done:.1f} min){watch}", flush=True)

    rec.net.to("cpu")
    real = real_cer(rec, data, valid_idx)
    rec.metrics = {"real_cer": real, "real_lines": int(len(valid_idx)), "cer": "reading_cer", "steps": step,
                   "train_minutes": round(minutes_done, 1), "train_lines": len(lines), "writers": args.writers,
                   "seed": args.seed, "init_from": Path(args.init_from).name if args.init_from else None,
                   "epochs": round(step * args.batch_size / max(1, len(lines)), 2),
                   "parameters": n_params}
    rec.save(args.out)
    size = Path(args.out).stat().st_size
    print(f"CER on {len(valid_idx)} real testset_v lines: {real:.3f}. Wrote {args.out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
