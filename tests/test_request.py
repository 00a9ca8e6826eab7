"""The request, the result and the saved document: one check naming every problem, one JSON form,
one result type for both modes, and a document that keeps its ink (scribe.request, scribe.result,
scribe.document)."""
from __future__ import annotations

import base64
import json
import threading
import zlib

import numpy as np
import pytest

from scribe.alphabet import Alphabet
from scribe.document import Document, DocumentError, document_of
from scribe.errors import InputError, ScribeError
from scribe.hand import Hand
from scribe.render.page import Layout
from scribe.render.paper import PaperOptions
from scribe.render.paragraph import ParagraphLayout
from scribe.request import (DEFAULT_BIAS, DEFAULT_CANDIDATES, DEFAULT_COLOR, DEFAULT_WIDTH, LineSpec, ParagraphRequest,
                            WriteRequest)
from scribe.result import INFO, WARNING, Note, legibility_note
from scribe.styles import StyleError

from helpers import TINY_ALPHABET, synthetic_offsets

ALPHABET = Alphabet(TINY_ALPHABET)


def no_style_5(style_id):
    if style_id == 5:
        raise StyleError("no style 5 in styles/; valid style ids: 0-2")


# ---- check --------------------------------------------------------------------------------------------
def test_one_check_names_every_problem_of_a_line_mode_request():
    request = WriteRequest([LineSpec("abc", bias=9), LineSpec("a" * 95, width=-1), LineSpec("ab", color="#zz"),
                            LineSpec("ab", style=5), LineSpec("ab\u03a9", style="3")],
                           seed=-1, layout=Layout(line_spacing=99), paper=PaperOptions("wavy"), max_steps=0)
    with pytest.raises(InputError) as e:
        request.check(ALPHABET, no_style_5)
    message = str(e.value)
    for part in ("cannot write '\u03a9'", "seed must be a whole number", "the step cap must be", "line spacing 99",
                 "paper 'wavy'", "line 1: bias 9", "line 2 has 95 characters", "line 2: stroke width -1",
                 "line 3: ", "not a colour", "line 4: no style 5", "line 5: style must be a style id"):
        assert part in message, part
    assert message.startswith("this model cannot write")       # what cannot be written comes first


def test_check_cleans_a_good_request_and_keeps_the_rest():
    request = WriteRequest([LineSpec("cafe\u0301", bias="1.5", width="3"), LineSpec("")], seed=7, candidates=2)
    checked = request.check(ALPHABET)
    assert checked.lines[0].text == "caf\u00e9" and checked.lines[0].bias == 1.5 and checked.lines[0].width == 3.0
    assert checked.seed == 7 and checked.candidates == 2 and request.lines[0].bias == "1.5"   # a new request
    with pytest.raises(InputError, match="every line is empty"):
        WriteRequest([LineSpec(" ")]).check(ALPHABET)


def test_one_check_names_every_problem_of_a_paragraph_request():
    request = ParagraphRequest("word " * 1001 + "x" * 95, style=5, bias=float("nan"), color="nope", width=99,
                               layout=ParagraphLayout(margin_mm=500), seed=2**32)
    with pytest.raises(InputError) as e:
        request.check(ALPHABET, no_style_5)
    for part in ("seed must be", "margin 500", "paragraph mode takes up to", "a word of 95 characters", "bias nan",
                 "stroke width 99", "not a colour", "no style 5"):
        assert part in str(e.value), part
    checked = ParagraphRequest("one\r\ntwo", layout=ParagraphLayout(align="centre")).check(ALPHABET)
    assert checked.text == "one\ntwo" and checked.layout.align == "center"


def test_the_default_pen_and_the_default_check_are_one():
    assert LineSpec("x") == LineSpec("x", None, DEFAULT_BIAS, DEFAULT_COLOR, DEFAULT_WIDTH)
    assert WriteRequest([]).candidates == ParagraphRequest("x").candidates == DEFAULT_CANDIDATES == 4
    import inspect
    from scribe import sample
    assert sample.build_parser().parse_args(["--text", "x"]).candidates == DEFAULT_CANDIDATES
    assert inspect.signature(Hand.write_paragraph).parameters["candidates"].default == DEFAULT_CANDIDATES


# ---- the JSON form -------------------------------------------------------------------------------------
def test_requests_round_trip_through_json():
    line = WriteRequest([LineSpec("hello", 2, 1.25, "navy", 2.0), LineSpec("")], seed=11,
                        layout=Layout.sized(8, 2.0, "center"), paper=PaperOptions("ruled", 9.0), candidates=3,
                        max_steps=700)
    assert WriteRequest.from_json(json.loads(json.dumps(line.to_json()))) == line
    para = ParagraphRequest("a long text", 1, 0.5, "#aa0000", 2.5,
                            ParagraphLayout(page="a5", landscape=True, margin_mm=12, width_mm=100, ink_height_mm=7,
                                            line_spacing=2.0, align="right", variation=0.5, straighten=False,
                                            max_chars=50), PaperOptions("grid"), 3, 1, None)
    assert ParagraphRequest.from_json(json.loads(json.dumps(para.to_json()))) == para
    # a missing field is the default pen's, the default look's, the default N's
    assert WriteRequest.from_json({"lines": [{"text": "hi"}]}) == WriteRequest([LineSpec("hi")])


@pytest.mark.parametrize("data, message", [
    ([], "must be a JSON object, not list"),
    ({"lines": "hello"}, "lines must be a non-empty list"),
    ({"lines": [{"text": 5}]}, "line 1: text must be a string, not int"),
    ({"lines": [{"text": "a", "style": "3"}]}, "line 1: style must be a style id or null"),
    ({"lines": [{"text": "a", "style": True}]}, "line 1: style must be"),
    ({"lines": [{"text": "a", "bias": "1"}]}, "line 1: bias must be a number"),
    ({"lines": [{"text": "a", "color": 0}]}, "line 1: color must be a string"),
    ({"lines": [{"text": "a"}], "seed": 1.5}, "seed must be a whole number"),
    ({"lines": [{"text": "a"}], "candidates": "4"}, "candidates must be a whole number"),
    ({"lines": [{"text": "a"}], "max_steps": -3}, "max_steps must be a whole number"),
    ({"lines": [{"text": "a"}], "layout": [1]}, "layout must be an object"),
    ({"lines": [{"text": "a"}], "layout": {"align": "middle"}}, "align 'middle'"),
    ({"lines": [{"text": "a"}], "paper": "ruled"}, "paper must be an object"),
    ({"lines": [{"text": "a"}], "paper": {"kind": 3}}, "paper kind and color must be strings"),
])
def test_wrong_json_types_are_named(data, message):
    with pytest.raises(InputError, match=message):
        WriteRequest.from_json(data)


def test_every_json_problem_is_named_at_once():
    with pytest.raises(InputError) as e:
        WriteRequest.from_json({"seed": "x", "candidates": 0, "lines": [{"text": 1}, {"text": "a", "bias": None},
                                                                         {"text": "b", "width": "w"}]})
    assert all(p in str(e.value) for p in ("seed must", "candidates must", "line 1: text", "line 3: width"))
    with pytest.raises(InputError, match="layout.*landscape must be true or false|landscape must be true"):
        ParagraphRequest.from_json({"text": "a", "layout": {"landscape": "yes"}})


# ---- the result ----------------------------------------------------------------------------------------
def test_one_result_for_both_modes_exports_every_format(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    line = hand.write(WriteRequest([LineSpec("hello", 1), LineSpec(""), LineSpec("there")], seed=3, candidates=1,
                                   max_steps=20))
    para = hand.write(ParagraphRequest("hello there\n\nquick fox", 1, layout=ParagraphLayout(page=None),
                                       seed=3, candidates=1, max_steps=20))
    for result, n_lines in ((line, 2), (para, 2)):
        assert type(result).__name__ == "Result" and result.seed == 3 and result.request.seed == 3
        assert result.lines_written == n_lines and len(result.texts) == len(result.lines)
        assert result.summary().startswith(f"Wrote {n_lines} lines") and "seed 3" in result.summary()
        for fmt in ("svg", "png", "pdf", "plotter-svg", "gcode", "animated-svg"):
            files = result.export(tmp_path / f"{id(result)}.{fmt}", fmt)
            assert files and all(f.stat().st_size > 0 for f in files)
        assert result.export(tmp_path / "again.svg")[0].read_text() == result.svg()   # the file is the page
    assert line.lines[1] is None and para.texts[1] == ""
    assert line.specs[0] == LineSpec("hello", 1) and para.specs[0].style == 1


def test_notes_have_a_level():
    from scribe.candidates import LegibilityCheck
    ran = LegibilityCheck(4, line_cers=[0.5], readings=["x"])
    assert legibility_note(ran) == Note(ran.summary(), INFO) and "1 line checked" in ran.summary()
    assert legibility_note(LegibilityCheck(4, skipped="the reader is missing")).level == WARNING
    assert legibility_note(LegibilityCheck(1)) is None


# ---- the saved document keeps its ink ------------------------------------------------------------------
def test_a_document_opens_the_ink_it_wrote_without_a_model(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    result = hand.write([LineSpec("hello", 1, 1.2, "navy", 2.0), LineSpec(""), LineSpec("there")], seed=11,
                        layout=Layout.sized(8, 2.0, "center"), max_steps=15, candidates=2)
    saved = document_of(result, hand, hand.checkpoint.path, PaperOptions("dotted")).save(tmp_path / "d.json")
    data = json.loads(saved.read_text())
    assert data["scribe_document"] == 2 and data["candidates"] == 2 and data["ink"]["lines"][1] is None
    opened = Document.load(saved).open()                   # no Hand: any machine, any model
    assert opened.svg() == result.svg() and opened.png(dpi=96) == result.png(dpi=96)
    assert all(np.array_equal(a.offsets, b.offsets) for a, b in zip(opened.lines, result.lines) if a is not None)
    assert opened.paper.kind == "dotted" and opened.seed == 11 and opened.capped_lines == result.capped_lines
    # the ink is exact and compact: float32 dx, dy and a bit per pen lift, compressed
    points = sum(len(ln.offsets) for ln in result.lines if ln is not None)
    ink_bytes = sum(len(ln["xy"]) + len(ln["eos"]) for ln in data["ink"]["lines"] if ln)
    assert ink_bytes < 8 * points * 4 / 3 + 200
    # writing it again from its seed is its own action, and with the same model gives the same ink
    assert Document.load(saved).write_again(hand, max_steps=15).svg() == result.svg()


def _saved(tmp_path, hand) -> dict:
    result = hand.write([LineSpec("hello")], seed=1, max_steps=10, candidates=1)
    return json.loads(document_of(result, hand).dumps())


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["ink"].update(lines=[]), "ink: 0 lines of ink for 1 lines of text"),
    (lambda d: d["ink"].update(height="tall"), "height must be a number"),
    (lambda d: d["ink"]["lines"].__setitem__(0, None), "line 1 has text but no ink"),
    (lambda d: d["ink"]["lines"][0].update(points=10**9), "points must be a whole number from 1 to"),
    (lambda d: d["ink"]["lines"][0].update(points=2), "holds more data than its point count says"),
    (lambda d: d["ink"]["lines"][0].update(xy="!!not base64!!"), "is not base64 of zlib data"),
    (lambda d: d["ink"]["lines"][0].update(xy=base64.b64encode(zlib.compress(b"\0" * 10**7)).decode()),
     "holds more data"),                                     # a zip bomb is refused after points*8 bytes
    (lambda d: d["ink"]["lines"][0].update(xy=base64.b64encode(zlib.compress(
        np.full(2 * d["ink"]["lines"][0]["points"], np.nan, "<f4").tobytes())).decode()), "not finite"),
    (lambda d: d["ink"]["lines"][0].update(capped="no"), "capped must be true or false"),
    (lambda d: d.update(ink=[1]), "ink: must be an object"),
    (lambda d: d.update(scribe_document=True), "format True is not supported"),
    (lambda d: d.update(seed=None), "a document keeps the seed"),
])
def test_a_corrupt_document_is_a_clear_error(tiny_ckpt_path, tmp_path, spoil, message):
    data = _saved(tmp_path, Hand.load(tiny_ckpt_path))
    spoil(data)
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(DocumentError, match=message) as e:
        Document.load(tmp_path / "bad.json")
    assert isinstance(e.value, ScribeError) and e.value.title == "Cannot read this document"


def test_a_format_1_document_is_read_and_can_only_be_written_again(tiny_ckpt_path, tmp_path):
    old = {"scribe_document": 1, "seed": 4, "layout": {"size_mm": 6.0, "line_spacing": 1.7, "align": "left"},
           "paper": None, "lines": [{"text": "hello", "style": None, "bias": 0.75, "color": "#000000", "width": 1.5}]}
    doc = Document.from_json(old)
    assert not doc.has_ink and doc.candidates == 1       # format 1 without the field wrote without the check
    with pytest.raises(DocumentError, match="keeps no ink"):
        doc.open()
    hand = Hand.load(tiny_ckpt_path)
    assert doc.write_again(hand, max_steps=10).svg() == \
        hand.write([LineSpec("hello")], seed=4, candidates=1, max_steps=10).svg()


def test_the_cli_opens_a_documents_ink_and_writes_it_again_only_when_asked(tmp_path, tiny_ckpt_path, tiny_style_dir,
                                                                          capsys):
    from scribe.sample import main
    common = ["--checkpoint", str(tiny_ckpt_path), "--style_dir", str(tiny_style_dir), "--max_steps", "12"]
    assert main(["--lines", "hello", "there", "--seed", "8", "--out", str(tmp_path / "a.svg"),
                 "--save_document", str(tmp_path / "doc.json"), *common]) == 0
    data = json.loads((tmp_path / "doc.json").read_text())
    data["checkpoint"] = "another-model.pt"       # opening needs no model: another one changes nothing
    (tmp_path / "doc.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["--document", str(tmp_path / "doc.json"), "--out", str(tmp_path / "b.svg"), *common]) == 0
    assert (tmp_path / "b.svg").read_bytes() == (tmp_path / "a.svg").read_bytes()
    assert main(["--document", str(tmp_path / "doc.json"), "--write_again", "--out", str(tmp_path / "c.svg"),
                 *common]) == 0
    assert "the document was written with another-model.pt" in capsys.readouterr().err


# ---- a shared Hand is never torn ----------------------------------------------------------------------
def test_the_priming_cache_survives_style_changes_under_a_reader(tiny_ckpt_path, tiny_style_dir, tmp_path):
    from scribe.styles import write_style
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    user = tmp_path / "mine"
    write_style(user, 7, "my own hand", synthetic_offsets(seed=3))
    first = hand.primed(1)
    errors, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                hand.primed(1)
            except Exception as e:          # the KeyError a cleared dict gave between check and read
                errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(20):
        hand.add_user_styles(user)
        hand.use_styles(tiny_style_dir)
    stop.set()
    for t in threads:
        t.join()
    assert errors == [] and hand.primed(1).prime is first.prime     # the same state, never recomputed
    # a view with a visitor's styles shares the cache and leaves the hand as it was
    from scribe.styles import MemoryStyleBank
    own = MemoryStyleBank(first_id=50)
    own.add("hello there", synthetic_offsets(seed=0))          # the same ink as bank style 0
    view = hand.with_styles(own)
    assert view.primed(50).prime is hand.primed(0).prime and 50 not in hand.style_ids
