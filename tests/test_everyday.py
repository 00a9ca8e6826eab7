"""Issue 16's library and CLI features, with tiny models and real files: PDF, paper, one writing size
and spacing, saved documents, batches from a CSV, Spaces-ready launch flags."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scribe.batch import read_rows, run_batch
from scribe.document import Document, DocumentError, document_of
from scribe.errors import InputError
from scribe.hand import Hand
from scribe.request import LineSpec, WriteRequest
from scribe.render.export import export_pages
from scribe.render.page import (DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM, MM_PER_PX, InkLine, Layout, layout_page,
                                size_mm)
from scribe.render.paper import PaperOptions, baseline_offset, paper_svg, rule_rows
from scribe.render.paragraph import ParagraphLayout
from scribe.styles import write_style
from scribe.web import forms

from helpers import synthetic_offsets

ROOT = Path(__file__).resolve().parent.parent


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    assert data.startswith(b"%PDF-")
    return [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", data)]


def bluish_pixels(png: bytes) -> int:
    """Pixels tinted towards the rules' pale blue (anti-aliased thin rules are paler still)."""
    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(((im[..., 2] - im[..., 0]) > 8).sum())


def handwriting_lines(n: int = 3) -> list[InkLine]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        x = np.linspace(0, 200, 60)
        y = 10 * np.sin(x / 7) + rng.normal(0, 1, 60)
        out.append(InkLine([np.column_stack([x, y])]))
    return out


@pytest.fixture()
def hand(tiny_ckpt_path, tiny_style_dir):
    return Hand.load(tiny_ckpt_path, tiny_style_dir)


def cli(args, cwd, ckpt, style_dir):
    base = [sys.executable, "-m", "scribe.sample", "--checkpoint", str(ckpt), "--style_dir", str(style_dir),
            "--max_steps", "12"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(base + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# ---- PDF --------------------------------------------------------------------------------------------
def test_a_multi_page_document_is_one_pdf_with_a_page_per_page(hand, tmp_path):
    text = " ".join(["alpha beta gamma delta"] * 14)
    doc = hand.write_paragraph(text, 1, layout=ParagraphLayout(page="a5", ink_height_mm=20, margin_mm=15),
                               seed=2, max_steps=12)
    assert len(doc.pages) >= 2
    files = doc.export(tmp_path / "letter.pdf")
    assert files == [tmp_path / "letter.pdf"] and not list(tmp_path.glob("letter-*"))
    pages = pdf_pages(files[0].read_bytes())
    assert len(pages) == len(doc.pages)
    for w, h in pages:      # A5 in points
        assert abs(w - 148 / 25.4 * 72) < 0.1 and abs(h - 210 / 25.4 * 72) < 0.1


def test_line_mode_pdf_and_the_cli_format(hand, tmp_path, tiny_ckpt_path, tiny_style_dir):
    doc = hand.write([LineSpec("hello"), LineSpec("there")], seed=1, max_steps=12)
    out = doc.save(tmp_path / "two.pdf")
    page = doc.page()
    assert pdf_pages(out.read_bytes()) == [pytest.approx((page.width * 0.75, page.height * 0.75), abs=0.02)]
    r = cli(["--lines", "hello", "there", "--format", "pdf", "--seed", "3", "--out", "cli.pdf"], tmp_path,
            tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 0, r.stderr
    assert len(pdf_pages((tmp_path / "cli.pdf").read_bytes())) == 1


# ---- paper ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ruled", "grid", "dotted"])
def test_paper_is_in_png_and_pdf_but_never_in_an_svg(tmp_path, kind):
    page = layout_page(handwriting_lines(), ink_height=20.0)
    paper = PaperOptions(kind)
    plain_png, = export_pages([page], tmp_path / "plain.png", dpi=96)
    png, = export_pages([page], tmp_path / "paper.png", dpi=96, paper=paper)
    assert bluish_pixels(plain_png.read_bytes()) == 0 and bluish_pixels(png.read_bytes()) > 50
    pdf, = export_pages([page], tmp_path / "paper.pdf", paper=paper)
    assert pdf.stat().st_size > export_pages([page], tmp_path / "plain.pdf")[0].stat().st_size
    for fmt in ("svg", "plotter-svg"):
        svg, = export_pages([page], tmp_path / f"{fmt}.svg", fmt, paper=paper)
        text = svg.read_text()
        assert 'id="paper"' not in text and "a9c4e0" not in text.lower() and "<line" not in text


def test_the_rules_sit_on_the_baselines_at_the_line_pitch():
    layout = Layout(x_height_px=30, line_spacing=2.0)
    page = layout_page(handwriting_lines(4), ink_height=20.0, layout=layout)
    rows = rule_rows(page, PaperOptions("ruled"))
    assert np.allclose(np.diff(rows), 60.0)
    for ln in page.lines:
        y = np.concatenate(ln.strokes)[:, 1]
        baseline = np.percentile(y, 80)
        assert min(abs(r - baseline) for r in rows) < 1.0      # a rule under every line's body
    svg = paper_svg(page, PaperOptions("ruled", color="#ff0000"))
    root = ET.fromstring(svg)
    assert root[0].get("id") == "paper"                         # drawn first: behind the ink
    assert baseline_offset(page) > 0


def test_a_rule_pitch_sets_the_line_spacing_everywhere():
    layout, paper = forms.line_look("6", None, "left", "ruled", 9, "#223344")
    assert paper.pitch_mm == 9 and layout.line_spacing * layout.x_height_px * MM_PER_PX == pytest.approx(9)
    para, sheet = forms.paragraph_look(dict(page="a5", margin_mm=15, width_mm=0, size_mm=6, line_spacing=1.7,
                                                 paper="grid", rule_pitch=12))
    assert para.pitch_mm() == pytest.approx(12) and sheet.kind == "grid"
    with pytest.raises(InputError, match="paper 'lined' must be one of"):
        forms.line_look(paper="lined")
    with pytest.raises(InputError, match="rule pitch"):
        forms.line_look(paper="ruled", rule_pitch=99)


# ---- size and spacing ---------------------------------------------------------------------------------
def test_one_size_and_spacing_definition_for_every_mode():
    assert Layout().x_height_px * MM_PER_PX == pytest.approx(DEFAULT_SIZE_MM) == ParagraphLayout().ink_height_mm
    assert Layout().line_spacing == DEFAULT_LINE_SPACING == ParagraphLayout().line_spacing
    assert forms.paragraph_layout().ink_height_mm == DEFAULT_SIZE_MM
    assert size_mm("24px") == pytest.approx(24 * MM_PER_PX) and size_mm("8mm") == 8 and size_mm(None) == DEFAULT_SIZE_MM
    assert forms.line_look("24px")[0].x_height_px == pytest.approx(24)
    for bad, msg in [("huge", "must be a number"), ("1", "outside 2-40 mm"), ("nan", "outside")]:
        with pytest.raises(InputError, match=msg):
            forms.parse_size(bad)
    with pytest.raises(InputError, match="line spacing 9 is outside"):
        forms.line_look(line_spacing=9)


def test_size_and_spacing_change_the_line_mode_page(hand):
    doc = hand.write([LineSpec("hello"), LineSpec("there")], seed=1, max_steps=12)
    small, big = doc.page(Layout.sized(4, 1.5)), doc.page(Layout.sized("60px", 3))
    assert big.pitch_px == pytest.approx(180) and small.pitch_px == pytest.approx(4 / MM_PER_PX * 1.5)
    assert big.width > small.width and big.height > small.height


def test_cli_size_and_spacing_in_line_mode(tmp_path, tiny_ckpt_path, tiny_style_dir):
    for name, extra in (("a", []), ("b", ["--size", "12", "--line_spacing", "3"])):
        r = cli(["--lines", "hello", "there", "--seed", "3", "--out", f"{name}.svg"] + extra, tmp_path,
                tiny_ckpt_path, tiny_style_dir)
        assert r.returncode == 0, r.stderr
    height = lambda n: float(ET.parse(tmp_path / f"{n}.svg").getroot().get("height").rstrip("px"))
    assert height("b") > 2.5 * height("a")
    r = cli(["--text", "hi", "--size", "big"], tmp_path, tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 2 and "writing size 'big'" in r.stderr and "Traceback" not in r.stderr


# ---- saved documents ----------------------------------------------------------------------------------
def test_a_saved_document_writes_the_same_ink_byte_for_byte(hand, tmp_path):
    specs = [LineSpec("hello", 1, 1.2, "navy", 2.0), LineSpec(""), LineSpec("there", None, 0.5)]
    doc = hand.write(specs, seed=11, layout=Layout.sized(8, 2.0, "center"), max_steps=12)
    saved = document_of(doc, hand, hand.checkpoint.path, PaperOptions("dotted")).save(tmp_path / "d.json")
    data = json.loads(saved.read_text())
    assert data["seed"] == 11 and data["checkpoint"] == hand.checkpoint.path.name
    assert data["layout"] == {"size_mm": 8.0, "line_spacing": 2.0, "align": "center"}
    assert [l["style"] for l in data["lines"]] == [1, None, None] and data["paper"]["kind"] == "dotted"
    again = Document.load(saved).write_again(hand, max_steps=12)
    assert again.svg() == doc.svg() and again.png(dpi=96) == doc.png(dpi=96)


def test_a_document_written_with_the_legibility_check_writes_the_same_ink_again(hand, tmp_path):
    """The check's N chooses the ink, so the document keeps it: same seed, same N, same ink."""
    specs = [LineSpec("hello", 1, 1.0), LineSpec("there", None, 0.5)]
    doc = hand.write(specs, seed=5, max_steps=12, candidates=3)
    assert doc.legibility.ran, doc.legibility.skipped
    saved = document_of(doc, hand, hand.checkpoint.path).save(tmp_path / "d.json")
    assert json.loads(saved.read_text())["candidates"] == 3
    again = Document.load(saved).write_again(hand, max_steps=12)
    assert again.svg() == doc.svg()
    plain = hand.write(specs, seed=5, max_steps=12, candidates=1)
    assert document_of(plain, hand).candidates == 1


def test_a_document_carries_the_users_own_ink(tiny_ckpt_path, tiny_style_dir, tmp_path):
    mine = tmp_path / "mine"
    write_style(mine, 5, "my own hand", synthetic_offsets(seed=9))
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir, user_style_dir=mine)
    doc = hand.write([LineSpec("hello", 5), LineSpec("there", 0)], seed=4, max_steps=12)
    saved = document_of(doc, hand, embed_styles=[5]).save(tmp_path / "d.json")
    data = json.loads(saved.read_text())
    assert data["lines"][0]["style"]["text"] == "my own hand" and data["lines"][1]["style"] == 0
    elsewhere = Hand.load(tiny_ckpt_path, tiny_style_dir)          # a machine without style 5
    again = Document.load(saved).write_again(elsewhere, folder=tmp_path / "loaded", max_steps=12)
    assert again.svg() == doc.svg()


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"lines": []}', "not a Scribe document"),
    ('{"scribe_document": 9}', "format 9 is not supported"),
    ('{"scribe_document": 1, "seed": -1, "lines": [{"text": "a"}]}', "seed must be a whole number"),
    ('{"scribe_document": 1, "seed": 1, "lines": [{"text": "a", "style": "x"}]}', "line 1: style must be"),
    ('{"scribe_document": 1, "seed": 1, "lines": [{"text": "a", "style": {"text": "t", "offsets": [[1]]}}]}',
     "line 1: an embedded style needs 2-"),
    ('{"scribe_document": 1, "seed": 1, "layout": {"size_mm": 99}, "lines": [{"text": "a"}]}', "writing size 99"),
    ('{"scribe_document": 1, "seed": 1, "candidates": 40, "lines": [{"text": "a"}]}', "candidates must be"),
])
def test_a_bad_document_is_named_not_a_traceback(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(DocumentError, match=message):
        Document.load(tmp_path / "bad.json")


def test_cli_save_and_load_a_document(tmp_path, tiny_ckpt_path, tiny_style_dir):
    r = cli(["--lines", "hello", "there", "--styles", "1", "2", "--seed", "8", "--size", "7", "--out", "a.svg",
             "--save_document", "doc.json"], tmp_path, tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 0 and "Saved the document as doc.json" in r.stdout, r.stderr
    r = cli(["--document", "doc.json", "--out", "b.svg"], tmp_path, tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    (tmp_path / "bad.json").write_text("[1, 2]")
    r = cli(["--document", "bad.json"], tmp_path, tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 2 and "not a Scribe document" in r.stderr and "Traceback" not in r.stderr


# ---- batch ------------------------------------------------------------------------------------------
CSV = ('text,style,bias,color,out\n'
       '"hello\\nthere",1,1.0,navy,first\n'
       ',,,,\n'
       'hello,9,1,,\n'
       'fine,,zz,,\n'
       'last one,,,,../../escape\n')


def test_batch_writes_every_good_row_and_names_the_bad_ones(hand, tmp_path):
    (tmp_path / "rows.csv").write_text(CSV)
    ticks = []
    report = run_batch(hand, tmp_path / "rows.csv", tmp_path / "out", "png", seed=1, max_steps=12,
                       progress=ticks.append)
    assert sorted(p.name for p in report.written) == ["escape.png", "first.png"]
    assert all(p.parent == tmp_path / "out" for p in report.written)
    assert [n for n, _ in report.failed] == [2, 3, 4]
    assert "the text is empty" in report.failed[0][1] and "no style 9" in report.failed[1][1]
    assert "bias must be a number, not 'zz'" in report.failed[2][1]
    assert len(ticks) == 3                     # the good rows and the one the model refused
    first = report.written[[p.name for p in report.written].index("first.png")]
    assert Image.open(first).size[1] > Image.open(tmp_path / "out" / "escape.png").size[1]   # two lines


def test_batch_grouping_writes_the_same_files_as_row_by_row(hand, tmp_path):
    (tmp_path / "rows.csv").write_text("text\nhello\nthere\nquick fox\n")
    one = run_batch(hand, tmp_path / "rows.csv", tmp_path / "a", "svg", max_steps=12, group=True)
    two = run_batch(hand, tmp_path / "rows.csv", tmp_path / "b", "svg", max_steps=12, group=False)
    assert [p.name for p in one.written] == [p.name for p in two.written] == ["row-1.svg", "row-2.svg", "row-3.svg"]
    assert not one.failed and not two.failed


def test_a_batch_file_that_cannot_be_used_is_named(tmp_path):
    (tmp_path / "a.csv").write_text("words,style\nhello,1\n")
    with pytest.raises(InputError, match="needs a header row with a text column"):
        read_rows(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("text,font\nhello,1\n")
    with pytest.raises(InputError, match="unknown column"):
        read_rows(tmp_path / "b.csv")


def test_cli_batch(tmp_path, tiny_ckpt_path, tiny_style_dir):
    (tmp_path / "rows.csv").write_text(CSV)
    r = cli(["--batch", "rows.csv", "--out", "cards", "--format", "pdf", "--paper", "ruled"], tmp_path,
            tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "cards").iterdir()) == ["escape.pdf", "first.pdf"]
    for n in (2, 3, 4):
        assert f"error: row {n}: " in r.stderr
    assert "Wrote 2 files in cards (3 bad rows" in r.stdout and "Traceback" not in r.stderr


# ---- Spaces ---------------------------------------------------------------------------------------------
def test_the_app_honours_gradio_server_name_and_port(monkeypatch):
    from scribe.web.app import parse_args
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert (parse_args([]).host, parse_args([]).port) == ("127.0.0.1", None)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    assert (parse_args([]).host, parse_args([]).port) == ("0.0.0.0", 7861)
    assert parse_args(["--host", "127.0.0.2", "--port", "9000"]).host == "127.0.0.2"   # a flag still wins


def test_the_space_and_docker_files():
    docker = (ROOT / "Dockerfile").read_text()
    assert "download.pytorch.org/whl/cpu" in docker and re.search(r"^USER (?!root)", docker, re.M)
    assert 'CMD ["python", "app.py"]' in docker and "GRADIO_SERVER_NAME=0.0.0.0" in docker
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert "# Deploy as a Space" in deploy and "[deploy.md](docs/deploy.md)" in (ROOT / "README.md").read_text()
    req = (ROOT / "requirements.txt").read_text()
    # the CPU index is the Space's own line (docs/deploy.md), never the default install's: an unreachable
    # index costs pip retries on every package
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in deploy
    assert not any(l.strip().startswith(("--extra-index-url", "--index-url")) for l in req.splitlines())


# ---- progress per pen step --------------------------------------------------------------------------------
def test_pen_step_progress_is_real_changes_no_ink_and_can_stop_the_loop(hand):
    specs = [LineSpec("hello", 1), LineSpec("quick fox")]
    plain = hand.write(specs, seed=6, max_steps=30, candidates=1)     # one row per line: the check off
    seen = []
    tracked = hand.write(specs, seed=6, max_steps=30, candidates=1,
                         on_step=lambda t, cap, done: seen.append((t, cap, len(done))))
    assert tracked.svg() == plain.svg()
    assert [t for t, _, _ in seen] == list(range(1, len(seen) + 1)) and seen[-1][1] == 30
    assert len(seen) == max(ln.steps for ln in tracked.lines) and all(n == 2 for *_, n in seen)

    class Stop(Exception):
        pass

    stopped = []

    def stop_at_5(t, cap, done):
        stopped.append(t)
        if t == 5:
            raise Stop
    with pytest.raises(Stop):
        hand.write(specs, seed=6, max_steps=30, candidates=1, on_step=stop_at_5)
    assert stopped == [1, 2, 3, 4, 5]                                        # no step after the stop
    assert hand.write(specs, seed=6, max_steps=30, candidates=1).svg() == plain.svg()      # the hand is free and unchanged


def test_app_step_progress_moves_the_bar_for_long_documents(hand, tmp_path):
    from scribe.web import api, outputs
    calls = []
    progress = lambda frac, desc="": calls.append((frac, desc))
    assert api.step_progress(progress, 2) is None and api.step_progress(api.no_progress, 10) is None
    specs = [LineSpec(t) for t in ["hello", "there", "quick", "fox", "line", "ink"]]
    outputs.write_files(hand, WriteRequest(specs, 1, candidates=1, max_steps=30), 96, tmp_path,
                        on_step=api.step_progress(progress, len(specs), every=5))
    fracs = [f for f, _ in calls]
    assert len(calls) == 6 and fracs == sorted(fracs) and 0.2 < fracs[0] < fracs[-1] <= 0.95
    assert calls[0][1].startswith("Pen step 5 (at most 30); ")


def test_cli_progress_bar_over_pen_steps(tmp_path, tiny_ckpt_path, tiny_style_dir):
    r = cli(["--lines", "hello", "there", "--seed", "3", "--progress", "--out", "p.svg"], tmp_path, tiny_ckpt_path,
            tiny_style_dir)
    q = cli(["--lines", "hello", "there", "--seed", "3", "--out", "q.svg"], tmp_path, tiny_ckpt_path, tiny_style_dir)
    assert r.returncode == 0 and q.returncode == 0, r.stderr
    assert "step" in r.stderr and "lines done" in r.stderr and "step/s" not in q.stderr
    assert (tmp_path / "p.svg").read_bytes() == (tmp_path / "q.svg").read_bytes()
