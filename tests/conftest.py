"""Shared fixtures: tiny random models (fast) and the real IAM-OnDB data from ../shared (skips if absent)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from scribe.alphabet import Alphabet
from scribe.checkpoint import Checkpoint, save_training_checkpoint
from scribe.dataset import NormStats
from scribe.model import ModelConfig, SynthesisNetwork
from scribe.styles import write_style

ROOT = Path(__file__).resolve().parent.parent
IAM_DIR = Path(os.environ.get("SCRIBE_IAM_DIR", ROOT.parent / "shared" / "data" / "iam-ondb"))
TINY_ALPHABET = " !',-.?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _have_iam() -> bool:
    return (IAM_DIR / "lineStrokes-all.tar.gz").exists() and (IAM_DIR / "ascii-all.tar.gz").exists()


@pytest.fixture(scope="session")
def iam_dir() -> Path:
    if not _have_iam():
        pytest.skip(f"IAM-OnDB archives not found in {IAM_DIR} (set SCRIBE_IAM_DIR); CI always has them")
    return IAM_DIR


def synthetic_offsets(n_strokes: int = 6, points: int = 12, seed: int = 0) -> np.ndarray:
    """Loops moving right, like cursive, in whiteboard-ish units (y up), ending in a pen-up."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_strokes):
        t = np.linspace(0, 2 * np.pi, points)
        xs = 60 * s + 25 * np.cos(t) + rng.normal(0, 1, points) + 8 * t
        ys = 120 * np.sin(t) + rng.normal(0, 1, points)
        pts = np.column_stack([xs, ys])
        for i, p in enumerate(pts):
            rows.append((p, 1.0 if i == points - 1 else 0.0))
    pts = np.array([r[0] for r in rows])
    d = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    d[0] = 0
    return np.column_stack([d, [r[1] for r in rows]]).astype(np.float32)


def tiny_checkpoint(alphabet: Alphabet | None = None, seed: int = 0, rnn_size: int = 16) -> Checkpoint:
    torch.manual_seed(seed)
    alphabet = alphabet or Alphabet(TINY_ALPHABET)
    cfg = ModelConfig(alphabet.size, rnn_size, 3, 3, 4, 12.0)
    model = SynthesisNetwork(cfg)
    stats = NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)
    return Checkpoint(cfg, alphabet, stats, model.state_dict(), step=7, metrics={"valid_nll": -1.0})


@pytest.fixture()
def tiny_ckpt_path(tmp_path) -> Path:
    path = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(), path)
    return path


@pytest.fixture()
def tiny_style_dir(tmp_path) -> Path:
    folder = tmp_path / "styles"
    for i in range(3):
        write_style(folder, i, ["hello there", "quick fox", "a line of ink"][i], synthetic_offsets(seed=i))
    return folder
