"""The processed dataset: one compact .npz written by train/prepare_data.py, and batches drawn from it.

The file holds every line's offsets in raw whiteboard units (int16 after resampling loses nothing
that matters: IAM-OnDB coordinates are integers), the texts, the split of each line, and the
normalisation statistics of the training split. It is derived from IAM-OnDB: keep it in an ignored
folder and never commit it.
"""
from __future__ import annotations

import contextlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .alphabet import Alphabet
from .errors import ScribeError
from .files import atomic_write

FORMAT_VERSION = 1


class DatasetError(ScribeError, ValueError):
    """A processed dataset file that cannot be read; the message says how to make it again."""
    title = "Dataset problem"


class MissingDatasetError(DatasetError, FileNotFoundError):
    """No processed dataset at the path given."""
    title = "No dataset"


@dataclass
class NormStats:
    """Offsets are fed to the model as (d - mean) / std, per axis, as in Graves (2013)."""
    mean: tuple[float, float]
    std: tuple[float, float]
    ink_height: float       # median ink height of training lines: the size style ink is scaled to
    min_step: float         # resampling distance used when the data was prepared

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "ink_height": self.ink_height,
                "min_step": self.min_step}

    @classmethod
    def from_dict(cls, d: dict) -> "NormStats":
        return cls(tuple(d["mean"]), tuple(d["std"]), float(d["ink_height"]), float(d["min_step"]))

    def normalise(self, offsets: np.ndarray) -> np.ndarray:
        out = np.asarray(offsets, dtype=np.float32).copy()
        out[:, :2] = (out[:, :2] - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return out

    def denormalise(self, offsets: np.ndarray) -> np.ndarray:
        out = np.asarray(offsets, dtype=np.float32).copy()
        out[:, :2] = out[:, :2] * np.asarray(self.std, np.float32) + np.asarray(self.mean, np.float32)
        return out


def compute_stats(offsets: list[np.ndarray], heights: list[float], min_step: float) -> NormStats:
    cat = np.concatenate(offsets)[:, :2].astype(np.float64)
    return NormStats(tuple(cat.mean(0).tolist()), tuple(cat.std(0).tolist()),
                     float(np.median(heights)), float(min_step))


class ProcessedData:
    """The lines of one processed file; `split(name)` views one split."""

    def __init__(self, offsets: np.ndarray, starts: np.ndarray, texts: np.ndarray, line_ids: np.ndarray,
                 splits: np.ndarray, stats: NormStats):
        self.offsets, self.starts, self.texts = offsets, starts, texts
        self.line_ids, self.splits, self.stats = line_ids, splits, stats

    def __len__(self) -> int:
        return len(self.texts)

    def line(self, i: int) -> np.ndarray:
        return self.offsets[self.starts[i]:self.starts[i + 1]].astype(np.float32)

    def indices(self, split: str) -> np.ndarray:
        return np.nonzero(self.splits == split)[0]

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def save(self, path: str | Path) -> None:
        stats = np.array([*self.stats.mean, *self.stats.std, self.stats.ink_height, self.stats.min_step])
        atomic_write(path, lambda f: np.savez_compressed(
            f, version=np.int64(FORMAT_VERSION), offsets=self.offsets, starts=self.starts, texts=self.texts,
            line_ids=self.line_ids, splits=self.splits, stats=stats))

    @classmethod
    def load(cls, path: str | Path) -> "ProcessedData":
        path = Path(path)
        if not path.exists():
            raise MissingDatasetError(
                f"no processed dataset at {path}. Run `python train/prepare_data.py --data_dir "
                f"<folder with the IAM-OnDB archives>` first.")
        if path.is_file() and not zipfile.is_zipfile(path):
            raise DatasetError(f"{path} is not a processed dataset (not an .npz file); "
                               f"re-run train/prepare_data.py to make one")
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) != FORMAT_VERSION:
                    raise ValueError(f"format version {int(z['version'])}, expected {FORMAT_VERSION}")
                s = z["stats"]
                stats = NormStats((float(s[0]), float(s[1])), (float(s[2]), float(s[3])), float(s[4]),
                                  float(s[5]))
                return cls(z["offsets"], z["starts"], z["texts"], z["line_ids"], z["splits"], stats)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise DatasetError(f"{path} is not a readable processed dataset ({str(e)[:200]}); "
                               f"re-run train/prepare_data.py to rebuild it") from e


@dataclass
class Batch:
    inputs: torch.Tensor      # (B, T, 3) normalised offsets, shifted right by one (row 0 = pen-up start)
    targets: torch.Tensor     # (B, T, 3)
    mask: torch.Tensor        # (B, T) 1 where a target is real
    text: torch.Tensor        # (B, U) int64 character indices, 0 = padding
    text_mask: torch.Tensor   # (B, U)

    def to(self, device) -> "Batch":
        return Batch(*(t.to(device, non_blocking=True) for t in
                       (self.inputs, self.targets, self.mask, self.text, self.text_mask)))


def collate(offsets: list[np.ndarray], texts: list[list[int]]) -> Batch:
    """Pad a list of normalised (T, 3) offsets and their encoded texts into one Batch."""
    B, T, U = len(offsets), max(len(o) for o in offsets), max(len(t) for t in texts)
    targets = np.zeros((B, T, 3), np.float32)
    mask = np.zeros((B, T), np.float32)
    text = np.zeros((B, U), np.int64)
    for b, (o, t) in enumerate(zip(offsets, texts)):
        targets[b, :len(o)] = o
        mask[b, :len(o)] = 1.0
        text[b, :len(t)] = t
    inputs = np.zeros_like(targets)
    inputs[:, 0, 2] = 1.0
    inputs[:, 1:] = targets[:, :-1]
    return Batch(torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask),
                 torch.from_numpy(text), torch.from_numpy((text > 0).astype(np.float32)))


def form_of(line_id) -> str:
    """The IAM-OnDB form a line belongs to (one writer, one sitting): "a01-000u-01" -> "a01-000u"."""
    return str(line_id).rsplit("-", 1)[0]


def form_partners(line_ids, indices) -> dict[int, np.ndarray]:
    """For each line of `indices` (one split), the other lines of `indices` from its form: the primes
    a line can be written after. Lines alone in their form get none and are left out."""
    by_form: dict[str, list[int]] = {}
    for i in indices:
        by_form.setdefault(form_of(line_ids[i]), []).append(int(i))
    return {i: np.array([j for j in lines if j != i], dtype=np.int64)
            for lines in by_form.values() if len(lines) > 1 for i in lines}


@dataclass
class PairBatch:
    """Lines written after a prime from the same form (the same writer), as sampling primes them:
    `prime` is the first line (its text + the separator space, what a prime's window reads), `line`
    the line written after it; only `line` is scored."""
    prime: Batch
    prime_lengths: torch.Tensor   # (B,) int64 real steps of each prime
    line: Batch

    @property
    def mask(self) -> torch.Tensor:   # the points scored: the second lines'
        return self.line.mask

    def to(self, device) -> "PairBatch":
        return PairBatch(self.prime.to(device), self.prime_lengths, self.line.to(device))


def rich_share(text: str) -> float:
    """The share of a line's characters that are digits, capitals or punctuation: what the model
    writes worst, because IAM-OnDB has few of them."""
    return sum(1 for c in text if c.isdigit() or c.isupper() or not (c.isalnum() or c.isspace())) / max(1, len(text))


class BucketBatches:
    """Batches of lines of similar length, so that padding stays small; batch order is shuffled.

    Lines are sorted by length with a little noise (so batches differ between epochs), cut into
    batches, and the batches are shuffled. Lines with characters outside the alphabet are dropped.
    """

    def __init__(self, data: ProcessedData, split: str, alphabet: Alphabet, batch_size: int,
                 seed: int = 0, max_len: int | None = None, indices: np.ndarray | None = None,
                 rich_weight: float = 1.0):
        self.data, self.alphabet, self.batch_size = data, alphabet, batch_size
        self.rich_weight = float(rich_weight)
        self.rng = np.random.default_rng(seed)
        idx = data.indices(split) if indices is None else indices
        lengths = data.lengths()
        keep, self.encoded = [], {}
        for i in idx:
            if max_len and lengths[i] > max_len:
                continue
            try:
                self.encoded[int(i)] = alphabet.encode(str(data.texts[i]))
            except ValueError:
                continue
            keep.append(int(i))
        self.idx = np.asarray(keep, dtype=np.int64)
        if len(self.idx) == 0:
            raise DatasetError(f"split {split!r} has no usable lines (a line is left out when its text has a "
                               f"character outside the alphabet, or it is longer than max_len points)")
        self._set_draw_p()

    def _set_draw_p(self) -> None:
        self.draw_p = None         # oversampling: each line's chance per draw, fixed for the run
        if self.rich_weight != 1.0:
            rich = np.array([rich_share(str(self.data.texts[i])) for i in self.idx])
            weight = 1.0 + (self.rich_weight - 1.0) * np.minimum(1.0, rich / 0.1)
            self.draw_p = weight / weight.sum()

    def __len__(self) -> int:
        return max(1, len(self.idx) // self.batch_size)

    def epoch(self) -> list[np.ndarray]:
        idx = self.idx
        if self.draw_p is not None:   # oversample lines with digits, capitals or punctuation
            idx = self.rng.choice(idx, size=len(idx), p=self.draw_p)
        lengths = self.data.lengths()[idx].astype(np.float64)
        order = idx[np.argsort(lengths * self.rng.uniform(0.9, 1.1, len(lengths)))]
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        self.rng.shuffle(batches)
        return batches

    def make(self, line_indices) -> Batch:
        stats = self.data.stats
        return collate([stats.normalise(self.data.line(i)) for i in line_indices],
                       [self.encoded[int(i)] for i in line_indices])

    def __iter__(self):
        while True:
            for b in self.epoch():
                yield self.make(b)


class PairBatches(BucketBatches):
    """PairBatch batches for prime-and-continue training: every line that has another line of its
    form in the same split (and both pass the same filters), each epoch after a prime drawn afresh
    from those. A group is an (n, 2) array of (prime, line) indices; batches are cut by the two
    lengths together, so that neither sequence pads much."""

    def __init__(self, data: ProcessedData, split: str, alphabet: Alphabet, batch_size: int,
                 seed: int = 0, max_len: int | None = None, indices: np.ndarray | None = None,
                 rich_weight: float = 1.0):
        super().__init__(data, split, alphabet, batch_size, seed, max_len, indices, rich_weight)
        self.separator = alphabet.encode_separator()
        self.partners = form_partners(data.line_ids, self.idx)
        self.idx = np.array([i for i in self.idx if int(i) in self.partners], dtype=np.int64)
        if len(self.idx) == 0:
            raise ValueError(f"split {split!r} has no two usable lines of one form to pair")
        self._set_draw_p()

    def epoch(self) -> list[np.ndarray]:
        lines = self.idx
        if self.draw_p is not None:
            lines = self.rng.choice(lines, size=len(lines), p=self.draw_p)
        primes = np.array([self.rng.choice(self.partners[int(i)]) for i in lines], dtype=np.int64)
        lengths = self.data.lengths()
        size = (lengths[primes] + lengths[lines]).astype(np.float64)
        order = np.argsort(size * self.rng.uniform(0.9, 1.1, len(size)))
        pairs = np.stack([primes[order], lines[order]], 1)
        batches = [pairs[i:i + self.batch_size] for i in range(0, len(pairs), self.batch_size)]
        self.rng.shuffle(batches)
        return batches

    def make(self, pairs) -> PairBatch:
        pairs = np.asarray(pairs).reshape(-1, 2)
        stats = self.data.stats
        prime = collate([stats.normalise(self.data.line(i)) for i in pairs[:, 0]],
                        [self.encoded[int(i)] + self.separator for i in pairs[:, 0]])
        lengths = torch.from_numpy(self.data.lengths()[pairs[:, 0]].astype(np.int64))
        return PairBatch(prime, lengths, super().make(pairs[:, 1]))


@torch.no_grad()
def summed_nll(loss_fn, batches: "BucketBatches", groups, device, autocast=contextlib.nullcontext
                   ) -> tuple[float, int, float]:
    """The one validation loop (train.py, evaluate.py, and the notebook through evaluate): summed NLL
    in nats over the lines of `groups` (index arrays of `batches`), and how many lines and points.

    `loss_fn(batch) -> (mean, per-line NLL)` is model.loss or scribe.fast's loss.
    """
    total, lines, points = 0.0, 0, 0.0
    for idx in groups:
        with autocast():
            batch = batches.make(idx).to(device)
            _, per_line = loss_fn(batch)
        total += float(per_line.float().sum())
        lines += len(idx)
        points += float(batch.mask.sum())
    return total, lines, points
