"""Quality report for a synthesis checkpoint: validation NLL, legibility, completeness, a sample sheet.

    python -m scribe.evaluate --checkpoint checkpoints/scribe-standin.safetensors --out DIR

writes DIR/report.md, DIR/report.json, DIR/sample_sheet.png and DIR/examples.png:
- validation NLL on testset_v in nats per line (Graves' units: offsets normalised on the training set);
- legibility: a small CTC recogniser (scribe/recognizer.py) reads real testset_v lines and generated
  lines (fixed sentences x every style x several biases); generated CER / real CER is the headline;
- completeness: lines whose attention ran past the text early (dropped words), lines that hit the
  step cap, lines with extra ink after the last character. The attention is replayed over each
  generated line (layer 1 and the window only), so the detectors see where the window actually was;
  the same detectors run on real lines to show their false-alarm rate;
- style fidelity (scribe/style_fidelity.py): the generated lines of each style identified among the
  style bank's writers by a writer-identification scorer (scribe/writer_id.py), beside the same scorer
  on the writers' real held-out lines (the ceiling) and on unprimed lines (the floor);
- a sample sheet: every style at three biases, one fixed sentence.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .alphabet import Alphabet
from .checkpoint import default_checkpoint, load_checkpoint
from .dataset import BucketBatches, NormStats, ProcessedData, summed_nll
from .files import atomic_write_bytes
from .model import SynthesisNetwork
from .recognizer import (CHAR_CLASSES, Recognizer, class_cer, load_recognizer, reading_cer,
                         word_accuracy, word_matches)
from .render.sheet import sheet_svg
from .request import DEFAULT_CANDIDATES
from .priming import PrimingCache, fast_step_or_none
from .sampling import LineRequest, SampledLine, Sampler, ends_in_full_stop, late_dot_ok
from . import cli
from .errors import ScribeError
from .iam import DataError, writers_of_forms
from .style_fidelity import (adapted_lines, bank_writers, measure, set_aside, summary_lines, traits_followed,
                             traits_lines)
from .writer_id import WriterIdError, load_writer_id

GRAVES_NLL = {"Graves (2013), no regularisation": -1096.9, "Graves (2013), adaptive weight noise": -1128.2}
# Fixed sentences, written in every style at every bias. The first one is the sample sheet's.
SENTENCES = [
    "The quick brown fox jumps over the lazy dog",
    "Please send the report before noon on Friday",
    "She found an old map inside the green box",
    "We walked along the river until it got dark",
    "Nobody expected the meeting to last so long",
    "A cup of tea and a quiet morning, please.",
    "Write it down before you forget the idea.",
    "Every garden needs water, light and time.",
    # digits, capitals and punctuation, which IAM-OnDB has few of (the guide's document has them)
    "Meet Anna at 3:00pm on March 15th, 1985.",
    "She counted 25 ships in the harbour.",
]
DEFAULT_BIASES = (0.25, 0.75, 1.5)
EARLY_FACTOR = 0.5   # finished with under half the typical pen steps per character: ran past the text
EXTRA_CHARS = 3.0    # over three characters' worth of steps after the window settled on the last character
READS_SHORT = 0.6    # the recogniser read under 60% as many characters as the text has


class EvaluationError(ScribeError, ValueError):
    """A missing or unusable input; the message says what to run first."""
    title = "Evaluation problem"


# ---- validation NLL -------------------------------------------------------------------------------
@torch.no_grad()
def validation_nll(model: SynthesisNetwork, alphabet: Alphabet, data: ProcessedData, max_lines: int = 0,
                   batch_size: int = 32) -> dict:
    """Summed NLL per testset_v line (nats, normalised offsets) and per point."""
    valid = data.indices("valid")
    if max_lines:
        valid = valid[:max_lines]
    batches = BucketBatches(data, "valid", alphabet, batch_size, indices=valid)
    order = batches.idx[np.argsort(data.lengths()[batches.idx], kind="stable")]
    device = next(model.parameters()).device     # on the model's device: a GPU scores testset_v fast
    groups = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    total, n, points = summed_nll(model.loss, batches, groups, device)
    return {"lines": n, "skipped_lines": int(len(valid) - n), "nats_per_line": total / n,
            "nats_per_point": total / points, "points_per_line": points / n}


# ---- generation and attention replay --------------------------------------------------------------
@dataclass
class GenLine:
    text: str
    style: int | None
    bias: float
    sampled: SampledLine
    read: str = ""
    skipped_words: int = 0       # words of the text the window never focused on
    extra_steps: int = 0         # pen steps after the window settled on the last character
    ran_past: bool = False       # dropped words, or finished far too fast for the text
    extra_ink: bool = False


def generate(model: SynthesisNetwork, alphabet: Alphabet, stats: NormStats, jobs: list[tuple[str, int | None, float]],
             bank=None, seed: int = 0, batch_size: int = 128, max_steps: int | None = None,
             fast: bool = True) -> list[GenLine]:
    """Sample (text, style, bias) jobs in batches and replay the attention over each result.

    fast: sample with scribe.fast's compiled step, as the app does (same ink as the eager step).
    """
    sampler = Sampler(model, stats, fast_step_or_none(model) if fast else None)
    priming = PrimingCache(sampler, alphabet, stats)     # the one priming cache, as Hand's
    out: list[GenLine] = []
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start:start + batch_size]
        requests, states, lasts = [], [], []
        for text, style_id, bias in chunk:
            req = LineRequest(alphabet.encode(text), bias, late_dot_ok=late_dot_ok(text),
                              final_stop=ends_in_full_stop(text))
            if style_id is not None:
                style = priming.get(bank.get(style_id))
                req.prime, req.prime_encoded, req.adapter = style.prime, style.encoded, style.adapter
                states.append(style.state[0])
                lasts.append(style.state[1])
            requests.append(req)
        primed = None
        if states:
            primed = ([torch.cat([s[k] for s in states]) for k in range(len(states[0]))], torch.cat(lasts))
        sampled = sampler.sample(requests, seed=seed + start, max_steps=max_steps, primed=primed)
        lines = [GenLine(t, s, b, ln) for (t, s, b), ln in zip(chunk, sampled)]
        # The sampler records where the window was at each point it kept: judge from that.
        # (Every line's window starts on its own text, primed or not: scribe.sampling.)
        for ln, r in zip(lines, requests):
            judge_line(ln, ln.sampled.window, 0, r.encoded, alphabet, model.config.steps_per_char)
        out += lines
    return out


@torch.no_grad()
def attention_trace(model: SynthesisNetwork, inputs: list[np.ndarray], texts: list[list[int]],
                    start_state: list[torch.Tensor] | None = None, start_x: torch.Tensor | None = None
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Re-run layer 1 and the window over given ink: per line, (focused char per step, past-end flag).

    inputs[i] are the normalised points fed AFTER the start row, so a line of n steps has n - 1 of
    them: step t sees start_x (t = 0) or inputs[t - 1], exactly as the sampler fed them.
    """
    B = len(inputs)
    n = [len(x) + 1 for x in inputs]
    T = max(n)
    x = torch.zeros(B, T, 3)
    x[:, 0] = start_x if start_x is not None else torch.tensor([0.0, 0.0, 1.0])
    for i, seq in enumerate(inputs):
        x[i, 1:len(seq) + 1] = torch.from_numpy(np.asarray(seq, np.float32))
    U = max(len(t) for t in texts)
    text = torch.zeros(B, U + 1, dtype=torch.long)
    for i, t in enumerate(texts):
        text[i, :len(t)] = torch.tensor(t)
    onehot = model.text_onehot(text)
    end = torch.tensor([len(t) for t in texts])
    real = torch.arange(U + 1).unsqueeze(0) < end.unsqueeze(1)
    h, c, w, kappa = start_state if start_state is not None else model.initial_state(B)[:4]
    focus, past = torch.zeros(T, B, dtype=torch.long), torch.zeros(T, B, dtype=torch.bool)
    rows = torch.arange(B)
    for t in range(T):
        h, c = model.cell1(torch.cat([x[:, t], w], 1), (h, c))
        w, kappa, phi = model.window_from(h, kappa, onehot)
        # positions past a line's end (its padding) count as "past the end"
        focus[t] = torch.minimum(phi.argmax(1), end)
        past[t] = phi[rows, end] > phi.masked_fill(~real, float("-inf")).max(1).values
    return [(focus[:n[i], i].numpy(), past[:n[i], i].numpy()) for i in range(B)]


def judge_line(ln: GenLine, focus: np.ndarray, first: int, encoded: list[int], alphabet: Alphabet,
               typical_steps_per_char: float) -> None:
    """Fill in the completeness detectors of one line from where its window focused at each step."""
    steps = len(focus)
    seen = set(focus.tolist())
    text = alphabet.decode(encoded[first:])
    skipped, pos = 0, first
    for word in text.split(" "):
        # punctuation on its own (IAM writes "Mr . Foot") is too small to count as a dropped word
        if any(ch.isalnum() for ch in word) and not any(p in seen for p in range(pos, pos + len(word))):
            skipped += 1
        pos += len(word) + 1
    # Steps since the window settled on the last character (its final move there: a brief early
    # flicker to the end of the text does not count).
    before_last = np.nonzero(focus < len(encoded) - 1)[0]
    ln.skipped_words = skipped
    ln.extra_steps = int(steps - (before_last[-1] + 1)) if len(before_last) else steps
    n_chars = max(1, len(encoded) - first)
    too_fast = not ln.sampled.hit_cap and steps / n_chars < EARLY_FACTOR * typical_steps_per_char
    ln.ran_past = skipped > 0 or too_fast
    ln.extra_ink = ln.extra_steps > EXTRA_CHARS * typical_steps_per_char


def real_baseline(model: SynthesisNetwork, alphabet: Alphabet, data: ProcessedData, n_lines: int,
                  batch_size: int = 64) -> dict:
    """The completeness detectors on real testset_v ink (teacher-forced): their false-alarm rates."""
    idx = [int(i) for i in data.indices("valid")[:n_lines]]
    usable = []
    for i in idx:
        try:
            usable.append((i, alphabet.encode(str(data.texts[i]))))
        except ValueError:
            continue
    flags = {"ran_past": 0, "extra_ink": 0}
    for start in range(0, len(usable), batch_size):
        chunk = usable[start:start + batch_size]
        inputs = [data.stats.normalise(data.line(i))[:-1] for i, _ in chunk]
        traces = attention_trace(model, inputs, [enc for _, enc in chunk])
        for (i, enc), (focus, _) in zip(chunk, traces):
            ln = GenLine(str(data.texts[i]), None, 0.0,
                         SampledLine(data.line(i), len(focus), False, len(focus) / max(1, len(enc))))
            judge_line(ln, focus, 0, enc, alphabet, model.config.steps_per_char)
            flags["ran_past"] += ln.ran_past
            flags["extra_ink"] += ln.extra_ink
    n = max(1, len(usable))
    return {"lines": len(usable), "ran_past_rate": flags["ran_past"] / n, "extra_ink_rate": flags["extra_ink"] / n}


# ---- legibility and completeness summaries ----------------------------------------------------------
def _rate(lines, attr) -> float:
    return sum(bool(getattr(ln, attr)) for ln in lines) / max(1, len(lines))


def summarise(lines: list[GenLine], real_cer: float) -> tuple[dict, dict]:
    """(legibility, completeness) dicts over generated lines that have been read."""
    gen_cer = reading_cer([ln.read for ln in lines], [ln.text for ln in lines])
    by = lambda key: {str(k): reading_cer([ln.read for ln in lines if key(ln) == k], [ln.text for ln in lines if key(ln) == k])
                      for k in dict.fromkeys(key(ln) for ln in lines)}
    reads, texts = [ln.read for ln in lines], [ln.text for ln in lines]
    marks = [word_matches(r, t) for r, t in zip(reads, texts)]
    first = [m[0] for m in marks if m]
    rest = [x for m in marks for x in m[1:]]
    legibility = {"generated_cer": gen_cer, "real_cer": real_cer,
                  "ratio": gen_cer / real_cer if real_cer > 0 else None, "lines": len(lines),
                  "generated_word_accuracy": word_accuracy(reads, texts),
                  "generated_class_cer": class_cer(reads, texts),
                  # the first word of a line against the others: a malformed first letter shows here
                  "first_word_accuracy": sum(first) / max(1, len(first)),
                  "other_word_accuracy": sum(rest) / max(1, len(rest)),
                  "word_accuracy_by_bias": {str(b): word_accuracy([ln.read for ln in lines if ln.bias == b],
                                                                  [ln.text for ln in lines if ln.bias == b])
                                            for b in dict.fromkeys(ln.bias for ln in lines)},
                  "by_bias": by(lambda ln: ln.bias), "by_style": by(lambda ln: "none" if ln.style is None else ln.style)}
    short = sum(len(ln.read) < READS_SHORT * len(ln.text) for ln in lines) / max(1, len(lines))
    completeness = {"ran_past_rate": _rate(lines, "ran_past"), "hit_cap_rate": sum(ln.sampled.hit_cap for ln in lines)
                    / max(1, len(lines)), "extra_ink_rate": _rate(lines, "extra_ink"), "reads_short_rate": short,
                    "lines_with_skipped_words": sum(ln.skipped_words > 0 for ln in lines),
                    "mean_steps_per_char": float(np.mean([ln.sampled.steps_per_char for ln in lines]))}
    return legibility, completeness


def legibility_check(model: SynthesisNetwork, alphabet: Alphabet, stats: NormStats, recognizer: Recognizer,
                     bank=None, sentences=None, biases=(0.75,), styles=(None,), seed: int = 0) -> dict:
    """Quick legibility for training: a few generated lines read by the recogniser.

    The real CER comes from the recogniser's own metadata (measured when it was trained), so this
    costs only the sampling and the reading.
    """
    sentences = usable_sentences(alphabet, sentences or SENTENCES[:4])
    jobs = [(s, st, b) for st in styles for b in biases for s in sentences]
    lines = generate(model, alphabet, stats, jobs, bank, seed)
    for ln, text in zip(lines, recognizer.read([ln.sampled.offsets for ln in lines])):
        ln.read = text
    legibility, completeness = summarise(lines, float(recognizer.metrics.get("real_cer", float("nan"))))
    return {"generated_cer": legibility["generated_cer"], "ratio": legibility["ratio"], **completeness}


def training_legibility(model: SynthesisNetwork, config, alphabet: Alphabet, stats: NormStats,
                        recognizer_path: str | Path, n_styles: int = 2) -> dict | None:
    """The check train.py runs every N checkpoints; None when there is no recogniser file.

    It samples on a CPU copy of the model (4 sentences, unprimed and the first `n_styles` shipped
    styles, bias 0.75), so it never disturbs the training device or the model's mode.
    """
    if not Path(recognizer_path).is_file():
        return None
    recognizer = load_recognizer(recognizer_path)
    cpu_model = SynthesisNetwork(config)
    cpu_model.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()})
    bank, _ = _style_bank(None)
    styles = [None] + (writable_styles(bank, alphabet)[:n_styles] if bank else [])
    r = legibility_check(cpu_model.eval(), alphabet, stats, recognizer, bank, biases=(0.75,), styles=styles)
    return {"cer": r["generated_cer"], "ratio": r["ratio"], "ran_past_rate": r["ran_past_rate"],
            "hit_cap_rate": r["hit_cap_rate"], "extra_ink_rate": r["extra_ink_rate"]}


def writable_styles(bank, alphabet: Alphabet) -> list[int]:
    """Ids of the bank's styles whose text, every line of it, this model's alphabet can encode (it is
    fed to the window)."""
    out = []
    for sid in bank.ids:
        try:
            for text, _ in bank.get(sid).lines():
                alphabet.encode(text)
            out.append(sid)
        except ValueError:
            continue
    return out


def usable_sentences(alphabet: Alphabet, sentences) -> list[str]:
    out = []
    for s in sentences:
        try:
            out.append(alphabet.clean(s))
        except ValueError:
            continue
    if not out:
        raise EvaluationError(f"none of the evaluation sentences can be written with this alphabet "
                              f"({alphabet.chars!r})")
    return out


# ---- images ---------------------------------------------------------------------------------------
def save_png_of(svg: str, path: Path, dpi: float = 96.0) -> Path:
    from .render.page import svg_to_png
    return atomic_write_bytes(path, svg_to_png(svg, dpi))


# ---- the report -----------------------------------------------------------------------------------
def _finite(obj):
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _fmt(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def write_markdown(r: dict) -> str:
    ck, nll, leg, comp, base = r["checkpoint"], r["nll"], r["legibility"], r["completeness"], r["real_baseline"]
    rec = r["recognizer"]
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"
    out = [f"# Quality report: `{ck['name']}`", "",
           f"Checkpoint `{ck['path']}`, training step {ck['step']}, {ck['parameters']:,} parameters "
           f"({ck['config']['num_layers']}x{ck['config']['rnn_size']} LSTM). Made by `{r['command']}` "
           f"in {r['seconds']:.0f} s.", "",
           "## Headline", "",
           f"- Legibility ratio (generated CER / real CER): **{_fmt(leg['ratio'], 2)}** (1.0 = as legible as "
           f"real writers; lower is better)",
           f"- Words read exactly right: **{pct(leg.get('generated_word_accuracy'))}** of generated words, "
           f"against {pct(leg.get('real_word_accuracy'))} of real writers' words",
           f"- Validation NLL: **{_fmt(nll.get('nats_per_line'), 1)} nats per line** on {nll.get('lines', 0)} "
           f"testset_v lines ({_fmt(nll.get('nats_per_point'), 3)} per point)" +
           (f"; {nll['skipped_lines']} with characters outside the alphabet left out" if nll.get("skipped_lines") else ""),
           f"- Dropped words: {pct(comp['ran_past_rate'])} of lines; unfinished (step cap): "
           f"{pct(comp['hit_cap_rate'])}; extra ink after the text: {pct(comp['extra_ink_rate'])}",
           *_style_headline(r.get("style")), "",
           "## Validation NLL (testset_v)", "",
           "| model | nats per line | nats per point | points per line |", "|---|---:|---:|---:|",
           f"| this checkpoint | {_fmt(nll.get('nats_per_line'), 1)} | {_fmt(nll.get('nats_per_point'), 3)} | "
           f"{_fmt(nll.get('points_per_line'), 0)} |"]
    out += [f"| {name} | {v} | | raw (~1.75x ours) |" for name, v in GRAVES_NLL.items()]
    out += ["", f"Offsets are normalised to zero mean and unit variance on the training set, as in Graves "
                f"(2013). Not directly comparable: our lines are resampled (a point is kept once the pen "
                f"has moved {nll['min_step']:g} whiteboard units), about 1.75x fewer points than the raw "
                f"data Graves used, so the per-line sum covers fewer, larger steps. Compare checkpoints of "
                f"this project with each other; read Graves' figures as context only.", "",
            "## Legibility", "",
            f"A CTC recogniser (`{rec['path']}`, {rec['parameters']:,} parameters, trained "
            f"{rec.get('train_minutes', '?')} min on the IAM-OnDB training split) reads real testset_v lines "
            f"and generated lines. Its CER on {leg['real_lines']} real lines: **{_fmt(leg['real_cer'])}**. "
            f"On {leg['lines']} generated lines ({len(r['settings']['sentences'])} fixed sentences x "
            f"{len(r['settings']['styles'])} styles x {len(r['settings']['biases'])} biases): "
            f"**{_fmt(leg['generated_cer'])}**. Ratio: **{_fmt(leg['ratio'], 2)}**.", "",
            "| bias | generated CER | ratio |", "|---:|---:|---:|"]
    for b, v in leg["by_bias"].items():
        out.append(f"| {b} | {_fmt(v)} | {_fmt(v / leg['real_cer'] if leg['real_cer'] else None, 2)} |")
    if "generated_class_cer" in leg:
        out += ["", "Whole words (runs of letters and digits, read exactly right) and the CER per kind of "
                    "character, real lines against generated ones:", "",
                "| measure | real lines | generated lines |", "|---|---:|---:|",
                f"| words read exactly | {pct(leg['real_word_accuracy'])} | {pct(leg['generated_word_accuracy'])} |"]
        out += [f"| CER, {c} | {_fmt(leg['real_class_cer'][c])} | {_fmt(leg['generated_class_cer'][c])} |"
                for c in CHAR_CLASSES]
        out += ["", f"First word of each generated line read exactly: {pct(leg['first_word_accuracy'])}; "
                    f"the other words: {pct(leg['other_word_accuracy'])}.", "",
                "| bias | words read exactly |", "|---:|---:|"]
        out += [f"| {b} | {pct(v)} |" for b, v in leg["word_accuracy_by_bias"].items()]
    out += ["", "| style | generated CER |", "|---|---:|"]
    out += [f"| {s} | {_fmt(v)} |" for s, v in leg["by_style"].items()]
    out += ["", "## Completeness", "",
            f"The window's attention is replayed over every generated line. The same detectors also run on "
            f"{base['lines']} real testset_v lines, teacher-forced: nothing is missing from or added to that "
            f"ink, but the window must follow a real writer's pace rather than its own, so the real-ink "
            f"column is a generous bound on how often a detector fires on complete lines.", "",
            "| failure | generated lines | real ink | how it is detected |", "|---|---:|---:|---|",
            f"| ran past the text early (dropped words) | {pct(comp['ran_past_rate'])} | {pct(base['ran_past_rate'])} | "
            f"a word the window never focused on, or under {EARLY_FACTOR:g}x the typical pen steps per character |",
            f"| never finished (hit the step cap) | {pct(comp['hit_cap_rate'])} | 0.0% | the sampler's step cap |",
            f"| extra ink after the last character | {pct(comp['extra_ink_rate'])} | {pct(base['extra_ink_rate'])} | "
            f"over {EXTRA_CHARS:g} characters' worth of steps after the window settled on the last character |",
            f"| recogniser reads much less than the text | {pct(comp['reads_short_rate'])} | "
            f"{pct(leg['real_reads_short_rate'])} | read under {READS_SHORT:.0%} of the text's length |", "",
            f"Mean pen steps per character: {comp['mean_steps_per_char']:.1f} (training data median "
            f"{ck['config']['steps_per_char']:.1f}).", "",
            *_style_markdown(r.get("style")),
            "## Sample sheet", "", f"{r['settings']['sheet_sentence']!r}, every style at three biases:", "",
            "![sample sheet](sample_sheet.png)", "",
            "## Examples: most and least legible generated lines", "", "![examples](examples.png)", ""]
    if r.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in r["notes"]] + [""]
    return "\n".join(out)


def evaluate(checkpoint: str | Path, out_dir: str | Path, data_path: str | Path = "data/iam_ondb.npz",
             recognizer_path: str | Path | None = None, style_dir: str | Path | None = None,
             biases=DEFAULT_BIASES, n_sentences: int = 0, valid_lines: int = 0, real_lines: int = 0,
             baseline_lines: int = 256, seed: int = 0, batch_size: int = 128, log=print,
             command: str = "", writer_id_path: str | Path | None = None,
             iam_dir: str | Path | None = "../shared/data/iam-ondb", adapt_writers: int = 0,
             adapt_lines: int = 6, adapt_minutes: float = 3.0, adapt_train: str = "all",
             style_adapters: bool = True, check_candidates: int = DEFAULT_CANDIDATES) -> dict:
    """Compute everything, write the report files into out_dir, and return the report dict."""
    started = time.time()
    ckpt_path = Path(checkpoint)
    if not ckpt_path.is_file():
        raise EvaluationError(f"no checkpoint at {ckpt_path}. Train one first: `python train/train.py` "
                              f"(after `python train/prepare_data.py`), or pass --checkpoint PATH.")
    try:
        data = ProcessedData.load(data_path)
    except FileNotFoundError as e:
        raise EvaluationError(f"{e} The report needs testset_v from it.") from e
    ckpt = load_checkpoint(ckpt_path)
    recognizer = load_recognizer(recognizer_path)
    bank, notes = _style_bank(style_dir, style_adapters)
    adapters_used = bank is not None and bank.adapter_file is not None
    model = ckpt.build_model()
    torch.manual_seed(seed)
    notes = list(notes)

    log(f"Validation NLL on testset_v ({valid_lines or 'all'} lines)...")
    nll = validation_nll(model, ckpt.alphabet, data, valid_lines)
    nll["min_step"] = ckpt.stats.min_step
    nll["graves"] = GRAVES_NLL

    log("Recogniser on real testset_v lines...")
    real_idx = data.indices("valid")[:real_lines or None]
    real_texts = [str(data.texts[i]) for i in real_idx]
    real_read = recognizer.read([data.line(i) for i in real_idx])
    real_cer = reading_cer(real_read, real_texts)
    real_short = sum(len(h) < READS_SHORT * len(t) for h, t in zip(real_read, real_texts)) / max(1, len(real_idx))

    sentences = usable_sentences(ckpt.alphabet, SENTENCES[:n_sentences or None])
    if len(sentences) < len(SENTENCES[:n_sentences or None]):
        notes.append("some fixed sentences use characters this model lacks and were left out")
    style_ids = [None] + (writable_styles(bank, ckpt.alphabet) if bank else [])
    if bank and len(style_ids) - 1 < len(bank.ids):
        notes.append(f"styles {sorted(set(bank.ids) - set(style_ids))} use characters this model lacks: left out")
    jobs = [(s, st, float(b)) for st in style_ids for b in biases for s in sentences]
    log(f"Generating {len(jobs)} lines ({len(sentences)} sentences x {len(style_ids)} styles x {len(biases)} biases)...")
    lines = generate(model, ckpt.alphabet, ckpt.stats, jobs, bank, seed, batch_size)
    for ln, text in zip(lines, recognizer.read([ln.sampled.offsets for ln in lines])):
        ln.read = text
    legibility, completeness = summarise(lines, real_cer)
    legibility.update(real_lines=len(real_idx), real_reads_short_rate=real_short,
                      real_word_accuracy=word_accuracy(real_read, real_texts),
                      real_class_cer=class_cer(real_read, real_texts))
    style, styled = None, [s for s in style_ids if s is not None]
    inputs = style_inputs(data, bank, styled, writer_id_path, iam_dir, notes) if bank and styled else None
    if inputs:
        log("Style fidelity: identifying each line's writer...")
        scorer, found = inputs
        style = measure(scorer, data, found, [(ln.style, ln.bias, ln.sampled.offsets) for ln in lines])
        style["style_adapters"] = adapters_used
        mid = float(biases[len(biases) // 2])
        at_mid = [ln for ln in lines if ln.bias == mid]
        style["traits"] = {"bias": mid, **traits_followed(
            data, found, {s: [(ln.sampled.offsets, ln.text) for ln in at_mid if ln.style == s] for s in styled},
            [(ln.sampled.offsets, ln.text) for ln in at_mid if ln.style is None])}
    if style and check_candidates > 1:
        bias = float(biases[len(biases) // 2])
        log(f"Style fidelity through the legibility check ({check_candidates} candidates, bias {bias:g})...")
        from .hand import Hand
        hand = Hand(ckpt, bank)
        hand.reader_path, hand.scorer_path = recognizer.path, writer_id_path
        style["checked"] = checked_section(hand, scorer, data, found, styled, sentences, bias, seed,
                                           check_candidates, recognizer)
        style["checked"]["ratio"] = round(style["checked"]["cer"] / real_cer, 3) if real_cer else None
    if style and adapt_writers:
        log(f"Learn my hand against priming, {adapt_writers} writers...")
        style["adapted"] = adaptation_section(
            ckpt, model, data, bank, scorer, found, styled, sentences, float(biases[len(biases) // 2]),
            seed, recognizer, adapt_writers, adapt_lines, adapt_minutes, log, adapt_train)
    log("Completeness detectors on real ink...")
    baseline = real_baseline(model, ckpt.alphabet, data, baseline_lines)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log("Drawing the sample sheet and examples...")
    sheet = sentences[0]
    grid = {(ln.style, ln.bias): ln.sampled.offsets for ln in lines if ln.text == sheet}
    rows = [("no style" if st is None else f"style {st}", [grid.get((st, float(b))) for b in biases])
            for st in style_ids]
    save_png_of(sheet_svg(rows, [f"bias {b:g}" for b in biases], ckpt.stats.ink_height), out_dir / "sample_sheet.png")
    ranked = sorted(lines, key=lambda ln: reading_cer([ln.read], [ln.text]))
    picks = ranked[:4] + [ln for ln in ranked[-4:] if ln not in ranked[:4]]
    captions = [f"read: {ln.read!r}  (CER {reading_cer([ln.read], [ln.text]):.2f})" for ln in picks]
    ex_rows = [(f"{'no style' if ln.style is None else f'style {ln.style}'}, b={ln.bias:g}", [ln.sampled.offsets])
               for ln in picks]
    save_png_of(sheet_svg(ex_rows, ["generated line (text, then what the recogniser read)"], ckpt.stats.ink_height,
                          captions=[f"{ln.text!r} -> {c}" for ln, c in zip(picks, captions)]), out_dir / "examples.png")

    report = {
        "command": command or f"python -m scribe.evaluate --checkpoint {ckpt_path}",
        "checkpoint": {"name": ckpt_path.name, "path": _shown(ckpt_path), "step": ckpt.step,
                       "parameters": model.num_parameters(), "config": ckpt.config.to_dict(),
                       "alphabet": ckpt.alphabet.chars},
        "data": {"path": _shown(data_path), "valid_lines": int(len(data.indices("valid")))},
        "nll": nll,
        "recognizer": {**recognizer.metrics, "path": _shown(recognizer.path),
                       "parameters": sum(p.numel() for p in recognizer.net.parameters())},
        "legibility": legibility,
        "completeness": completeness,
        "style": style,
        "real_baseline": baseline,
        "settings": {"seed": seed, "biases": [float(b) for b in biases], "sentences": sentences,
                     "styles": ["none" if s is None else s for s in style_ids], "sheet_sentence": sheet,
                     "early_factor": EARLY_FACTOR, "extra_chars": EXTRA_CHARS, "reads_short": READS_SHORT,
                     "style_adapters": adapters_used},
        "images": {"sample_sheet": "sample_sheet.png", "examples": "examples.png"},
        "lines": [{"text": ln.text, "style": ln.style, "bias": ln.bias, "read": ln.read,
                   "cer": reading_cer([ln.read], [ln.text]), "steps": ln.sampled.steps,
                   "steps_per_char": ln.sampled.steps_per_char, "hit_cap": ln.sampled.hit_cap,
                   "skipped_words": ln.skipped_words, "extra_steps": ln.extra_steps,
                   "ran_past": ln.ran_past, "extra_ink": ln.extra_ink} for ln in lines],
        "notes": notes,
        "seconds": time.time() - started,
    }
    report = _finite(report)
    atomic_write_bytes(out_dir / "report.json", json.dumps(report, indent=1).encode("utf-8"))
    atomic_write_bytes(out_dir / "report.md", write_markdown(report).encode("utf-8"))
    return report


def style_inputs(data: ProcessedData, bank, style_ids: list[int], writer_id_path, iam_dir, notes: list[str]):
    """What the style measure needs, read once for every section that uses it: (the scorer, the bank's
    writers: style_fidelity.bank_writers), or None with a note saying what it lacked."""
    try:
        scorer = load_writer_id(writer_id_path)
        writers = writers_of_forms(iam_dir)
    except (WriterIdError, DataError) as e:
        notes.append(f"no style-fidelity measure: {e}")
        return None
    found = bank_writers(bank, data, writers, style_ids)
    if len(found.references) < 2:
        notes.append("no style-fidelity measure: fewer than two of the bank's styles were found among the "
                     "testset_v lines of known writers")
        return None
    return scorer, found


def style_section(lines: list[GenLine], data: ProcessedData, bank, style_ids: list[int], writer_id_path,
                  iam_dir, notes: list[str]) -> dict | None:
    """The report's style section, or None with a note saying what it lacked."""
    inputs = style_inputs(data, bank, style_ids, writer_id_path, iam_dir, notes)
    if inputs is None:
        return None
    scorer, found = inputs
    return measure(scorer, data, found, [(ln.style, ln.bias, ln.sampled.offsets) for ln in lines])


def checked_section(hand, scorer, data: ProcessedData, found, style_ids: list[int], sentences: list[str],
                    bias: float, seed: int, candidates: int, reader: Recognizer) -> dict:
    """Primed lines as a write gives them by default: through `hand`'s legibility check (`candidates`
    per line, read back; of those reading about as well as the best, the one nearest the style's hand,
    scribe.nearness), each style's sentences in one write; measured as the primed lines are (`found`:
    style_fidelity.bank_writers) and read by `reader`."""
    from .hand import LineSpec
    lines, texts, by_hand = [], [], 0
    for st in style_ids:
        doc = hand.write([LineSpec(t, st, bias) for t in sentences], seed=seed + 7919 * (st + 1), candidates=candidates)
        lines += [(st, bias, ln.offsets) for ln in doc.lines]
        texts += sentences
        by_hand += doc.legibility.by_hand
    e = measure(scorer, data, found, lines)["by_bias"][f"{bias:g}"]["primed"]
    cer = reading_cer(reader.read([o for _, _, o in lines]), texts)
    return {"candidates": candidates, "bias": bias, "rate": e["rate"], "lines": e["lines"],
            "vs_ceiling": e["vs_ceiling"], "max_share_over_fair": e["max_share_over_fair"],
            "distance": e["distance"], "per_style": e["per_style"], "cer": round(float(cer), 4), "by_hand": by_hand}


def adaptation_section(ckpt, model, data: ProcessedData, bank, scorer, found, style_ids: list[int],
                       sentences: list[str], bias: float, seed: int, recognizer: Recognizer, n_writers: int,
                       n_lines: int, minutes: float, log=print, train: str = "all") -> dict | None:
    """Learn my hand (scribe.adapt) against priming, for `n_writers` of the bank's writers, spread over
    the bank: each writer's model is adapted on `n_lines` of their other real lines, set aside from the
    scorer's references and queries (style_fidelity.set_aside); the fixed sentences are written primed
    by the writer's style with the base model and with the adapted one, and each line's writer is found
    among all the bank's writers. `scorer` and `found` as style_inputs gives them."""
    from .adapt import AdaptOptions, adapt
    from .styles import StyleBank
    bank = StyleBank(bank.folder, adapters=False)   # priming alone against learn-my-hand, as the section says
    known = [s for s in style_ids if s in found.writer_of_style]
    step = max(1, len(known) // max(1, n_writers))
    trimmed, aside = set_aside(found, known[::step][:n_writers], n_lines)
    if not aside:
        return None
    base_lines, adapted_lines_, seconds = [], [], []
    replay = (data, data.indices("train"))
    for sid, ix in aside.items():
        lines = [(str(data.texts[i]), data.line(i)) for i in ix]
        result = adapt(ckpt, lines, AdaptOptions(minutes=minutes, seed=seed, train=train), replay=replay)
        seconds.append(result.record["seconds"])
        log(f"  style {sid}: adapted in {result.record['seconds']:.0f} s, held-out NLL per point "
            f"{result.record['held_out_nll']['base']:.3f} -> {result.record['held_out_nll']['adapted']:.3f}")
        jobs = [(t, sid, bias) for t in sentences]
        base_lines += generate(model, ckpt.alphabet, ckpt.stats, jobs, bank, seed)
        adapted_lines_ += generate(result.checkpoint.build_model(), ckpt.alphabet, ckpt.stats, jobs, bank, seed)
    out = {"styles": list(aside), "lines_per_writer": n_lines, "minutes": minutes, "bias": bias, "train": train,
           "lines_per_arm": len(base_lines), "adapt_seconds": [round(x, 1) for x in seconds]}
    for name, gen in (("primed", base_lines), ("adapted", adapted_lines_)):
        m = measure(scorer, data, trimmed, [(ln.style, ln.bias, ln.sampled.offsets) for ln in gen])
        e = m["by_bias"][f"{bias:g}"]["primed"]
        cer = reading_cer(recognizer.read([ln.sampled.offsets for ln in gen]), [ln.text for ln in gen])
        out[name] = {"rate": e["rate"], "lines": e["lines"], "per_style": e["per_style"],
                     "distance": e["distance"], "cer": round(float(cer), 4)}
    return out


def _shown(path) -> str:
    """A path as the report shows it: relative to the working directory when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _style_bank(style_dir, adapters: bool = True):
    from .styles import StyleBank, StyleError
    try:
        return StyleBank(style_dir, adapters=adapters), []
    except StyleError:
        if style_dir:
            raise
        return None, ["no style bank (checkpoints/styles/ is missing): only the unprimed hand was evaluated"]


def _style_headline(style: dict | None) -> list[str]:
    """The headline's style line: primed lines found as their writer, against the ceiling."""
    if not style:
        return []
    c = style.get("checked")
    bias = f"{c['bias']:g}" if c else next((b for b in style["by_bias"] if "primed" in style["by_bias"][b]), None)
    primed = style["by_bias"].get(bias, {}).get("primed") if bias else None
    if not primed:
        return []
    line = (f"- Style: primed lines found as their writer **{primed['vs_ceiling']:.2f}** of the rate of the "
            f"writers' own lines (bias {bias}, first draws)")
    if c:
        line += f"; through the legibility check, as a write gives them: **{c['vs_ceiling']:.2f}**"
    return [line]


def _style_markdown(style: dict | None) -> list[str]:
    if not style:
        return []
    sc = style.get("scorer", {})
    tv = sc.get("testset_v_writers", {})
    return ["## Style fidelity", "",
            f"A writer-identification scorer (`scribe/writer_id.py`, trained on {sc.get('trained_writers', '?')} "
            f"writers of the training splits, never on these) finds real testset_v lines of their own writer "
            f"{tv.get('rate', 0):.1%} of the time among {tv.get('writers', '?')} writers. Primed lines are "
            + ("written with each style's adapter (its biases and output layer fitted to other lines of its "
               "writer, kept out of this measure)." if style.get("style_adapters") else
               "written by priming alone (no style adapters)."), "",
            *summary_lines(style), "",
            "Per style, primed lines found as their writer: " + "; ".join(
                f"bias {b}: " + ", ".join(f"{s}: {v:.0%}" for s, v in e["primed"]["per_style"].items())
                for b, e in style["by_bias"].items() if "primed" in e), "",
            *(traits_lines(style["traits"], style["traits"]["bias"]) + [""] if style.get("traits", {}).get("traits")
              else []),
            *(checked_lines_md(style["checked"]) + [""] if style.get("checked") else []),
            *(adapted_lines(style["adapted"]) + [""] if style.get("adapted") else [])]


def checked_lines_md(c: dict) -> list[str]:
    """Markdown for the primed lines written through the legibility check."""
    return [f"Through the legibility check, as a write gives them by default ({c['candidates']} candidates a line, "
            f"read back; of those reading about as well as the best, the one nearest the style's own lines by "
            f"this same scorer, `scribe/nearness.py`), bias {c['bias']:g}: primed lines found as their writer "
            f"{c['rate']:.1%} of {c['lines']} (**{c['vs_ceiling']:.2f} of the ceiling**), most-chosen writer's "
            f"share / fair share {c['max_share_over_fair']:.2f}, distance {c['distance']:.2f}; the reader's CER "
            f"{c['cer']:.3f} (ratio to real lines {_fmt(c.get('ratio'), 2)}); "
            f"the hand changed the pick on {c['by_hand']} of {c['lines']} lines."]


@cli.command
def main(argv=None) -> int:
    from .request import BIAS_RANGE, SEED_LIMIT
    p = cli.ArgumentParser(prog="python -m scribe.evaluate", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped checkpoint)")
    p.add_argument("--out", required=True, type=cli.folder_to_write,
                   help="folder for report.md, report.json and the images")
    p.add_argument("--data", default="data/iam_ondb.npz", help="processed data (train/prepare_data.py)")
    p.add_argument("--recognizer", default=None, help="recogniser weights (default: checkpoints/recognizer.safetensors)")
    p.add_argument("--style_dir", default=None, help="style bank folder (default: checkpoints/styles)")
    p.add_argument("--biases", type=cli.number(*BIAS_RANGE), nargs="+", default=list(DEFAULT_BIASES),
                   help=f"biases to sample at ({BIAS_RANGE[0]:g}-{BIAS_RANGE[1]:g})")
    p.add_argument("--sentences", type=cli.whole(0, len(SENTENCES)), default=0,
                   help=f"use the first N fixed sentences (0: all {len(SENTENCES)})")
    p.add_argument("--valid_lines", type=cli.whole(0), default=0, help="testset_v lines for the NLL (0: all)")
    p.add_argument("--real_lines", type=cli.whole(0), default=0, help="testset_v lines the recogniser reads (0: all)")
    p.add_argument("--baseline_lines", type=cli.whole(1), default=256, help="real lines for the detectors' baseline")
    p.add_argument("--batch_size", type=cli.whole(1), default=128, help="lines sampled at once")
    p.add_argument("--seed", type=cli.whole(0, SEED_LIMIT - 1), default=0)
    p.add_argument("--writer_id", default=None,
                   help="writer-identification weights (default: checkpoints/writer_id.safetensors)")
    p.add_argument("--iam_dir", default="../shared/data/iam-ondb",
                   help="the IAM-OnDB archives: the recording clock says which writer wrote which form")
    p.add_argument("--adapt_writers", type=cli.whole(0, 13), default=0,
                   help="also compare learn-my-hand with priming for this many of the bank's writers (slow: "
                        "one adaptation each)")
    p.add_argument("--adapt_lines", type=cli.whole(5, 20), default=6, help="real lines each writer's model learns from")
    p.add_argument("--adapt_minutes", type=cli.number(0.05, 60), default=3.0, help="time budget of each adaptation")
    p.add_argument("--no_style_adapters", action="store_true",
                   help="write the bank's styles by priming alone, without their adapters (to measure them)")
    p.add_argument("--check_candidates", type=cli.whole(0, 16), default=DEFAULT_CANDIDATES,
                   help="also write the primed lines through the legibility check with this many candidates "
                        "and measure their style (0 or 1: skip)")
    p.add_argument("--adapt_train", choices=("all", "shapes", "bias"), default="all",
                   help="which weights each adaptation trains (scribe.adapt: all; layers 2-N and the output; "
                        "biases and the output layer)")
    args = p.parse_args(argv)
    checkpoint = args.checkpoint or default_checkpoint()
    report = evaluate(checkpoint, args.out, args.data, args.recognizer, args.style_dir, args.biases,
                      args.sentences, args.valid_lines, args.real_lines, args.baseline_lines, args.seed,
                      args.batch_size, command="python -m scribe.evaluate " + " ".join(
                          argv if argv is not None else sys.argv[1:]),
                      writer_id_path=args.writer_id, iam_dir=args.iam_dir, adapt_writers=args.adapt_writers,
                      adapt_lines=args.adapt_lines, adapt_minutes=args.adapt_minutes, adapt_train=args.adapt_train,
                      style_adapters=not args.no_style_adapters, check_candidates=args.check_candidates)
    leg, nll = report["legibility"], report["nll"]
    print(f"Validation NLL {nll['nats_per_line']:.1f} nats/line; CER real {leg['real_cer']:.3f}, generated "
          f"{leg['generated_cer']:.3f}, ratio {_fmt(leg['ratio'], 2)}. Wrote {Path(args.out) / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
