"""Build the processed dataset from the IAM-OnDB archives, as downloaded.

    python train/prepare_data.py --data_dir ../shared/data/iam-ondb

Reads lineStrokes-all.tar.gz + ascii-all.tar.gz (or their unpacked folders), pairs each line with its
text, cleans and resamples the ink, and writes one .npz (about 20 MB) into data/, which git ignores:
it is derived from IAM-OnDB and must never be committed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


import numpy as np

from scribe import cli
from scribe import iam, ink
from scribe.dataset import ProcessedData, compute_stats

DEFAULT_OUT = Path("data") / "iam_ondb.npz"
# Resampling distance in whiteboard units (median raw step is about 20, median ink height 350):
# 25 keeps about 12 points per character and makes lines 1.75x shorter than raw, which makes
# training and sampling that much faster; letters keep their shape.
DEFAULT_MIN_STEP = 25.0


def parse_args(argv=None):
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="../shared/data/iam-ondb",
                   help="folder with lineStrokes-all.tar.gz and ascii-all.tar.gz (or unpacked lineStrokes/, ascii/)")
    p.add_argument("--split_dir", default=None, help="folder of form lists (*.txt); default DATA_DIR/splits")
    p.add_argument("--train_lists", default=",".join(iam.DEFAULT_SPLITS["train"]),
                   help="comma-separated list names that make the training split")
    p.add_argument("--valid_lists", default=",".join(iam.DEFAULT_SPLITS["valid"]),
                   help="comma-separated list names that make the validation split")
    p.add_argument("--out", default=str(DEFAULT_OUT), type=cli.file_to_write, help="processed file to write")
    p.add_argument("--min_step", type=cli.number(0), default=DEFAULT_MIN_STEP,
                   help="resampling distance in whiteboard units; 0 keeps every raw point")
    p.add_argument("--max_forms", type=cli.whole(0), default=0,
                   help="use only the first N forms of each split (quick experiments and tests)")
    return p.parse_args(argv)


def prepare(args) -> ProcessedData:
    split_dir = Path(args.split_dir) if args.split_dir else iam.default_split_dir(args.data_dir)
    lists = iam.read_split_lists(split_dir)
    wanted = {"train": args.train_lists.split(","), "valid": args.valid_lists.split(",")}
    form_split: dict[str, str] = {}
    for split, names in wanted.items():
        missing = [n for n in names if n not in lists]
        if missing:
            raise iam.DataError(f"split list(s) {missing} not found in {split_dir} (have: {sorted(lists)})")
        forms = sorted(set().union(*(lists[n] for n in names)))
        if args.max_forms:
            forms = forms[:args.max_forms]
        form_split.update({f: split for f in forms})

    report = iam.ReadReport()
    t0 = time.time()
    lines = iam.read_lines(args.data_dir, forms=set(form_split), report=report)
    print(f"Read {report.lines_read} lines from {report.forms_read} forms in {time.time() - t0:.1f}s; "
          f"skipped {len(report.forms_skipped)} forms whose line counts disagree"
          + (f" ({', '.join(report.forms_skipped[:5])}{', ...' if len(report.forms_skipped) > 5 else ''})"
             if report.forms_skipped else "")
          + (f"; {len(report.lines_unreadable)} unreadable line files" if report.lines_unreadable else ""))
    if not lines:
        raise iam.DataError("no lines could be paired with their transcriptions")

    offsets, heights, texts, ids, splits = [], [], [], [], []
    for ln in lines:
        strokes = ink.clean_strokes(ln.strokes)
        if not strokes or not ln.text:
            continue
        offsets.append(np.round(ink.prepare_ink(strokes, args.min_step)).astype(np.int16))
        heights.append(ink.ink_height(strokes))
        texts.append(ln.text)
        ids.append(ln.line_id)
        splits.append(form_split[ln.form_id])
    splits = np.array(splits)
    train = [o for o, s in zip(offsets, splits) if s == "train"]
    if not train:
        raise iam.DataError("the training split is empty: check --train_lists and the split folder")
    stats = compute_stats(train, [h for h, s in zip(heights, splits) if s == "train"], args.min_step)
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offsets])]).astype(np.int64)
    return ProcessedData(np.concatenate(offsets), starts, np.array(texts), np.array(ids), splits, stats)


@cli.command
def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    data = prepare(args)      # iam.DataError: one line, exit 2
    data.save(args.out)
    counts = {s: int((data.splits == s).sum()) for s in ("train", "valid")}
    size_mb = Path(args.out).stat().st_size / 1e6
    print(f"Wrote {args.out} ({size_mb:.1f} MB): train {counts['train']} lines, valid {counts['valid']} lines, "
          f"{len(data.offsets)} points, median {int(np.median(data.lengths()))} points per line; "
          f"{time.time() - t0:.1f}s in all")
    print(f"Normalisation (train): mean {np.round(data.stats.mean, 3).tolist()}, "
          f"std {np.round(data.stats.std, 3).tolist()}, ink height {data.stats.ink_height:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
