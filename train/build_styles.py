"""Build the style bank (13 styles, ids 0-12) from real testset_v lines of IAM-OnDB.

    python train/build_styles.py --data_dir ../shared/data/iam-ondb --out checkpoints/styles \
        [--checkpoint checkpoints/scribe-standin.safetensors]

A good style line is short, uses only common characters, and is neat. Candidates are lines of 18-40
characters from distinct forms (so, distinct writers) whose points per character and ink height are
typical; with --checkpoint, the ones the model finds most probable (lowest NLL per point) rank first,
which favours clean, regular writing. The 13 picks spread from narrow to wide hands, so the bank is
varied. With --recognizer too, the pool of neat lines is ranked by what a reader sees instead: the
model writes a few test sentences primed with each line, the recogniser reads them, and the 13 lines
whose primed writing is read best become the bank (a clean line is not always a good prime). Files
are resampled like the training data, so each is only a few kB.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


import numpy as np

from scribe import cli
from scribe import iam, ink
from scribe.styles import write_style

COMMON = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPRSTUVWY ,.'")
N_STYLES = 13


def candidates(data_dir, split_dir, min_step: float):
    forms = iam.read_split_lists(split_dir)["testset_v"]
    out = []
    for ln in iam.read_lines(data_dir, forms=forms):
        text = ln.text.strip()
        if not (18 <= len(text) <= 40) or not set(text) <= COMMON:
            continue
        strokes = ink.clean_strokes(ln.strokes)
        offsets = ink.prepare_ink(strokes, min_step)
        x0, _, x1, _ = ink.bounding_box(strokes)
        out.append({"line": ln, "text": text, "offsets": offsets, "height": ink.ink_height(strokes),
                    "per_char": len(offsets) / len(text), "width_per_char": (x1 - x0) / len(text)})
    return out


def model_nll(cands, checkpoint: str) -> None:
    """Score each candidate by the model's NLL per point (lower = more typical, neater)."""
    import torch
    from scribe.checkpoint import load_checkpoint
    from scribe.dataset import collate
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build_model()
    with torch.no_grad():
        for c in cands:
            try:
                text = ckpt.alphabet.encode(c["text"])
            except ValueError:
                c["nll"] = np.inf
                continue
            batch = collate([ckpt.stats.normalise(c["offsets"])], [text])
            _, per_line = model.loss(batch)
            c["nll"] = float(per_line[0]) / len(c["offsets"])


TEST_SENTENCES = ["Please send the report before noon on Friday.", "She counted 25 ships in the harbour.",
                  "Meet Anna at 3:00pm on March 15th, 1985.", "Spring came late to the hills that year."]


def legibility_rank(pool, checkpoint: str, recognizer_path: str, n: int, bias: float = 0.75, seed: int = 0):
    """The n lines of the pool whose primed writing the recogniser reads best (most words right, then
    lowest CER), over TEST_SENTENCES written twice each."""
    import torch
    from scribe.checkpoint import load_checkpoint
    from scribe.hand import Hand, LineSpec
    from scribe.recognizer import load_recognizer, reading_cer, word_accuracy
    from scribe.styles import StyleBank
    import tempfile
    torch.set_num_threads(1)
    reader = load_recognizer(recognizer_path)
    with tempfile.TemporaryDirectory() as tmp:
        for i, c in enumerate(pool):
            write_style(Path(tmp), i, c["text"], c["offsets"])
        hand = Hand(load_checkpoint(checkpoint), StyleBank(tmp))
        for i, c in enumerate(pool):
            specs = [LineSpec(t, style=i, bias=bias) for t in TEST_SENTENCES * 2]
            doc = hand.write(specs, seed=seed)
            reads = reader.read([ln.offsets for ln in doc.lines])
            texts = [s.text for s in specs]
            c["words"], c["cer"] = word_accuracy(reads, texts), reading_cer(reads, texts)
            print(f"  candidate {i:2d} {c['line'].line_id}: words {c['words']:.2f}, CER {c['cer']:.3f}", flush=True)
    return sorted(pool, key=lambda c: (-c["words"], c["cer"]))[:n]


def pick(cands, n: int, use_nll: bool, rank=None):
    per_char = np.array([c["per_char"] for c in cands])
    height = np.array([c["height"] for c in cands])
    lo, hi = np.percentile(per_char, [25, 75])
    h_lo, h_hi = np.percentile(height, [20, 80])
    typical = [c for c in cands if lo <= c["per_char"] <= hi and h_lo <= c["height"] <= h_hi]
    key = (lambda c: c["nll"]) if use_nll else (lambda c: abs(c["per_char"] - np.median(per_char)))
    seen_forms, pool = set(), []
    for c in sorted(typical, key=key):
        if c["line"].form_id not in seen_forms:
            seen_forms.add(c["line"].form_id)
            pool.append(c)
    pool = pool[: max(n * 3, n)]          # the neatest third, then spread across hand widths
    if rank is not None:                  # or: the lines that prime the most legible writing
        picks = rank(pool)
        if len(picks) < n:
            raise SystemExit(f"only {len(picks)} suitable lines found; need {n}")
        return sorted(picks, key=lambda c: c["width_per_char"])
    pool.sort(key=lambda c: c["width_per_char"])
    picks = [pool[round(i * (len(pool) - 1) / (n - 1))] for i in range(n)] if len(pool) >= n else pool
    if len(picks) < n:
        raise SystemExit(f"only {len(picks)} suitable lines found; need {n}")
    return picks


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="../shared/data/iam-ondb")
    p.add_argument("--split_dir", default=None)
    p.add_argument("--out", default="checkpoints/styles")
    p.add_argument("--checkpoint", default=None, help="rank candidates by this model's NLL per point")
    p.add_argument("--min_step", type=cli.number(above=0), default=25.0, help="resampling distance, as in prepare_data")
    p.add_argument("--recognizer", default=None,
                   help="with --checkpoint: rank the neat lines by how well this recogniser reads the "
                        "model's writing primed with each")
    args = p.parse_args(argv)
    try:
        cands = candidates(args.data_dir, args.split_dir or iam.default_split_dir(args.data_dir), args.min_step)
    except iam.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.checkpoint:
        model_nll(cands, args.checkpoint)
    rank = None
    if args.checkpoint and args.recognizer:
        rank = lambda pool: legibility_rank(pool, args.checkpoint, args.recognizer, N_STYLES)
    picks = pick(cands, N_STYLES, bool(args.checkpoint), rank)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    for i, c in enumerate(picks):
        write_style(out, i, c["text"], c["offsets"])
        print(f"style {i:2d}: {c['line'].line_id}  {len(c['offsets']):4d} points  {c['text']!r}")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"Wrote {len(picks)} styles to {out} ({size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
