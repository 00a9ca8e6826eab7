"""A small online-handwriting recogniser: pen trajectories in, text out (CTC, greedy decoding).

It exists to measure legibility: the CER it gets on generated lines, over the CER it gets on real
lines, says how readable the synthesis model's writing is compared with real writers'.

Input is a line of offsets (T, 3) (dx, dy, end_of_stroke), y up, in the training data's units: the
processed IAM-OnDB lines and `SampledLine.offsets` alike. Each line is scaled by its own ink height,
so the recogniser does not care which units or size the ink comes in. Two feature sets (the config's
`features` says which a file was trained on):
- "arc" (the strict reader): every stroke resampled at equal steps along the pen's path, one step a
  fixed fraction of the ink height, so how fast or slowly the writer moved no longer changes how
  many points a letter gets. Per point: (dx, dy, direction cos/sin, turn cos/sin, pen-up move, end of
  stroke, height above the line's fitted baseline);
- "offsets" (earlier files): the points as they come, (dx, dy, pen-up move, end of stroke, height).

Weights ship as half-precision safetensors with JSON metadata (config, alphabet, metrics), loaded
the same safe way as synthesis checkpoints: no pickled code can run.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .alphabet import Alphabet
from .files import load_tagged_module, save_tagged
from .errors import ScribeError
from .shipped import SHIPPED_DIR

FORMAT = "scribe-recognizer"
VERSION = 1
FEATURE_SIZES = {"offsets": 5, "arc": 9}
ARC_STEP = 0.08         # "arc" features: one resampled point per this many ink heights of pen path (~15 per character)
SHIPPED_RECOGNIZER = SHIPPED_DIR / "recognizer.safetensors"
MIN_FRAMES = 8          # very short (or empty) generated lines are padded to this many points
FEATURE_CLIP = 8.0


class RecognizerError(ScribeError, ValueError):
    """A recogniser file that is missing, unreadable or not a Scribe recogniser."""
    title = "Recogniser problem"


@dataclass
class RecognizerConfig:
    alphabet_size: int            # CTC classes: the alphabet plus blank at index 0
    conv_channels: int = 64
    hidden: int = 96
    layers: int = 2
    stride: int = 3               # points per output frame; IAM lines have >= 4.4 points per char
    cell: str = "gru"             # "lstm" for the strict reader; "gru" reads the first, smaller files
    features: str = "offsets"     # "arc" for the strict reader; files without the key are "offsets"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RecognizerConfig":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


# ---- features -------------------------------------------------------------------------------------
def _line_scale(offsets: np.ndarray, pts: np.ndarray) -> float:
    """Ink height (5-95 percentile of y), floored so that a scribble or a flat line cannot blow it up."""
    T = len(offsets)
    h = float(np.percentile(pts[:, 1], 95) - np.percentile(pts[:, 1], 5)) if T > 2 else 0.0
    span = float(np.abs(offsets[:, :2]).sum(0).max()) / max(T, 1)
    return max(h, 4.0 * span, 1e-6)


def _above_baseline(pts: np.ndarray, h: float) -> np.ndarray:
    """Height of each point above the line's least-squares baseline, in half ink heights."""
    baseline = 0.0
    if np.ptp(pts[:, 0]) > 0:
        slope, icpt = np.polyfit(pts[:, 0], pts[:, 1], 1)
        baseline = slope * pts[:, 0] + icpt
    return (pts[:, 1] - baseline) / h * 2.0


def _start_at_zero(offsets) -> np.ndarray:
    offsets = np.array(offsets, dtype=np.float64).reshape(-1, 3)
    # Where a line starts carries no information (ink.prepare_ink zeroes it on every real line): a
    # sampled line's first offset is a pen-up move no page shows, but a large one changed what the
    # reader read of the first letter (capital first words of primed lines: 77% read exactly with
    # it, 66% without; scripts/page_faults.py).
    if len(offsets):
        offsets[0, :2] = 0.0
    return offsets


def offset_features(offsets: np.ndarray) -> np.ndarray:
    """(T, 3) offsets -> (max(T, MIN_FRAMES), 5) float32 "offsets" features, scale-free."""
    offsets = _start_at_zero(offsets)
    T = len(offsets)
    feats = np.zeros((max(T, MIN_FRAMES), 5), np.float32)
    if T == 0:
        return feats
    pts = np.cumsum(offsets[:, :2], axis=0)
    h = _line_scale(offsets, pts)
    pen_up = np.ones(T)
    pen_up[1:] = offsets[:-1, 2] > 0.5
    feats[:T, 0] = offsets[:, 0] / h * 4.0
    feats[:T, 1] = offsets[:, 1] / h * 4.0
    feats[:T, 2] = pen_up
    feats[:T, 3] = offsets[:, 2] > 0.5
    feats[:T, 4] = _above_baseline(pts, h)
    np.clip(feats, -FEATURE_CLIP, FEATURE_CLIP, out=feats)
    return feats


def resample_path(pts: np.ndarray, ends: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Each stroke of pts (strokes end after the indices in `ends`) resampled at equal steps of at most
    `step` along its path, first and last points kept: (points (N, 2), end-of-stroke flags (N,))."""
    out, eos = [], []
    first = 0
    for last in ends:
        s = pts[first:last + 1]
        first = last + 1
        seg = np.hypot(*np.diff(s, axis=0).T)
        if len(s) > 1 and seg.sum() > 0:
            keep = np.concatenate([[True], seg > 0])      # np.interp needs a rising path length
            s, along = s[keep], np.concatenate([[0.0], np.cumsum(seg[seg > 0])])
            n = int(np.ceil(along[-1] / step))
            at = np.linspace(0.0, along[-1], n + 1)
            s = np.column_stack([np.interp(at, along, s[:, 0]), np.interp(at, along, s[:, 1])])
        else:
            s = s[:1]
        out.append(s)
        flags = np.zeros(len(s))
        flags[-1] = 1.0
        eos.append(flags)
    return np.concatenate(out), np.concatenate(eos)


def arc_features(offsets: np.ndarray) -> np.ndarray:
    """(T, 3) offsets -> (max(N, MIN_FRAMES), 9) float32 "arc" features, scale- and speed-free."""
    offsets = _start_at_zero(offsets)
    T = len(offsets)
    if T == 0:
        return np.zeros((MIN_FRAMES, 9), np.float32)
    pts = np.cumsum(offsets[:, :2], axis=0)
    h = _line_scale(offsets, pts)
    ends = np.nonzero(offsets[:, 2] > 0.5)[0]
    if len(ends) == 0 or ends[-1] != T - 1:
        ends = np.append(ends, T - 1)                     # the end of the array ends a stroke
    pts, eos = resample_path(pts, ends, ARC_STEP * h)
    N = len(pts)
    d = np.diff(pts, axis=0, prepend=pts[:1])
    pen_up = np.zeros(N)
    pen_up[0] = 1.0
    pen_up[1:] = eos[:-1]
    norm = np.hypot(d[:, 0], d[:, 1])
    moving = (norm > 0) & (pen_up == 0)                   # a direction only along the ink
    cos = np.where(moving, d[:, 0] / np.maximum(norm, 1e-12), 0.0)
    sin = np.where(moving, d[:, 1] / np.maximum(norm, 1e-12), 0.0)
    turning = moving & np.concatenate([[False], moving[:-1]])
    cos_prev, sin_prev = np.roll(cos, 1), np.roll(sin, 1)
    feats = np.zeros((max(N, MIN_FRAMES), 9), np.float32)
    feats[:N, 0] = d[:, 0] / h * 4.0
    feats[:N, 1] = d[:, 1] / h * 4.0
    feats[:N, 2] = cos
    feats[:N, 3] = sin
    feats[:N, 4] = np.where(turning, cos * cos_prev + sin * sin_prev, 0.0)
    feats[:N, 5] = np.where(turning, sin * cos_prev - cos * sin_prev, 0.0)
    feats[:N, 6] = pen_up
    feats[:N, 7] = eos
    feats[:N, 8] = _above_baseline(pts, h)
    np.clip(feats, -FEATURE_CLIP, FEATURE_CLIP, out=feats)
    return feats


FEATURES = {"offsets": offset_features, "arc": arc_features}


def ink_features(offsets: np.ndarray, features: str = "offsets") -> np.ndarray:
    """A line's features of the named set (FEATURE_SIZES[features] columns)."""
    return FEATURES[features](offsets)


def augment(offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Training-time jitter of a real line: slant, aspect ratio and a slight rotation."""
    offsets = np.asarray(offsets, dtype=np.float64)
    pts = np.cumsum(offsets[:, :2], axis=0)
    shear, aspect, angle = rng.uniform(-0.3, 0.3), rng.uniform(0.8, 1.25), rng.uniform(-0.06, 0.06)
    x, y = pts[:, 0] + shear * pts[:, 1], pts[:, 1] * aspect
    c, s = np.cos(angle), np.sin(angle)
    pts = np.column_stack([c * x - s * y, s * x + c * y])
    out = offsets.copy()
    out[:, :2] = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    return out.astype(np.float32)


def batch_features(lines: list[np.ndarray], features: str = "offsets") -> tuple[torch.Tensor, torch.Tensor]:
    """Pad per-line features into (B, T, F) and return the true lengths (B,)."""
    feats = [ink_features(o, features) for o in lines]
    lengths = torch.tensor([len(f) for f in feats])
    out = torch.zeros(len(feats), int(lengths.max()), FEATURE_SIZES[features])
    for i, f in enumerate(feats):
        out[i, :len(f)] = torch.from_numpy(f)
    return out, lengths


# ---- the model ------------------------------------------------------------------------------------
class RecognizerNet(nn.Module):
    """Three 1-d convolutions (the middle one strided) then a bidirectional GRU and a CTC head."""

    def __init__(self, config: RecognizerConfig):
        super().__init__()
        self.config = c = config
        C = c.conv_channels
        if c.features not in FEATURE_SIZES:
            raise ValueError(f"recogniser features must be one of {sorted(FEATURE_SIZES)}, not {c.features!r}")
        self.conv = nn.Sequential(
            nn.Conv1d(FEATURE_SIZES[c.features], C, 5, padding=2), nn.ReLU(),
            nn.Conv1d(C, C, 2 * c.stride - 1, stride=c.stride, padding=c.stride - 1), nn.ReLU(),
            nn.Conv1d(C, C, 3, padding=1), nn.ReLU())
        if c.cell not in ("gru", "lstm"):
            raise ValueError(f"recogniser cell must be 'gru' or 'lstm', not {c.cell!r}")
        rnn = nn.LSTM if c.cell == "lstm" else nn.GRU
        self.rnn = rnn(C, c.hidden, c.layers, batch_first=True, bidirectional=True,
                       dropout=0.1 if c.layers > 1 else 0.0)
        self.head = nn.Linear(2 * c.hidden, c.alphabet_size)

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames for inputs of these lengths (the strided conv keeps ceil(T / stride))."""
        return (lengths + self.config.stride - 1) // self.config.stride

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, F) features -> (log-probs (B, F, classes), frame counts (B,))."""
        h = self.conv(feats.transpose(1, 2)).transpose(1, 2)
        n = self.frames(lengths).clamp(max=h.shape[1])
        # No packing: on CPU a packed GRU's backward is several times slower. Callers batch lines of
        # similar length, so the few padded frames the backward direction starts on matter little.
        out, _ = self.rnn(h)
        return F.log_softmax(self.head(out), -1), n

    def ctc_loss(self, feats, lengths, targets: list[list[int]]) -> torch.Tensor:
        """Mean CTC loss per line (nats). Impossible alignments (too few frames) count as zero."""
        logp, n = self(feats, lengths)
        flat = torch.tensor([c for t in targets for c in t], dtype=torch.long, device=logp.device)
        tl = torch.tensor([len(t) for t in targets], dtype=torch.long, device=logp.device)
        return F.ctc_loss(logp.transpose(0, 1), flat, n, tl, blank=0, reduction="sum",
                          zero_infinity=True) / len(targets)


def greedy_decode(logp: torch.Tensor, frames: torch.Tensor) -> list[list[int]]:
    """Best path: argmax per frame, merge repeats, drop blanks."""
    best = logp.argmax(-1).tolist()
    out = []
    for row, n in zip(best, frames.tolist()):
        seq, prev = [], 0
        for k in row[:n]:
            if k != prev and k != 0:
                seq.append(k)
            prev = k
        out.append(seq)
    return out


# ---- scoring --------------------------------------------------------------------------------------
def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(hypotheses: list[str], references: list[str]) -> float:
    """Character error rate over a set of lines: total edits / total reference characters."""
    edits = sum(edit_distance(h, r) for h, r in zip(hypotheses, references))
    return edits / max(1, sum(len(r) for r in references))


_AROUND_PUNCT = re.compile(r" *([^\w ]) *")


def canonical(text: str) -> str:
    """Text with no spaces next to punctuation: IAM-OnDB transcriptions write "Mr . Foot ' s" for
    what the writer wrote as "Mr. Foot's", and ordinary sentences do not; neither should count."""
    return _AROUND_PUNCT.sub(r"\1", " ".join(text.split()))


def reading_cer(hypotheses: list[str], references: list[str]) -> float:
    """The legibility measure: CER of canonical() hypotheses against canonical() references."""
    return cer([canonical(h) for h in hypotheses], [canonical(r) for r in references])


CHAR_CLASSES = ("lowercase", "capitals", "digits", "punctuation")


def char_class(c: str) -> str | None:
    """The class a character's errors count under (spaces: none)."""
    if c.isspace():
        return None
    if c.isdigit():
        return "digits"
    if c.isalpha():
        return "capitals" if c.isupper() else "lowercase"
    return "punctuation"


def _alignment(a, b) -> list[tuple[int | None, int | None]]:
    """One minimal Levenshtein alignment of sequences a (hypothesis) and b (reference), as (i, j)
    pairs: (i, j) a match or substitution, (i, None) an insertion, (None, j) a deletion."""
    n, m = len(a), len(b)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    pairs, i, j = [], n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    return pairs[::-1]


def class_cer(hypotheses: list[str], references: list[str]) -> dict[str, float | None]:
    """CER per character class (CHAR_CLASSES) over canonical() texts: a substituted or dropped
    reference character counts against its class, an inserted character against its own; divided by
    the reference characters of that class. None for a class the references lack."""
    errors = dict.fromkeys(CHAR_CLASSES, 0)
    totals = dict.fromkeys(CHAR_CLASSES, 0)
    for hyp, ref in zip(hypotheses, references):
        hyp, ref = canonical(hyp), canonical(ref)
        for c in ref:
            if char_class(c):
                totals[char_class(c)] += 1
        for i, j in _alignment(hyp, ref):
            wrong = j is None or i is None or hyp[i] != ref[j]
            cls = char_class(ref[j]) if j is not None else char_class(hyp[i])
            if wrong and cls:
                errors[cls] += 1
    return {c: (errors[c] / totals[c] if totals[c] else None) for c in CHAR_CLASSES}


def words_of(text: str) -> list[str]:
    """The words of a text as a reader judges them: runs of letters and digits. Punctuation only
    separates (IAM-OnDB writes "Foot ' s" for "Foot's": both give "Foot", "s"); it counts in the
    punctuation CER instead."""
    return _WORD.findall(text)


_WORD = re.compile(r"[^\W_]+")


def word_matches(hypothesis: str, reference: str) -> list[bool]:
    """For each word of the reference, whether the reader read it exactly (aligned word by word, so a
    dropped word costs only itself, not every word after it)."""
    hyp, ref = words_of(hypothesis), words_of(reference)
    right = [False] * len(ref)
    for i, j in _alignment(hyp, ref):
        if i is not None and j is not None and hyp[i] == ref[j]:
            right[j] = True
    return right


def word_accuracy(hypotheses: list[str], references: list[str]) -> float:
    """The share of reference words read exactly right."""
    marks = [m for h, r in zip(hypotheses, references) for m in word_matches(h, r)]
    return sum(marks) / max(1, len(marks))


# ---- the loaded recogniser ------------------------------------------------------------------------
@dataclass
class Recognizer:
    net: RecognizerNet
    alphabet: Alphabet
    metrics: dict = field(default_factory=dict)    # real_cer, real_lines, train_minutes, ...
    path: Path | None = None

    @classmethod
    def new(cls, alphabet: Alphabet, **config) -> "Recognizer":
        return cls(RecognizerNet(RecognizerConfig(alphabet.size, **config)), alphabet)

    def meta(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "config": self.net.config.to_dict(),
                "alphabet": self.alphabet.chars, "metrics": self.metrics}

    @torch.no_grad()
    def read(self, lines: list[np.ndarray], batch_size: int = 64) -> list[str]:
        """Transcribe lines of offsets (training units, y up). Batches lines of similar length."""
        return self.read_scored(lines, batch_size)[0]

    @torch.no_grad()
    def read_scored(self, lines: list[np.ndarray], batch_size: int = 64) -> tuple[list[str], list[torch.Tensor]]:
        """read(), and each line's log-probabilities (its frames x classes), so that nll_of can say how
        sure the reader is of a text without reading the ink again."""
        self.net.eval()
        order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
        out: list[str] = [""] * len(lines)
        scores: list[torch.Tensor] = [torch.empty(0)] * len(lines)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            feats, lengths = batch_features([lines[i] for i in idx], self.net.config.features)
            logp, n = self.net(feats, lengths)
            for k, (i, seq) in enumerate(zip(idx, greedy_decode(logp, n))):
                out[i] = self.alphabet.decode(seq)
                scores[i] = logp[k, :int(n[k])]
        return out, scores

    def nll_of(self, logp: torch.Tensor, text: str) -> float:
        """How unsure the reader is that a line says `text`, from its read_scored log-probabilities:
        the CTC negative log-likelihood in nats per character (inf for a text it cannot spell)."""
        try:
            target = torch.tensor(self.alphabet.encode(canonical(text)), dtype=torch.long)
        except ValueError:
            return float("inf")
        loss = F.ctc_loss(logp.unsqueeze(1), target.unsqueeze(0), torch.tensor([len(logp)]),
                          torch.tensor([len(target)]), blank=0, reduction="sum", zero_infinity=True)
        return float(loss) / max(1, len(target))

    @torch.no_grad()
    def text_nll(self, lines: list[np.ndarray], texts: list[str]) -> list[float]:
        """Per line, how unsure the reader is that the ink says its text: the CTC negative
        log-likelihood of texts[i] given lines[i], in nats per character (one batch; inf for a text
        it cannot spell)."""
        self.net.eval()
        feats, lengths = batch_features(lines, self.net.config.features)
        logp, n = self.net(feats, lengths)
        return [self.nll_of(logp[i, :int(n[i])], text) for i, text in enumerate(texts)]

    def save(self, path: str | Path, dtype=torch.float16) -> Path:
        return save_tagged(path, self.net.state_dict(), FORMAT, self.meta(), dtype)


def load_recognizer(path: str | Path | None = None) -> Recognizer:
    """Load a recogniser saved by Recognizer.save (safetensors: tensors and JSON, never code)."""
    path = Path(path) if path else SHIPPED_RECOGNIZER
    return load_tagged_module(
        path, FORMAT, "a Scribe recogniser", lambda m: RecognizerNet(RecognizerConfig.from_dict(m["config"])),
        lambda net, m: Recognizer(net, Alphabet(m["alphabet"]), m.get("metrics", {}), path), RecognizerError,
        f"no recogniser at {path}. Train one with `python train/train_recognizer.py` "
        f"(needs data/iam_ondb.npz from train/prepare_data.py).")
