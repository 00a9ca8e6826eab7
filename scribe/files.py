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
