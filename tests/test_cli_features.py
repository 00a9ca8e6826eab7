"""The new CLI features through the real command, `python -m scribe.sample`, with a tiny checkpoint."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from scribe.render.plotter import GcodeOptions, machine_to_paper, parse_gcode

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], cwd: Path, ckpt: Path, style_dir: Path | None = None) -> subprocess.CompletedProcess:
    base = [sys.executable, "-m", "scribe.sample", "--checkpoint", str(ckpt), "--max_steps", "12", "--seed", "3"]
    if style_dir is not None:
        base += ["--style_dir", str(style_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(base + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr


def test_the_guide_commands_still_work(tmp_path, tiny_ckpt_path, tiny_style_dir):
    out = ok(run(["--text", "The quick brown fox jumps over 1234567890", "--bias", "1.0", "--format", "svg"],
                 tmp_path, tiny_ckpt_path, tiny_style_dir))
    assert out.startswith("Wrote samples/the-quick-brown-fox-jumps-over-123456789-3.svg (1 lines, seed 3")
    assert (tmp_path / "samples" / "the-quick-brown-fox-jumps-over-123456789-3.svg").exists()
    ok(run(["--lines", "Report due by 09:00 on March 15th, 1985.".replace(":", ""), "Can't believe it!",
            "Got your message", "--biases", "1.8", "0.6", "1.2", "--styles", "0", "1", "2", "--format", "svg",
            "--out", "doc.svg"], tmp_path, tiny_ckpt_path, tiny_style_dir))
    root = ET.fromstring((tmp_path / "doc.svg").read_text())
    assert root.get("width").endswith("px") and len(root.findall("{http://www.w3.org/2000/svg}g")) == 3


def test_paragraph_mode_wraps_onto_several_pages(tmp_path, tiny_ckpt_path, tiny_style_dir):
    text = " ".join(["alpha beta gamma delta epsilon"] * 12) + "\n\nThe end."
    (tmp_path / "letter.txt").write_text(text)
    out = ok(run(["--text_file", "letter.txt", "--page", "a5", "--size", "20", "--line_spacing", "2",
                  "--align", "right", "--margin", "15", "--style", "1", "--variation", "1", "--out", "letter.svg"],
                 tmp_path, tiny_ckpt_path, tiny_style_dir))
    pages = sorted(tmp_path.glob("letter-*.svg"))
    assert len(pages) >= 2 and f"({len(pages)} pages" in out
    assert not (tmp_path / "letter.svg").exists()
    for p in pages:
        root = ET.fromstring(p.read_text())
        assert float(root.get("width")[:-2]) == pytest.approx(148 * 96 / 25.4, abs=0.01)
    # --wrap sets the line width and implies paragraph mode; \n in --text breaks a line
    ok(run(["--text", "one two three\\n\\nfour", "--wrap", "120", "--format", "png", "--out", "p.png"],
           tmp_path, tiny_ckpt_path))
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_plotter_svg_and_gcode_from_the_cli(tmp_path, tiny_ckpt_path):
    ok(run(["--lines", "hello there", "plotters", "--colors", "#000000", "#aa0000", "--format", "plotter-svg",
            "--page", "a4", "--margin", "10", "--out", "plot.svg"], tmp_path, tiny_ckpt_path))
    root = ET.fromstring((tmp_path / "plot.svg").read_text())
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("210mm", "297mm", "0 0 210 297")
    layers = root.findall("{http://www.w3.org/2000/svg}g")
    assert [g.get("{http://www.inkscape.org/namespaces/inkscape}groupmode") for g in layers] == ["layer", "layer"]

    args = ["--text", "hello there", "--format", "gcode", "--page", "a5", "--pen_up", "M3 S30|G4 P0.2",
            "--pen_down", "M3 S90|G4 P0.2", "--feed", "900", "--origin", "top-left", "--y_axis", "down",
            "--units", "in", "--out", "job"]
    out = ok(run(args, tmp_path, tiny_ckpt_path))
    code = (tmp_path / "job.gcode").read_text()
    assert "Wrote job.gcode" in out and "\nG20\n" in code and "M3 S90\nG4 P0.2\n" in code
    options = GcodeOptions(pen_up="M3 S30|G4 P0.2", pen_down="M3 S90|G4 P0.2", origin="top-left", y_axis="down",
                           units="in")
    paths, units = parse_gcode(code, options)
    assert units == "in" and paths
    pts = np.concatenate([machine_to_paper(p, options, 148, 210, units) for p in paths])
    assert pts.min() >= 15 - 0.01 and pts[:, 0].max() <= 148 - 15 + 0.01 and pts[:, 1].max() <= 210 - 15 + 0.01


def test_animation_from_the_cli(tmp_path, tiny_ckpt_path):
    ok(run(["--text", "hello", "--animate", "--speed", "2", "--loop", "--out", "anim.svg"], tmp_path, tiny_ckpt_path))
    svg = (tmp_path / "anim.svg").read_text()
    assert "<animate" in svg and 'repeatCount="indefinite"' in svg
    ok(run(["--text", "hello", "--animate", "--anim_method", "css", "--out", "css.svg"], tmp_path, tiny_ckpt_path))
    assert "@keyframes" in (tmp_path / "css.svg").read_text()
    ok(run(["--text", "hello", "--format", "gif", "--out", "anim"], tmp_path, tiny_ckpt_path))
    assert (tmp_path / "anim.gif").read_bytes()[:6] == b"GIF89a"


def test_style_from_a_file_is_saved_and_reusable(tmp_path, tiny_ckpt_path, tiny_style_dir):
    from helpers import handwriting
    (tmp_path / "me.json").write_text(json.dumps([s.tolist() for s in handwriting("written by me")]))
    out = ok(run(["--text", "new words", "--style_from", "me.json", "--style_text", "written by me",
                  "--user_style_dir", "mine", "--out", "a.svg"], tmp_path, tiny_ckpt_path, tiny_style_dir))
    assert "Saved your style as style 3 in mine" in out
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["style-3-chars.npy", "style-3-strokes.npy"]
    ok(run(["--text", "again", "--style", "3", "--user_style_dir", "mine", "--out", "b.svg"], tmp_path,
           tiny_ckpt_path, tiny_style_dir))
    # in paragraph mode too
    ok(run(["--text", "more words here", "--paragraph", "--style", "3", "--user_style_dir", "mine",
            "--out", "c.svg"], tmp_path, tiny_ckpt_path, tiny_style_dir))


def test_cli_errors_are_one_clear_line(tmp_path, tiny_ckpt_path, tiny_style_dir):
    (tmp_path / "bad.inkml").write_text("<ink><trace>1 2, 3</trace></ink>")
    refused(run(["--text", "hi", "--style_from", "bad.inkml", "--style_text", "hello"], tmp_path, tiny_ckpt_path),
            "could not read the ink: bad.inkml")
    refused(run(["--text", "hi", "--animate", "--format", "gcode"], tmp_path, tiny_ckpt_path),
            "--animate makes an animated SVG or a GIF")
    refused(run(["--text", "hi", "--paragraph", "--styles", "0", "1"], tmp_path, tiny_ckpt_path, tiny_style_dir),
            "paragraph mode writes in one style")
    refused(run(["--text", "hi", "--format", "gcode", "--pen_up", "M5", "--pen_down", "M5"], tmp_path,
                tiny_ckpt_path), "pen-up and pen-down commands must differ")
    refused(run(["--text", "hi", "--paragraph", "--margin", "100"], tmp_path, tiny_ckpt_path), "too narrow")
    assert not list(tmp_path.glob("samples/*"))
