"""Build the style bank: 13 styles (ids 0-12), each a different real writer of testset_v.

    python train/build_styles.py --data_dir ../shared/data/iam-ondb --out checkpoints/styles \
        --checkpoint checkpoints/scribe-standin.safetensors --recognizer checkpoints/recognizer.safetensors \
        --writer_id checkpoints/writer_id.safetensors

testset_v's writers never trained the model, so a style speaks for a hand the model has not seen, as a
user's own would. Writers come from the recording clock (scribe.iam.derive_writers): a writer fills in
about 8 forms in one sitting, so distinct forms are not distinct writers.

1. Candidate lines: 18-40 characters of common characters, with a typical number of points per
   character (no scribbles, no dense retracing).
2. Each writer's prime: of the writer's candidate lines, the few most typical of the hand (nearest the
   writer's mean embedding in the writer-identification scorer, over all the writer's lines) are tried
   as primes; the one whose primed writing the recogniser reads best wins.
3. Each style also stores the writer's next most typical lines (--extra_lines, default 2): Scribe
   primes with all of them and averages the states, which carries the hand better than one line
   (docs/style-fidelity.md).
4. The 13 writers: only writers whose primed writing reads well enough (--min_words), then spread
   across the space of hands: the most unusual writer first, then each time the writer farthest from
   those already chosen (in the scorer's embedding), so no two styles are near-twins.

Styles are numbered from narrow to wide hands. Beside the style files, `bank.json` records each
style's source line, writer, hand traits and a short description (shown in the app). Files are
resampled like the training data, so each is only a few kB.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from scribe import cli
from scribe import iam, ink
from scribe.files import atomic_write_bytes
from scribe.styles import write_style

COMMON = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPRSTUVWY ,.'")
N_STYLES = 13
TEST_SENTENCES = ["Please send the report before noon on Friday.", "She counted 25 ships in the harbour.",
                  "Meet Anna at 3:00pm on March 15th, 1985.", "Spring came late to the hills that year."]


def candidates(data_dir, split_dir, min_step: float) -> tuple[list[dict], dict[str, list]]:
    """(candidate style lines, {writer: all its testset_v lines}) of testset_v's placed writers."""
    forms = iam.read_split_lists(split_dir)["testset_v"]
    writer_of = iam.writer_of_form([w for w in iam.derive_writers(iam.read_form_clocks(data_dir))
                                    if w.placed and len(w.forms) > 1])
    out, every = [], {}
    for ln in iam.read_lines(data_dir, forms=forms):
        writer = writer_of.get(ln.form_id)
        if writer is None:
            continue
        strokes = ink.clean_strokes(ln.strokes)
        offsets = ink.prepare_ink(strokes, min_step)
        every.setdefault(writer, []).append((offsets, ln.text.strip()))
        text = ln.text.strip()
        if not (18 <= len(text) <= 40) or not set(text) <= COMMON:
            continue
        x0, _, x1, _ = ink.bounding_box(strokes)
        out.append({"line": ln, "writer": writer, "text": text, "offsets": offsets, "height": ink.ink_height(strokes),
                    "per_char": len(offsets) / len(text), "width_per_char": (x1 - x0) / len(text)})
    lo, hi = np.percentile([c["per_char"] for c in out], [10, 90])
    return [c for c in out if lo <= c["per_char"] <= hi], every


def typical_lines(cands: list[dict], every: dict[str, list], scorer):
    """({writer: its candidate lines, the nearest its hand's mean embedding first}, {writer: that unit
    mean embedding}); sets each candidate's c["typical"] (cosine to its writer's mean)."""
    centres = {}
    for w, lines in every.items():
        e = scorer.embed([o for o, _ in lines]).mean(0)
        centres[w] = e / max(np.linalg.norm(e), 1e-9)
    emb = scorer.embed([c["offsets"] for c in cands])
    by_writer: dict[str, list[dict]] = {}
    for c, e in zip(cands, emb):
        c["typical"] = float(e @ centres[c["writer"]])
        by_writer.setdefault(c["writer"], []).append(c)
    return {w: sorted(cs, key=lambda c: -c["typical"]) for w, cs in by_writer.items()}, centres


def primed_legibility(pool: list[dict], checkpoint: str, recognizer_path: str, bias: float = 0.75,
                      seed: int = 0) -> None:
    """Sets c["words"] and c["cer"]: how well the recogniser reads the model's writing primed with c,
    over TEST_SENTENCES written twice each."""
    import torch
    from scribe.checkpoint import load_checkpoint
    from scribe.hand import Hand
    from scribe.request import LineSpec
    from scribe.recognizer import load_recognizer, reading_cer, word_accuracy
    from scribe.styles import StyleBank
    torch.set_num_threads(1)
    reader = load_recognizer(recognizer_path)
    with tempfile.TemporaryDirectory() as tmp:
        for i, c in enumerate(pool):
            write_style(Path(tmp), i, c["text"], c["offsets"])
        hand = Hand(load_checkpoint(checkpoint), StyleBank(tmp))
        for i, c in enumerate(pool):
            specs = [LineSpec(t, style=i, bias=bias) for t in TEST_SENTENCES * 2]
            doc = hand.write(specs, seed=seed, candidates=1)
            reads = reader.read([ln.offsets for ln in doc.lines])
            texts = [s.text for s in specs]
            c["words"], c["cer"] = word_accuracy(reads, texts), reading_cer(reads, texts)
            print(f"  {c['writer']} {c['line'].line_id}: typical {c['typical']:.2f}, primed words "
                  f"{c['words']:.2f}, CER {c['cer']:.3f}", flush=True)


def spread_writers(best: dict[str, dict], centres: dict[str, np.ndarray], n: int) -> list[str]:
    """n writers spread over the space of hands: the one farthest from the mean hand first, then each
    time the one whose nearest chosen writer is farthest (cosine distance)."""
    names = sorted(best)
    if len(names) < n:
        raise iam.DataError(f"only {len(names)} writers have a prime that reads well enough; need {n} "
                            f"(lower --min_words)")
    vecs = np.stack([centres[w] for w in names])
    mean = vecs.mean(0)
    chosen = [int(np.argmin(vecs @ mean))]
    while len(chosen) < n:
        nearest = (vecs @ vecs[chosen].T).max(1)
        nearest[chosen] = np.inf
        chosen.append(int(np.argmin(nearest)))
    return [names[i] for i in chosen]


def choose(by_writer: dict[str, list[dict]], centres: dict[str, np.ndarray], n: int, min_words: float):
    """Each writer's best-read prime, the writers whose best reads well enough, spread: n picks."""
    best = {}
    for w, cs in by_writer.items():
        top = sorted(cs, key=lambda c: (-c.get("words", 0.0), c.get("cer", 1.0)))[0]
        if top.get("words", 1.0) >= min_words:
            best[w] = top
    picks = [best[w] for w in spread_writers(best, centres, n)]
    return sorted(picks, key=lambda c: c["width_per_char"] / c["height"])


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="../shared/data/iam-ondb")
    p.add_argument("--split_dir", default=None)
    p.add_argument("--out", default="checkpoints/styles")
    p.add_argument("--checkpoint", required=True, type=cli.file_to_read,
                   help="the model whose primed writing is read")
    p.add_argument("--recognizer", default="checkpoints/recognizer.safetensors", type=cli.file_to_read)
    p.add_argument("--writer_id", default="checkpoints/writer_id.safetensors", type=cli.file_to_read)
    p.add_argument("--min_step", type=cli.number(above=0), default=25.0, help="resampling distance, as in prepare_data")
    p.add_argument("--per_writer", type=cli.whole(1, 20), default=6,
                   help="most typical lines tried as each writer's prime")
    p.add_argument("--extra_lines", type=cli.whole(0, 8), default=2,
                   help="more lines of each writer stored with its style (primed together, states averaged)")
    p.add_argument("--min_words", type=cli.number(0, 1), default=0.7,
                   help="a writer's best prime must get at least this share of words read exactly")
    args = p.parse_args(argv)
    from scribe.writer_id import load_writer_id
    scorer = load_writer_id(args.writer_id)
    cands, every = candidates(args.data_dir, args.split_dir or iam.default_split_dir(args.data_dir), args.min_step)
    ranked, centres = typical_lines(cands, every, scorer)
    by_writer = {w: cs[:args.per_writer] for w, cs in ranked.items()}
    print(f"{len(cands)} candidate lines from {len(by_writer)} writers; reading their primed writing ...", flush=True)
    primed_legibility([c for cs in by_writer.values() for c in cs], args.checkpoint, args.recognizer)
    picks = choose(by_writer, centres, N_STYLES, args.min_words)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    index = {}
    for i, c in enumerate(picks):
        # the writer's next most typical lines go with it: the style's state is the average over all
        more = [m for m in ranked[c["writer"]] if m is not c][:args.extra_lines]
        write_style(out, i, c["text"], c["offsets"], [(m["text"], m["offsets"]) for m in more])
        traits = ink.hand_traits(every[c["writer"]])
        index[str(i)] = {"line": c["line"].line_id, "extra_lines": [m["line"].line_id for m in more],
                         "writer": c["writer"], "text": c["text"], "primed_words": round(c["words"], 3),
                         **traits.to_dict()}
        print(f"style {i:2d}: {c['line'].line_id} (writer {c['writer']})  {len(c['offsets']):4d} points  "
              f"{c['text']!r}: {traits.describe()}")
    atomic_write_bytes(out / "bank.json", json.dumps(index, indent=1).encode("utf-8"))
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"Wrote {len(picks)} styles of {len(picks)} writers to {out} ({size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
