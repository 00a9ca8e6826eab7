"""Writer identification: whose hand is this line in? The style-fidelity measure of the quality report.

The field measures "in this writer's hand" with a writer classifier: its accuracy on generated lines,
beside its accuracy on real held-out lines of the same writers (the ceiling). Scribe's scorer is a
small network that maps a line of ink to an embedding (a unit vector); it is trained to tell apart the
writers of the training splits only, so the writers it is asked about (the style bank's, from
testset_v) are writers it has never seen. A line is identified as the writer whose reference lines'
mean embedding is nearest (cosine): with 13 writers, chance is 1/13.

Input: a line of offsets (T, 3), y up, in any units (each line is scaled by its own ink height), turned
into the recogniser's "arc" features: the pen path resampled at equal steps, so that how fast a writer
moved does not count, only the shape of the ink (slant, width, size of loops, joins, heights).

Weights ship as half-precision safetensors with JSON metadata (config, metrics), loaded the safe way:
no pickled code can run.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ScribeError
from .files import load_tagged_module, save_tagged
from .shipped import SHIPPED_DIR
from .recognizer import FEATURE_SIZES, batch_features

FORMAT = "scribe-writer-id"
VERSION = 1
SHIPPED_WRITER_ID = SHIPPED_DIR / "writer_id.safetensors"


class WriterIdError(ScribeError, ValueError):
    """A writer-identification file that is missing, unreadable or not Scribe's."""
    title = "Writer-identification problem"


@dataclass
class WriterIdConfig:
    features: str = "arc"
    conv_channels: int = 64
    hidden: int = 96
    embed: int = 64
    stride: int = 4              # input points per frame (arc features: about 15 points a character)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "WriterIdConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class WriterIdNet(nn.Module):
    """Convolutions over the pen features, a bidirectional GRU, then the mean and spread of its outputs
    over the line: a fixed-size summary of the whole hand, projected to a unit vector."""

    def __init__(self, config: WriterIdConfig):
        super().__init__()
        self.config = config
        c, h = config.conv_channels, config.hidden
        self.conv = nn.Sequential(
            nn.Conv1d(FEATURE_SIZES[config.features], c, 5, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, stride=config.stride, padding=2), nn.GELU())
        self.rnn = nn.GRU(c, h, batch_first=True, bidirectional=True)
        self.project = nn.Linear(4 * h, config.embed)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.conv(feats.transpose(1, 2)).transpose(1, 2)                # (B, T', C)
        frames = torch.clamp((lengths + self.config.stride - 1) // self.config.stride, 1, x.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(x, frames.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        mask = (torch.arange(x.shape[1]).unsqueeze(0) < frames.unsqueeze(1)).unsqueeze(2).float()
        n = mask.sum(1)
        mean = (out * mask).sum(1) / n
        spread = (((out - mean.unsqueeze(1)) ** 2 * mask).sum(1) / n).clamp_min(1e-6).sqrt()
        return F.normalize(self.project(torch.cat([mean, spread], 1)), dim=1)


@dataclass
class WriterId:
    net: WriterIdNet
    metrics: dict = field(default_factory=dict)     # what it was trained on and its real-data accuracy
    path: Path | None = None

    @classmethod
    def new(cls, **config) -> "WriterId":
        return cls(WriterIdNet(WriterIdConfig(**config)))

    def meta(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "config": self.net.config.to_dict(), "metrics": self.metrics}

    @torch.no_grad()
    def embed(self, lines: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """(N, embed) unit vectors for lines of offsets; lines of similar length are batched together."""
        self.net.eval()
        out = np.zeros((len(lines), self.net.config.embed), dtype=np.float32)
        order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            feats, lengths = batch_features([lines[i] for i in idx], self.net.config.features)
            out[idx] = self.net(feats, lengths).numpy()
        return out

    def save(self, path: str | Path, dtype=torch.float16) -> Path:
        return save_tagged(path, self.net.state_dict(), FORMAT, self.meta(), dtype)


def load_writer_id(path: str | Path | None = None) -> WriterId:
    """Load a scorer saved by WriterId.save (safetensors: tensors and JSON, never code)."""
    path = Path(path) if path else SHIPPED_WRITER_ID
    return load_tagged_module(
        path, FORMAT, "a Scribe writer-identification file",
        lambda m: WriterIdNet(WriterIdConfig.from_dict(m["config"])),
        lambda net, m: WriterId(net, m.get("metrics", {}), path), WriterIdError,
        f"no writer-identification file at {path}. Train one with `python train/train_writer_id.py` "
        f"(needs data/iam_ondb.npz and the IAM-OnDB archives).")


# ---- identification ----------------------------------------------------------------------------------
def centroids(embeddings: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Each writer's reference embeddings ({writer: (n, E)}) as one unit vector: (writers, (W, E))."""
    names = sorted(embeddings)
    means = np.stack([embeddings[w].mean(0) for w in names])
    return names, means / np.linalg.norm(means, axis=1, keepdims=True).clip(1e-9)


def identify(queries: np.ndarray, names: list[str], refs: np.ndarray) -> list[str]:
    """The nearest writer (cosine to the reference centroids) of each query embedding."""
    if not len(queries):
        return []
    return [names[i] for i in np.argmax(queries @ refs.T, axis=1)]


def distance_ratio(queries: np.ndarray, own: np.ndarray, own_real: np.ndarray) -> float:
    """How far `queries` sit from their writer's centroid `own`, in units of the writer's own real
    held-out lines' distance (1.0: as close as the writer's other real lines)."""
    d = 1.0 - queries @ own
    d_real = 1.0 - own_real @ own
    return float(d.mean() / max(float(d_real.mean()), 1e-9))


@dataclass
class Identification:
    """Lines identified among a set of writers: the rate found as their own writer, per writer, and how
    the lines spread over the writers (a model that falls back to one average hand piles them up)."""
    rate: float
    per_writer: dict[str, float]
    share: dict[str, float]          # the fraction of all lines identified as each writer
    lines: int

    @property
    def max_share_over_fair(self) -> float:
        """The most-chosen writer's share over a fair share (1.0: an even spread)."""
        return max(self.share.values()) * len(self.share) if self.share else 0.0

    def to_dict(self) -> dict:
        return {"rate": round(self.rate, 4), "lines": self.lines,
                "max_share_over_fair": round(self.max_share_over_fair, 3),
                "per_writer": {k: round(v, 3) for k, v in self.per_writer.items()},
                "share": {k: round(v, 3) for k, v in self.share.items()}}


def identification(found: list[str], truth: list[str | None], names: list[str]) -> Identification:
    """Score identified writers `found` against `truth` (None: an unprimed line, scored for spread only)."""
    share = {w: sum(f == w for f in found) / max(len(found), 1) for w in names}
    scored = [(f, t) for f, t in zip(found, truth) if t is not None]
    per = {}
    for w in names:
        mine = [f == t for f, t in scored if t == w]
        if mine:
            per[w] = float(np.mean(mine))
    rate = float(np.mean([f == t for f, t in scored])) if scored else 0.0
    return Identification(rate, per, share, len(found))
