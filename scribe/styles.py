"""The style bank: real lines that prime the network so it writes in their hand.

Layout (shared with other handwriting-synthesis tools): in one folder, for each style id N,
- `style-N-chars.npy`: a 0-d numpy bytes (or str) array holding the line's text;
- `style-N-strokes.npy`: float (T, 3) offsets (dx, dy, end_of_stroke), y pointing up;
optionally `style-N-extra-K-chars.npy` / `style-N-extra-K-strokes.npy` (K = 1, 2, ...): more lines of
the same writer (Scribe primes with every line of a style and averages the states; other tools see the
first line only); and optionally `bank.json`, Scribe's index of the bank ({"N": {"description": ..., "writer": ...,
"line": ...}}, written by train/build_styles.py): a short description of each hand, shown beside it.
Files from other tools use other units (one popular tool scales offsets so the median step is 1), so
every style is rescaled to the training data's ink height and resampled like the training data.

A `MemoryStyleBank` holds styles in memory only (one app visitor's own, say); `pack_styles` and
`unpack_styles` carry styles as a zip of the same two files per style, so they can be downloaded and
uploaded again. Uploaded style files are untrusted: `unpack_styles` bounds their number and size and
checks every array before it is used.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from . import ink
from .dataset import NormStats
from .files import atomic_write
from .sampling import Prime
from .errors import ScribeError
from .shipped import SHIPPED_DIR

SHIPPED_STYLE_DIR = SHIPPED_DIR / "styles"
_NAME = re.compile(r"style-(\d+)-(chars|strokes)\.npy$")
MAX_STYLE_POINTS = 5000            # offsets per style from a file (IAM-OnDB lines have at most 741)
MAX_STYLE_TEXT = 200               # characters of a style's text
MAX_STYLE_FILE_BYTES = 256 * 1024  # one .npy file: 5000 float32 rows are 60 kB
MAX_PACKED_STYLES = 100            # styles in one uploaded zip (or set of files)
MAX_BANK_FILE_BYTES = 16 * 1024 * 1024   # one .npy file in a style folder on disk (other tools' lines too)


class StyleError(ScribeError, ValueError):
    """A style id or style file that cannot be used; the message says which and why."""
    title = "Style problem"


@dataclass
class Style:
    style_id: int
    text: str
    offsets: np.ndarray   # (T, 3) as stored in the file
    description: str = ""  # the hand in a few words ("upright, narrow, joined"), from the bank's index
    more: list = field(default_factory=list)    # more lines of the writer: [(text, offsets)], same layout
    # the bank's adapters file (scribe.style_adapters), whose entry for this id fits the model to the
    # writer; None: the style is priming alone
    adapter_file: Path | None = None

    def lines(self) -> list[tuple[str, np.ndarray]]:
        """Every line of the style: its own, then the writer's other lines."""
        return [(self.text, self.offsets)] + list(self.more)

    def strokes(self) -> list[np.ndarray]:
        return ink.offsets_to_strokes(self.offsets)

    def prime(self, stats: NormStats) -> Prime:
        """This style's own line in the model's space: scaled to the training ink height, resampled,
        normalised."""
        return _prime_of(self.text, self.offsets, stats)

    def primes(self, stats: NormStats) -> list[Prime]:
        """Every line of the style in the model's space (Sampler.style_state averages their states)."""
        return [_prime_of(text, offsets, stats) for text, offsets in self.lines()]


def _prime_of(text: str, offsets: np.ndarray, stats: NormStats) -> Prime:
    strokes = ink.offsets_to_strokes(offsets)
    scale = stats.ink_height / ink.ink_height(strokes)
    return Prime(stats.normalise(ink.prepare_ink(strokes, stats.min_step, scale=scale)), text)


def _shown_id(value) -> str:
    """A style id as a message shows it: 12 as 12, anything else quoted and cut short."""
    return str(value) if isinstance(value, int) else repr(str(value)[:40])


MAX_EXTRA_LINES = 8      # more lines of a style's writer read from a folder
ADAPTER_FILE = "adapters.safetensors"   # the bank's style adapters (scribe.style_adapters)


def read_style(folder: Path, style_id: int) -> Style:
    style = _read_line(folder, style_id, f"style-{style_id}")
    for k in range(1, MAX_EXTRA_LINES + 1):
        stem = f"style-{style_id}-extra-{k}"
        if not (folder / f"{stem}-chars.npy").exists():
            break
        extra = _read_line(folder, style_id, stem)
        style.more.append((extra.text, extra.offsets))
    return style


def _read_line(folder: Path, style_id: int, stem: str) -> Style:
    chars_path = folder / f"{stem}-chars.npy"
    strokes_path = folder / f"{stem}-strokes.npy"
    arrays = []
    for path in (chars_path, strokes_path):
        try:
            if path.stat().st_size > MAX_BANK_FILE_BYTES:
                raise StyleError(f"style {style_id}: {path.name} in {folder.name}/ is over the "
                                 f"{MAX_BANK_FILE_BYTES // 2**20} MB limit for a style file")
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise StyleError(f"style {style_id}: missing file {path.name} in {folder.name}/") from e
        except OSError as e:
            raise StyleError(f"style {style_id}: unreadable file in {folder.name}/ ({e})") from e
        try:
            arrays.append(_load_npy(data, path.name))   # the header first: no allocation it claims
        except StyleError as e:
            raise StyleError(f"style {style_id}: unreadable file in {folder.name}/ ({e})") from None
    chars, offsets = arrays
    return checked_style(style_id, chars, offsets, chars_path.name, strokes_path.name)


def checked_style(style_id: int, chars: np.ndarray, offsets: np.ndarray, chars_name: str = "chars",
                  strokes_name: str = "strokes", max_points: int | None = None) -> Style:
    """A Style from the two arrays of its files, or a StyleError naming the file that is wrong."""
    if chars.ndim != 0 or chars.dtype.kind not in "SU":
        raise StyleError(f"{chars_name}: expected a 0-d bytes array of text, got {chars.dtype} {chars.shape}")
    text = chars.item().decode("utf-8", "replace") if chars.dtype.kind == "S" else str(chars.item())
    if offsets.ndim != 2 or offsets.shape[1] != 3 or len(offsets) < 2 or offsets.dtype.kind not in "fiu":
        raise StyleError(f"{strokes_name}: expected a (T, 3) array of offsets, got {offsets.dtype} {offsets.shape}")
    if max_points is not None and len(offsets) > max_points:
        raise StyleError(f"{strokes_name}: {len(offsets)} offsets; a style holds at most {max_points}")
    if not np.isfinite(offsets).all():
        raise StyleError(f"{strokes_name}: holds NaN or infinite values")
    if not np.ptp(np.cumsum(offsets[:, :2], axis=0, dtype=np.float64), axis=0).any():
        raise StyleError(f"{strokes_name}: the pen never moves (every offset is zero), so there is no hand to copy")
    if not text.strip():
        raise StyleError(f"{chars_name}: the text is empty")
    return Style(style_id, text.strip(), offsets.astype(np.float32))


def write_style(folder: str | Path, style_id: int, text: str, offsets: np.ndarray, more=()) -> None:
    """Write one style in the shared layout, each file atomically; `more`: the writer's other lines,
    [(text, offsets)], as style-N-extra-K files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stems = [(f"style-{style_id}", text, offsets)] + [(f"style-{style_id}-extra-{k}", t, o)
                                                       for k, (t, o) in enumerate(more, start=1)]
    for stem, t, o in stems:
        for name, arr in ((f"{stem}-strokes.npy", np.asarray(o, np.float32)),
                          (f"{stem}-chars.npy", np.array(t.encode("utf-8")))):
            atomic_write(folder / name, lambda f, arr=arr: np.save(f, arr, allow_pickle=False))


def style_ids(folder: str | Path) -> list[int]:
    found: dict[int, set[str]] = {}
    for p in Path(folder).glob("style-*-*.npy"):
        if m := _NAME.match(p.name):
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    return sorted(i for i, kinds in found.items() if kinds == {"chars", "strokes"})


BANK_INDEX = "bank.json"
MAX_INDEX_BYTES = 256 * 1024


def read_bank_index(folder: Path) -> dict[str, dict]:
    """The bank's index ({style id: {"description": str, ...}}), or {} when there is none or it is not
    one (a folder of another tool's styles, a damaged file): the styles work without it."""
    path = folder / BANK_INDEX
    try:
        if not path.is_file() or path.stat().st_size > MAX_INDEX_BYTES:
            return {}
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): {**v, "description": v["description"][:80] if isinstance(v.get("description"), str) else ""}
            for k, v in raw.items() if isinstance(v, dict)}


class StyleSource(Protocol):
    """What every style bank offers (StyleBank: a folder; MemoryStyleBank: one visitor's, in memory;
    LayeredStyleBank: several seen as one). Code that holds a bank uses only this, never its class."""
    ids: list[int]
    folder: Path | None          # where the bank's styles are files (None: in memory)
    name: str                    # how a message names the bank

    @property
    def banks(self) -> list["StyleSource"]:
        """The single banks this one is made of, first first (a single bank: itself)."""

    def __len__(self) -> int: ...

    def get(self, style_id) -> Style:
        """The style, or StyleError naming the valid ids."""

    def next_free_id(self) -> int: ...


class StyleBank:
    """The styles in one folder (style-N-chars.npy and style-N-strokes.npy pairs, and bank.json)."""

    def __init__(self, folder: str | Path | None = None, adapters: bool = True):
        """adapters: give each style the folder's adapters file (ADAPTER_FILE), if there is one; False
        writes the same styles by priming alone (to measure what the adapters do)."""
        self.folder = Path(folder) if folder else SHIPPED_STYLE_DIR
        if not self.folder.is_dir():
            raise StyleError(f"style folder {self.folder} does not exist")
        self.ids = style_ids(self.folder)
        self._cache: dict[int, Style] = {}
        self.index = read_bank_index(self.folder)
        self.name = f"{self.folder.name}/"
        found = self.folder / ADAPTER_FILE
        self.adapter_file = found if adapters and found.is_file() else None

    @property
    def banks(self) -> list["StyleBank"]:
        return [self]

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, style_id: int) -> Style:
        given = style_id
        try:
            style_id = int(style_id)
        except (TypeError, ValueError):
            style_id = None
        if style_id not in self.ids:
            ids = self.ids
            valid = ("none: the folder holds no styles" if not ids else f"{ids[0]}-{ids[-1]}"
                     if ids == list(range(ids[0], ids[-1] + 1)) else ", ".join(map(str, ids)))
            raise StyleError(f"no style {_shown_id(given)} in {self.folder.name}/; valid style ids: {valid}")
        if style_id not in self._cache:
            style = read_style(self.folder, style_id)
            style.description = self.index.get(str(style_id), {}).get("description", "")
            style.adapter_file = self.adapter_file
            self._cache[style_id] = style
        return self._cache[style_id]

    def next_free_id(self) -> int:
        return max(self.ids, default=-1) + 1


class MemoryStyleBank:
    """Styles held in memory only, under ids from `first_id` up (one app visitor's own styles, kept in
    their session and never written to the server's disk). Same reading interface as StyleBank."""

    folder = None
    name = "your own styles"

    def __init__(self, first_id: int = 0):
        self.first_id = first_id
        self._styles: dict[int, Style] = {}

    @property
    def banks(self) -> list["MemoryStyleBank"]:
        return [self]

    @property
    def ids(self) -> list[int]:
        return sorted(self._styles)

    def __len__(self) -> int:
        return len(self._styles)

    def get(self, style_id) -> Style:
        try:
            return self._styles[int(style_id)]
        except (KeyError, TypeError, ValueError, OverflowError):
            raise StyleError(f"no style {_shown_id(style_id)} among {self.name}; yours: "
                             f"{', '.join(map(str, self.ids)) or 'none yet'}") from None

    def find(self, text: str, offsets: np.ndarray) -> int | None:
        """The id of a style with exactly this text and ink, if there is one."""
        offsets = np.asarray(offsets, np.float32)
        for i, st in self._styles.items():
            if st.text == text and st.offsets.shape == offsets.shape and np.array_equal(st.offsets, offsets):
                return i
        return None

    def add(self, text: str, offsets: np.ndarray, avoid_ids=()) -> int:
        """Keep a style under the next id above every style here, `first_id` and `avoid_ids`; the same
        text and ink again keeps the id it already has."""
        offsets = np.asarray(offsets, np.float32)
        same = self.find(text, offsets)
        if same is not None:
            return same
        style_id = max([self.first_id - 1, *self._styles, *avoid_ids]) + 1
        self._styles[style_id] = Style(style_id, text, offsets.copy())
        return style_id

    def styles(self) -> list[Style]:
        return [self._styles[i] for i in self.ids]

    def next_free_id(self) -> int:
        return max([self.first_id - 1, *self._styles]) + 1

    def drop_oldest(self) -> int | None:
        """Forget the style kept first (to make room on a full server); returns its id."""
        if not self._styles:
            return None
        oldest = next(iter(self._styles))
        del self._styles[oldest]
        return oldest


class LayeredStyleBank:
    """Several style folders seen as one bank (the shipped bank plus a user's folder, say).

    An id found in more than one folder comes from the first; user styles are saved under ids above
    every bank's, so that never happens to them.
    """

    def __init__(self, banks: list[StyleSource]):
        if not banks:
            raise StyleError("no style folders given")
        self._banks = [single for bank in banks for single in bank.banks]     # layers of layers: flat
        self.name = ", ".join(b.name for b in self._banks)
        self.folder = self._banks[-1].folder       # where new (user) styles go
        self.ids = sorted({i for b in self._banks for i in b.ids})

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, style_id: int) -> Style:
        for bank in self._banks:
            if style_id in bank.ids or (isinstance(style_id, str) and style_id.strip().isdigit()
                                        and int(style_id) in bank.ids):
                return bank.get(style_id)
        shown = ", ".join(map(str, self.ids)) if self.ids else "none"
        raise StyleError(f"no style {_shown_id(style_id)} in {self.name}; valid style ids: {shown}")

    @property
    def banks(self) -> list[StyleSource]:
        return list(self._banks)

    def next_free_id(self) -> int:
        return max(self.ids, default=-1) + 1


# ---- styles as files to download and upload again ---------------------------------------------------
def style_file_bytes(style_id: int, text: str, offsets: np.ndarray) -> dict[str, bytes]:
    """The two files of one style, as bytes: {"style-N-chars.npy": ..., "style-N-strokes.npy": ...}."""
    out = {}
    for name, arr in ((f"style-{style_id}-chars.npy", np.array(text.encode("utf-8"))),
                      (f"style-{style_id}-strokes.npy", np.asarray(offsets, np.float32))):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        out[name] = buf.getvalue()
    return out


def pack_styles(styles: list[Style]) -> bytes:
    """A zip of every style's two files (the bank layout): download it, upload it again later."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for st in styles:
            for name, data in style_file_bytes(st.style_id, st.text, st.offsets).items():
                z.writestr(name, data)
    return buf.getvalue()


def _load_npy(data: bytes, name: str) -> np.ndarray:
    """One untrusted .npy file: its header is read first, so that a header claiming more data than the
    file holds is refused before numpy allocates the array it describes."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fp)
        if dtype.hasobject or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > len(data):
            raise ValueError("the header does not match the data")
        fp.seek(0)
        return np.load(fp, allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError, OverflowError) as e:
        raise StyleError(f"{name}: not a readable numpy array ({str(e)[:80]})") from None


def unpack_styles(files: list[tuple[str, bytes]]) -> list[Style]:
    """Styles from uploaded files: style-N-chars.npy / style-N-strokes.npy pairs, or zips of them (as
    `pack_styles` writes). Everything is untrusted: at most MAX_PACKED_STYLES styles, MAX_STYLE_FILE_BYTES
    a file (checked before a zip member is inflated), arrays read without pickles and checked like a
    bank's. Raises StyleError naming the file that is wrong."""
    found: dict[int, dict[str, bytes]] = {}

    def take(name: str, data: bytes) -> None:
        m = _NAME.search(Path(name).name)
        if not m:
            raise StyleError(f"{Path(name).name[:60]}: not a style file (style-N-chars.npy or style-N-strokes.npy)")
        if len(data) > MAX_STYLE_FILE_BYTES:
            raise StyleError(f"{Path(name).name}: over the {MAX_STYLE_FILE_BYTES} byte limit for a style file")
        found.setdefault(int(m.group(1)), {})[m.group(2)] = data
        if len(found) > MAX_PACKED_STYLES:
            raise StyleError(f"more than {MAX_PACKED_STYLES} styles in one upload")

    for name, data in files:
        if zipfile.is_zipfile(io.BytesIO(data)):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    members = [i for i in z.infolist() if not i.is_dir()]
                    if len(members) > 2 * MAX_PACKED_STYLES:
                        raise StyleError(f"{Path(name).name}: more than {2 * MAX_PACKED_STYLES} files in the zip")
                    for info in members:
                        if info.file_size > MAX_STYLE_FILE_BYTES:   # before inflating it
                            raise StyleError(f"{Path(info.filename).name}: over the {MAX_STYLE_FILE_BYTES} byte "
                                             f"limit for a style file")
                        take(info.filename, z.read(info))
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
                raise StyleError(f"{Path(name).name}: not a readable zip ({type(e).__name__})") from None
        else:
            take(name, data)
    styles = []
    for sid in sorted(found):
        parts = found[sid]
        for kind in ("chars", "strokes"):
            if kind not in parts:
                raise StyleError(f"style {sid}: style-{sid}-{kind}.npy is missing (a style is two files)")
        chars = _load_npy(parts["chars"], f"style-{sid}-chars.npy")
        offsets = _load_npy(parts["strokes"], f"style-{sid}-strokes.npy")
        style = checked_style(sid, chars, offsets, f"style-{sid}-chars.npy", f"style-{sid}-strokes.npy",
                              max_points=MAX_STYLE_POINTS)
        if len(style.text) > MAX_STYLE_TEXT:
            raise StyleError(f"style-{sid}-chars.npy: {len(style.text)} characters; a style's text has at "
                             f"most {MAX_STYLE_TEXT}")
        styles.append(style)
    if not styles:
        raise StyleError("no style files in the upload (style-N-chars.npy and style-N-strokes.npy, or a zip of them)")
    return styles
