"""Paragraph mode: wrapping in the hand's own measure, alignment, spacing, paragraph breaks, pages."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pytest

from scribe import ink
from scribe.alphabet import Alphabet
from scribe.dataset import NormStats
from scribe.hand import Hand
from scribe.errors import InputError
from scribe.render.paragraph import (Measure, ParagraphLayout, WrittenLine, char_units, set_pages, text_units,
                                     wrap_lines, wrap_text)
from scribe.paragraph import write_paragraph as write_request
from scribe.request import LineSpec, ParagraphRequest
from scribe.render.plotter import GcodeOptions, PlotterOptions, parse_gcode
from scribe.render.page import MM_PER_PX, PAPER_SIZES_MM
from scribe.render.export import page_paths
from scribe.styles import StyleError

from helpers import TINY_ALPHABET


def write_paragraph(hand, text, **kwargs):
    """The paragraph loop with any hand (a FakeHand here): a ParagraphRequest of `text` and `kwargs`."""
    return write_request(hand, ParagraphRequest(text, **kwargs))

WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly judge an exotic boxing "
         "match near my old house in the valley").split()


@dataclass
class FakeLine:
    offsets: np.ndarray
    hit_cap: bool = False


class FakeHand:
    """A stand-in for Hand whose ink is a row of one box per character, `true_unit` ink heights per
    width unit (so its real width differs from the layout's first estimate), jittered per line."""

    def __init__(self, true_unit: float = 0.7, jitter: float = 0.05):
        self.alphabet = Alphabet(TINY_ALPHABET)
        self.stats = NormStats((0.0, 0.0), (1.0, 1.0), 100.0, 5.0)
        self.true_unit, self.jitter, self.calls = true_unit, jitter, []
        self.styles = None

    def style(self, style_id):
        raise StyleError(f"no style {style_id}")

    def primings_needed(self, specs) -> int:      # it has no styles to prime
        return 0

    def ink_for(self, text: str, rng) -> np.ndarray:
        h, strokes, x = self.stats.ink_height, [], 0.0
        k = self.true_unit * (1 + self.jitter * rng.uniform(-1, 1))
        for c in text:
            w = char_units(c) * k * h
            if c != " ":
                strokes.append(np.array([[x, 0.0], [x + w * 0.8, -h * 0.5], [x + w * 0.8, 0.4 * h]]))
            x += w
        return ink.strokes_to_offsets(strokes)

    def write(self, request):
        from scribe.candidates import LegibilityCheck
        specs, candidates = request.lines, request.candidates
        rng = np.random.default_rng(request.seed)
        self.calls.append([s.text for s in specs])
        return type("Doc", (), {"lines": [FakeLine(self.ink_for(s.text, rng)) for s in specs],
                                "legibility": LegibilityCheck(candidates), "extra_notes": []})()


def text_of(n_words: int, start: int = 0) -> str:
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n_words))


# ---- wrapping ------------------------------------------------------------------------------------------
def test_wrap_never_splits_words_and_keeps_blank_lines():
    text = f"{text_of(30)}\n\n{text_of(12, 5)}\nshort\n   \nend"
    lines = wrap_text(text, lambda t: text_units(t) <= 20, max_chars=40)
    assert " ".join(" ".join(lines).split()) == " ".join(text.split())
    assert lines.count("") == 2 and lines[-1] == "end" and lines[-2] == ""
    assert all(text_units(ln) <= 20 and len(ln) <= 40 for ln in lines)
    # greedy: the next word would not have fitted
    paragraph = lines[:lines.index("")]
    nxt = [ln.split()[0] for ln in paragraph[1:]]
    assert all(text_units(f"{ln} {w}") > 20 for ln, w in zip(paragraph, nxt))
    # a word wider than the line gets a line of its own; it is never cut
    assert wrap_text("a incomprehensibilities b", lambda t: len(t) <= 5) == ["a", "incomprehensibilities", "b"]


def test_measure_fits_the_hand():
    m = Measure.fit([("hello", 2.0), ("mmm ii", 3.0)])
    assert m.per_unit == pytest.approx(5.0 / (text_units("hello") + text_units("mmm ii")))
    assert char_units("m") > char_units("n") > char_units("i")
    strokes = [np.array([[0.0, 0.0], [50.0, 10.0]]), np.array([[80.0, -20.0], [100.0, 0.0]])]
    assert Measure.from_ink("ab", strokes).width("ab") == pytest.approx(100.0 / ink.ink_height(strokes))


# ---- paragraphs --------------------------------------------------------------------------------------
def _line_boxes(page):
    out = []
    for ln in page.lines:
        pts = np.concatenate(ln.strokes)
        out.append((pts[:, 0].min(), pts[:, 0].max(), np.median(pts[:, 1])))
    return out


def test_lines_fit_the_width_after_re_wrapping_in_the_measured_hand():
    hand = FakeHand(true_unit=0.8)            # wider than the first estimate (0.55)
    layout = ParagraphLayout(page="a4", margin_mm=20, ink_height_mm=6)
    doc = write_paragraph(hand, text_of(120), layout=layout, seed=1)
    assert doc.rounds >= 2 and not doc.shrunk_lines
    assert " ".join(doc.texts).split() == text_of(120).split()
    line_w = (210 - 40) / MM_PER_PX
    margin = 20 / MM_PER_PX
    for x0, x1, _ in (b for p in doc.pages for b in _line_boxes(p)):
        assert x0 == pytest.approx(margin) and x1 <= margin + line_w + 1e-6
    # only changed lines were written again
    written = [t for call in hand.calls for t in call]
    assert len(written) < 2 * len([t for t in doc.texts if t])
    # and the lines are full: the next word would not have fitted (measured in the real ink)
    used = [x1 - x0 for p in doc.pages for x0, x1, _ in _line_boxes(p)]
    assert np.median(used) > 0.8 * line_w


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment_and_line_spacing(align):
    layout = ParagraphLayout(page="a5", margin_mm=15, ink_height_mm=5, line_spacing=2.0, align=align,
                             straighten=False)
    doc = write_paragraph(FakeHand(), text_of(40), layout=layout, seed=2)
    boxes = _line_boxes(doc.pages[0])
    left, width = 15 / MM_PER_PX, (148 - 30) / MM_PER_PX
    if align == "left":
        assert all(b[0] == pytest.approx(left) for b in boxes)
    elif align == "right":
        assert all(b[1] == pytest.approx(left + width) for b in boxes)
    else:
        assert all((b[0] + b[1]) / 2 == pytest.approx(left + width / 2) for b in boxes)
    pitch = 2.0 * 5 / MM_PER_PX
    assert np.allclose(np.diff([b[2] for b in boxes]), pitch)


def test_blank_lines_are_paragraph_breaks_and_overflow_continues_on_new_pages(tmp_path):
    layout = ParagraphLayout(page="a5", margin_mm=20, ink_height_mm=10, line_spacing=2.0)
    per_page = layout.lines_per_page()                      # (210 - 40) // 20 = 8
    text = "\n\n".join(text_of(25, k) for k in range(4))
    doc = write_paragraph(FakeHand(), text, layout=layout, seed=3)
    assert len(doc.pages) >= 2 and per_page == 8
    w_px, h_px = (v / MM_PER_PX for v in PAPER_SIZES_MM["a5"])
    for page in doc.pages:
        assert page.size_mm == PAPER_SIZES_MM["a5"]
        assert page.width == pytest.approx(w_px) and page.height == pytest.approx(h_px)
    # each page holds at most per_page rows, blank rows included; no page starts with a blank row
    for k in range(len(doc.pages)):
        rows = [t for t, p in zip(doc.texts, doc.line_page) if p == k]
        assert len(rows) <= per_page and rows[0] != ""
    assert sum(1 for t in doc.texts if t == "") == 3
    assert all(doc.texts[i] == "" for i, p in enumerate(doc.line_page) if p == -1)   # only blanks are dropped
    # ink of every written line is on its page, in order
    assert sum(len(p.lines) for p in doc.pages) == sum(1 for t in doc.texts if t)
    paths = doc.export(tmp_path / "letter.svg")
    assert paths == page_paths(tmp_path / "letter.svg", len(doc.pages))
    assert [p.name for p in paths][:2] == ["letter-1.svg", "letter-2.svg"]
    root = ET.fromstring(paths[1].read_text())
    assert float(root.get("width")[:-2]) == pytest.approx(w_px, abs=0.01)
    plot = doc.export(tmp_path / "plot.svg", "plotter-svg")
    assert ET.fromstring(plot[0].read_text()).get("width") == "148mm"


def test_variation_moves_baselines_a_little_and_is_reproducible():
    text = text_of(60)
    plain = write_paragraph(FakeHand(jitter=0), text, layout=ParagraphLayout(variation=0), seed=4)
    varied = write_paragraph(FakeHand(jitter=0), text, layout=ParagraphLayout(variation=1), seed=4)
    again = write_paragraph(FakeHand(jitter=0), text, layout=ParagraphLayout(variation=1), seed=4)
    mids_plain = np.array([b[2] for b in _line_boxes(plain.pages[0])])
    mids_varied = np.array([b[2] for b in _line_boxes(varied.pages[0])])
    pitch = 1.7 * 6 / MM_PER_PX
    shift = np.abs(mids_varied - mids_plain)
    assert shift.max() > 0.01 * pitch and shift.max() < 0.3 * pitch
    heights = lambda d: [np.ptp(np.concatenate(ln.strokes)[:, 1]) for ln in d.pages[0].lines]
    assert np.std(heights(varied)) > np.std(heights(plain)) + 1e-6
    assert np.array_equal(np.concatenate(varied.pages[0].lines[0].strokes),
                          np.concatenate(again.pages[0].lines[0].strokes))


def test_a_line_still_too_wide_after_the_last_round_is_narrowed_to_fit():
    lines = [WrittenLine("wide", [np.array([[0.0, 0.0], [5000.0, 10.0]])], 50.0)]
    layout = ParagraphLayout(page="a5", margin_mm=10)
    pages, line_page, shrunk = set_pages(lines, 100.0, layout)
    pts = pages[0].lines[0].strokes[0]
    assert shrunk == [0] and line_page == [0]
    assert np.ptp(pts[:, 0]) == pytest.approx((148 - 20) / MM_PER_PX)


def test_no_page_gives_one_page_as_tall_as_the_text():
    doc = write_paragraph(FakeHand(), text_of(80), layout=ParagraphLayout(page=None, width_mm=100), seed=5)
    assert len(doc.pages) == 1 and doc.pages[0].size_mm is None
    rows = sum(1 for p in doc.line_page if p >= 0)
    assert doc.pages[0].height == pytest.approx((40 + rows * 1.7 * 6) / MM_PER_PX)


@pytest.mark.parametrize("kwargs, text, message", [
    ({"layout": ParagraphLayout(page="b5")}, "hello", "unknown page size 'b5'"),
    ({"layout": ParagraphLayout(align="justify")}, "hello", "align 'justify'"),
    ({"layout": ParagraphLayout(margin_mm=100)}, "hello", "too narrow"),
    ({"layout": ParagraphLayout(width_mm=500)}, "hello", "line width 500"),
    ({"layout": ParagraphLayout(line_spacing=9)}, "hello", "line spacing 9"),
    ({"bias": 9}, "hello", "bias 9"),
    ({"style": 3}, "hello", "no style 3"),
    ({}, "caf\u00e9 #1", "cannot write '#';"),
    ({}, "   \n  ", "nothing to write"),
    ({}, "x" * 95, "a word of 95 characters"),
    ({}, "word " * 1001, "paragraph mode takes up to"),
])
def test_bad_paragraph_requests_get_clear_errors(kwargs, text, message):
    with pytest.raises(InputError, match=message):
        write_paragraph(FakeHand(), text, **kwargs)


# ---- the real Hand ------------------------------------------------------------------------------------
def test_hand_write_paragraph_with_a_tiny_model_exports_every_format(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    doc = hand.write_paragraph(f"{text_of(30)}\n\n{text_of(10, 3)}", style=1, bias=1.0, seed=9, max_steps=25,
                               layout=ParagraphLayout(page="a5", ink_height_mm=8, variation=1))
    assert doc.seed == 9 and len(doc.pages) >= 1
    assert " ".join(doc.texts).split() == f"{text_of(30)} {text_of(10, 3)}".split()
    for fmt, name in [("svg", "p.svg"), ("png", "p.png"), ("plotter-svg", "plot.svg"), ("gcode", "p.gcode"),
                      ("animated-svg", "anim.svg"), ("gif", "p.gif")]:
        paths = doc.export(tmp_path / name, fmt)
        assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    code = (tmp_path / "p.gcode").read_text() if len(doc.pages) == 1 else (tmp_path / "p-1.gcode").read_text()
    paths, _ = parse_gcode(code, GcodeOptions())
    assert len(paths) == sum(len(ln.strokes) for ln in doc.pages[0].lines)
    # same seed, same pages
    again = hand.write_paragraph(f"{text_of(30)}\n\n{text_of(10, 3)}", style=1, bias=1.0, seed=9, max_steps=25,
                                 layout=ParagraphLayout(page="a5", ink_height_mm=8, variation=1))
    assert again.svgs() == doc.svgs()


def test_line_mode_export_formats(tiny_ckpt_path, tmp_path):
    hand = Hand.load(tiny_ckpt_path)
    doc = hand.write([LineSpec("hello there")], seed=1, max_steps=20)
    assert doc.save(tmp_path / "a.gcode").suffix == ".gcode"
    assert doc.save(tmp_path / "a.svg", "plotter-svg").read_text().count('inkscape:groupmode="layer"') == 1
    assert "<animate" in doc.save(tmp_path / "b.svg", "animated-svg").read_text()
    with pytest.raises(InputError, match="cannot tell the output format"):
        doc.export(tmp_path / "a.xyz")
    with pytest.raises(InputError, match="unknown page size"):
        doc.export(tmp_path / "a.svg", "plotter-svg", plotter=PlotterOptions(paper="a3"))
    assert not (tmp_path / "a.xyz").exists()


def test_sloping_lines_are_levelled_unless_asked_not_to():
    from scribe.render.paragraph import baseline_angle
    t = np.linspace(0, 800, 300)
    sloped = [np.column_stack([t, 0.25 * t + 30 * np.sin(t / 9)])]         # runs downhill at about 14 degrees
    assert np.degrees(baseline_angle(sloped[0])) == pytest.approx(np.degrees(np.arctan(0.25)), abs=1.0)
    lines = [WrittenLine("x", sloped, 6.0)] * 3
    level, _, _ = set_pages(lines, 100.0, ParagraphLayout(page="a4"))
    kept, _, _ = set_pages(lines, 100.0, ParagraphLayout(page="a4", straighten=False))
    assert abs(np.degrees(baseline_angle(level[0].lines[0].strokes[0]))) < 0.5
    assert np.degrees(baseline_angle(kept[0].lines[0].strokes[0])) == pytest.approx(14.0, abs=1.0)
    # levelled lines keep clear of each other; sloping ones run into the next line
    lo = lambda page, i: page.lines[i].strokes[0][:, 1].max()
    hi = lambda page, i: page.lines[i].strokes[0][:, 1].min()
    assert lo(level[0], 0) < hi(level[0], 1) and lo(kept[0], 0) > hi(kept[0], 1)


def test_paragraph_export_errors_are_input_errors_and_write_nothing(tmp_path):
    doc = write_paragraph(FakeHand(), text_of(20), seed=1)
    with pytest.raises(InputError, match="unknown page size 'a3'"):
        doc.save(tmp_path / "p.svg", "plotter-svg", plotter=PlotterOptions(paper="a3"))
    with pytest.raises(InputError, match="cannot tell the output format"):
        doc.save(tmp_path / "p.xyz")
    assert not list(tmp_path.iterdir())


def test_every_line_sits_on_its_slot_after_levelling_and_narrowing():
    t = np.linspace(0, 3000, 600)
    sloped = WrittenLine("x", [np.column_stack([t, -0.15 * t + 30 * np.sin(t / 9)])], 30.0)   # uphill, too wide
    flat = WrittenLine("y", [np.column_stack([t[:100], 30 * np.sin(t[:100] / 9)])], 3.0)
    layout = ParagraphLayout(page="a5", margin_mm=15)
    pages, _, shrunk = set_pages([flat, sloped, flat, sloped], 100.0, layout)
    assert shrunk == [1, 3]
    mids = [np.median(np.concatenate(ln.strokes)[:, 1]) for ln in pages[0].lines]
    pitch = layout.pitch_mm() / MM_PER_PX
    assert np.allclose(mids, 15 / MM_PER_PX + (np.arange(4) + 0.5) * pitch)


def test_a_line_may_carry_its_own_colour():
    a = WrittenLine("a", [np.array([[0.0, 0.0], [50.0, 5.0]])], 0.5, color="#aa0000")
    b = WrittenLine("b", [np.array([[0.0, 0.0], [50.0, 5.0]])], 0.5)
    pages, _, _ = set_pages([a, b], 100.0, ParagraphLayout(), color="#000000")
    assert [ln.color for ln in pages[0].lines] == ["#aa0000", "#000000"]


def test_a_hand_narrower_than_estimated_gets_fuller_lines():
    hand = FakeHand(true_unit=0.35)           # much narrower than the first estimate (0.55)
    doc = write_paragraph(hand, text_of(150), layout=ParagraphLayout(page="a5", ink_height_mm=8), seed=6)
    assert doc.rounds >= 2 and not doc.shrunk_lines
    line_w = (148 - 40) / MM_PER_PX
    used = [x1 - x0 for p in doc.pages for x0, x1, _ in _line_boxes(p)][:-1]    # all but the last line
    assert np.median(used) > 0.85 * line_w and max(used) <= line_w + 1e-6
    assert " ".join(doc.texts).split() == text_of(150).split()


def test_wrap_lines_marks_lines_broken_for_width():
    pairs = wrap_lines("aa bb cc\ndd", lambda t: len(t) <= 5)
    assert pairs == [("aa bb", True), ("cc", False), ("dd", False)]
    # a line cut by the character limit is not "broken for width"
    assert wrap_lines("aa bb cc", lambda t: True, max_chars=5) == [("aa bb", False), ("cc", False)]
