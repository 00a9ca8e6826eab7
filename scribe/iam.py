"""Reading IAM-OnDB exactly as users download it: the two tar.gz archives, or their unpacked folders.

A line is the pair (strokes of `lineStrokes/.../<form>-NN.xml`, N-th text line after `CSR:` in
`ascii/.../<form>.txt`). Forms whose counts disagree are skipped and counted, never guessed.
"""
from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import ScribeError

STROKES_ARCHIVE = "lineStrokes-all.tar.gz"
ASCII_ARCHIVE = "ascii-all.tar.gz"
SPLIT_NAMES = ("trainset", "testset_v", "testset_t", "testset_f")
# Graves (2013): train on trainset + testset_t + testset_f, validate on testset_v.
DEFAULT_SPLITS = {"train": ("trainset", "testset_t", "testset_f"), "valid": ("testset_v",)}
DOWNLOAD_HINT = (
    "Download lineStrokes-all.tar.gz and ascii-all.tar.gz from the IAM On-Line Handwriting Database "
    "(fki.inf.unibe.ch, free registration) and put both archives, unchanged, in one folder; "
    "pass that folder with --data_dir.")


class DataError(ScribeError, RuntimeError):
    """The IAM-OnDB data is missing or malformed; the message says what to do."""
    title = "Data problem"


@dataclass
class IamLine:
    line_id: str                # e.g. a01-000u-01
    form_id: str                # e.g. a01-000u
    text: str
    strokes: list[np.ndarray]   # each (n, 2) int32 whiteboard coordinates, y pointing down


@dataclass
class ReadReport:
    forms_read: int = 0
    lines_read: int = 0
    forms_skipped: list[str] = field(default_factory=list)  # line counts disagree
    lines_unreadable: list[str] = field(default_factory=list)


_POINT = re.compile(rb"<Point\b([^>]*)>")
_START_TIME = re.compile(rb'<Stroke\b[^>]*\bstart_time="(\d+(?:\.\d*)?)"')
_END_TIME = re.compile(rb'<Stroke\b[^>]*\bend_time="(\d+(?:\.\d*)?)"')
_ATTR_X = re.compile(rb'\bx="(-?\d+(?:\.\d*)?)"')
_ATTR_Y = re.compile(rb'\by="(-?\d+(?:\.\d*)?)"')


def parse_stroke_xml(data: bytes, name: str = "<xml>") -> list[np.ndarray]:
    """Strokes of one IAM-OnDB `<StrokeSet>` file. Raises DataError if it holds no usable points."""
    strokes = []
    for block in data.split(b"<Stroke")[1:]:
        pts = []
        for attrs in _POINT.findall(block):
            mx, my = _ATTR_X.search(attrs), _ATTR_Y.search(attrs)
            if mx and my:
                pts.append((float(mx.group(1)), float(my.group(1))))
        if pts:
            strokes.append(np.asarray(pts, dtype=np.float64).round().astype(np.int32))
    if not strokes:
        raise DataError(f"{name}: no <Stroke>/<Point x= y=> elements found; is this an IAM-OnDB XML file?")
    return strokes


def parse_transcription(text: str) -> list[str]:
    """The text lines after `CSR:`, blank lines dropped (one entry per lineStrokes file)."""
    _, sep, rest = text.partition("CSR:")
    if not sep:
        return []
    return [ln.strip() for ln in rest.splitlines() if ln.strip()]


def _find_source(data_dir: Path, archive: str, folder: str) -> Path:
    for candidate in (data_dir / archive, data_dir / folder):
        if candidate.exists():
            return candidate
    raise DataError(f"neither {archive} nor an unpacked {folder}/ folder is in {data_dir}. {DOWNLOAD_HINT}")


def _iter_files(source: Path, suffix: str) -> Iterator[tuple[str, bytes]]:
    """(basename without suffix, bytes) for each file of a .tar.gz archive or a folder tree."""
    if source.is_dir():
        for path in sorted(source.rglob(f"*{suffix}")):
            yield path.name[: -len(suffix)], path.read_bytes()
        return
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(suffix):
                    f = tar.extractfile(member)
                    yield os.path.basename(member.name)[: -len(suffix)], f.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{source} is not a readable .tar.gz archive ({e}). {DOWNLOAD_HINT}") from e


def read_transcriptions(data_dir: str | Path) -> dict[str, list[str]]:
    source = _find_source(Path(data_dir), ASCII_ARCHIVE, "ascii")
    forms = {name: parse_transcription(raw.decode("latin-1")) for name, raw in _iter_files(source, ".txt")}
    if not forms:
        raise DataError(f"{source} holds no transcription .txt files. {DOWNLOAD_HINT}")
    return forms


def read_lines(data_dir: str | Path, forms: set[str] | None = None,
               report: ReadReport | None = None) -> list[IamLine]:
    """All lines (or those of `forms`) paired with their text, in form/line order."""
    data_dir = Path(data_dir)
    report = report if report is not None else ReadReport()
    texts = read_transcriptions(data_dir)
    source = _find_source(data_dir, STROKES_ARCHIVE, "lineStrokes")
    by_form: dict[str, dict[int, list[np.ndarray] | None]] = {}
    for name, raw in _iter_files(source, ".xml"):
        form_id, _, number = name.rpartition("-")
        if forms is not None and form_id not in forms:
            continue
        try:
            strokes = parse_stroke_xml(raw, name)
        except DataError:
            report.lines_unreadable.append(name)
            strokes = None
        by_form.setdefault(form_id, {})[int(number)] = strokes
    if not by_form and forms is None:
        raise DataError(f"{source} holds no lineStrokes .xml files. {DOWNLOAD_HINT}")
    lines = []
    for form_id in sorted(by_form):
        files = by_form[form_id]
        form_text = texts.get(form_id, [])
        if len(form_text) != len(files) or sorted(files) != list(range(1, len(files) + 1)):
            report.forms_skipped.append(form_id)
            continue
        report.forms_read += 1
        for number, text in enumerate(form_text, start=1):
            if files[number] is not None:
                lines.append(IamLine(f"{form_id}-{number:02d}", form_id, text, files[number]))
    report.lines_read = len(lines)
    return lines


def read_split_lists(split_dir: str | Path) -> dict[str, set[str]]:
    """{list name: set of form ids} for every `*.txt` form list in `split_dir`."""
    split_dir = Path(split_dir)
    lists = {p.stem: {ln.strip() for ln in p.read_text().splitlines() if ln.strip()}
             for p in sorted(split_dir.glob("*.txt"))}
    if not lists:
        raise DataError(f"no split lists (*.txt, one form id per line) in {split_dir}")
    return lists


def default_split_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "splits"


# ---- writers, from the recording clock ------------------------------------------------------------------
# IAM-OnDB's line files name forms, not writers, and a writer filled in about 8 forms in one sitting at
# the whiteboard. Each stroke carries `start_time`/`end_time` on the recording clock, which runs on from
# form to form within a sitting: sorted by that clock, a writer's forms follow one another with short
# pauses. A new writer begins where the clock goes back, after an idle gap, or where a form's text
# category (the letter its id starts with: a01-..., b02-...) comes again, since one sitting covers each
# category once and the next writer may step up within a minute. Some forms carry a clock that restarts
# near zero: they cannot be placed and each stays a writer of its own ("unplaced").
SITTING_GAP_S = 400.0         # an idle gap longer than this ends a sitting (pauses within one: under 3 min)
CLOCK_RESTART_S = 86_400.0    # a form whose clock starts before this restarted near zero: unplaced


@dataclass
class Writer:
    writer_id: str            # the writer's first form in clock order, e.g. "a01-001w"
    forms: list[str]          # in the order written
    placed: bool              # False: one form whose clock cannot be placed among the others


def parse_stroke_times(data: bytes) -> tuple[float, float] | None:
    """(first start_time, last end_time) of the strokes of one line file; None if it has no times."""
    starts = [float(m) for m in _START_TIME.findall(data)]
    ends = [float(m) for m in _END_TIME.findall(data)]
    if not starts or not ends:
        return None
    return min(starts), max(ends)


def read_form_clocks(data_dir: str | Path) -> dict[str, tuple[float, float]]:
    """{form id: (start, end)} on the recording clock, over all the form's line files."""
    source = _find_source(Path(data_dir), STROKES_ARCHIVE, "lineStrokes")
    clocks: dict[str, tuple[float, float]] = {}
    for name, raw in _iter_files(source, ".xml"):
        times = parse_stroke_times(raw)
        if times is None:
            continue
        form_id = name.rpartition("-")[0]
        start, end = clocks.get(form_id, times)
        clocks[form_id] = (min(start, times[0]), max(end, times[1]))
    return clocks


def derive_writers(clocks: dict[str, tuple[float, float]], gap_s: float = SITTING_GAP_S) -> list[Writer]:
    """The writers behind the forms of `clocks` ({form id: (start, end)}), by the rules above."""
    placed = sorted((start, end, form) for form, (start, end) in clocks.items() if start >= CLOCK_RESTART_S)
    writers = [Writer(form, [form], False) for form, (start, _) in sorted(clocks.items()) if start < CLOCK_RESTART_S]
    current: list[str] = []
    last_end = None
    for start, end, form in placed:
        categories = {f[0] for f in current}
        if current and (start < last_end or start - last_end > gap_s or form[0] in categories):
            writers.append(Writer(current[0], current, True))
            current = []
        current.append(form)
        last_end = end
    if current:
        writers.append(Writer(current[0], current, True))
    return sorted(writers, key=lambda w: w.writer_id)


def writer_of_form(writers: list[Writer]) -> dict[str, str]:
    """{form id: writer id}."""
    return {form: w.writer_id for w in writers for form in w.forms}


def writers_of_forms(data_dir: str | Path) -> dict[str, str]:
    """{form id: writer id} for every form of the archives in `data_dir`, from the recording clock
    (read_form_clocks, then derive_writers). DataError when the archives are missing."""
    return writer_of_form(derive_writers(read_form_clocks(data_dir)))
