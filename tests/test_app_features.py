"""The app's own-hand, plotter, animation and paragraph features: their handlers (fast) and the named
endpoints of the real server, driven by gradio_client (slow).

The server runs app.py's demo with a tiny random checkpoint, a three-style bank and a user style
folder in a temp dir; pen steps are capped (MAX_STEPS) so that every write takes a fraction of a second.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from helpers import (MAX_STEPS, SVG_NS, canvas_json, check_png, free_port, handwriting, synthetic_offsets,
                     tiny_checkpoint)
from scribe.web import app, forms, outputs, views
from scribe.checkpoint import save_training_checkpoint
from scribe.hand import Hand
from scribe.errors import InputError
from scribe.request import LineSpec, ParagraphRequest
from scribe.render.plotter import GcodeOptions, INKSCAPE_NS, machine_to_paper, parse_gcode, plan_page
from scribe.styles import StyleBank, write_style
from scribe.user_style import UserStyleError

NEW_ENDPOINTS = {"/write_plotter", "/write_animated", "/write_paragraph", "/make_style"}


def check_plotter_svg(path, paper_mm=(210, 297)) -> ET.Element:
    """Sized in mm with a matching viewBox, one Inkscape layer per colour, strokes only."""
    root = ET.parse(path).getroot()
    w, h = paper_mm
    assert root.get("width") == f"{w:g}mm" and root.get("height") == f"{h:g}mm"
    assert root.get("viewBox") == f"0 0 {w:g} {h:g}"
    layers = root.findall(f"{SVG_NS}g")
    assert layers and all(g.get(f"{{{INKSCAPE_NS}}}groupmode") == "layer" for g in layers)
    assert all(g.get("fill") == "none" for g in layers)
    assert root.findall(f".//{SVG_NS}rect") == [] and root.findall(f".//{SVG_NS}text") == []
    assert root.findall(f".//{SVG_NS}path")
    return root


def check_animated_svg(path_or_text) -> ET.Element:
    text = Path(path_or_text).read_text() if not str(path_or_text).lstrip().startswith("<") else path_or_text
    root = ET.fromstring(text)
    paths = root.findall(f".//{SVG_NS}path")
    anims = root.findall(f".//{SVG_NS}animate") + root.findall(f".//{SVG_NS}set")
    assert paths and len(anims) == len(paths)       # SMIL: one animation per stroke
    assert float(root.get("data-duration")) > 0
    return root


# ---- the handlers, without a server ------------------------------------------------------------------
@pytest.fixture()
def tiny_hand(tiny_ckpt_path, tiny_style_dir) -> Hand:
    return Hand.load(tiny_ckpt_path, tiny_style_dir)


def test_option_parsers_name_the_problem():
    assert forms.plotter_options("A5", True, 10).paper == "a5"
    with pytest.raises(InputError, match="paper 'a3'"):
        forms.plotter_options("a3")
    with pytest.raises(InputError, match="margin"):
        forms.plotter_options("a4", False, 500)
    g = forms.gcode_options("M3 S30", "M3 S90", 1200, 0, "top-left", "in")
    assert (g.pen_up, g.pen_down, g.draw_feed, g.travel_feed, g.origin, g.units) == \
        ("M3 S30", "M3 S90", 1200, None, "top-left", "in")
    with pytest.raises(ValueError, match="must differ"):
        forms.gcode_options("M3 S30", "M3 S30")
    with pytest.raises(ValueError, match="origin"):
        forms.gcode_options(origin="middle")
    with pytest.raises(InputError, match="speed"):
        forms.animation_options(50)
    layout = forms.paragraph_layout("none", False, 10, 120, 5, 2.0, "center", 1)
    assert (layout.page, layout.width_mm, layout.ink_height_mm, layout.align) == (None, 120, 5, "center")
    with pytest.raises(InputError, match="too narrow"):
        forms.paragraph_layout("a5", False, 70)


def test_plotter_files_parse_back_to_the_plotted_strokes(tiny_hand, tmp_path):
    doc = tiny_hand.write([LineSpec("hello", 0), LineSpec("there", 1, color="#aa0000")], seed=3, max_steps=30)
    page = doc.page()
    g = forms.gcode_options("M3 S30|G4 P0.2", "M3 S90|G4 P0.2", 1500, 6000)
    plotter = forms.plotter_options("a5", False, 12)
    svgs, codes = outputs.plotter_files([page], plotter, g, folder=tmp_path)
    root = check_plotter_svg(svgs[0], (148, 210))
    assert len(root.findall(f"{SVG_NS}g")) == 2          # two ink colours: two pens
    paths, units = parse_gcode(codes[0].read_text(), g)
    plan = plan_page(page, plotter)
    assert units == "mm" and len(paths) == len(plan.strokes)
    for got, want in zip(paths, plan.strokes):
        back = machine_to_paper(got, g, plan.width_mm, plan.height_mm)
        assert np.allclose(back[0], want[0], atol=0.01) and np.allclose(back[-1], want[-1], atol=0.01)
    with pytest.raises(InputError, match="nothing written yet"):
        outputs.plotter_files([], plotter, g)


def test_animation_files_and_inline_html(tiny_hand, tmp_path):
    page = tiny_hand.write([LineSpec("hello", 0)], seed=3, max_steps=30).page()
    files = outputs.animation_files(page, forms.animation_options(2, True), gif=True, folder=tmp_path)
    assert [f.suffix for f in files] == [".svg", ".gif"]
    check_animated_svg(files[0])
    assert files[1].read_bytes()[:6] == b"GIF89a"
    one, two = views.animation_html(page, 2), views.animation_html(page, 2)
    assert one != two and "@keyframes" in one      # CSS (starts on insertion); a new value replays it


def test_make_style_from_canvas_json_and_its_errors(tiny_hand, tmp_path):
    user = tmp_path / "user"
    style, sid, files, preview = outputs.make_style(tiny_hand, canvas_json("my own hand"), "my own hand", None, user)
    assert sid == 3 and style.text == "my own hand"
    assert [f.name for f in files] == ["style-3-chars.npy", "style-3-strokes.npy"]
    assert StyleBank(user).get(3).text == "my own hand" and preview.read_text().count("<path") == len(style.strokes())
    with pytest.raises(InputError, match="write on the canvas"):
        outputs.make_style(tiny_hand, '{"strokes": []}', "hello", None, user)
    with pytest.raises(UserStyleError, match="too short"):
        outputs.make_style(tiny_hand, canvas_json("abc"), "abc", None, user)
    with pytest.raises(UserStyleError, match="cannot learn from"):
        outputs.make_style(tiny_hand, canvas_json("my own hand"), "my own hand é", None, user)
    with pytest.raises(UserStyleError, match="did you type more than you wrote"):
        outputs.make_style(tiny_hand, canvas_json("my own"), "my own hand and a great deal more text", None, user)
    bad = tmp_path / "bad.inkml"
    bad.write_text("<ink xmlns='http://www.w3.org/2003/InkML'><trace>1 2, 3</trace>")
    with pytest.raises(UserStyleError, match="bad.inkml"):
        outputs.make_style(tiny_hand, "", "hello there", str(bad), user)


def test_make_style_never_reads_a_server_path_from_the_ink_box(tiny_hand, tmp_path):
    """The ink text is ink, never a file name: a planted file is not read, and an existing path and a
    missing one get the same answer (no existence oracle)."""
    user = tmp_path / "user"
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps({"strokes": json.loads(canvas_json("my own hand")), "text": "my own hand"}))
    answers = []
    for ink in (str(planted), str(planted) + "X", "/etc/passwd", "/etc/passwdX", "../../etc/hosts"):
        with pytest.raises(InputError) as e:
            outputs.make_style(tiny_hand, ink, "my own hand", None, user)
        answers.append(str(e.value))
    assert len(set(answers)) == 1 and "upload" in answers[0]
    assert str(tmp_path) not in answers[0] and not user.exists()


def test_make_style_upload_errors_name_the_file_not_its_folder(tiny_hand, tmp_path):
    bad = tmp_path / "deep" / "bad.inkml"
    bad.parent.mkdir()
    bad.write_text("<ink xmlns='http://www.w3.org/2003/InkML'><trace>1 2, 3</trace>")
    with pytest.raises(UserStyleError) as e:
        outputs.make_style(tiny_hand, "", "hello there", str(bad), tmp_path / "user")
    assert "bad.inkml" in str(e.value) and str(bad.parent) not in str(e.value)


def test_paragraph_files_have_every_page(tiny_hand):
    layout = forms.paragraph_layout("a5", False, 15, 0, 12, 2.0, "left", 0)
    text = "\n\n".join(["Hello there friend."] * 6)
    r = outputs.write_files(tiny_hand, ParagraphRequest(text, 0, 1.0, "#112233", 1.5, layout, seed=5, candidates=1,
                                                        max_steps=12), dpi=48)
    assert len(r.pages) >= 2 and len(r.svg_files) == len(r.pages) == len(r.png_files)
    assert f"on {len(r.pages)} pages" in r.summary() and "seed 5" in r.summary()
    for svg, png in zip(r.svg_files, r.png_files):
        assert ET.parse(svg).getroot().tag == f"{SVG_NS}svg"
        check_png(png)
    html = views.pages_preview_html(r.pages)
    assert html.count("<svg") == len(r.pages) and f"page 2 of {len(r.pages)}" in html
    z = outputs.one_file(r.svg_files, "all.zip")
    import zipfile
    assert sorted(zipfile.ZipFile(z).namelist()) == sorted(p.name for p in r.svg_files)


# ---- the real server -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client
    base = tmp_path_factory.mktemp("features")
    save_training_checkpoint(tiny_checkpoint(seed=0), base / "models" / "checkpoint-7.pt")
    for i, text in enumerate(["hello there", "quick fox", "a line of ink"]):
        write_style(base / "styles", i, text, synthetic_offsets(seed=i))
    demo = app.build_demo(app.AppSettings(checkpoint=str(base / "models" / "checkpoint-7.pt"),
                                          style_dir=str(base / "styles"), user_style_dir=str(base / "user"),
                                          max_steps=MAX_STEPS, concurrency=2))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield {"url": url, "client": Client(url, verbose=False), "user": base / "user"}
    finally:
        demo.close()


@pytest.mark.slow
def test_new_endpoints_are_listed_with_their_parameters(server):
    api = server["client"].view_api(return_format="dict", print_info=False)
    assert NEW_ENDPOINTS <= set(api["named_endpoints"])
    assert api["unnamed_endpoints"] == {}
    params = {k: [p["parameter_name"] for p in v["parameters"]] for k, v in api["named_endpoints"].items()}
    assert params["/write_plotter"][:4] == ["lines", "seed", "align", "checkpoint"]
    assert {"pen_up", "pen_down", "draw_feed", "travel_feed", "origin", "units", "paper", "margin_mm"} \
        <= set(params["/write_plotter"])
    assert params["/make_style"] == ["ink", "text", "file", "checkpoint"]


@pytest.mark.slow
def test_write_plotter_gives_mm_svg_and_gcode_that_parses_back(server):
    lines = [{"text": "hello", "style": 0}, {"text": "there", "style": 1, "color": "#1f3a93"}]
    svg, gcode, seed, summary = server["client"].predict(
        lines=lines, seed=11, paper="letter", margin_mm=20, pen_up="M3 S30", pen_down="M3 S90", draw_feed=1200,
        travel_feed=5000, origin="top-left", units="mm", api_name="/write_plotter")
    assert seed == 11 and "Wrote 2 lines" in summary
    root = check_plotter_svg(svg, (215.9, 279.4))
    assert {g.get("stroke") for g in root.findall(f"{SVG_NS}g")} == {"#000000", "#1f3a93"}
    program = Path(gcode).read_text()
    assert "M3 S90" in program and "F1200" in program and "F5000" in program
    g = GcodeOptions(pen_up="M3 S30", pen_down="M3 S90", origin="top-left")
    paths, units = parse_gcode(program, g)
    n_svg_paths = len(root.findall(f".//{SVG_NS}path"))
    assert units == "mm" and len(paths) == n_svg_paths
    pts = np.concatenate(paths)
    assert (pts[:, 0] >= 20 - 1e-6).all() and (pts[:, 0] <= 215.9).all()   # inside the paper, past the margin
    # bad options are messages that name the problem
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="must differ"):
        server["client"].predict(lines=lines, pen_up="G0 Z0", pen_down="G0 Z0", api_name="/write_plotter")
    with pytest.raises(AppError, match="paper 'a2'"):
        server["client"].predict(lines=lines, paper="a2", api_name="/write_plotter")


@pytest.mark.slow
def test_write_animated_gives_an_animated_svg_and_a_gif(server):
    anim, gif, seed, summary = server["client"].predict(
        lines=["hello there"], seed=4, speed=3, loop=True, gif=True, api_name="/write_animated")
    root = check_animated_svg(anim)
    assert root.findall(f".//{SVG_NS}animate")[0].get("repeatCount") == "indefinite"
    assert Path(gif).read_bytes()[:6] == b"GIF89a" and seed == 4
    anim2, gif2, _, _ = server["client"].predict(lines=["hello there"], seed=4, speed=1,
                                                 api_name="/write_animated")
    assert gif2 is None
    assert float(ET.parse(anim2).getroot().get("data-duration")) > float(root.get("data-duration")) - 1.5
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="speed"):
        server["client"].predict(lines=["hello"], speed=99, api_name="/write_animated")


@pytest.mark.slow
def test_write_paragraph_gives_pages(server):
    text = "\n\n".join(["Hello there friend, how are you."] * 5)
    svgs, pngs, seed, summary, check = server["client"].predict(
        text=text, style=1, bias=1.0, page="a5", margin_mm=15, size_mm=12, line_spacing=2.0, align="right",
        variation=1, seed=9, png_dpi=48, api_name="/write_paragraph")
    assert len(svgs) == len(pngs) >= 2 and seed == 9 and f"on {len(svgs)} pages" in summary
    assert check["ran"] and check["lines_checked"] >= 5 and len(check["line_cers"]) >= 5
    for s, p in zip(svgs, pngs):
        root = ET.parse(s).getroot()
        assert root.findall(f"{SVG_NS}g") and root.findall(f".//{SVG_NS}rect") == []
        check_png(p)
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="cannot write"):
        server["client"].predict(text="price: 5€", api_name="/write_paragraph")


@pytest.mark.slow
def test_make_style_from_canvas_json_then_write_with_it(server):
    c = server["client"]
    sid, files, preview, summary = c.predict(ink=canvas_json("my own hand", as_dict=True), text="my own hand",
                                             api_name="/make_style")
    assert sid == 3 and "style 3" in summary
    assert sorted(Path(f).name for f in files) == ["style-3-chars.npy", "style-3-strokes.npy"]
    assert StyleBank(server["user"]).get(3).text == "my own hand"
    assert ET.parse(preview).getroot().findall(f".//{SVG_NS}path")
    assert c.predict(api_name="/info")["styles"] == [0, 1, 2, 3]     # /info lists the new style too
    # the new id writes, in line mode, in paragraph mode and on the plotter
    svg, png, seed, summary, _ = c.predict(lines=[{"text": "hello", "style": 3}], seed=2, api_name="/write")
    assert "Wrote 1 line" in summary
    svgs, *_ = c.predict(text="hello again", style=3, page="none", api_name="/write_paragraph")
    assert len(svgs) == 1
    # a second style gets the next id; bad samples are messages
    sid2, _, _, _ = c.predict(ink=canvas_json("quick brown fox"), text="quick brown fox", api_name="/make_style")
    assert sid2 == 4
    from gradio_client.exceptions import AppError
    for kwargs, expected in [({"ink": canvas_json("ab"), "text": "ab"}, "too short"),
                             ({"ink": canvas_json("my own"), "text": "my own hand and a great deal more"},
                              "type more than you wrote"),
                             ({"ink": canvas_json("my own hand"), "text": "my own hand ü"}, "cannot learn from"),
                             ({"ink": "[[1, 2], oops", "text": "hello there"}, "not valid JSON"),
                             ({"ink": "", "text": "hello there"}, "write on the canvas")]:
        with pytest.raises(AppError, match=expected):
            c.predict(api_name="/make_style", **kwargs)


@pytest.mark.slow
def test_make_style_from_an_uploaded_inkml_file(server, tmp_path):
    from gradio_client import handle_file
    traces = "".join(f"<trace>{', '.join(f'{x:.1f} {y:.1f}' for x, y in s)}</trace>"
                     for s in handwriting("from a file"))
    path = tmp_path / "mine.inkml"
    path.write_text(f"<ink xmlns='http://www.w3.org/2003/InkML'><annotation type='truth'>from a file</annotation>"
                    f"{traces}</ink>")
    sid, files, _, summary = server["client"].predict(file=handle_file(str(path)), api_name="/make_style")
    assert "'from a file'" in summary and StyleBank(server["user"]).get(sid).text == "from a file"
    broken = tmp_path / "broken.xml"
    broken.write_text("<StrokeSet><Stroke><Point x='1' y=")
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="broken.xml"):
        server["client"].predict(file=handle_file(str(broken)), text="hello there", api_name="/make_style")
