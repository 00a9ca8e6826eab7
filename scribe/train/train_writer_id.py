"""Train the writer-identification scorer (scribe/writer_id.py) on the writers of the training splits.

    OMP_NUM_THREADS=1 python train/train_writer_id.py --minutes 25      # the shipped scorer

Writers come from the recording clock of the IAM-OnDB archives (scribe.iam.derive_writers): --iam_dir
must hold them. Training uses the lines of the training splits only (trainset, testset_t, testset_f), so
testset_v's writers, where the style bank comes from, are never seen. A few training writers are held
out to choose nothing but to watch: the run prints their identification rate as it goes. At the end it
measures, on testset_v's writers, the rate at which a real line is found as its own writer from the
writer's other forms (the ceiling any generated line is compared with), and writes the small
half-precision file (--out) that scribe.evaluate loads.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

from scribe import cli
from scribe.dataset import ProcessedData
from scribe.iam import writers_of_forms
from scribe.recognizer import FEATURE_SIZES, ink_features
from scribe.writer_id import WriterId, centroids, identification, identify

SCALE, MARGIN = 16.0, 0.2      # cosine-softmax with an additive margin: tight, well-separated writers


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz", type=cli.file_to_read,
                   help="processed data from train/prepare_data.py")
    p.add_argument("--iam_dir", default="../shared/data/iam-ondb", help="the IAM-OnDB archives (for the clock)")
    p.add_argument("--out", default="checkpoints/writer_id.safetensors", type=cli.file_to_write)
    p.add_argument("--minutes", type=cli.number(above=0), default=25.0)
    p.add_argument("--writers_per_batch", type=cli.whole(2, 1000), default=16)
    p.add_argument("--lines_per_writer", type=cli.whole(2, 100), default=4)
    p.add_argument("--lr", type=cli.number(above=0), default=2e-3)
    p.add_argument("--watch_writers", type=cli.whole(2, 100), default=20,
                   help="training writers held out, only watched")
    p.add_argument("--crop", type=cli.number(0.05, 1), default=0.6,
                   help="train on a random stretch of at least this fraction of each line (text does not matter)")
    p.add_argument("--seed", type=cli.whole(0, 2**32 - 1), default=2404)
    return p.parse_args(argv)


def writer_lines(data: ProcessedData, writers: dict[str, str], split: str) -> dict[str, list[int]]:
    """{writer: indices of its lines in `split`}, placed writers with lines from two forms or more."""
    by_writer: dict[str, list[int]] = defaultdict(list)
    for i in data.indices(split):
        form = str(data.line_ids[i]).rpartition("-")[0]
        if form in writers:
            by_writer[writers[form]].append(int(i))
    return {w: ix for w, ix in by_writer.items()
            if len({str(data.line_ids[i]).rpartition("-")[0] for i in ix}) >= 2}


def form_of(data: ProcessedData, i: int) -> str:
    return str(data.line_ids[i]).rpartition("-")[0]


def held_out_rate(scorer: WriterId, data: ProcessedData, lines: dict[str, list[int]]):
    """Each writer's lines of its first half of forms are the references; the other forms' lines are
    identified among all the writers given: the Identification."""
    refs, queries, truth = {}, [], []
    for w, ix in sorted(lines.items()):
        forms = sorted({form_of(data, i) for i in ix})
        ref_forms = set(forms[: max(1, len(forms) // 2)])
        refs[w] = scorer.embed([data.line(i) for i in ix if form_of(data, i) in ref_forms])
        for i in ix:
            if form_of(data, i) not in ref_forms:
                queries.append(data.line(i))
                truth.append(w)
    names, c = centroids(refs)
    return identification(identify(scorer.embed(queries), names, c), truth, names)


def crop(f: np.ndarray, rng: np.random.Generator, least: float) -> np.ndarray:
    n = len(f)
    keep = max(8, int(n * rng.uniform(least, 1.0)))
    if keep >= n:
        return f
    start = int(rng.integers(0, n - keep + 1))
    return f[start:start + keep]


@cli.command
def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = ProcessedData.load(args.data)
    writers = writers_of_forms(args.iam_dir)
    train = writer_lines(data, writers, "train")
    names = sorted(train)
    order = rng.permutation(len(names))
    watch = {names[i]: train[names[i]] for i in order[: args.watch_writers]}
    fit = {names[i]: train[names[i]] for i in order[args.watch_writers:]}
    fit_names = sorted(fit)
    print(f"{len(fit)} writers to learn ({sum(map(len, fit.values()))} lines), {len(watch)} held out to "
          f"watch; features computed once ...", flush=True)
    scorer = WriterId.new()
    feats = {i: torch.from_numpy(ink_features(data.line(i), scorer.net.config.features))
             for ix in fit.values() for i in ix}
    classes = torch.nn.Parameter(torch.randn(len(fit_names), scorer.net.config.embed) * 0.01)
    opt = torch.optim.AdamW(list(scorer.net.parameters()) + [classes], lr=args.lr, weight_decay=1e-4)
    started, step, budget = time.perf_counter(), 0, args.minutes * 60
    F_ = FEATURE_SIZES[scorer.net.config.features]
    while time.perf_counter() - started < budget:
        frac = (time.perf_counter() - started) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        chosen = rng.choice(len(fit_names), size=min(args.writers_per_batch, len(fit_names)), replace=False)
        batch, labels = [], []
        for c in chosen:
            ix = fit[fit_names[c]]
            for i in rng.choice(ix, size=args.lines_per_writer, replace=len(ix) < args.lines_per_writer):
                batch.append(crop(feats[int(i)].numpy(), rng, args.crop))
                labels.append(int(c))
        lengths = torch.tensor([len(b) for b in batch])
        x = torch.zeros(len(batch), int(lengths.max()), F_)
        for k, b in enumerate(batch):
            x[k, :len(b)] = torch.from_numpy(b)
        scorer.net.train()
        emb = scorer.net(x, lengths)
        cos = emb @ F.normalize(classes, dim=1).T
        y = torch.tensor(labels)
        logits = SCALE * (cos - MARGIN * F.one_hot(y, len(fit_names)))
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(scorer.net.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 200 == 0:
            r = held_out_rate(scorer, data, watch)
            print(f"step {step}: loss {loss.item():.3f}; held-out training writers found {r.rate:.1%} "
                  f"({len(watch)} writers, chance {1 / len(watch):.1%}); {time.perf_counter() - started:.0f} s",
                  flush=True)
    watched = held_out_rate(scorer, data, watch)
    valid = held_out_rate(scorer, data, writer_lines(data, writers, "valid"))
    scorer.metrics = {
        "trained_writers": len(fit), "steps": step, "minutes": round((time.perf_counter() - started) / 60, 1),
        "held_out_training_writers": {"writers": len(watch), "rate": round(watched.rate, 4)},
        "testset_v_writers": {"writers": len(valid.share), "rate": round(valid.rate, 4), "lines": valid.lines},
        "seed": args.seed}
    scorer.save(args.out)
    print(f"Held-out training writers: {watched.rate:.1%} of {watched.lines} lines found ({len(watch)} writers). "
          f"testset_v writers (never trained on): {valid.rate:.1%} of {valid.lines} lines found among "
          f"{len(valid.share)} writers (chance {1 / max(len(valid.share), 1):.1%}). Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
