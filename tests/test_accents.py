"""Accented letters (scribe.accents): the table, the text check, the marks' place from the window's
alignment, same seed same ink, the reader's stripped text, and every front end through Hand and the CLI.

The tiny random models (helpers) check the plumbing; the shipped model checks where real marks land."""
from __future__ import annotations

import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from helpers import MAX_STEPS, ROOT, TINY_ALPHABET, check_svg
from scribe import accents, candidates
from scribe.alphabet import Alphabet, UnknownCharactersError
from scribe.errors import InputError
from scribe.hand import Hand
from scribe.request import LineSpec
from scribe.sampling import SampledLine

REQUIRED = ("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœ"
            "ąęłżźćńśčřšžőűůďťľĺŕğışĄĘŁŻŹĆŃŚČŘŠŽŐŰŮĎŤĽĹŔĞİŞăâîșțĂÂÎȘȚāēīōūėįųģķļņ")
FIFTY = ("café élève crème garçon naïve Noël français hôtel forêt cœur Müller Köln Bär für schön Mädchen "
         "Größe Übung Äpfel señor año mañana niño árbol canción corazón José fútbol pingüino São ação "
         "você Łódź żółw źle gęś pięć Kraków říjen Dvořák čeština Plzeň Erdős tűz Ærø Ålesund smørbrød "
         "Brașov țară İstanbul dağ kız şehir ľad ďakujem ąžuolas").split()


# ---- the table and the text check ------------------------------------------------------------------
def test_the_table_covers_latin_1_oe_and_central_european_letters():
    assert set(REQUIRED) <= set(accents.LETTERS)
    latin1 = [chr(c) for c in range(0xC0, 0x100) if unicodedata.category(chr(c)).startswith("L")]
    assert set(latin1) <= set(accents.LETTERS)
    for c, a in accents.LETTERS.items():
        assert a.base and all(b in TINY_ALPHABET for b in a.base), c
        assert a.mark is None or a.mark in accents.MARKS, c
    assert accents.base_text("Café Müller, señor Straße Œuvre æ") == "Cafe Muller, senor StraBe OEuvre ae"
    # positions are in the written text, after a ligature's two letters
    assert [(k, a.mark) for k, a in accents.marks_of("Œé ı")] == [(2, "acute"), (4, None)]
    assert accents.LETTERS["ï"].drop_dot and accents.LETTERS["ı"].drop_dot and not accents.LETTERS["į"].drop_dot


def test_the_check_accepts_accents_and_lists_only_what_cannot_be_written():
    alphabet = Alphabet(TINY_ALPHABET)
    assert accents.clean(alphabet, "Cafe\u0301  Müller") == "Café Müller"      # NFC first
    with pytest.raises(UnknownCharactersError) as e:
        accents.clean(alphabet, "Café Ω ☃ 😀 señor")
    assert e.value.unknown == ["Ω", "☃", "😀"]
    assert "'é'" not in str(e.value).split("It knows")[0] and "'ñ'" not in str(e.value).split("It knows")[0]


# ---- the geometry on ink whose letters are known ----------------------------------------------------
def boxes_line(text: str, width: float = 60.0, xh: float = 100.0, slant: float = 0.25):
    """Ink of one loop per character (tall letters and capitals twice as high), slanted, and the window
    on each character while its loop is drawn: (offsets in data units, window)."""
    strokes, window, x = [], [], 0.0
    for k, c in enumerate(text):
        if c == " ":
            x += width
            continue
        h = 2.2 * xh if c in accents.TALL or c.isupper() else xh
        t = np.linspace(0, 2 * np.pi, 14)
        y = h / 2 - np.cos(t) * h / 2
        pts = np.column_stack([x + width / 2 + np.sin(t) * width / 2.4 + slant * (y - xh / 2), y])
        strokes.append(pts)
        window.append(np.full(len(pts), k))
        x += width * 1.1
    offsets = np.zeros((sum(len(s) for s in strokes), 3), np.float32)
    pts = np.vstack(strokes)
    offsets[:, :2] = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    offsets[np.cumsum([len(s) for s in strokes]) - 1, 2] = 1.0
    return offsets, np.concatenate(window)


def letter_span(window: np.ndarray, xd: np.ndarray, k: int, text: str) -> tuple[float, float]:
    """Character k's span by the alignment: from where the window left the previous letter's ink (its
    last points; a space has no ink of its own, and the window stays on it while the pen starts the
    next word) to the end of its own (deslanted x)."""
    right = xd[window == k].max()
    j = k - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    before = xd[window == j] if j >= 0 else xd[:0]
    left = before.max() if len(before) and before.max() < right else xd[window == k].min()
    return float(left), float(right)


def placed_right(line: accents.Line, mark: accents.PlacedMark, text: str) -> tuple[bool, str]:
    """Whether a mark lies on its own letter by the alignment (its centre within the letter's span,
    nearer it than either neighbour), above it (below, for cedilla, ogonek, a comma below and Þ's
    descender; across, for a stroke or bar), at a plausible size. Returns (ok, why not)."""
    k, xh = mark.position, line.x_height
    pts = np.vstack(mark.strokes)
    cx, cy = pts.mean(0)
    x = line.deslant(cx, cy)
    xd = line.xd
    left, right = letter_span(line.window, xd, k, text)
    pad = 0.2 * xh
    beside = 0.6 * xh if mark.kind == "caron_right" else 0.0     # ď ť ľ: an apostrophe right of the stem
    if not left - pad <= x <= right + pad + beside:
        return False, f"centre {x:.0f} outside its letter {left:.0f}-{right:.0f}"
    for j in (k - 1, k + 1):
        if 0 <= j < len(text) and (line.window == j).any() and not text[j].isspace() and not beside:
            lo, hi = letter_span(line.window, xd, j, text)
            if lo + pad < x < hi - pad:
                return False, f"over letter {j}, not its own"
    size = float(np.ptp(pts, 0).max())
    bottom, top = pts[:, 1].min(), pts[:, 1].max()
    base = line.baseline
    if mark.kind in accents.BELOW:
        if not (top <= base + 0.4 * xh and bottom >= base - 1.3 * xh):
            return False, "not under the letter"
    elif mark.kind in accents.THROUGH:
        if not (bottom < max(base + xh, line.letter(k, text)[3], line.ascender) and top > base):
            return False, "not across the letter"
    elif mark.kind == "caron_right":
        if not bottom >= base + 0.5 * xh:
            return False, "not beside the top of its letter"
    elif mark.kind == "ascender":
        if not top > base + 1.2 * xh:
            return False, "not up to the ascenders"
    else:
        own_top = line.letter(k, text)[3]
        if not (bottom >= base + 0.7 * xh and bottom <= max(own_top, base + xh) + 1.0 * xh):
            return False, f"not just above the letter (bottom {bottom - base:.0f} over the baseline)"
    if not 0.03 * xh <= size <= (2.0 if mark.kind in accents.THROUGH + ("ascender", "descender") else 0.8) * xh:
        return False, f"size {size / xh:.2f} x-heights"
    return True, ""


def test_marks_sit_on_their_own_letters_of_known_ink():
    text = accents.base_text("café señor Müller ąę łó ř ÉÖ ç ø þ")
    marks = accents.marks_of("café señor Müller ąę łó ř ÉÖ ç ø þ")
    offsets, window = boxes_line(text)
    out, win, placed = accents.add_marks(offsets, window, text, marks, height=300.0)
    assert [m.kind for m in placed] == [a.mark for _, a in marks]
    line = accents.measure(offsets, window, text, 300.0)
    assert abs(line.slant - 0.25) < 0.1 and abs(line.x_height - 100) < 20
    for m in placed:
        ok, why = placed_right(line, m, text)
        assert ok, (text[m.position], m.kind, why)
    # the marks are ordinary strokes of the returned ink, in path order: after their word
    assert len(out) == len(offsets) + sum(len(s) for m in placed for s in m.strokes) and len(win) == len(out)
    strokes = np.split(np.cumsum(out[:, :2].astype(float), 0), np.flatnonzero(out[:, 2] > 0.5)[:-1] + 1)
    first_mark = next(i for i, s in enumerate(strokes)
                      if s.shape == placed[0].strokes[0].shape and np.allclose(s, placed[0].strokes[0], atol=0.01))
    assert first_mark == 4      # c, a, f, e, then the acute
    assert accents.add_marks(offsets, window, text, [], 300.0)[0] is offsets     # no marks: the ink as it was


def test_an_i_loses_its_dot_when_a_mark_replaces_it():
    text = "nai"
    offsets, window = boxes_line(text)
    pts = np.cumsum(offsets[:, :2].astype(float), 0)
    dot = np.array([[pts[window == 2, 0].max() + 10, 160.0], [pts[window == 2, 0].max() + 13, 158.0]])
    extra = np.zeros((2, 3), np.float32)
    extra[:, :2] = np.diff(np.vstack([pts[-1:], dot]), axis=0)
    extra[1, 2] = 1.0
    offsets, window = np.vstack([offsets, extra]), np.concatenate([window, [2, 2]])
    for letter, strokes_after in (("ï", 3 + 2), ("ı", 3), ("į", 4 + 1)):
        out, _, placed = accents.add_marks(offsets, window, text, accents.marks_of("na" + letter), 300.0)
        assert int((out[:, 2] > 0.5).sum()) == strokes_after, letter


def test_marks_never_fail_on_odd_ink():
    """Whatever a model writes (one point, no pen-down move, the window on one character, a line cut
    short), the marks go on or are left off; the line is never lost."""
    rng = np.random.default_rng(0)
    text = "".join(sorted(accents.LETTERS))[:60]
    written, marks = accents.base_text(text), accents.marks_of(text)
    cases = [np.array([[0, 0, 1]], np.float32), np.zeros((5, 3), np.float32),
             np.column_stack([rng.normal(0, 30, (200, 2)), rng.random(200) < 0.2]).astype(np.float32)]
    for offsets in cases:
        for window in (np.zeros(len(offsets), int), rng.integers(0, len(written) + 1, len(offsets))):
            out, win, placed = accents.add_marks(offsets, window, written, marks, 345.0)
            assert len(out) == len(win) >= 1 and np.isfinite(out).all()
    out, _, placed = accents.add_marks(np.array([[0, 400, 0], [3, 2, 1]], np.float32), np.zeros(2, int), "i",
                                       accents.marks_of("ı"), 345.0)
    assert len(out) == 2 and placed == []          # an i that is only its dot keeps it


# ---- through Hand, with a tiny model ------------------------------------------------------------------
def test_hand_writes_accents_with_the_same_ink_for_the_same_seed(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    specs = [LineSpec("Café Müller, señor", style=1), LineSpec("plain line")]
    a = hand.write(specs, seed=5, max_steps=MAX_STEPS)
    b = hand.write(specs, seed=5, max_steps=MAX_STEPS)
    assert np.array_equal(a.lines[0].offsets, b.lines[0].offsets) and len(a.lines[0].marks) == 3
    assert a.lines[0].unmarked is not None and len(a.lines[0].offsets) > len(a.lines[0].unmarked)
    assert a.lines[1].unmarked is None and a.lines[1].marks == []
    assert a.specs[0].text == "Café Müller, señor"                  # the text keeps its accents
    plain = hand.write([LineSpec("Cafe Muller, senor", style=1), specs[1]], seed=5, max_steps=MAX_STEPS)
    assert np.array_equal(plain.lines[0].offsets, a.lines[0].unmarked)     # the model wrote the base text
    # live ink ends in the same ink, marks and all
    gen = hand.write_live(specs, seed=5, max_steps=MAX_STEPS, every=8)
    try:
        while True:
            next(gen)
    except StopIteration as end:
        live = end.value
    assert np.array_equal(live.lines[0].offsets, a.lines[0].offsets)
    check_svg(a.save(tmp_path / "a.svg"), 2)
    for fmt in ("plotter-svg", "gcode", "animated-svg", "pdf"):
        assert a.save(tmp_path / f"a.{fmt}", fmt=fmt).stat().st_size > 0
    doc = hand.write_paragraph("Ærø, Kraków and Zürich.\nŁódź", style=0, max_steps=MAX_STEPS, seed=1)
    assert doc.texts[-1] == "Łódź" and all(p.lines for p in doc.pages)


def test_a_csv_batch_and_a_saved_document_write_the_same_accented_ink(tiny_ckpt_path, tmp_path):
    from scribe.batch import run_batch
    from scribe.document import Document, document_of
    hand = Hand.load(tiny_ckpt_path)
    csv = tmp_path / "rows.csv"
    csv.write_text("text,out\n\"Chère Zoë,\\nmerci\",zoe\nCrème Ω,bad\n", encoding="utf-8")
    report = run_batch(hand, csv, tmp_path / "out", max_steps=MAX_STEPS)
    assert [p.name for p in report.written] == ["zoe.svg"] and len(report.failed) == 1
    assert "'Ω'" in report.failed[0][1] and "'è'" not in report.failed[0][1].split("it knows")[0]
    doc = hand.write([LineSpec("Zoë und Jürgen")], seed=9, max_steps=MAX_STEPS)
    again = Document.load(document_of(doc, hand).save(tmp_path / "doc.json")).write_again(hand, max_steps=MAX_STEPS)
    assert again.specs[0].text == "Zoë und Jürgen" and np.array_equal(again.lines[0].offsets, doc.lines[0].offsets)
    assert len(doc.lines[0].marks) == 2


def test_the_error_lists_only_what_cannot_be_written(tiny_ckpt_path):
    hand = Hand.load(tiny_ckpt_path)
    with pytest.raises(InputError) as e:
        hand.write([LineSpec("Café Ω"), LineSpec("señor ☃")], max_steps=MAX_STEPS)
    listed = str(e.value).split("; it knows")[0]
    assert listed == "this model cannot write 'Ω', '☃'"
    with pytest.raises(InputError, match="cannot write 'Ω'; it knows"):
        hand.write_paragraph("Crème brûlée Ω", max_steps=MAX_STEPS)


class BaseReader:
    """A reader that reads every line as `reading`, and keeps the ink it was given."""

    def __init__(self, reading: str):
        self.reading, self.seen = reading, []

    def read(self, offsets):
        self.seen.extend(offsets)
        return [self.reading] * len(offsets)


def test_the_reader_compares_against_the_text_with_accents_stripped():
    unmarked = np.zeros((4, 3), np.float32)
    line = SampledLine(np.ones((6, 3), np.float32), 4, False, 1.0, unmarked=unmarked)
    reader = BaseReader("Cafe Muller")
    chosen, cers, readings, _ = candidates.choose(["Café Müller"], [[line]], reader)
    assert cers == [0.0] and readings == ["Cafe Muller"]
    assert reader.seen[0] is unmarked                   # the model's own ink, without the marks
    check = candidates.LegibilityCheck(4, line_cers=[0.0], accents_stripped=True)
    assert "compared as their base letters" in check.summary() and check.to_dict()["accents_stripped"]


def test_the_cli_writes_accented_text(tiny_ckpt_path, tiny_style_dir, tmp_path):
    out = tmp_path / "cafe.svg"
    r = subprocess.run([sys.executable, "-m", "scribe.sample", "--text", "Café Müller, señor", "--checkpoint",
                        str(tiny_ckpt_path), "--style_dir", str(tiny_style_dir), "--max_steps", str(MAX_STEPS),
                        "--candidates", "1", "--seed", "3", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    check_svg(out, 1)


# ---- the shipped model: where real marks land -------------------------------------------------------
def shipped_lines(words: list[str], per_line: int = 5, seed: int = 11, styles=(None, 0, 3, 7)):
    """Write `words` with the shipped model in lines of `per_line` words, cycling through `styles`:
    [(text, written text, SampledLine)]."""
    hand = Hand.load()
    texts = [" ".join(words[i:i + per_line]) for i in range(0, len(words), per_line)]
    specs = [LineSpec(t, style=styles[i % len(styles)], bias=1.0) for i, t in enumerate(texts)]
    out = []
    for c in range(0, len(specs), 20):
        doc = hand.write(specs[c:c + 20], seed=seed + c)
        out += [(s.text, accents.base_text(s.text), ln) for s, ln in zip(specs[c:c + 20], doc.lines)]
    return hand, out


def placement(hand, lines) -> tuple[int, int, list]:
    placed, total, misses = 0, 0, []
    for text, written, ln in lines:
        line = accents.measure(ln.model_offsets, ln.model_window, written, hand.stats.ink_height)
        expected = [a.mark for _, a in accents.marks_of(text) if a.mark]
        assert [m.kind for m in ln.marks] == expected, text
        for m in ln.marks:
            ok, why = placed_right(line, m, written)
            total += 1
            placed += ok
            if not ok:
                misses.append((text, written[m.position], m.kind, why))
    return placed, total, misses


@pytest.mark.slow
def test_every_supported_letter_is_written_with_its_mark_on_it():
    words = []
    for c in sorted(accents.LETTERS):
        lower = c.islower()
        words += [f"m{c}n" if lower else f"{c}na", f"{c}st" if lower else f"{c}ro", f"bo{c}" if lower else f"{c}lm"]
    hand, lines = shipped_lines(words, per_line=6)
    placed, total, misses = placement(hand, lines)
    kinds = {m.kind for _, _, ln in lines for m in ln.marks}
    assert kinds == {a.mark for a in accents.LETTERS.values() if a.mark}
    print(f"every letter: {placed}/{total} marks placed ({placed / total:.1%})", *misses[:20], sep="\n")
    assert placed / total >= 0.9, misses[:20]


@pytest.mark.slow
def test_fifty_words_with_accents_place_95_percent_of_their_marks():
    assert len(FIFTY) >= 50
    hand, lines = shipped_lines(FIFTY)
    placed, total, misses = placement(hand, lines)
    print(f"50 words: {placed}/{total} marks placed ({placed / total:.1%})", *misses, sep="\n")
    assert placed / total >= 0.95, misses


@pytest.mark.slow
def test_the_shipped_model_gives_the_same_marks_for_the_same_seed():
    hand = Hand.load()
    specs = [LineSpec("Straße, Ærø, Łódź", style=3), LineSpec("crème brûlée", style=7)]
    a, b = hand.write(specs, seed=21), hand.write(specs, seed=21)
    for x, y in zip(a.lines, b.lines):
        assert np.array_equal(x.offsets, y.offsets) and len(x.marks) > 0
    c = hand.write(specs, seed=22)
    assert not np.array_equal(a.lines[0].offsets, c.lines[0].offsets)


@pytest.mark.slow
def test_an_i_dot_sits_where_the_alignment_puts_the_i():
    """What the marks' across-position rests on: the model's own i-dots (the writer's mark of where
    each i is) lie at the i's right end by the alignment (dots found within 0.35 x-heights of the span)."""
    words = "tiny ship mix bird silk pins wind lift kid this visit fist mild limit civil icing".split() * 2
    hand, lines = shipped_lines(words, per_line=4, styles=(0, 3, 5, 9, 2, 11))
    offs = []
    for text, written, ln in lines:
        line = accents.measure(ln.offsets, ln.window, written, hand.stats.ink_height)
        for k, c in enumerate(written):
            s = accents._dot_to_drop(line, k, written, hand.stats.ink_height) if c == "i" else None
            if s is not None:
                a, b = line.strokes[s]
                cx, cy = line.points[a:b + 1].mean(0)
                offs.append((line.deslant(cx, cy) - line.centre(k, written)) / line.x_height)
    offs = np.abs(np.array(offs))
    assert len(offs) >= 20 and np.mean(offs < 0.25) >= 0.9, offs


@pytest.mark.slow
def test_the_cli_writes_cafe_mueller_senor_with_the_shipped_model(tmp_path):
    out = tmp_path / "cafe.svg"
    r = subprocess.run([sys.executable, "-m", "scribe.sample", "--text", "Café Müller, señor", "--seed", "3",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    root = check_svg(out, 1)
    assert "compared as their base letters" in r.stdout + r.stderr
