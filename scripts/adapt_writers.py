"""Does adaptation help? Measured on real testset_v writers the model never saw (issue 15).

    OMP_NUM_THREADS=1 python scripts/adapt_writers.py --writers 10 --out runs/adapt-writers.json

For each of --writers testset_v forms (a form is one writer's page; none of them is in training),
spaced evenly through the forms with at least --adapt_lines + 2 lines:
- adapt the shipped model on the form's first --adapt_lines lines (the last of them held out for
  early stopping, as scribe.adapt does);
- on the form's other lines, compare the NLL per point of the base model and of the adapted model,
  each primed with the form's first line (the style the app saves);
- write each held-out text with both models, primed the same way (bias --bias, same seed), and read
  it with the strict reader (checkpoints/recognizer.safetensors): CER and words read exactly.
Prints a markdown table (per writer and the mean) and writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from scribe.adapt import AdaptOptions, adapt, prepare_lines, primed_nll_per_point
from scribe.checkpoint import default_checkpoint, load_checkpoint
from scribe.dataset import ProcessedData
from scribe.recognizer import load_recognizer, reading_cer, word_accuracy
from scribe.sampling import LineRequest, Prime, Sampler, ends_in_full_stop, late_dot_ok


def writer_forms(data: ProcessedData, n: int, min_lines: int) -> list[tuple[str, list[int]]]:
    forms: dict[str, list[int]] = {}
    for i in data.indices("valid"):
        forms.setdefault(str(data.line_ids[i]).rpartition("-")[0], []).append(int(i))
    usable = sorted((f, idx) for f, idx in forms.items() if len(idx) >= min_lines)
    picks = np.linspace(0, len(usable) - 1, n).round().astype(int)
    return [usable[k] for k in dict.fromkeys(picks.tolist())]


def generate(model, stats, alphabet, prime, texts: list[str], bias: float, seed: int,
             candidates: int = 1) -> list[list[np.ndarray]]:
    """`candidates` samples of each text (one sampler batch), primed with `prime`: [text][candidate]."""
    from scribe.fast import fast_step
    sampler = Sampler(model, stats, step_fn=fast_step(model))
    sep = alphabet.encode_separator()
    reqs = [LineRequest(alphabet.encode(t), bias, prime=Prime(prime.offsets, prime.text),
                        prime_encoded=prime.encoded + sep, late_dot_ok=late_dot_ok(t),
                        final_stop=ends_in_full_stop(t)) for t in texts] * candidates
    lines = [ln.offsets for ln in sampler.sample(reqs, seed=seed)]
    return [[lines[j * len(texts) + i] for j in range(candidates)] for i in range(len(texts))]


def best_readings(reader, per_text: list[list[np.ndarray]], texts: list[str]) -> list[str]:
    """Per text, the reading of the candidate that reads closest to it (what the app's legibility
    check keeps; with one candidate, just its reading)."""
    flat = reader.read([c for cands in per_text for c in cands])
    out, k = [], 0
    for cands, t in zip(per_text, texts):
        reads = flat[k:k + len(cands)]
        k += len(cands)
        out.append(min(reads, key=lambda r: reading_cer([r], [t])))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--writers", type=int, default=10)
    p.add_argument("--adapt_lines", type=int, default=6)
    p.add_argument("--max_steps", type=int, default=AdaptOptions.max_steps)
    p.add_argument("--minutes", type=float, default=AdaptOptions.minutes)
    p.add_argument("--lr", type=float, default=AdaptOptions.lr)
    p.add_argument("--anchor", type=float, default=AdaptOptions.anchor)
    p.add_argument("--train", choices=("all", "shapes", "bias"), default=AdaptOptions.train)
    p.add_argument("--replay", action="store_true", help="replay IAM training lines during adaptation")
    p.add_argument("--bias", type=float, default=1.0)
    p.add_argument("--no_generate", action="store_true", help="skip the reader's part (NLL only)")
    p.add_argument("--candidates", type=int, default=1,
                   help="samples per held-out text; the reader's best is scored (the app's legibility check)")
    p.add_argument("--save_dir", default="", help="keep each writer's adapted model here (ignored runs/ folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    data = ProcessedData.load(args.data)
    base = load_checkpoint(args.checkpoint or default_checkpoint())
    alphabet, stats, sep = base.alphabet, base.stats, base.alphabet.encode_separator()
    reader = None if args.no_generate else load_recognizer()
    options = AdaptOptions(minutes=args.minutes, max_steps=args.max_steps, lr=args.lr, anchor=args.anchor,
                           train=args.train, seed=args.seed)
    replay = (data, data.indices("train")) if args.replay else None
    base_model = base.build_model()
    rows = []
    for form, idx in writer_forms(data, args.writers, args.adapt_lines + 2):
        own = [(str(data.texts[i]), data.line(i)) for i in idx]
        try:
            prepared = prepare_lines(own, alphabet, stats)
        except Exception as e:
            print(f"{form}: skipped ({e})", file=sys.stderr)
            continue
        prime, rest = prepared[0], prepared[args.adapt_lines:]
        t0 = time.perf_counter()
        result = adapt(base, own[:args.adapt_lines], options, replay=replay)
        seconds = time.perf_counter() - t0
        if args.save_dir:
            from scribe.adapt import save_adapted
            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            save_adapted(result, Path(args.save_dir) / f"{form}.safetensors")
        adapted = result.checkpoint.build_model()
        pairs = [(prime, r) for r in rest]
        row = {"form": form, "adapt_lines": args.adapt_lines, "held_out_lines": len(rest),
               "steps": result.record["steps"], "best_step": result.record["best_step"],
               "seconds": round(seconds, 1),
               "nll_base": primed_nll_per_point(base_model, pairs, sep),
               "nll_adapted": primed_nll_per_point(adapted, pairs, sep)}
        if reader is not None:
            texts = [r.text for r in rest]
            real = reader.read([data.line(i) for i in idx[args.adapt_lines:]])
            row["cer_real"] = reading_cer(real, texts)     # how well the writer's own ink reads
            for name, model in (("base", base_model), ("adapted", adapted)):
                reads = best_readings(reader, generate(model, stats, alphabet, prime, texts, args.bias, args.seed,
                                                       args.candidates), texts)
                row[f"cer_{name}"] = reading_cer(reads, texts)
                row[f"words_{name}"] = word_accuracy(reads, texts)
                row[f"read_{name}"] = reads
            row["texts"] = texts
        rows.append(row)
        print(f"{form}: NLL/point {row['nll_base']:.4f} -> {row['nll_adapted']:.4f} "
              f"({row['steps']} steps, best {row['best_step']}, {seconds:.0f} s)"
              + (f"; CER {row['cer_base']:.3f} -> {row['cer_adapted']:.3f} (real ink {row['cer_real']:.3f})"
                 if reader is not None else ""),
              flush=True)
    if not rows:
        print("no usable writers", file=sys.stderr)
        return 1
    mean = lambda k: float(np.mean([r[k] for r in rows]))
    better = sum(r["nll_adapted"] < r["nll_base"] for r in rows)
    summary = {"writers": len(rows), "better_nll": better, "nll_base": mean("nll_base"),
               "nll_adapted": mean("nll_adapted"), "seconds": mean("seconds"),
               "options": {k: getattr(options, k) for k in ("minutes", "max_steps", "lr", "anchor", "train")},
               "replay": bool(args.replay), "bias": args.bias, "candidates": args.candidates}
    if reader is not None:
        for k in ("cer_real", "cer_base", "cer_adapted", "words_base", "words_adapted"):
            summary[k] = mean(k)
    print()
    cols = "| form | lines held out | NLL/point base | NLL/point adapted | steps | s |" + \
           (" CER real ink | CER base | CER adapted |" if reader is not None else "")
    print(cols)
    print("|" + "---|" * (cols.count("|") - 1))
    for r in rows:
        print(f"| {r['form']} | {r['held_out_lines']} | {r['nll_base']:.4f} | {r['nll_adapted']:.4f} | "
              f"{r['steps']} | {r['seconds']:.0f} |"
              + (f" {r['cer_real']:.3f} | {r['cer_base']:.3f} | {r['cer_adapted']:.3f} |" if reader is not None else ""))
    print(f"| **mean** ({better}/{len(rows)} better) | | {summary['nll_base']:.4f} | {summary['nll_adapted']:.4f} "
          f"| | {summary['seconds']:.0f} |"
          + (f" {summary['cer_real']:.3f} | {summary['cer_base']:.3f} | {summary['cer_adapted']:.3f} |"
             if reader is not None else ""))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "writers": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
