"""Check the processed dataset before training: counts, characters, lengths, anomalies.

    python train/verify_data.py [--data data/iam_ondb.npz]

Exits non-zero, saying what to run or download, when the data is missing or malformed.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter


import numpy as np

from scribe import cli
from scribe.dataset import DatasetError, ProcessedData

RARE = 25   # a character seen fewer times than this in training is too rare to learn to write well


def verify(data: ProcessedData) -> list[str]:
    """Print the report; return the list of problems that make the data unusable."""
    problems = []
    lengths = data.lengths()
    for split in ("train", "valid"):
        idx = data.indices(split)
        print(f"{split:>5}: {len(idx):6d} lines, {int(lengths[idx].sum()):8d} points")
        if not len(idx):
            problems.append(f"the {split} split is empty")
    train = data.indices("train")
    counts = Counter(c for i in train for c in str(data.texts[i]))
    print(f"\nCharacters in training text: {len(counts)} distinct")
    for c, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        flag = "   <- too rare to learn well" if n < RARE else ""
        print(f"  {c!r:>6} {n:7d}{flag}")
    absent = [c for c in "QXZ0123456789" if counts.get(c, 0) < RARE]
    if absent:
        print(f"Rare or absent (expect poor handwriting for these): {' '.join(absent)}")

    chars = np.array([len(str(t)) for t in data.texts])
    per_char = lengths / np.maximum(chars, 1)
    pct = lambda a: " / ".join(f"{v:.0f}" for v in np.percentile(a, [10, 50, 90, 99]))
    print("\nLengths (10th / median / 90th / 99th percentile):")
    print(f"  points per line: {pct(lengths)}   max {lengths.max()}")
    print(f"  chars per line:  {pct(chars)}   max {chars.max()}")
    print("  points per char: " + " / ".join(f"{v:.1f}" for v in np.percentile(per_char, [10, 50, 90, 99])))

    anomalies = []
    lo, hi = np.percentile(per_char, [0.5, 99.5])
    for i in np.nonzero((per_char < lo) | (per_char > hi))[0]:
        anomalies.append(f"{data.line_ids[i]}: {per_char[i]:.1f} points per char ({str(data.texts[i])!r})")
    off = data.offsets
    if not np.isfinite(off.astype(np.float64)).all():
        problems.append("offsets hold NaN or infinite values")
    eos = off[:, 2]
    if not np.isin(eos, (0, 1)).all():
        problems.append("end-of-stroke flags other than 0/1")
    ends = data.starts[1:] - 1
    if (eos[ends] != 1).any():
        problems.append("some lines do not end with a pen-up")
    std = np.asarray(data.stats.std)
    if not (np.isfinite(std).all() and (std > 0).all()):
        problems.append(f"normalisation std is not positive: {std}")
    print(f"\nAnomalies: {len(anomalies)} lines with unusual points per character (kept; listed first 10)")
    for a in anomalies[:10]:
        print("  " + a)
    print(f"\nNormalisation: mean {np.round(data.stats.mean, 3).tolist()}, std {np.round(std, 3).tolist()}, "
          f"ink height {data.stats.ink_height:.1f}, min_step {data.stats.min_step}")
    return problems


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/iam_ondb.npz", help="processed file from prepare_data.py")
    args = p.parse_args(argv)
    try:
        data = ProcessedData.load(args.data)
    except DatasetError as e:
        raise cli.UsageError(f"{e} (the raw data: download lineStrokes-all.tar.gz and ascii-all.tar.gz from "
                             f"the IAM On-Line Handwriting Database, fki.inf.unibe.ch, into one folder, then "
                             f"run `python train/prepare_data.py --data_dir FOLDER`)") from None
    problems = verify(data)
    if problems:
        print("\nDATA PROBLEMS:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("\nData OK.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
