"""The style bank: real lines that prime the network so it writes in their hand.

Layout (shared with other handwriting-synthesis tools): in one folder, for each style id N,
- `style-N-chars.npy`: a 0-d numpy bytes (or str) array holding the line's text;
- `style-N-strokes.npy`: float (T, 3) offsets (dx, dy, end_of_stroke), y pointing up.
Files from other tools use other units (one popular tool scales offsets so the median step is 1), so
every style is rescaled to the training data's ink height and resampled like the training data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ink
from .dataset import NormStats
from .files import atomic_write
from .sampling import Prime
from .errors import ScribeError

SHIPPED_STYLE_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "styles"
_NAME = re.compile(r"style-(\d+)-(chars|strokes)\.npy$")


class StyleError(ScribeError, ValueError):
    """A style id or style file that cannot be used; the message says which and why."""
    title = "Style problem"


@dataclass
class Style:
    style_id: int
    text: str
    offsets: np.ndarray   # (T, 3) as stored in the file

    def strokes(self) -> list[np.ndarray]:
        return ink.offsets_to_strokes(self.offsets)

    def prime(self, stats: NormStats) -> Prime:
        """This style in the model's space: scaled to the training ink height, resampled, normalised."""
        strokes = self.strokes()
        scale = stats.ink_height / ink.ink_height(strokes)
        offsets = ink.prepare_ink(strokes, stats.min_step, scale=scale)
        return Prime(stats.normalise(offsets), self.text)


def read_style(folder: Path, style_id: int) -> Style:
    chars_path = folder / f"style-{style_id}-chars.npy"
    strokes_path = folder / f"style-{style_id}-strokes.npy"
    try:
        chars = np.load(chars_path, allow_pickle=False)
        offsets = np.load(strokes_path, allow_pickle=False)
    except FileNotFoundError as e:
        raise StyleError(f"style {style_id}: missing file {e.filename}") from e
    except (ValueError, OSError) as e:
        raise StyleError(f"style {style_id}: unreadable file in {folder} ({e})") from e
    if chars.ndim != 0 or chars.dtype.kind not in "SU":
        raise StyleError(f"{chars_path.name}: expected a 0-d bytes array of text, got {chars.dtype} {chars.shape}")
    text = chars.item().decode("utf-8", "replace") if chars.dtype.kind == "S" else str(chars.item())
    if offsets.ndim != 2 or offsets.shape[1] != 3 or len(offsets) < 2 or offsets.dtype.kind not in "fiu":
        raise StyleError(f"{strokes_path.name}: expected a (T, 3) array of offsets, got {offsets.dtype} {offsets.shape}")
    if not np.isfinite(offsets).all():
        raise StyleError(f"{strokes_path.name}: holds NaN or infinite values")
    if not text.strip():
        raise StyleError(f"{chars_path.name}: the text is empty")
    return Style(style_id, text.strip(), offsets.astype(np.float32))


def write_style(folder: str | Path, style_id: int, text: str, offsets: np.ndarray) -> None:
    """Write one style in the shared layout, each file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in ((f"style-{style_id}-strokes.npy", np.asarray(offsets, np.float32)),
                      (f"style-{style_id}-chars.npy", np.array(text.encode("utf-8")))):
        atomic_write(folder / name, lambda f, arr=arr: np.save(f, arr, allow_pickle=False))


def style_ids(folder: str | Path) -> list[int]:
    found: dict[int, set[str]] = {}
    for p in Path(folder).glob("style-*-*.npy"):
        if m := _NAME.match(p.name):
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    return sorted(i for i, kinds in found.items() if kinds == {"chars", "strokes"})


class StyleBank:
    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else SHIPPED_STYLE_DIR
        if not self.folder.is_dir():
            raise StyleError(f"style folder {self.folder} does not exist")
        self.ids = style_ids(self.folder)
        self._cache: dict[int, Style] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, style_id: int) -> Style:
        given = style_id
        try:
            style_id = int(style_id)
        except (TypeError, ValueError):
            style_id = None
        if style_id not in self.ids:
            valid = f"{self.ids[0]}-{self.ids[-1]}" if self.ids == list(range(self.ids[0], self.ids[-1] + 1)) \
                else ", ".join(map(str, self.ids)) if self.ids else "none: the folder holds no styles"
            raise StyleError(f"no style {given!r} in {self.folder}; valid style ids: {valid}")
        if style_id not in self._cache:
            self._cache[style_id] = read_style(self.folder, style_id)
        return self._cache[style_id]

    def next_free_id(self) -> int:
        return max(self.ids, default=-1) + 1


class LayeredStyleBank:
    """Several style folders seen as one bank (the shipped bank plus a user's folder, say).

    An id found in more than one folder comes from the first; user styles are saved under ids above
    every bank's, so that never happens to them.
    """

    def __init__(self, banks: list[StyleBank]):
        if not banks:
            raise StyleError("no style folders given")
        self.banks = list(banks)
        self.folder = self.banks[-1].folder       # where new (user) styles go
        self.ids = sorted({i for b in self.banks for i in b.ids})

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, style_id: int) -> Style:
        for bank in self.banks:
            if style_id in bank.ids or (isinstance(style_id, str) and style_id.strip().isdigit()
                                        and int(style_id) in bank.ids):
                return bank.get(style_id)
        shown = ", ".join(map(str, self.ids)) if self.ids else "none"
        folders = ", ".join(str(b.folder) for b in self.banks)
        raise StyleError(f"no style {style_id!r} in {folders}; valid style ids: {shown}")

    def next_free_id(self) -> int:
        return max(self.ids, default=-1) + 1
