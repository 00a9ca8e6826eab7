"""Atomic file writes: a temp file in the target folder, fsync, then rename.

Readers (and a crash mid-write, and Drive's FUSE mount on Colab) never see half a file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes 0600 files; outputs should read like any other
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def sync_saved(path: str | Path) -> None:
    """Make a written file, and its folder entry, durable before going on: fsync both. On Google
    Drive's FUSE mount (Colab) this hands the file to Drive's client, which uploads it from there;
    without it a disconnect right after a save could lose the checkpoint the log just announced."""
    path = Path(path)
    for target, flags in ((path, os.O_RDONLY), (path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))):
        try:
            fd = os.open(target, flags)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:   # some file systems cannot fsync a folder; the file itself is synced
            pass
        finally:
            os.close(fd)


# ---- small tagged weight files (the recogniser, the writer scorer) ------------------------------------
def save_tagged(path: str | Path, state_dict: dict, tag: str, meta: dict, dtype=None) -> Path:
    """A module's weights as safetensors (cast to `dtype`, e.g. half precision) with `meta` as JSON
    under the metadata key `tag`, written atomically."""
    import json
    from safetensors.torch import save
    tensors = {k: (v.detach().cpu().to(dtype) if dtype is not None else v.detach().cpu()).contiguous()
               for k, v in state_dict.items()}
    data = save(tensors, metadata={tag: json.dumps(meta)})
    return atomic_write(Path(path), lambda f: f.write(data))


def load_tagged(path: str | Path, tag: str, kind: str = "") -> tuple[dict, dict]:
    """(tensors as float32, metadata dict) of a file saved by save_tagged with this `tag` (tensors and
    JSON only: no pickled code can run). ValueError with the reason, naming the file (not its folder),
    otherwise; `kind` ("a Scribe recogniser") words the one for a readable file of another kind."""
    return _read_tagged(path, tag, kind, with_tensors=True)


def read_tagged_meta(path: str | Path, tag: str, kind: str = "") -> dict:
    """load_tagged's metadata alone: the header is read, no tensor is."""
    return _read_tagged(path, tag, kind, with_tensors=False)[1]


def _read_tagged(path, tag: str, kind: str, with_tensors: bool) -> tuple[dict, dict]:
    import json
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta_text = (f.metadata() or {}).get(tag)
        tensors = load_file(str(path)) if with_tensors else {}
    except (SafetensorError, OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        for shown in {str(path.resolve()), str(path)}:          # a message never shows where the file is
            reason = reason.replace(shown, path.name)
        raise ValueError(f"{path.name} is not a readable safetensors file ({reason})") from None
    try:
        meta = json.loads(meta_text) if meta_text else {}
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{path.name}: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != tag:
        raise ValueError(f"{path.name} is not {kind} (no '{tag}' metadata)" if kind
                         else f"{path.name} has no '{tag}' metadata")
    return {k: v.float() for k, v in tensors.items()}, meta


def load_tagged_module(path: Path, tag: str, kind: str, build: Callable, wrap: Callable, error: type,
                       missing: str):
    """wrap(module, metadata) for a file saved by save_tagged: build(metadata) makes the module, which
    takes the file's weights and is put in eval mode. `error` for a file that is absent (with the message
    `missing`), unreadable, of another kind, or whose metadata and weights do not fit each other (naming
    the file, never its folder)."""
    if not path.is_file():
        raise error(missing)
    try:
        tensors, meta = load_tagged(path, tag, kind)
    except ValueError as e:
        raise error(str(e)) from None
    try:
        module = build(meta)
        module.load_state_dict(tensors)
        return wrap(module.eval(), meta)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise error(f"{path.name}: metadata or weights are malformed ({e})") from None


def loaded_or_reason(load: Callable, path, shipped: Path, errors, label: str, kind: str,
                     cache: dict | None = None, key: str | None = None) -> tuple:
    """(load(path), "") or (None, why it cannot be used: "the {label}'s file NAME is missing" or "... is
    corrupt or not a Scribe {kind}"), naming the file but never its folder (path None: the shipped file,
    `shipped`); `errors`, the exception type(s) `load` raises for a bad file. Kept in `cache` under `key`
    (default: the path), so a missing file is looked for once per cache."""
    key = str(path) if key is None else key
    if cache is not None and key in cache:
        return cache[key]
    try:
        found = (load(path), "")
    except errors:
        file = Path(path) if path else shipped
        why = "is missing" if not file.is_file() else f"is corrupt or not a Scribe {kind}"
        found = (None, f"the {label}'s file {file.name} {why}")
    if cache is not None:
        cache[key] = found
    return found
