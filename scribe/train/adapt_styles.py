"""Fit each bank style's adapter (scribe.style_adapters) to real lines of the style's writer.

    OMP_NUM_THREADS=1 python train/adapt_styles.py --checkpoint checkpoints/scribe-standin.safetensors
    python train/adapt_styles.py --checkpoint checkpoints/scribe-standin.safetensors --styles --tune_strength
    python train/adapt_styles.py --checkpoint checkpoints/scribe-standin.safetensors --styles --strength 0.7

For every style of the bank: its writer (scribe.iam.derive_writers, from the recording clock), that
writer's testset_v lines other than the style's own prime lines, `--lines` of them spread over the
writer's forms; `scribe.adapt` with train="bias" (biases and the output layer), IAM training lines
replayed, the last `--held_out` chosen lines held out to choose the weights by (early stopping). The
second command fits nothing: it chooses how much of each style's adapter the sampler applies, by
legibility (`tune_strengths`); the third sets one strength for every style. The adapters go to
`<style_dir>/adapters.safetensors` (styles already in that file and not named by `--styles` are kept),
and each style's record in bank.json gains `adapt_lines` (the line ids fitted on), which the
style-fidelity measure keeps out of its references and queries.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import cli
from ..adapt import MIN_LINES, AdaptError, AdaptOptions, adapt, prepare_lines
from ..checkpoint import load_checkpoint
from ..dataset import ProcessedData
from ..files import atomic_write_bytes
from ..iam import writers_of_forms
from ..recognizer import load_recognizer, reading_cer
from ..style_adapters import (ADAPTER_FILE, AdapterError, adapted_names, load_adapters, read_adapter_records,
                              save_adapters)
from ..styles import StyleBank


def writer_lines(data: ProcessedData, writer: str, wof: dict[str, str], exclude: set[str]) -> list[int]:
    """The writer's testset_v lines in the data's order, less `exclude` (line ids)."""
    return [int(i) for i in data.indices("valid")
            if wof.get(str(data.line_ids[i]).rpartition("-")[0]) == writer and str(data.line_ids[i]) not in exclude]


def choose_lines(data: ProcessedData, pool: list[int], n: int, alphabet, stats, reader=None) -> list[int]:
    """n of `pool` spread evenly over it (so over the writer's forms), skipping lines adapt cannot use;
    with a `reader` (scribe.recognizer), the n it reads best instead: the writer at their most legible."""
    if reader is not None:
        read = reader.read([data.line(i) for i in pool])
        cers = [reading_cer([r], [str(data.texts[i])]) for r, i in zip(read, pool)]
        order = sorted(range(len(pool)), key=lambda k: (cers[k], k))
    else:
        picks = sorted(set(int(round(k)) for k in np.linspace(0, len(pool) - 1, n)))
        order = picks + [k for k in range(len(pool)) if k not in picks]
    chosen = []
    for k in order:
        if len(chosen) == n:
            break
        i = pool[k]
        try:
            prepare_lines([(str(data.texts[i]), data.line(i))] * MIN_LINES, alphabet, stats)   # checks each line
        except AdaptError:
            continue
        chosen.append(i)
    return sorted(chosen)


def existing_adapters(folder: Path, model) -> tuple[dict, dict, float | None]:
    """The adapters already in the folder's file, if it fits `model` ({style id: params}, {style id:
    record}, the file's strength; None when there is none): fitting some styles again keeps the others."""
    path = folder / ADAPTER_FILE
    if not path.is_file():
        return {}, {}, None
    try:
        found = load_adapters(path, model, strength=1.0)      # the values as fitted
        meta = read_adapter_records(path)
    except AdapterError as e:
        print(f"starting a new {ADAPTER_FILE}: {e}", flush=True)
        return {}, {}, None
    records = {int(k): v for k, v in meta.get("styles", {}).items()}
    return ({sid: a.params for sid, a in found.items()}, {sid: records.get(sid, {}) for sid in found},
            meta.get("strength", 1.0))


TUNE_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)      # strengths written and read for each style
TUNE_SEEDS = (101, 202, 303, 404)
TUNE_BIAS = 1.0


def tuning_texts(data: ProcessedData, alphabet, n: int = 24, seed: int = 123) -> list[str]:
    """n trainset transcriptions of 25-55 characters: texts that neither the quality report (its fixed
    sentences) nor the legibility benchmarks (testset_v texts) write, so the strengths are not chosen on
    the lines they are judged by."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    for i in rng.permutation(data.indices("train")):
        text = str(data.texts[i]).strip()
        try:
            text = alphabet.clean(text)
        except ValueError:
            continue
        if 25 <= len(text) <= 55 and text not in texts:
            texts.append(text)
        if len(texts) == n:
            break
    return texts


def strength_for(grid, cers, cost: float) -> float:
    """The largest strength (in steps of 0.05, up to the grid's top) before the style's reading cost
    rises more than `cost` (reader's CER) above priming alone (strength 0). The CER is read through a
    quadratic fitted over the grid: one reading of 96 lines moves by about 0.01, the fit smooths that."""
    fitted = np.polyval(np.polyfit(np.asarray(grid, float), np.asarray(cers, float), 2),
                        fine := np.arange(0.0, max(grid) + 1e-9, 0.05))
    within = fitted <= fitted[0] + cost
    last = len(fine) - 1 if within.all() else int(np.argmin(within)) - 1
    return round(float(fine[max(last, 0)]), 2)


def tune_strengths(checkpoint: str, folder: Path, model, adapted: dict, records: dict, texts: list[str],
                   cost: float) -> None:
    """Choose each adapted style's strength by legibility: write `texts` in the style at every strength of
    TUNE_GRID (bias 1.0, no legibility check, 4 seeds), read them with the shipped reader, and keep the
    largest strength whose lines cost at most `cost` of CER over priming alone (`strength_for`). A style
    whose adapter costs nothing gets all of it; one whose writer's hand reads poorly gets what it can
    carry legibly. Sets records[sid]["strength"] and records[sid]["strength_tuning"]."""
    from ..hand import Hand, LineSpec
    reader = load_recognizer()
    cers: dict[int, list[float]] = {sid: [] for sid in adapted}
    with tempfile.TemporaryDirectory() as tmp:
        bank = Path(tmp) / "styles"
        shutil.copytree(folder, bank, ignore=shutil.ignore_patterns(ADAPTER_FILE))
        for strength in TUNE_GRID:
            started = time.perf_counter()
            save_adapters(bank / ADAPTER_FILE, model, adapted, {}, strength)   # every style at this strength
            hand = Hand.load(checkpoint, style_dir=bank)
            for sid in sorted(adapted):
                specs = [LineSpec(t, sid, TUNE_BIAS) for t in texts]
                written = [(t, line.model_offsets) for seed in TUNE_SEEDS
                           for t, line in zip(texts, hand.write(specs, seed=seed + sid, candidates=1).lines)]
                cers[sid].append(reading_cer(reader.read([o for _, o in written]), [t for t, _ in written]))
            print(f"strength {strength:g}: reader's CER by style "
                  + " ".join(f"{sid}:{c[-1]:.3f}" for sid, c in sorted(cers.items()))
                  + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    for sid, values in cers.items():
        chosen = strength_for(TUNE_GRID, values, cost)
        records.setdefault(sid, {})["strength"] = chosen
        records[sid]["strength_tuning"] = {"grid": list(TUNE_GRID), "cer": [round(v, 4) for v in values],
                                           "lines": len(texts) * len(TUNE_SEEDS), "bias": TUNE_BIAS, "cost": cost}
        print(f"style {sid}: strength {chosen:g}", flush=True)


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(prog="python train/adapt_styles.py", description=__doc__)
    p.add_argument("--checkpoint", required=True, type=cli.file_to_read, help="the base model")
    p.add_argument("--style_dir", default="checkpoints/styles")
    p.add_argument("--data", default="data/iam_ondb.npz", type=cli.file_to_read, help="processed data")
    p.add_argument("--data_dir", default="../shared/data/iam-ondb", help="the IAM-OnDB archives (writer clocks)")
    p.add_argument("--lines", type=cli.whole(5, 40), default=12, help="real lines of the writer per style")
    p.add_argument("--minutes", type=cli.number(0.05, 60), default=4.0, help="per style")
    p.add_argument("--styles", type=int, nargs="*", default=None, help="default: every style of the bank")
    p.add_argument("--lr", type=cli.number(above=0), default=1e-4,
                   help="biases and the output layer take a larger step than learn-my-hand's whole model")
    p.add_argument("--max_steps", type=cli.whole(1, 100000), default=AdaptOptions.max_steps)
    p.add_argument("--held_out", type=cli.whole(1, 8), default=2,
                   help="lines of the writer kept out of training to choose the weights by")
    p.add_argument("--patience", type=cli.whole(1, 10000), default=8,
                   help="checks (every 10 steps) without a better held-out NLL before stopping")
    p.add_argument("--strength", type=cli.number(0.0, 2.0), default=None,
                   help="how much of each adapter the sampler applies, recorded in the file (the fit is stored "
                        "whole) for every style, replacing strengths chosen per style; default: the file's own, else 1")
    p.add_argument("--tune_strength", action="store_true",
                   help="choose each style's strength by legibility after fitting (with --styles and no ids: "
                        "for the file as it is)")
    p.add_argument("--legibility_cost", type=cli.number(0.0, 1.0), default=0.01,
                   help="with --tune_strength: the reader's CER a style's adapter may add over priming alone")
    p.add_argument("--legible", action="store_true",
                   help="fit to the writer's lines the shipped reader reads best, not lines spread over their forms")
    p.add_argument("--primed", action="store_true",
                   help="fit each line as the style writes it, after one of the style's own lines")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.build_model()
    data = ProcessedData.load(args.data)
    wof = writers_of_forms(args.data_dir)
    folder = Path(args.style_dir)
    bank = StyleBank(folder)
    index = json.loads((folder / "bank.json").read_text(encoding="utf-8"))
    names = adapted_names(model)
    adapted, records, had_strength = existing_adapters(folder, model)
    strength = next(s for s in (args.strength, had_strength, 1.0) if s is not None)
    at = {str(x): i for i, x in enumerate(data.line_ids)}
    reader = load_recognizer() if args.legible else None
    for sid in (args.styles if args.styles is not None else bank.ids):
        record = index.get(str(sid), {})
        own = [x for x in [record.get("line"), *record.get("extra_lines", [])] if x]
        if not own or own[0] not in at:
            print(f"style {sid}: its line is not in the data; skipped", flush=True)
            continue
        writer = wof.get(own[0].rpartition("-")[0])
        pool = writer_lines(data, writer, wof, set(own)) if writer else []
        chosen = choose_lines(data, pool, args.lines, ckpt.alphabet, ckpt.stats, reader)
        if len(chosen) < args.lines:
            print(f"style {sid}: writer {writer} has {len(chosen)} usable lines, {args.lines} needed; skipped", flush=True)
            continue
        lines = [(str(data.texts[i]), data.line(i)) for i in chosen]
        primes = [(str(data.texts[at[x]]), data.line(at[x])) for x in own if x in at]
        result = adapt(ckpt, lines, AdaptOptions(minutes=args.minutes, max_steps=args.max_steps, lr=args.lr,
                                                 seed=args.seed, train="bias", held_out=args.held_out,
                                                 patience=args.patience, primed=args.primed),
                       replay=(data, data.indices("train")), primes=primes)
        adapted[sid] = {n: result.checkpoint.model_state[n] for n in names}
        rec = result.record
        records[sid] = {"writer": writer, "adapt_lines": [str(data.line_ids[i]) for i in chosen],   # no strength: a new fit
                        "steps": rec["steps"], "best_step": rec["best_step"], "seconds": rec["seconds"],
                        "primed": rec["primed"],
                        "held_out_nll": rec["held_out_nll"]}
        print(f"style {sid}: writer {writer}, {len(chosen)} lines, {rec['steps']} steps (best {rec['best_step']}), "
              f"{rec['seconds']:.0f} s, held-out NLL per point {rec['held_out_nll']['base']:.3f} -> "
              f"{rec['held_out_nll']['adapted']:.3f}", flush=True)
        save_adapters(folder / ADAPTER_FILE, model, adapted, records, strength)   # after every style
    if args.strength is not None:       # one strength for every style, as asked
        for rec in records.values():
            rec.pop("strength", None)
            rec.pop("strength_tuning", None)
    if adapted and args.tune_strength:
        tune_strengths(args.checkpoint, folder, model, adapted, records,
                       tuning_texts(data, ckpt.alphabet), args.legibility_cost)
    if adapted:        # once more: `--styles` with no ids sets new strengths without fitting anything
        save_adapters(folder / ADAPTER_FILE, model, adapted, records, strength)
    for sid, rec in records.items():
        if rec.get("adapt_lines"):
            index.setdefault(str(sid), {})["adapt_lines"] = rec["adapt_lines"]
    atomic_write_bytes(folder / "bank.json", json.dumps(index, indent=1).encode("utf-8"))
    print(f"{len(adapted)} adapters -> {folder / ADAPTER_FILE} ({time.strftime('%Y-%m-%d %H:%M')})")
    return 0
