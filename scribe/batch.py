"""Batch: one output file per row of a CSV.

    text,style,bias,color,out,likeness
    "Dear Ada,\\nThank you for the tables.",3,1.0,navy,ada
    Hello world,,0.5,,

Columns: `text` (required; `\\n` or a real newline inside a quoted cell starts a new line), and
optionally `style` (an id; blank: the model's own hand), `bias`, `color`, `out` (the file's name,
without a folder; blank: row-N) and `likeness` (0-1, how much of a bank style's fitted hand; blank: the
style's own). A bad row is reported by its number (the first data row is row 1)
and the other rows are still written. The lines of several rows are sampled together, up to
`MAX_LINES` at once, which is faster on a CPU than one row at a time (benchmarks/batch_rows.py).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError
from .hand import Hand
from .request import (DEFAULT_BIAS, DEFAULT_CANDIDATES, DEFAULT_COLOR, MAX_LINES, LineSpec, WriteRequest,
                      line_from_json)
from .render.page import Layout
from .result import Result, line_page

COLUMNS = ("text", "style", "bias", "color", "out", "likeness")
MAX_ROWS = 10_000
MAX_CSV_BYTES = 5_000_000
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_COLOR = re.compile(r"(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


@dataclass
class Row:
    number: int              # 1-based, counting data rows only
    specs: list[LineSpec]
    name: str


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)    # (row number, message)

    def lines(self) -> list[str]:
        return [f"row {n}: {msg}" for n, msg in self.failed]


def read_rows(source: str | Path) -> tuple[list[Row], list[tuple[int, str]]]:
    """Parse the CSV file: (good rows, [(row number, problem)]). Raises InputError if the file itself
    cannot be used (unreadable, too big, no text column, unknown columns)."""
    path = Path(source)
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise InputError(f"{path.name} is over the {MAX_CSV_BYTES} byte limit for a batch")
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"cannot read the batch file {path.name}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(raw))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "text" not in header:
        raise InputError(f"{path.name} needs a header row with a text column (and optionally "
                         f"{', '.join(COLUMNS[1:])})")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError(f"{path.name}: unknown column(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}")
    reader.fieldnames = header
    rows, bad, names = [], [], set()
    for n, rec in enumerate(reader, start=1):
        if n > MAX_ROWS:
            bad.append((n, f"a batch has at most {MAX_ROWS} rows; this row and the rest were skipped"))
            break
        try:
            row = _row(n, rec)
        except InputError as e:
            bad.append((n, str(e)))
            continue
        if row.name in names:
            bad.append((n, f"the output name {row.name!r} is already used by an earlier row"))
            continue
        names.add(row.name)
        rows.append(row)
    return rows, bad


def _row(n: int, rec: dict) -> Row:
    if None in rec:
        raise InputError("the row has more cells than the header has columns")
    text = (rec.get("text") or "").replace("\r\n", "\n").replace("\\n", "\n")
    lines = [" ".join(t.split()) for t in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not any(lines):
        raise InputError("the text is empty")
    style = (rec.get("style") or "").strip()
    bias = (rec.get("bias") or "").strip()
    color = (rec.get("color") or "").strip() or DEFAULT_COLOR
    if not _COLOR.match(color):
        raise InputError(f"colour {color!r} is not a colour: use #rrggbb or a name such as navy")
    try:
        style_id = int(style) if style else None
    except ValueError:
        raise InputError(f"style must be a whole number (a style id) or blank, not {style!r}") from None
    try:
        b = float(bias) if bias else DEFAULT_BIAS
    except ValueError:
        raise InputError(f"bias must be a number, not {bias!r}") from None
    likeness = (rec.get("likeness") or "").strip()
    try:
        like = float(likeness) if likeness else None
    except ValueError:
        raise InputError(f"likeness must be a number from 0 to 1, or blank, not {likeness!r}") from None
    name = _NAME.sub("-", Path((rec.get("out") or "").strip()).stem).strip("-.") or f"row-{n}"
    pen = {"style": style_id, "bias": b, "color": color, "likeness": like}        # the cells as the request's JSON form
    return Row(n, [line_from_json({"text": t, **pen}) for t in lines], name)


def write_rows(hand: Hand, rows: list[Row], seed: int = 0, layout=None, max_steps: int | None = None,
               group: bool = True, progress=None, candidates: int = DEFAULT_CANDIDATES):
    """Yield (row, its Result or the InputError) for each row, in order. With `group`, the lines of
    consecutive good rows are sampled in one batch of up to MAX_LINES lines; each batch gets the seed
    `seed` + its first row's number, so one batch file always writes the same ink."""
    checked = []
    for row in rows:
        try:
            checked.append((row, hand.check(row.specs), None))
        except InputError as e:
            checked.append((row, None, e))
    i = 0
    while i < len(checked):
        row, specs, err = checked[i]
        if err is not None:
            yield row, err
            i += 1
            if progress:
                progress(1)
            continue
        chunk = [(row, specs)]
        total = len(specs)
        while group and i + len(chunk) < len(checked):
            nxt_row, nxt_specs, nxt_err = checked[i + len(chunk)]
            if nxt_err is not None or total + len(nxt_specs) > MAX_LINES:
                break
            chunk.append((nxt_row, nxt_specs))
            total += len(nxt_specs)
        request = WriteRequest([s for _, ss in chunk for s in ss], seed + row.number, layout or Layout(),
                               candidates=candidates, max_steps=max_steps)
        doc = hand.write(request)
        at = 0
        for r, ss in chunk:
            part = _part(doc, ss, at, len(chunk))
            at += len(ss)
            yield r, part
            if progress:
                progress(1)
        i += len(chunk)


def _part(doc: Result, specs: list[LineSpec], at: int, rows: int) -> Result:
    """One row's share of a batch's Result: its lines, its page, its lines' legibility."""
    lines = doc.lines[at:at + len(specs)]
    check = doc.legibility
    if check is not None and check.line_cers:
        check = replace(check, line_cers=check.line_cers[at:at + len(specs)],
                        readings=check.readings[at:at + len(specs)])
    return Result(replace(doc.request, lines=specs), [line_page(specs, lines, doc.ink_height, doc.layout)],
                  [s.text for s in specs], lines, doc.ink_height, doc.seed, doc.seconds / rows, check)


def run_batch(hand: Hand, source: str | Path, out_dir: str | Path, fmt: str = "svg", seed: int = 0, layout=None,
              dpi: float = 192.0, paper=None, max_steps: int | None = None, group: bool = True,
              progress=None, candidates: int = DEFAULT_CANDIDATES) -> BatchReport:
    """Write one file per good row of the CSV into `out_dir`; report the bad rows by number."""
    from .render.export import format_suffix
    rows, bad = read_rows(source)
    report = BatchReport(failed=list(bad))
    for row, result in write_rows(hand, rows, seed, layout, max_steps, group, progress, candidates):
        if isinstance(result, Exception):
            report.failed.append((row.number, str(result)))
            continue
        try:
            report.written.append(result.save(Path(out_dir) / f"{row.name}{format_suffix(fmt)}", fmt, dpi,
                                              paper=paper))
        except InputError as e:
            report.failed.append((row.number, str(e)))
    report.failed.sort()
    return report
