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

import defusedxml.ElementTree as SafeET
import numpy as np
from defusedxml import DefusedXmlException

from .iam import DataError, parse_stroke_xml
from .errors import ScribeError

MAX_BYTES = 10_000_000
MAX_POINTS = 200_000
INKML_NS = "http://www.w3.org/2003/InkML"


class InkFileError(ScribeError, ValueError):
    """Ink that cannot be read; the message names the file and what is wrong with it."""
    title = "Ink file problem"


class HostileInkError(InkFileError):
    """XML with a DOCTYPE or entities, or text that cannot be ink (NUL bytes, broken characters)."""


MAX_NAME = 60          # characters of a file name a message repeats; user text is never echoed whole
_UTF16_32 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")   # BOMs and UTF-16 '<': XML that is not UTF-8


def shown_name(name: str) -> str:
    """A name fit for a message: short, one line, no control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "?", str(name))
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 3] + "..."


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
    return _inkml_from_root(_parse_xml(data, name), name)


def _inkml_from_root(root: ET.Element, name: str) -> InkData:
    if _local(root.tag) != "ink":
        raise InkFileError(f"{name}: the root element is <{_local(root.tag)[:30]}>, not InkML's <ink>")
    channels: list[str] = []
    for el in root.iter():
        if _local(el.tag) == "traceFormat":
            channels = [(ch.get("name") or "").upper()[:20] for ch in el if _local(ch.tag) == "channel"][:20]
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
    """Parse untrusted XML with defusedxml: a DOCTYPE, entities or external references are refused
    whatever the document's encoding (a byte search for '<!ENTITY' misses UTF-16)."""
    raw = _utf8(data, name) if isinstance(data, str) else data
    try:
        return SafeET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise HostileInkError(f"{name}: XML with a DOCTYPE or entities is not accepted") from None
    except ET.ParseError as e:
        raise InkFileError(f"{name}: not well-formed XML ({str(e)[:80]})") from None
    except (ValueError, LookupError) as e:      # an unknown or impossible encoding declaration
        raise InkFileError(f"{name}: XML in an encoding that cannot be read; save it as UTF-8") from None


def _utf8(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise HostileInkError(f"{name}: the text holds a broken character (a lone surrogate); "
                              f"save the ink as UTF-8 and try again") from None


# ---- IAM-OnDB XML ------------------------------------------------------------------------------------
def read_iam_xml(data: bytes | str, name: str = "<xml>") -> InkData:
    """One IAM-OnDB line file (<WhiteboardCaptureSession>/<StrokeSet>), read as training data is read."""
    return _iam_from_root(_parse_xml(data, name), name)


def _iam_from_root(root: ET.Element, name: str) -> InkData:
    # The training reader scans bytes; re-serialised, a file in any encoding reads the same way.
    try:
        raw = ET.tostring(root)
    except RecursionError:
        raise InkFileError(f"{name}: the XML is nested too deeply to be an IAM-OnDB line") from None
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
        except RecursionError:
            raise InkFileError(f"{name}: the JSON is nested too deeply; strokes are a list of lists of "
                               f"points") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise InkFileError(f"{name}: not valid JSON ({str(e)[:80]})") from None
    text = None
    if isinstance(data, dict):
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise InkFileError(f"{name}: \"text\" must be a string")
        if text is not None and ("\x00" in text or re.search("[\ud800-\udfff]", text)):
            raise HostileInkError(f"{name}: \"text\" holds a NUL or a broken character (a lone surrogate)")
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
def _refuse_plainly_too_many_points(data: bytes, name: str) -> None:
    """Refuse XML that plainly holds more than MAX_POINTS points before it is parsed: InkML separates a
    trace's points with commas and IAM-OnDB XML has a <Point> element for each, so counting those bytes
    bounds the points from below (one pass, no memory), where parsing a million points takes hundreds of
    MB. The exact count after parsing (`_checked`) still applies."""
    found = data.count(b",") + data.count(b"<Point")
    if found > MAX_POINTS:
        raise InkFileError(f"{name}: more than {MAX_POINTS} points; give one line of writing")


def read_ink(source, name: str | None = None) -> InkData:
    """Read ink from a file path, bytes, a JSON/XML string or a parsed JSON list/dict; the format is
    recognised from the content (JSON, InkML <ink>, or IAM-OnDB <WhiteboardCaptureSession>/<StrokeSet>)."""
    if name is not None:
        name = shown_name(name)
    if isinstance(source, (list, dict)):
        return read_json_strokes(source, name or "<strokes>")
    if isinstance(source, str) and source.lstrip()[:1] in ("[", "{", "<"):
        name = name or "<text>"
        if len(source) > MAX_BYTES:      # before it is encoded: a character is at least a byte
            raise InkFileError(f"{name}: {len(source)} characters is over the {MAX_BYTES} byte limit")
        data = _utf8(source, name)
    elif isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or "<upload>"
    elif isinstance(source, (str, Path)):
        text = str(source)
        if "\x00" in text or "\n" in text or len(text) > 4096 or len(Path(text).name) > 255:
            # Not a path a user means; and never echoed back whole.
            raise InkFileError(f"{name or '<text>'}: not InkML, IAM-OnDB XML or JSON strokes")
        path = Path(source)
        name = name or shown_name(path.name)
        try:
            if not path.is_file():
                raise InkFileError(f"{name}: no such file")
            if path.stat().st_size > MAX_BYTES:
                raise InkFileError(f"{name}: {path.stat().st_size} bytes is over the {MAX_BYTES} byte limit")
            data = path.read_bytes()
        except OSError as e:
            raise InkFileError(f"{name}: cannot be read ({e.strerror or type(e).__name__})") from None
    else:
        raise InkFileError(f"cannot read ink from a {type(source).__name__}")
    if len(data) > MAX_BYTES:
        raise InkFileError(f"{name}: {len(data)} bytes is over the {MAX_BYTES} byte limit")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return read_json_strokes(data, name)
    if head == b"<" or data[:2] in _UTF16_32:
        _refuse_plainly_too_many_points(data, name)
        root = _parse_xml(data, name)       # once, safely; then the root says which format it is
        tag = _local(root.tag)
        if tag == "ink":
            return _inkml_from_root(root, name)
        if tag in ("WhiteboardCaptureSession", "StrokeSet") or root.find(".//StrokeSet") is not None:
            return _iam_from_root(root, name)
        raise InkFileError(f"{name}: XML, but neither InkML (<ink>) nor IAM-OnDB (<StrokeSet>)")
    raise InkFileError(f"{name}: not InkML, IAM-OnDB XML or JSON strokes")
