"""Reading user ink: the InkML trace subset, IAM-OnDB XML and JSON strokes from a canvas."""
from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest

from scribe import inkml
from scribe.errors import InputError
from scribe.iam import parse_stroke_xml
from scribe.inkml import InkFileError, read_iam_xml, read_ink, read_inkml, read_json_strokes

INKML = """<?xml version="1.0" encoding="UTF-8"?>
<ink xmlns="http://www.w3.org/2003/InkML">
  <definitions>
    <context xml:id="ctx">
      <traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/>
        <channel name="T" type="integer"/></traceFormat>
    </context>
  </definitions>
  <annotation type="truth">hello world</annotation>
  <traceGroup>
    <trace>10 20 0, 12 25 16, 15 31 33</trace>
    <traceGroup><trace>40 20 100, 41.5 -2.5e1 120</trace></traceGroup>
  </traceGroup>
  <trace>70 21 200</trace>
</ink>
"""


def test_inkml_traces_in_document_order_with_the_truth_annotation():
    data = read_inkml(INKML, "sample.inkml")
    assert data.source == "inkml" and data.text == "hello world"
    assert [s.tolist() for s in data.strokes] == [[[10, 20], [12, 25], [15, 31]], [[40, 20], [41.5, -25]], [[70, 21]]]


def test_inkml_channel_order_comes_from_the_trace_format():
    doc = ('<ink xmlns="http://www.w3.org/2003/InkML"><traceFormat><channel name="T"/><channel name="Y"/>'
           '<channel name="X"/></traceFormat><trace>0 5 1, 10 6 2</trace></ink>')
    assert read_inkml(doc).strokes[0].tolist() == [[1, 5], [2, 6]]
    with pytest.raises(InkFileError, match="without X and Y"):
        read_inkml('<ink><traceFormat><channel name="A"/><channel name="B"/></traceFormat><trace>1 2</trace></ink>')


def test_inkml_difference_encodings_give_the_explicit_points():
    explicit = np.array([[10, 20], [12, 25], [15, 31], [19, 38], [23, 44]], dtype=float)
    # ' = first difference (velocity), " = second difference; prefixes persist per channel
    doc = ("<ink><trace>10 20, '2 '5, 3 6, \"1 \"1, 0 -1</trace>"
           "<trace>!1 1,'-1'-1,*  *</trace></ink>")
    strokes = read_inkml(doc).strokes
    assert np.allclose(strokes[0], explicit)
    assert np.allclose(strokes[1], [[1, 1], [0, 0], [-1, -1]])


def test_inkml_without_namespace_and_without_trace_format_reads_x_y_first():
    data = read_ink(b"<ink><trace>1 2 99, 3 4 98</trace></ink>")
    assert data.strokes[0].tolist() == [[1, 2], [3, 4]] and data.text is None


@pytest.mark.parametrize("doc, message", [
    ("<ink><trace>1 2, 3</trace></ink>", "fewer than 2 values"),
    ("<ink><trace>1 2, 3 x4</trace></ink>", "unreadable values"),
    ("<ink><trace></trace></ink>", "no strokes"),
    ("<ink><trace>1 2</trace>", "not well-formed XML"),
    ("<svg><trace>1 2</trace></svg>", "XML, but neither InkML"),
    ('<!DOCTYPE ink [<!ENTITY a "1 2">]><ink><trace>&a;</trace></ink>', "DOCTYPE or entities"),
    ('<ink><traceFormat><channel name="X"/><channel name="Y"/><channel name="T"/></traceFormat>'
     '<trace>1 2 3, 4 5 6</trace><trace>1 nan</trace></ink>', "unreadable values"),
])
def test_malformed_inkml_gets_a_message_that_names_the_problem(doc, message):
    with pytest.raises(InkFileError, match=message) as e:
        read_ink(doc, name="mine.inkml")
    assert "mine.inkml" in str(e.value)


IAM_XML = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<WhiteboardCaptureSession><StrokeSet>
<Stroke colour="black" start_time="1.0" end_time="1.2"><Point x="100" y="200" time="1.0"/>
<Point x="104" y="210" time="1.1"/></Stroke>
<Stroke colour="black" start_time="1.3" end_time="1.4"><Point x="120" y="190" time="1.3"/></Stroke>
</StrokeSet></WhiteboardCaptureSession>"""


def test_iam_xml_reads_like_the_training_data():
    data = read_ink(IAM_XML, name="a01-000u-01.xml")
    assert data.source == "iam-xml" and data.text is None
    assert [s.tolist() for s in data.strokes] == [s.tolist() for s in parse_stroke_xml(IAM_XML)]
    with pytest.raises(InkFileError, match="no <Stroke>"):
        read_iam_xml(b"<WhiteboardCaptureSession><StrokeSet></StrokeSet></WhiteboardCaptureSession>", "x.xml")


def test_json_strokes_in_both_canvas_shapes_and_with_text():
    objs = [[{"x": 1, "y": 2, "t": 0}, {"x": 3.5, "y": 4}], [{"x": 9, "y": 9}]]
    pairs = [[[1, 2], [3.5, 4]], [[9, 9, 123]]]
    a = read_ink(json.dumps(objs))
    b = read_ink(json.dumps(pairs).encode())
    c = read_ink({"strokes": pairs, "text": " my words "})
    assert [s.tolist() for s in a.strokes] == [[[1, 2], [3.5, 4]], [[9, 9]]]
    assert [s.tolist() for s in b.strokes] == [s.tolist() for s in a.strokes] == [s.tolist() for s in c.strokes]
    assert c.text == "my words" and a.text is None and a.source == "json"
    arrays = read_ink([np.array([[1.0, 2.0], [3.0, 4.0]])])
    assert arrays.strokes[0].tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("payload, message", [
    ("[[{\"x\": 1}]]", "stroke 1, point 1"),
    ("[[[1, 2]], [[1, 2], [3]]]", "stroke 2, point 2"),
    ("[[[1, 2]], 7]", "stroke 2 is not a list"),
    ("[[[1e999, 2]]]", "non-finite"),
    ("[[], []]", "no strokes"),
    ("{\"strokes\": 5}", "expected a list of strokes"),
    ("{\"strokes\": [[[1, 2]]], \"text\": 5}", "must be a string"),
    ("[[[1, 2]", "not valid JSON"),
])
def test_bad_json_strokes_are_named(payload, message):
    with pytest.raises(InkFileError, match=message):
        read_json_strokes(payload, "canvas")


def test_files_limits_and_unknown_content(tmp_path, monkeypatch):
    path = tmp_path / "me.inkml"
    path.write_text(INKML)
    assert read_ink(path).text == "hello world"
    assert read_ink(str(path)).strokes[0].tolist() == [[10, 20], [12, 25], [15, 31]]
    with pytest.raises(InkFileError, match="no such file"):
        read_ink(tmp_path / "missing.inkml")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InkFileError, match="not InkML, IAM-OnDB XML or JSON"):
        read_ink(tmp_path / "notes.txt")
    with pytest.raises(InkFileError, match="cannot read ink from a int"):
        read_ink(5)
    monkeypatch.setattr(inkml, "MAX_POINTS", 3)
    with pytest.raises(InkFileError, match="more than"):
        read_ink("[[[1,2],[3,4]],[[5,6],[7,8]]]")
    monkeypatch.setattr(inkml, "MAX_BYTES", 100)
    with pytest.raises(InkFileError, match="byte limit"):
        read_ink(path)


@pytest.mark.slow
def test_a_real_iam_ondb_line_file_reads_as_the_archive_reader_reads_it(iam_dir):
    with tarfile.open(iam_dir / "lineStrokes-all.tar.gz") as tar:
        member = next(m for m in tar if m.isfile() and m.name.endswith(".xml"))
        raw = tar.extractfile(member).read()
    data = read_ink(raw, name=member.name)
    assert data.source == "iam-xml"
    want = parse_stroke_xml(raw)
    assert len(data.strokes) == len(want) and all(np.array_equal(a, b) for a, b in zip(data.strokes, want))


# ---- hostile input (issue 14, items 8 and 11) -----------------------------------------------------------
UTF16_ENTITY = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE ink [<!ENTITY pts "0 0, 10 5, 20 0">]>\n'
                '<ink xmlns="http://www.w3.org/2003/InkML"><trace>&pts;</trace></ink>')


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8"])
def test_entities_are_refused_in_any_encoding(encoding):
    data = UTF16_ENTITY.replace("UTF-16", encoding.upper()).encode(encoding)
    for reader in (read_inkml, read_ink, read_iam_xml):
        # refused either way: as hostile, or (UTF-16-LE, which expat cannot take) as unreadable
        with pytest.raises(InkFileError, match="DOCTYPE or entities|save it as UTF-8"):
            reader(data)
    if encoding != "utf-16-le":
        with pytest.raises(inkml.HostileInkError):
            read_inkml(data)


def test_billion_laughs_and_external_entities_are_refused_without_expanding():
    lol = ('<?xml version="1.0"?><!DOCTYPE ink [<!ENTITY a "aaaaaaaaaa">' +
           "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) +
           ']><ink><trace>&i;</trace></ink>')
    with pytest.raises(inkml.HostileInkError):
        read_ink(lol)
    ext = '<?xml version="1.0"?><!DOCTYPE ink [<!ENTITY x SYSTEM "file:///etc/passwd">]><ink><trace>&x;</trace></ink>'
    with pytest.raises(inkml.HostileInkError):
        read_ink(ext.encode("utf-16"))


def test_a_utf16_inkml_file_without_a_doctype_reads():
    doc = '<?xml version="1.0" encoding="UTF-16"?><ink><trace>0 0, 10 5, 20 0</trace></ink>'
    got = read_ink(doc.encode("utf-16"))
    assert got.source == "inkml" and got.strokes[0].tolist() == [[0, 0], [10, 5], [20, 0]]


def test_deeply_nested_json_and_xml_get_messages_not_recursion_errors():
    with pytest.raises(InkFileError, match="nested too deeply"):
        read_ink("[" * 200_000 + "]" * 200_000)
    deep = b"<WhiteboardCaptureSession>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</WhiteboardCaptureSession>"
    with pytest.raises(InkFileError, match="nested too deeply"):
        read_ink(deep)


@pytest.mark.parametrize("source", ["x" * 300, "strokes\x00.json", "a\nb", "é" * 5000])
def test_text_that_is_not_ink_is_refused_without_echoing_it(source):
    with pytest.raises(InkFileError) as info:
        read_ink(source)
    assert len(str(info.value)) < 120 and "xxxxxxxxxx" not in str(info.value) and "\x00" not in str(info.value)


def test_lone_surrogates_and_nuls_are_refused_clearly():
    with pytest.raises(inkml.HostileInkError, match="lone surrogate"):
        read_ink('[[[0, 0], [1, 1]]]\ud800')
    with pytest.raises(inkml.HostileInkError, match="broken character"):
        read_ink('{"strokes": [[[0, 0], [1, 1]]], "text": "\\ud800 hello"}')
    with pytest.raises(inkml.HostileInkError, match="lone surrogate"):
        read_ink('<ink><trace>0 0, 1 1</trace></ink>\udcff')
    with pytest.raises(InkFileError):
        read_ink(b'[[[0, 0], [1, 1]]]\x00')


def test_plainly_oversized_ink_is_refused_before_it_is_parsed(monkeypatch):
    """Issue 28, item 4: a 6 MB InkML of 1.15 M points was parsed in full (+248 MB) before the point
    limit, and 50 MB of ink text decoded before the byte limit; now neither reaches a parser."""
    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed before it was refused")
    monkeypatch.setattr(inkml, "_parse_xml", no_parsing)
    monkeypatch.setattr(inkml, "read_json_strokes", no_parsing)
    trace = ", ".join(["1 2"] * (2 * inkml.MAX_POINTS))
    doc = f'<ink xmlns="http://www.w3.org/2003/InkML"><trace>{trace}</trace></ink>'
    with pytest.raises(InkFileError, match=f"more than {inkml.MAX_POINTS} points"):
        read_ink(doc.encode(), "big.inkml")
    iam = "<StrokeSet><Stroke>" + '<Point x="1" y="2"/>' * (inkml.MAX_POINTS + 1) + "</Stroke></StrokeSet>"
    with pytest.raises(InkFileError, match="more than"):
        read_ink(iam.encode(), "big.xml")
    with pytest.raises(InkFileError, match="byte limit"):
        read_ink("[" + " " * inkml.MAX_BYTES + "]")


def test_the_apps_ink_box_is_refused_by_size_before_it_is_parsed(monkeypatch):
    from scribe.web import outputs
    monkeypatch.setattr(outputs, "_no_strokes", lambda ink: pytest.fail("parsed before it was refused"))
    with pytest.raises(InputError, match="byte limit"):
        outputs.own_style(None, "[" + " " * inkml.MAX_BYTES + "]", "hello", None)
