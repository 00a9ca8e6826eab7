"""Adapt the model to one person's hand: fine-tune on a handful of their lines, in minutes on a CPU.

    python -m scribe.adapt --ink line1.json line2.json ... --text "first line" --text "second line" ...
    hand.adapt(lines)              # lines: [(text, strokes or offsets)]; see Hand.adapt

Priming alone copies a writer's slant and size but not their letter shapes: the network's weights
still hold the average IAM hand. Here the weights move, a little, toward the person's ink:
- every weight trains (scripts/adapt_writers.py measured it against training only the biases and the
  output layer, per minute of CPU: docs/features.md, "Learn your hand");
- a penalty on the distance from the base weights (L2-SP) and, where the IAM data is at hand, a few
  replayed IAM lines per step keep what the base model knows: five lines are far too few to learn
  handwriting from, only enough to bend it;
- one of the person's lines is held out, and the weights kept are those that gave it the lowest
  NLL, primed by another of their lines, as the app will use them.
The result is an ordinary safe checkpoint: the base model's config, alphabet and normalisation, plus
an `adaptation` record (base file, lines, steps, time) in its train_config.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import cli, ink
from .alphabet import Alphabet, UnknownCharactersError
from .checkpoint import Checkpoint, save_shipped
from .dataset import NormStats, PairBatch, collate
from .errors import ScribeError
from .model import SynthesisNetwork

MIN_LINES = 5
MAX_LINES = 40
MINUTES_RANGE = (0.05, 60.0)
POINTS_PER_CHAR = (3.0, 60.0)   # prepared IAM lines: 7.9 (5th percentile) to about 25 points per character
MAX_LINE_POINTS = 2000
TRAIN_CHOICES = ("all", "shapes", "bias")
# What the app's guided session asks a person to write, in order: every letter, capitals, digits and
# common punctuation within the first six, each short enough for one line of the canvas.
PROMPT_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "Meet me at 10:30 on Friday, 4 June 1999.",
    "How vexingly quick daft zebras jump!",
    "Call Sam at 555 0199 before 8 pm, please.",
    "We wrote 27 letters to Uncle Kevin in York.",
    "Jim quickly realized the beautiful gowns are expensive.",
    "Big July earthquakes confound zany experimental vow.",
)


class AdaptError(ScribeError, ValueError):
    """Lines, options or a time budget that an adaptation cannot use; the message says which and why."""
    title = "Cannot learn this hand"


@dataclass(frozen=True)
class AdaptOptions:
    """How an adaptation runs. Checked on creation: AdaptError names a bad field."""
    minutes: float = 3.0            # wall-clock budget; the run stops at the first of minutes and max_steps
    max_steps: int = 300
    lr: float = 3e-5                # measured best of 1e-5, 3e-5, 1e-4 (scripts/adapt_writers.py)
    anchor: float = 1e-3            # L2-SP: weight of sum((w - w_base)^2) in the loss, per line
    train: str = "all"              # "all" weights; "shapes": layers 2-N and the output layer (layer 1 and
                                    # the attention window, which keep the writing on the text, stay as they
                                    # are); "bias": biases and the output layer only
    replay_lines: int = 4           # IAM lines replayed per step when replay data is given
    eval_every: int = 10            # steps between checks of the held-out line
    patience: int = 6               # checks without a new best before stopping early
    held_out: int = 1               # the last lines, kept out of training to choose the weights by
    primed: bool = False            # train each line as a style writes it: after a prime of the person's
                                    # (layers 2..N carry its state), so the weights learn what a prime
                                    # does not already carry
    seed: int = 0

    def __post_init__(self):
        def number(name, lo, hi, integer=False):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or not lo <= v <= hi or (integer and v != int(v)):
                kind = "a whole number" if integer else "a number"
                raise AdaptError(f"{name} must be {kind} from {lo:g} to {hi:g}, not {str(v)[:30]}")
        number("minutes", *MINUTES_RANGE)
        number("max_steps", 1, 100_000, integer=True)
        number("lr", 1e-7, 1e-1)
        number("anchor", 0.0, 1e3)
        number("replay_lines", 0, 64, integer=True)
        number("eval_every", 1, 10_000, integer=True)
        number("patience", 1, 10_000, integer=True)
        number("seed", 0, 2**32 - 1, integer=True)
        number("held_out", 1, 8, integer=True)
        if not isinstance(self.primed, bool):
            raise AdaptError(f"primed must be true or false, not {str(self.primed)[:30]}")
        if self.train not in TRAIN_CHOICES:
            raise AdaptError(f"train must be one of {', '.join(TRAIN_CHOICES)}, not {str(self.train)[:30]!r}")


@dataclass
class WriterLine:
    """One of the person's lines in the model's space: normalised offsets and the checked text."""
    text: str
    offsets: np.ndarray     # (T, 3) normalised, as the model reads them
    encoded: list[int]


@dataclass
class AdaptResult:
    checkpoint: Checkpoint
    record: dict                         # what went into checkpoint.train_config["adaptation"]
    history: list[tuple[int, float]] = field(default_factory=list)   # (step, held-out NLL per point)
    first_line_offsets: np.ndarray | None = None   # the first line, normalised: the person's style


def prepare_lines(lines, alphabet: Alphabet, stats: NormStats) -> list[WriterLine]:
    """Check (text, ink) pairs and bring the ink into the model's space, as styles are. `ink` is a
    list of strokes (y down, any units) or (T, 3) offsets (y up). Raises AdaptError naming the line."""
    if not isinstance(lines, (list, tuple)):
        raise AdaptError("give the lines as a list of (text, ink) pairs")
    if len(lines) < MIN_LINES:
        raise AdaptError(f"{len(lines)} line{'s' if len(lines) != 1 else ''} given; learning a hand needs at least "
                         f"{MIN_LINES} (more is better): write a few more sentences")
    if len(lines) > MAX_LINES:
        raise AdaptError(f"{len(lines)} lines given; one adaptation takes at most {MAX_LINES}")
    return [_prepare_line(pair, n, alphabet, stats) for n, pair in enumerate(lines, 1)]


def _prepare_line(pair, n: int, alphabet: Alphabet, stats: NormStats) -> WriterLine:
    """prepare_lines for one (text, ink) pair, line n of those given."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise AdaptError(f"line {n}: expected a (text, ink) pair")
    text, source = pair
    if not isinstance(text, str) or not text.strip():
        raise AdaptError(f"line {n}: type the text that the ink says")
    try:
        text = alphabet.clean(" ".join(text.split()))
    except UnknownCharactersError as e:
        raise AdaptError(f"line {n}: this model cannot learn {', '.join(repr(c) for c in e.unknown)}; "
                         f"it knows {alphabet.chars!r}") from None
    strokes = _strokes_of(source, n)
    if not strokes or sum(len(s) for s in strokes) < 2:
        raise AdaptError(f"line {n}: the ink holds no strokes")
    height = ink.ink_height(strokes)
    if not height > 0:
        raise AdaptError(f"line {n}: the ink is a single point or a flat line")
    try:
        offsets = ink.prepare_ink(strokes, stats.min_step, scale=stats.ink_height / height)
    except ValueError as e:
        raise AdaptError(f"line {n}: {e}") from None
    per_char = len(offsets) / len(text)
    if per_char < POINTS_PER_CHAR[0]:
        raise AdaptError(f"line {n}: the ink is too short for its text ({len(text)} characters typed, "
                         f"{len(offsets)} pen points): does the text match what was written?")
    if per_char > POINTS_PER_CHAR[1] or len(offsets) > MAX_LINE_POINTS:
        raise AdaptError(f"line {n}: the ink is too long for its text ({len(text)} characters typed, "
                         f"{len(offsets)} pen points): does the text match what was written?")
    return WriterLine(text, stats.normalise(offsets), alphabet.encode(text))


def _strokes_of(source, n: int) -> list[np.ndarray]:
    try:
        if isinstance(source, np.ndarray) and source.ndim == 2 and source.shape[1] == 3:
            return ink.offsets_to_strokes(source)
        strokes = [np.asarray(s, dtype=np.float64) for s in source]
    except (TypeError, ValueError):
        raise AdaptError(f"line {n}: the ink must be strokes of (x, y) points or (T, 3) offsets") from None
    if any(s.ndim != 2 or s.shape[1] < 2 or not np.isfinite(s).all() for s in strokes):
        raise AdaptError(f"line {n}: the ink must be strokes of finite (x, y) points")
    return ink.clean_strokes([s[:, :2] for s in strokes])


def primed_batch(pairs: list[tuple[WriterLine, WriterLine]], separator: list[int]) -> PairBatch:
    """(prime, target) pairs as sampling writes a primed line (scribe.model.primed_line_nll): the prime
    teacher-forced under its text + separator, then the target from what the prime carries (layers 2..N;
    layer 1 and the window restart on the target's text). Only the targets are scored."""
    prime = collate([p.offsets for p, _ in pairs], [p.encoded + separator for p, _ in pairs])
    lengths = torch.tensor([len(p.offsets) for p, _ in pairs], dtype=torch.int64)
    return PairBatch(prime, lengths, collate([t.offsets for _, t in pairs], [t.encoded for _, t in pairs]))


def loss_function(model: SynthesisNetwork):
    """`batch -> (mean NLL per line, per-line NLL)`: scribe.fast's compiled recurrence (3-4x faster on
    a CPU, same loss and gradients: tests/test_fast.py), or the eager model where TorchScript fails."""
    try:
        from .fast import fast_loss
        return fast_loss(model)
    except ImportError:
        return model.loss


@torch.no_grad()
def primed_nll_per_point(model: SynthesisNetwork, pairs, separator: list[int], loss=None) -> float:
    """Mean NLL (nats per point) of each target given its prime: the measure adaptation is judged by."""
    was_training = model.training
    model.eval()
    batch = primed_batch(pairs, separator)
    _, per_line = (loss or model.loss)(batch)
    model.train(was_training)
    return float(per_line.sum() / batch.mask.sum())


def _trainable(model: SynthesisNetwork, which: str) -> list[torch.nn.Parameter]:
    params = []
    for name, p in model.named_parameters():
        if which == "all":
            keep = True
        elif which == "shapes":
            keep = name.startswith(("upper.", "output."))
        else:
            keep = "bias" in name or name.startswith("output.")
        p.requires_grad_(keep)
        if keep:
            params.append(p)
    return params


def adapt(base: Checkpoint, lines, options: AdaptOptions | None = None, replay=None, on_progress=None,
          stop=None, primes=None) -> AdaptResult:
    """Fine-tune `base` on one person's (text, ink) lines. The last `options.held_out` lines (one by
    default) are held out for early stopping, each primed by the first line; the others train.

    replay: optional (ProcessedData, line indices) of IAM lines, `options.replay_lines` of them mixed
    into every step. on_progress(step, max_steps, held_out_nll, seconds): after every check of the
    held-out line. stop(): checked before every step; True ends the run, keeping the best weights so far.
    primes: optional (text, ink) lines that prime the person's writing (a style's own lines): the held-out
    lines are checked after each of them, and with `options.primed` every training line follows one of
    them (by default, another of the training lines)."""
    options = options or AdaptOptions()
    if not isinstance(options, AdaptOptions):
        raise AdaptError("options must be an AdaptOptions")
    started = time.perf_counter()
    alphabet, stats = base.alphabet, base.stats
    writer = prepare_lines(lines, alphabet, stats)
    if len(writer) - options.held_out < MIN_LINES - 1:
        raise AdaptError(f"{len(writer)} lines with {options.held_out} held out leave too few to learn from "
                         f"(at least {MIN_LINES - 1})")
    train, held = writer[:-options.held_out], writer[-options.held_out:]
    separator = alphabet.encode_separator()
    prime_lines = [_prepare_line(pair, n, alphabet, stats) for n, pair in enumerate(primes or (), 1)]
    check_pairs = [(p, h) for h in held for p in (prime_lines or train[:1])]

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    model = base.build_model("cpu").train()
    params = _trainable(model, options.train)
    anchors = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=options.lr)
    replay_pool = None
    if replay is not None and options.replay_lines:
        data, indices = replay
        replay_pool = (data, np.asarray(indices))

    loss_fn = loss_function(model)

    def check() -> float:
        return primed_nll_per_point(model, check_pairs, separator, loss_fn)

    best_nll = base_nll = check()
    best_state, best_step = copy.deepcopy(model.state_dict()), 0
    history, bad_checks, step = [(0, base_nll)], 0, 0
    deadline = started + options.minutes * 60
    if on_progress:
        on_progress(0, options.max_steps, base_nll, time.perf_counter() - started)
    train_offsets = [w.offsets for w in train]
    train_texts = [w.encoded for w in train]
    while step < options.max_steps and time.perf_counter() < deadline and not (stop and stop()):
        offsets, texts = ([], []) if options.primed else (list(train_offsets), list(train_texts))
        n_own = len(offsets)
        if replay_pool is not None:
            data, pool = replay_pool
            for i in rng.choice(pool, size=options.replay_lines, replace=False):
                offsets.append(stats.normalise(data.line(int(i))))
                texts.append(alphabet.encode(str(data.texts[int(i)])))
        per_line = loss_fn(collate(offsets, texts))[1] if offsets else torch.zeros(0)
        if options.primed:
            own = loss_fn(primed_batch([(_prime_for(k, train, prime_lines, rng), t) for k, t in enumerate(train)],
                                       separator))[1]
            per_line = torch.cat([own, per_line])
            n_own = len(own)
        # the person's lines and the replayed ones weigh the same in total, whatever their counts
        loss = per_line[:n_own].mean()
        if len(per_line) > n_own:
            loss = 0.5 * loss + 0.5 * per_line[n_own:].mean()
        if options.anchor:
            loss = loss + options.anchor * sum(((p - a) ** 2).sum() for p, a in zip(params, anchors))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        step += 1
        if step % options.eval_every == 0 or step == options.max_steps:
            nll = check()
            history.append((step, nll))
            if nll < best_nll:
                best_nll, best_state, best_step, bad_checks = nll, copy.deepcopy(model.state_dict()), step, 0
            else:
                bad_checks += 1
            if on_progress:
                on_progress(step, options.max_steps, nll, time.perf_counter() - started)
            if bad_checks >= options.patience:
                break
    seconds = time.perf_counter() - started
    record = {"base": base.path.name if base.path else None, "lines": len(writer),
              "texts": [w.text for w in writer],
              "held_out": held[0].text if len(held) == 1 else [h.text for h in held], "steps": step,
              "best_step": best_step, "seconds": round(seconds, 1), "train": options.train,
              "lr": options.lr, "anchor": options.anchor,
              "replay_lines": options.replay_lines if replay_pool is not None else 0,
              "primed": options.primed, "primes": len(prime_lines),
              "held_out_nll": {"base": round(base_nll, 4), "adapted": round(best_nll, 4)}}
    state = {k: v.detach().clone() for k, v in best_state.items()}
    ckpt = Checkpoint(base.config, alphabet, stats, state, base.step, dict(base.metrics),
                      {**base.train_config, "adaptation": record})
    return AdaptResult(ckpt, record, history, writer[0].offsets)


def _prime_for(k: int, train: list[WriterLine], primes: list[WriterLine], rng) -> WriterLine:
    """A prime for training line k: one of `primes` at random, else another training line at random."""
    if primes:
        return primes[int(rng.integers(len(primes)))]
    other = int(rng.integers(len(train) - 1))
    return train[other + (other >= k)]


def check_adapted_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".safetensors":
        raise AdaptError(f"an adapted model is saved as .safetensors, not {path.suffix or 'no suffix'!r}")
    return path


def save_adapted(result: AdaptResult, path: str | Path) -> Path:
    """Write the adapted model as a shipped-format (safe, half precision) checkpoint, atomically."""
    path = check_adapted_path(path)
    save_shipped(result.checkpoint, path)
    result.checkpoint.path = path
    return path


def save_person_style(result: AdaptResult, folder: str | Path, avoid_ids=()) -> int:
    """Save the person's first line (the one adaptation checks against) as a style in `folder`, under
    the next id above `avoid_ids` and the folder's own; returns the id."""
    from .user_style import UserStyle, save_style
    offsets = result.checkpoint.stats.denormalise(result.first_line_offsets)
    return save_style(UserStyle(result.record["texts"][0], offsets, {"source": "adaptation"}), folder,
                      avoid_ids=avoid_ids)


# ---- command line ----------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = cli.ArgumentParser(prog="python -m scribe.adapt", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ink", nargs="+", required=True, type=cli.file_to_read,
                   help="one file per line: InkML, IAM-OnDB XML or JSON strokes (scribe.inkml.read_ink)")
    p.add_argument("--text", action="append", default=None,
                   help="what each --ink file says, in order (repeat once per file); a file's own "
                        "transcription is used where this is left out")
    p.add_argument("--out", required=True, type=cli.file_to_write, help="the adapted model, a .safetensors file")
    p.add_argument("--checkpoint", default=None, type=cli.file_to_read,
                   help="the base model (default: the shipped one)")
    p.add_argument("--style_dir", default="user_styles", type=lambda v: cli.folder_to_write(v) if v else v,
                   help="where the person's first line is saved as a style (empty: do not save one)")
    p.add_argument("--minutes", type=float, default=AdaptOptions.minutes)
    p.add_argument("--max_steps", type=int, default=AdaptOptions.max_steps)
    p.add_argument("--lr", type=float, default=AdaptOptions.lr)
    p.add_argument("--train", choices=TRAIN_CHOICES, default=AdaptOptions.train)
    p.add_argument("--replay", default="", type=lambda v: cli.file_to_read(v) if v else v,
                   help="processed IAM data (data/iam_ondb.npz) to replay lines from")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


@cli.command
def main(argv=None) -> int:
    args = parse_args(argv)
    # `python -m scribe.adapt` runs this file as __main__: take the classes Hand.adapt checks from
    # the package's own module, not from this copy of it
    from .adapt import AdaptError, AdaptOptions, adapt, check_adapted_path, save_adapted, save_person_style
    from .checkpoint import default_checkpoint, load_checkpoint
    from .inkml import InkFileError, read_ink
    from .progress import duration
    from .styles import StyleBank, StyleError
    options = AdaptOptions(minutes=args.minutes, max_steps=args.max_steps, lr=args.lr, train=args.train,
                           seed=args.seed)     # every number checked before anything is read
    check_adapted_path(args.out)
    texts = args.text or []
    if texts and len(texts) != len(args.ink):
        raise AdaptError(f"{len(args.ink)} ink files but {len(texts)} --text values: give one per file, "
                         f"or none to use the files' own transcriptions")
    lines = []
    for n, path in enumerate(args.ink):
        try:
            data = read_ink(Path(path))
        except InkFileError as e:
            raise AdaptError(f"line {n + 1} ({Path(path).name}): {e}") from None
        text = texts[n] if texts else data.text
        lines.append((text or "", data.strokes))
    base = load_checkpoint(args.checkpoint or default_checkpoint())
    replay = None
    if args.replay:
        from .dataset import ProcessedData
        data = ProcessedData.load(args.replay)
        replay = (data, data.indices("train"))

    def show(step, total, nll, seconds):
        print(f"step {step}/{total}: held-out NLL {nll:.3f} nats/point, {duration(seconds)}", flush=True)

    result = adapt(base, lines, options, replay=replay, on_progress=show)
    save_adapted(result, args.out)
    style_id = None
    if args.style_dir:
        try:
            shipped = StyleBank().ids
        except StyleError:
            shipped = []
        style_id = save_person_style(result, args.style_dir, avoid_ids=shipped)
    r = result.record
    print(f"Adapted on {r['lines'] - 1} lines (held out: {r['held_out']!r}) in {r['steps']} steps, "
          f"{duration(r['seconds'])}: held-out NLL {r['held_out_nll']['base']:.3f} -> "
          f"{r['held_out_nll']['adapted']:.3f} nats/point. Wrote {args.out}"
          + (f"; style {style_id} in {args.style_dir}" if style_id is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
