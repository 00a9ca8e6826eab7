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
import math
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .alphabet import Alphabet
from .dataset import NormStats
from .files import atomic_write
from .model import ModelConfig, SynthesisNetwork
from .errors import ScribeError
from .shipped import SHIPPED_DIR

FORMAT = "scribe-checkpoint"
VERSION = 1
_STEP = re.compile(r"checkpoint-(\d+)\.pt$")
# Config fields and the ranges a real model sits in, far wider than anything trained here (400x3,
# K=10, M=20, about 12-25 steps per character). The metadata is checked against them before any
# tensor is made, so a doctored file cannot ask for gigabytes.
CONFIG_RANGES = {"alphabet_size": (2, 1000), "rnn_size": (1, 2048), "num_layers": (1, 8),
                 "window_gaussians": (1, 64), "mixtures": (1, 200), "steps_per_char": (0.5, 200.0)}
MAX_ALPHABET = CONFIG_RANGES["alphabet_size"][1] - 1


class CheckpointError(ScribeError, ValueError):
    """A checkpoint file is missing, unreadable, unsafe or not a Scribe checkpoint."""
    title = "Checkpoint problem"


class CheckpointMetadataError(CheckpointError):
    """The checkpoint's metadata or weights are malformed, out of range or not finite."""


class NoReadableCheckpointError(CheckpointError):
    """A run folder holds checkpoints, and none of them loads: resuming would silently start over."""


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
            raise CheckpointError(f"{_name(self.path)}: weights do not match the config it carries") from None
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


def _name(path) -> str:
    """How messages name a file: by its name, never the server folder it sits in."""
    return Path(path).name if path else "the checkpoint"


def _number(value, what: str, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckpointMetadataError(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise CheckpointMetadataError(f"{what} {value!r} is outside {lo:g}-{hi:g}")
    if integer and value != int(value):
        raise CheckpointMetadataError(f"{what} {value!r} is not a whole number")
    return int(value) if integer else float(value)


def check_meta(meta) -> tuple[ModelConfig, Alphabet, NormStats]:
    """The config, alphabet and statistics of a checkpoint's metadata, every field checked for type and
    range (see CONFIG_RANGES). Raises CheckpointMetadataError naming the first bad field."""
    if not isinstance(meta, dict):
        raise CheckpointMetadataError(f"the metadata is a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not a Scribe checkpoint (no '{FORMAT}' metadata)")
    for key in ("config", "stats"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointMetadataError(f"the metadata's {key!r} is missing or not an object")
    chars = meta.get("alphabet")
    if not isinstance(chars, str) or not 1 <= len(chars) <= MAX_ALPHABET:
        raise CheckpointMetadataError(f"the metadata's alphabet must be a string of 1-{MAX_ALPHABET} characters")
    try:
        alphabet = Alphabet(chars)
    except ValueError as e:
        raise CheckpointMetadataError(f"the metadata's alphabet is unusable ({e})") from None
    raw = meta["config"]
    values = {}
    for key, (lo, hi) in CONFIG_RANGES.items():
        if key not in raw:
            raise CheckpointMetadataError(f"the config has no {key!r}")
        values[key] = _number(raw[key], f"config {key}", lo, hi, integer=key != "steps_per_char")
    if values["alphabet_size"] != alphabet.size:
        raise CheckpointMetadataError(f"config alphabet_size {values['alphabet_size']} does not match the "
                                      f"{len(alphabet)}-character alphabet")
    st = meta["stats"]
    pairs = {}
    for key in ("mean", "std"):
        v = st.get(key)
        if not isinstance(v, list) or len(v) != 2:
            raise CheckpointMetadataError(f"stats {key} must be a list of two numbers")
        pairs[key] = tuple(_number(x, f"stats {key}", -1e6 if key == "mean" else 1e-6, 1e6) for x in v)
    stats = NormStats(pairs["mean"], pairs["std"], _number(st.get("ink_height"), "stats ink_height", 1e-3, 1e6),
                      _number(st.get("min_step"), "stats min_step", 0.0, 1e6))
    _number(meta.get("step", 0), "step", 0, 1e12, integer=True)
    for key in ("metrics", "train_config"):
        if not isinstance(meta.get(key, {}), dict):
            raise CheckpointMetadataError(f"the metadata's {key!r} is not an object")
    return ModelConfig(**values), alphabet, stats


def check_weights(config: ModelConfig, model_state) -> None:
    """Every tensor the config needs, of the shape it needs, finite; and nothing else. The expected
    shapes come from a model on the meta device, which allocates nothing."""
    if not isinstance(model_state, dict):
        raise CheckpointMetadataError("the weights are not a table of tensors")
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in SynthesisNetwork(config).state_dict().items()}
    missing, extra = sorted(set(expected) - set(model_state)), sorted(set(model_state) - set(expected))
    if missing or extra:
        raise CheckpointMetadataError(f"the weights do not match the config it carries (missing "
                                      f"{missing[:3] or 'none'}, unexpected {extra[:3] or 'none'})")
    for k, shape in expected.items():
        v = model_state[k]
        if not isinstance(v, torch.Tensor) or not v.is_floating_point():
            raise CheckpointMetadataError(f"weight {k} is not a floating-point tensor")
        if tuple(v.shape) != shape:
            raise CheckpointMetadataError(f"weight {k} has shape {tuple(v.shape)}; the config needs {shape}")
        if not bool(torch.isfinite(v).all()):
            raise CheckpointMetadataError(f"weight {k} holds NaN or infinite values: the model diverged or "
                                          f"the file is damaged")


def _from_meta(meta, model_state: dict, path: Path, optimizer_state=None) -> Checkpoint:
    try:
        config, alphabet, stats = check_meta(meta)
        check_weights(config, model_state)
    except CheckpointError as e:
        raise type(e)(f"{_name(path)}: {e}") from None
    return Checkpoint(config, alphabet, stats, model_state, int(meta.get("step", 0)), meta.get("metrics", {}),
                      meta.get("train_config", {}), optimizer_state, path)


def _first_line(e: Exception, limit: int = 160) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text[:limit]}" if text else type(e).__name__


def load_checkpoint(path: str | Path, with_optimizer: bool = False) -> Checkpoint:
    if "\x00" in str(path):
        raise CheckpointError("a checkpoint name cannot hold a NUL character")
    path = Path(path)
    name = _name(path)
    if not path.is_file():
        # A path the user typed (relative) is theirs to see; an absolute one names a server folder.
        shown = str(path) if not path.is_absolute() and len(str(path)) <= 120 else name[-80:]
        raise CheckpointError(f"no checkpoint file at {shown}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            from safetensors import safe_open
            with safe_open(str(path), "pt") as f:
                meta_text = (f.metadata() or {}).get("scribe")
            tensors = load_file(str(path))
            meta = json.loads(meta_text) if meta_text else {}
        except (SafetensorError, OSError, ValueError, RecursionError) as e:
            raise CheckpointError(f"{name} is not a readable safetensors file ({_first_line(e)})") from None
        return _from_meta(meta, tensors, path)
    try:
        with warnings.catch_warnings():   # torch warns about a foreign pickle's protocol before refusing it
            warnings.simplefilter("ignore", UserWarning)
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # The safe unpickler names a refused global; anything else it trips on is damage.
        if "Unsupported global" not in str(e) and "GLOBAL" not in str(e):
            raise CheckpointError(f"{name} is corrupt or truncated (not a checkpoint torch can read)") from None
        raise CheckpointError(
            f"refusing to load {name}: it holds pickled Python objects that could run code, not just "
            f"tensors and plain data. Only load checkpoints you trust, and re-save them with Scribe.") from None
    except Exception as e:   # torch raises many kinds (RuntimeError, KeyError, EOFError...) on a bad file
        raise CheckpointError(f"{name} is corrupt or truncated ({_first_line(e)})") from None
    if not isinstance(blob, dict) or "model" not in blob or "meta" not in blob:
        raise CheckpointError(f"{name} is not a Scribe checkpoint (missing model or metadata)")
    try:
        meta = json.loads(blob["meta"])
    except (TypeError, ValueError, RecursionError) as e:
        raise CheckpointMetadataError(f"{name}: metadata is not valid JSON ({_first_line(e)})") from None
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


def remove_partial_saves(folder: str | Path, log=print) -> list[Path]:
    """Delete the temp files of checkpoint saves that a crash interrupted (atomic_write's
    `.checkpoint-N.pt.*.tmp`); the checkpoint itself was never replaced, so nothing is lost."""
    folder = Path(folder)
    gone = sorted(folder.glob(".checkpoint-*.pt.*.tmp")) if folder.is_dir() else []
    for tmp in gone:
        tmp.unlink(missing_ok=True)
    if gone:
        log(f"Removed {len(gone)} unfinished checkpoint save(s) left by an interrupted run")
    return gone


def resume_point(folder: str | Path, log=print, set_aside: bool = True) -> tuple[Path, Checkpoint] | None:
    """Where a training run picks up: the newest checkpoint that loads, or None for a folder with no
    checkpoints at all.

    Checkpoints newer than that one are unreadable; with `set_aside` each is renamed to
    `checkpoint-N.pt.corrupt` (kept for inspection, said in the log), so that training never overwrites
    it in silence and keep-N rotation never counts it. A folder whose checkpoints are all unreadable
    raises NoReadableCheckpointError instead of starting the run again from step 0.
    """
    found = training_checkpoints(folder)
    newest = newest_readable(folder, log)
    if newest is None:
        if found:
            raise NoReadableCheckpointError(
                f"{folder}: none of its {len(found)} checkpoint(s) ({found[0].name} .. {found[-1].name}) can be "
                f"read, so the run cannot resume. Not starting again from step 0 on top of them: move them "
                f"out of the folder to start a new run there, or pass another --out_dir.")
        return None
    if set_aside:
        for bad in found[found.index(newest[0]) + 1:]:
            target = bad.with_name(bad.name + ".corrupt")
            bad.replace(target)
            log(f"Set aside unreadable {bad.name} as {target.name}")
    return newest


def rotate_checkpoints(folder: str | Path, keep: int, newest: str | Path) -> list[Path]:
    """Delete all but the `keep` newest checkpoints up to `newest` (the one just saved), which is always
    kept; checkpoints with a higher step than `newest` are not touched. Returns the deleted files."""
    newest = Path(newest)
    m = _STEP.search(newest.name)
    limit = int(m.group(1)) if m else -1
    upto = [p for p in training_checkpoints(folder) if int(_STEP.search(p.name).group(1)) <= limit]
    doomed = [p for p in upto[:-max(1, int(keep))] if p.name != newest.name]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


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
            f"no checkpoint yet: {SHIPPED_DIR.name}/ holds no trained handwriting model. Train one with "
            f"`python train/train.py` or pass --checkpoint PATH.")
    return found[0]
