"""Reading a user's ink: InkML (the trace subset), IAM-OnDB XML, and JSON strokes from a browser canvas.

Every reader returns `InkData`: strokes as (n, 2) float arrays with y pointing DOWN (screen, whiteboard
and InkML convention), plus the transcription when the file carries one (InkML `annotation type="truth"`).

    ink = read_ink("sample.inkml")                   # a path, bytes, a JSON string or a parsed list
    ink = read_ink('[[{"x": 1, "y": 2}, {"x": 3, "y": 4}]]')

JSON strokes: `[[{"x": .., "y": .., "t": ..}, ...], ...]` or `[[[x, y], ...], ...]`, or an object
`{"strokes": <either>, "text": "what was written"}`.
"""
from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .iam import DataError, parse_stroke_xml
from .errors import ScribeError

MAX_BYTES = 10_000_000
MAX_POINTS = 200_000
INKML_NS = "http://www.w3.org/2003/InkML"


class InkFileError(ScribeError, ValueError):
    """Ink that cannot be read; the message names the file and what is wrong with it."""
    title = "Ink file problem"


@dataclass
class InkData:
    strokes: list[np.ndarray]   # (n, 2) float64, y down
    text: str | None = None     # the file's own transcription, if it has one
    source: str = ""            # "inkml", "iam-xml" or "json"

    @property
    def n_points(self) -> int:
        return sum(len(s) for s in self.strokes)


def _checked(strokes: list[np.ndarray], name: str, source: str, text: str | None = None) -> InkData:
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise InkFileError(f"{name}: holds no strokes with points")
    total = sum(len(s) for s in strokes)
    if total > MAX_POINTS:
        raise InkFileError(f"{name}: {total} points is more than the limit of {MAX_POINTS}; "
                           f"give one line of writing")
    for i, s in enumerate(strokes, start=1):
        if not np.isfinite(s).all():
            raise InkFileError(f"{name}: stroke {i} holds a non-finite coordinate")
    return InkData(strokes, (text or "").strip() or None, source)


# ---- InkML -------------------------------------------------------------------------------------------
_VALUE = re.compile(r"""([!'"]?)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[TF*?])""")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_trace(text: str, n_channels: int, name: str, number: int) -> np.ndarray:
    """Points of one <trace>: comma-separated points, whitespace-separated values; a value may carry
    the InkML prefixes ! (explicit), ' (first difference) or \" (second difference), which persist
    per channel until changed; * repeats the previous value."""
    mode = ["!"] * n_channels
    value = [0.0] * n_channels
    velocity = [0.0] * n_channels
    points = []
    for chunk in text.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        tokens = _VALUE.findall(chunk)
        leftover = _VALUE.sub("", chunk).strip()
        if leftover:
            raise InkFileError(f"{name}: trace {number} has unreadable values {leftover[:20]!r}")
        if len(tokens) < 2:
            raise InkFileError(f"{name}: trace {number} has a point with fewer than 2 values ({chunk[:30]!r})")
        row = []
        for c, (prefix, tok) in enumerate(tokens[:n_channels] if n_channels else tokens):
            if c >= len(mode):
                mode.append("!"), value.append(0.0), velocity.append(0.0)
            if prefix:
                mode[c] = prefix
            if tok in ("T", "F"):
                v = 1.0 if tok == "T" else 0.0
                value[c] = v
            elif tok in ("*", "?"):
                v = value[c] + (velocity[c] if mode[c] != "!" else 0.0)
                value[c] = v
            else:
                x = float(tok)
                if mode[c] == "!":
                    velocity[c] = x - value[c] if points else 0.0
                    value[c] = x
                elif mode[c] == "'":
                    velocity[c] = x
                    value[c] += x
                else:   # second difference
                    velocity[c] += x
                    value[c] += velocity[c]
            row.append(value[c])
        points.append(row)
    return np.array(points, dtype=np.float64).reshape(len(points), -1) if points else np.zeros((0, 2))


def read_inkml(data: bytes | str, name: str = "<inkml>") -> InkData:
    """The <trace> elements of an InkML document (in document order, any nesting of <traceGroup>).

    The channel order comes from the first <traceFormat> (X and Y found by name); without one, the
    first two values of each point are X and Y. A truth annotation, if present, becomes `text`.
    """
    root = _parse_xml(data, name)
    if _local(root.tag) != "ink":
        raise InkFileError(f"{name}: the root element is <{_local(root.tag)}>, not InkML's <ink>")
    channels: list[str] = []
    for el in root.iter():
        if _local(el.tag) == "traceFormat":
            channels = [(ch.get("name") or "").upper() for ch in el if _local(ch.tag) == "channel"]
            break
    if channels and not {"X", "Y"} <= set(channels):
        raise InkFileError(f"{name}: the traceFormat has channels {channels}, without X and Y")
    ix, iy = (channels.index("X"), channels.index("Y")) if channels else (0, 1)
    strokes, text = [], None
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "trace":
            pts = _parse_trace(el.text or "", len(channels), name, len(strokes) + 1)
            if len(pts):
                if pts.shape[1] <= max(ix, iy):
                    raise InkFileError(f"{name}: trace {len(strokes) + 1} has fewer values per point than "
                                       f"its traceFormat's X and Y channels need")
                strokes.append(pts[:, [ix, iy]])
        elif tag == "annotation" and text is None and (el.get("type") or "").lower() in ("truth", "transcription"):
            text = (el.text or "").strip() or None
    return _checked(strokes, name, "inkml", text)


def _parse_xml(data: bytes | str, name: str) -> ET.Element:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw.upper():
        raise InkFileError(f"{name}: XML with a DOCTYPE or entities is not accepted")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as e:
        raise InkFileError(f"{name}: not well-formed XML ({e})") from None


# ---- IAM-OnDB XML ------------------------------------------------------------------------------------
def read_iam_xml(data: bytes | str, name: str = "<xml>") -> InkData:
    """One IAM-OnDB line file (<WhiteboardCaptureSession>/<StrokeSet>), read as training data is read."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    _parse_xml(raw, name)   # well-formedness, and no entities
    try:
        strokes = parse_stroke_xml(raw, name)
    except DataError as e:
        raise InkFileError(str(e)) from None
    return _checked([s.astype(np.float64) for s in strokes], name, "iam-xml")


# ---- JSON from a canvas ------------------------------------------------------------------------------
def _point(p, name: str, i: int, j: int) -> tuple[float, float]:
    try:
        if isinstance(p, dict):
            x, y = p["x"], p["y"]
        elif isinstance(p, (list, tuple)) and len(p) >= 2:
            x, y = p[0], p[1]
        else:
            raise TypeError
        x, y = float(x), float(y)
    except (KeyError, TypeError, ValueError):
        raise InkFileError(f"{name}: stroke {i}, point {j} is {str(p)[:40]}; expected {{\"x\": .., \"y\": ..}} "
                           f"or [x, y]") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InkFileError(f"{name}: stroke {i}, point {j} has a non-finite coordinate")
    return x, y


def read_json_strokes(data, name: str = "<json>") -> InkData:
    """Strokes from a JSON string/bytes or an already parsed list/dict (see the module docstring)."""
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise InkFileError(f"{name}: not valid JSON ({e})") from None
    text = None
    if isinstance(data, dict):
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise InkFileError(f"{name}: \"text\" must be a string")
        data = data.get("strokes")
    if not isinstance(data, list):
        raise InkFileError(f"{name}: expected a list of strokes (each a list of points), "
                           f"or {{\"strokes\": [...], \"text\": \"...\"}}")
    strokes, total = [], 0
    for i, st in enumerate(data, start=1):
        if isinstance(st, np.ndarray):    # already arrays (the Python API): (n, 2+) numbers
            if st.ndim != 2 or st.shape[1] < 2 or st.dtype.kind not in "fiu":
                raise InkFileError(f"{name}: stroke {i} is a {st.dtype} array of shape {st.shape}; "
                                   f"expected (n, 2) numbers")
            st = st[:, :2].tolist()
        if not isinstance(st, (list, tuple)):
            raise InkFileError(f"{name}: stroke {i} is not a list of points")
        total += len(st)
        if total > MAX_POINTS:
            raise InkFileError(f"{name}: more than {MAX_POINTS} points; give one line of writing")
        strokes.append(np.array([_point(p, name, i, j) for j, p in enumerate(st, start=1)],
                                dtype=np.float64).reshape(-1, 2))
    return _checked(strokes, name, "json", text)


# ---- any of them ---------------------------------------------------------------------------------------
def read_ink(source, name: str | None = None) -> InkData:
    """Read ink from a file path, bytes, a JSON/XML string or a parsed JSON list/dict; the format is
    recognised from the content (JSON, InkML <ink>, or IAM-OnDB <WhiteboardCaptureSession>/<StrokeSet>)."""
    if isinstance(source, (list, dict)):
        return read_json_strokes(source, name or "<strokes>")
    if isinstance(source, str) and source.lstrip()[:1] in ("[", "{", "<"):
        data = source.encode("utf-8")
        name = name or "<text>"
    elif isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or "<upload>"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise InkFileError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise InkFileError(f"{name}: {path.stat().st_size} bytes is over the {MAX_BYTES} byte limit")
        data = path.read_bytes()
    else:
        raise InkFileError(f"cannot read ink from a {type(source).__name__}")
    if len(data) > MAX_BYTES:
        raise InkFileError(f"{name}: {len(data)} bytes is over the {MAX_BYTES} byte limit")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return read_json_strokes(data, name)
    if head == b"<":
        if re.search(rb"<(?:\w+:)?ink[\s>]", data[:4096]):
            return read_inkml(data, name)
        if b"<StrokeSet" in data or b"<WhiteboardCaptureSession" in data:
            return read_iam_xml(data, name)
        raise InkFileError(f"{name}: XML, but neither InkML (<ink>) nor IAM-OnDB (<StrokeSet>)")
    raise InkFileError(f"{name}: not InkML, IAM-OnDB XML or JSON strokes")
