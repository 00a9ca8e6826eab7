"""Safe, self-describing checkpoints.

Two formats, one loader:
- training checkpoints `checkpoint-N.pt`: torch.save of plain tensors (model, optimizer) and a JSON
  metadata string, read back with torch.load(weights_only=True), which refuses pickled code;
- shipped models `*.safetensors`: half-precision weights and the same JSON metadata.
The metadata carries the model config, the alphabet and the normalisation statistics, so the sampler
needs nothing but the file.
"""
from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .alphabet import Alphabet
from .dataset import NormStats
from .files import atomic_write
from .model import ModelConfig, SynthesisNetwork
from .errors import ScribeError

FORMAT = "scribe-checkpoint"
VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
_STEP = re.compile(r"checkpoint-(\d+)\.pt$")


class CheckpointError(ScribeError, ValueError):
    """A checkpoint file is missing, unreadable, unsafe or not a Scribe checkpoint."""
    title = "Checkpoint problem"


@dataclass
class Checkpoint:
    config: ModelConfig
    alphabet: Alphabet
    stats: NormStats
    model_state: dict
    step: int = 0
    metrics: dict = field(default_factory=dict)        # valid_nll, train_loss, history, ...
    train_config: dict = field(default_factory=dict)
    optimizer_state: dict | None = None
    path: Path | None = None

    def meta(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "config": self.config.to_dict(),
                "alphabet": self.alphabet.chars, "stats": self.stats.to_dict(), "step": self.step,
                "metrics": self.metrics, "train_config": self.train_config}

    def build_model(self, device="cpu") -> SynthesisNetwork:
        model = SynthesisNetwork(self.config)
        state = {k: v.float() for k, v in self.model_state.items()}
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"{self.path}: weights do not match the config it carries ({e})") from e
        return model.to(device).eval()


def save_training_checkpoint(ckpt: Checkpoint, path: str | Path) -> None:
    blob = {"model": {k: v.detach().cpu() for k, v in ckpt.model_state.items()},
            "meta": json.dumps(ckpt.meta())}
    if ckpt.optimizer_state is not None:
        blob["optimizer"] = ckpt.optimizer_state
    atomic_write(Path(path), lambda f: torch.save(blob, f))


def save_shipped(ckpt: Checkpoint, path: str | Path, dtype=torch.float16) -> None:
    """Weights only, in half precision, as safetensors: small and safe to share."""
    from safetensors.torch import save
    tensors = {k: v.detach().cpu().to(dtype).contiguous() for k, v in ckpt.model_state.items()}
    data = save(tensors, metadata={"scribe": json.dumps(ckpt.meta())})
    atomic_write(Path(path), lambda f: f.write(data))


def _from_meta(meta: dict, model_state: dict, path: Path, optimizer_state=None) -> Checkpoint:
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Scribe checkpoint (no '{FORMAT}' metadata)")
    try:
        return Checkpoint(ModelConfig.from_dict(meta["config"]), Alphabet(meta["alphabet"]),
                          NormStats.from_dict(meta["stats"]), model_state, int(meta.get("step", 0)),
                          meta.get("metrics", {}), meta.get("train_config", {}), optimizer_state, path)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: metadata is incomplete or malformed ({e})") from e


def load_checkpoint(path: str | Path, with_optimizer: bool = False) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            from safetensors import safe_open
            with safe_open(str(path), "pt") as f:
                meta_text = (f.metadata() or {}).get("scribe")
            tensors = load_file(str(path))
            meta = json.loads(meta_text) if meta_text else {}
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from e
        return _from_meta(meta, tensors, path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"refusing to load {path}: it holds pickled Python objects that could run code, not just "
            f"tensors and plain data. Only load checkpoints you trust, and re-save them with Scribe.") from e
    except Exception as e:   # torch raises many kinds (RuntimeError, KeyError, EOFError...) on a bad file
        raise CheckpointError(f"{path} is corrupt or truncated ({type(e).__name__}: {e})") from e
    if not isinstance(blob, dict) or "model" not in blob or "meta" not in blob:
        raise CheckpointError(f"{path} is not a Scribe checkpoint (missing model or metadata)")
    try:
        meta = json.loads(blob["meta"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({e})") from e
    return _from_meta(meta, blob["model"], path, blob.get("optimizer") if with_optimizer else None)


def training_checkpoints(folder: str | Path) -> list[Path]:
    """checkpoint-N.pt files in `folder`, oldest step first."""
    folder = Path(folder)
    found = [(int(m.group(1)), p) for p in folder.glob("checkpoint-*.pt") if (m := _STEP.search(p.name))]
    return [p for _, p in sorted(found)]


def newest_readable(folder: str | Path, log=print, with_optimizer: bool = True
                    ) -> tuple[Path, Checkpoint] | None:
    """(path, checkpoint) of the newest checkpoint that loads; an unreadable newer one is reported
    and passed over."""
    for path in reversed(training_checkpoints(folder)):
        try:
            return path, load_checkpoint(path, with_optimizer=with_optimizer)
        except CheckpointError as e:
            log(f"Skipping unreadable checkpoint {path.name}: {e}")
    return None


def latest_readable(folder: str | Path, log=print, with_optimizer: bool = True) -> Checkpoint | None:
    """The newest checkpoint that loads (see newest_readable)."""
    found = newest_readable(folder, log, with_optimizer)
    return found[1] if found else None


def is_synthesis_model(path: str | Path) -> bool:
    """Whether a model file is a handwriting model, from a cheap look at its header.

    checkpoints/ also holds other models (the legibility recogniser). .safetensors files must carry
    Scribe's synthesis metadata; checkpoint-N.pt files pass by name. A file whose header cannot be
    read passes, so that choosing it reports why it cannot be loaded.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        return True
    try:
        from safetensors import safe_open
        with safe_open(str(path), "pt") as f:
            return "scribe" in (f.metadata() or {})
    except Exception:
        return True


def find_checkpoints(*folders: str | Path) -> list[Path]:
    """Every handwriting model (.safetensors, checkpoint-N.pt) in the given folders."""
    out = []
    for folder in folders:
        if folder and Path(folder).is_dir():
            found = sorted(Path(folder).glob("*.safetensors")) + list(reversed(training_checkpoints(folder)))
            out += [p for p in found if is_synthesis_model(p)]
    return out


def default_checkpoint() -> Path:
    """The shipped model, or a clear error if none has been trained yet."""
    found = [p for p in sorted(SHIPPED_DIR.glob("*.safetensors")) if is_synthesis_model(p)]
    if not found:
        raise CheckpointError(
            f"no checkpoint yet: {SHIPPED_DIR} holds no trained handwriting model. Train one with "
            f"`python train/train.py` or pass --checkpoint PATH.")
    return found[0]
