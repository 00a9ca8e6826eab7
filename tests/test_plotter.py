"""Pen-plotter output: mm-sized SVG with one Inkscape layer per colour, path order, and G-code that
parses back into the very strokes it was made from."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from scribe import ink
from scribe.render.plotter import (GcodeOptions, PlotterError, PlotterOptions, gcode_program, improve_order, machine_to_paper, order_strokes, paper_to_machine, parse_gcode, pen_up_travel, plan_page, plotter_svg)
from scribe.render.page import MM_PER_PX, InkLine, Layout, Page, flatten_stroke, layout_page

from helpers import synthetic_offsets

SVG = "{http://www.w3.org/2000/svg}"
INK = "{http://www.inkscape.org/namespaces/inkscape}"


def make_page(colors=("#000000", "#c00000", "#000000"), dot: bool = True) -> Page:
    lines = []
    for i, c in enumerate(colors):
        strokes = ink.offsets_to_strokes(synthetic_offsets(n_strokes=5, seed=i))
        if dot and i == 0:
            strokes.append(np.array([[strokes[-1][-1, 0] + 30.0, -100.0]]))   # a one-point stroke (an i-dot)
        lines.append(InkLine(strokes, c, 1.5 + i))
    return layout_page(lines, ink_height=250.0, layout=Layout())


def _same_stroke_sets(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Same strokes, in any order, each possibly reversed."""
    key = lambda st: min(tuple(np.round(st, 6).ravel()), tuple(np.round(st[::-1], 6).ravel()))
    return sorted(map(key, a)) == sorted(map(key, b))


# ---- SVG ---------------------------------------------------------------------------------------------
def test_plotter_svg_is_mm_sized_with_one_layer_per_colour_and_no_fill():
    page = make_page()
    svg = plotter_svg(page, PlotterOptions(paper="a4", margin_mm=12))
    root = ET.fromstring(svg)
    assert root.get("width") == "210mm" and root.get("height") == "297mm"
    assert root.get("viewBox") == "0 0 210 297"
    layers = [g for g in root if g.tag == SVG + "g"]
    assert [g.get(INK + "groupmode") for g in layers] == ["layer", "layer"]
    assert [g.get("stroke") for g in layers] == ["#000000", "#c00000"]
    assert all(g.get(INK + "label").endswith(g.get("stroke")) for g in layers)
    assert all(g.get("fill") == "none" for g in layers)
    # nothing but layers at the top, nothing but paths in them: no background, no fills, no text
    assert all(child.tag == SVG + "g" for child in root)
    assert not re.search(r"<rect|<image|<text|fill=\"(?!none)", svg)
    paths = [p for g in layers for p in g]
    assert all(p.tag == SVG + "path" and p.get("fill") is None for p in paths)
    n_strokes = sum(len(ln.strokes) for ln in page.lines)
    assert len(paths) == n_strokes
    # every coordinate inside the paper's margins (the writing is placed at the 12 mm margin)
    nums = np.array([float(v) for p in paths for v in re.findall(r"-?\d+(?:\.\d+)?", re.sub(r"h[\d.]+$", "", p.get("d")))]).reshape(-1, 2)
    assert nums[:, 0].min() >= 12 - 1e-3 and nums[:, 1].min() >= 12 - 1e-3
    assert nums[:, 0].max() <= 210 - 12 + 1e-3 and nums[:, 1].max() <= 297 - 12 + 1e-3
    # stroke width follows the line's px width, in mm
    assert float(layers[1].get("stroke-width")) == pytest.approx(2.5 * MM_PER_PX, abs=1e-3)


def test_page_without_paper_keeps_its_own_size_at_96_px_per_inch():
    page = make_page()
    plan = plan_page(page, PlotterOptions(optimize=False))
    assert plan.width_mm == pytest.approx(page.width * MM_PER_PX)
    assert plan.height_mm == pytest.approx(page.height * MM_PER_PX)
    first = page.lines[0].strokes[0]
    assert np.allclose(plan.layers[0].strokes[0], first * MM_PER_PX)
    root = ET.fromstring(plotter_svg(page))
    w = float(root.get("width")[:-2])
    assert root.get("width").endswith("mm") and root.get("viewBox").split()[2] == root.get("width")[:-2]
    assert w == pytest.approx(page.width * MM_PER_PX, abs=1e-3)


def test_a_sheet_page_maps_one_to_one_and_big_writing_is_shrunk_into_the_margins():
    sheet = Page(210 / MM_PER_PX, 297 / MM_PER_PX, [InkLine([np.array([[100.0, 200.0], [300.0, 250.0]])])],
                 size_mm=(210.0, 297.0))
    plan = plan_page(sheet, PlotterOptions(paper="a4"))
    assert np.allclose(plan.strokes[0], np.array([[100.0, 200.0], [300.0, 250.0]]) * MM_PER_PX)
    wide = Page(3000, 400, [InkLine([np.array([[0.0, 0.0], [3000.0, 400.0]])])])
    plan = plan_page(wide, PlotterOptions(paper="a5", margin_mm=10))
    pts = plan.strokes[0]
    assert plan.scale < 1
    assert pts[:, 0].min() == pytest.approx(10) and pts[:, 0].max() == pytest.approx(138)
    with pytest.raises(PlotterError, match="turn fitting on"):
        plan_page(wide, PlotterOptions(paper="a5", fit=False))


def test_bad_plotter_options_and_empty_pages_say_what_is_wrong():
    with pytest.raises(PlotterError, match="unknown page size 'b5'"):
        plan_page(make_page(), PlotterOptions(paper="b5"))
    with pytest.raises(PlotterError, match="no ink"):
        plan_page(Page(100, 100, [InkLine([])]), PlotterOptions())
    with pytest.raises(PlotterError, match="leave no room"):
        plan_page(make_page(), PlotterOptions(paper="a5", margin_mm=80))


# ---- path order --------------------------------------------------------------------------------------
def test_greedy_order_cuts_travel_and_keeps_every_stroke():
    rng = np.random.default_rng(0)
    strokes = [np.cumsum(rng.normal(0, 2, (rng.integers(1, 8), 2)), 0) + rng.uniform(0, 200, 2) for _ in range(80)]
    before = pen_up_travel(strokes)
    greedy = order_strokes(strokes, reverse=False)
    flipped = order_strokes(strokes, reverse=True)
    better = improve_order(flipped, passes=4)
    assert pen_up_travel(greedy) < before / 2
    assert pen_up_travel(flipped) <= pen_up_travel(greedy) + 1e-9
    assert pen_up_travel(better) <= pen_up_travel(flipped) + 1e-9
    for out in (greedy, flipped, better):
        assert _same_stroke_sets(out, strokes)
    assert all(any(np.array_equal(o, s) for s in strokes) for o in greedy)   # no reversal when not allowed


def test_optimize_off_keeps_writing_order_and_layers_in_first_use_order():
    page = make_page()
    plan = plan_page(page, PlotterOptions(optimize=False))
    assert plan.travel_after_mm == pytest.approx(plan.travel_before_mm)
    black = [st for ln in page.lines if ln.color == "#000000" for st in ln.strokes]
    assert all(np.allclose(a, b * MM_PER_PX) for a, b in zip(plan.layers[0].strokes, black))
    optimised = plan_page(page, PlotterOptions())
    assert optimised.travel_after_mm < optimised.travel_before_mm
    assert _same_stroke_sets(optimised.layers[0].strokes, plan.layers[0].strokes)


# ---- G-code ------------------------------------------------------------------------------------------
OPTION_SETS = [
    GcodeOptions(),
    GcodeOptions(pen_up="M3 S30|G4 P0.15", pen_down="M3 S90|G4 P0.15", origin="top-left", y_axis="down",
                 travel_feed=6000, precision=4),
    GcodeOptions(pen_up="M5", pen_down="M3 S1000", origin="center", units="in", offset_mm=(5.0, -3.0),
                 draw_feed=800, precision=5),
    GcodeOptions(pen_up="G1 Z2 F300", pen_down="G1 Z-0.5 F300", origin="bottom-left", curve_segments=8,
                 layer_change="", return_home=False),
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=["z-axis", "servo-topleft", "inches-center", "z-feed"])
def test_gcode_parses_back_into_the_plotted_strokes(options):
    page = make_page()
    plotter = PlotterOptions(paper="a4")
    code = gcode_program(page, plotter, options)
    plan = plan_page(page, plotter)
    paths, units = parse_gcode(code, options)
    assert units == options.units
    assert len(paths) == len(plan.strokes)
    tol = 10 ** -options.precision * (25.4 if options.units == "in" else 1) * 0.51
    for got, stroke in zip(paths, plan.strokes):
        want = flatten_stroke(stroke, options.curve_segments)
        got_mm = machine_to_paper(got, options, plan.width_mm, plan.height_mm, units)
        # the same curve, point for point (repeated points after rounding are dropped in the file)
        keep = np.ones(len(want), bool)
        keep[1:] = np.any(np.diff(np.round(paper_to_machine(want, options, 210, 297), options.precision), axis=0)
                          != 0, axis=1)
        assert got_mm.shape == want[keep].shape
        assert np.abs(got_mm - want[keep]).max() <= tol
        # and it starts and ends where the stroke does
        assert np.abs(got_mm[0] - stroke[0]).max() <= tol and np.abs(got_mm[-1] - stroke[-1]).max() <= tol


def test_gcode_program_structure():
    page = make_page()
    o = GcodeOptions(pen_up="M3 S30", pen_down="M3 S90", draw_feed=1200, header="G28", footer="M2")
    code = gcode_program(page, PlotterOptions(paper="a4"), o)
    lines = [ln for ln in code.splitlines() if not ln.startswith(";")]
    assert lines[:4] == ["G21", "G90", "G28", "M3 S30"]
    assert lines[-2:] == ["M2", "G0 X0 Y0"]
    # a feed on the first drawing move after every pen-down, pen up after every stroke
    downs = [i for i, ln in enumerate(lines) if ln == "M3 S90"]
    assert all(lines[i + 1].startswith("G1") and "F1200" in lines[i + 1]
               for i in downs if lines[i + 1] != "M3 S30")
    assert lines.count("M3 S90") == lines.count("M3 S30") - 1
    assert code.count("\nM0\n") == 1        # one pen change: two colours
    # inches: G20 and feeds converted from mm/min
    inch = gcode_program(page, PlotterOptions(paper="a4"), GcodeOptions(units="in", draw_feed=254))
    assert "\nG20\n" in inch and " F10" in inch
    # bottom-left origin with +Y up: every coordinate is on the paper, in the first quadrant
    xs = [float(x) for x in re.findall(r"X(-?[\d.]+)", code)]
    ys = [float(y) for y in re.findall(r"Y(-?[\d.]+)", code)]
    assert min(xs) >= 0 and max(xs) <= 210 and min(ys) >= 0 and max(ys) <= 297


def test_bad_gcode_options_are_named():
    for kwargs, message in [({"pen_up": "M3 S30", "pen_down": "m3  s30"}, "must differ"),
                            ({"pen_up": ""}, "must not be empty"),
                            ({"draw_feed": -5}, "feed rates must be positive"),
                            ({"origin": "middle"}, "origin 'middle'"),
                            ({"units": "cm"}, "units 'cm'"),
                            ({"pen_down": "M3 S90 ; down"}, "comment")]:
        with pytest.raises(PlotterError, match=message):
            gcode_program(make_page(), None, GcodeOptions(**kwargs))


def test_parse_gcode_handles_relative_moves_comments_and_dots():
    code = "\n".join(["G21", "G90 ; absolute", "G0 X10 Y10", "M3 S90", "M3 S30", "(a dot above)",
                      "G0 X20 Y20", "M3 S90", "G91", "G1 X5 Y0 F100", "G1 X0 Y5", "M3 S30", "G90", "G0 X0 Y0"])
    paths, units = parse_gcode(code, GcodeOptions(pen_up="M3 S30", pen_down="M3 S90"))
    assert units == "mm"
    assert [p.tolist() for p in paths] == [[[10, 10]], [[20, 20], [25, 20], [25, 25]]]


# ---- real tools and real data ------------------------------------------------------------------------
@pytest.mark.slow
def test_vpype_reads_the_plotter_svg(tmp_path):
    if shutil.which("vpype") is None:
        pytest.skip("vpype is not installed (pip install vpype; it is in requirements-dev.txt)")
    path = tmp_path / "plot.svg"
    path.write_text(plotter_svg(make_page(), PlotterOptions(paper="a4")))
    out = subprocess.run(["vpype", "read", str(path), "stat"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Layer 1" in out.stdout and "Layer 2" in out.stdout and "Layer 3" not in out.stdout
    w, h = re.search(r"Current page size: \(([\d.]+), ([\d.]+)\)", out.stdout).groups()
    assert float(w) * MM_PER_PX == pytest.approx(210, abs=0.01) and float(h) * MM_PER_PX == pytest.approx(297, abs=0.01)
    page = make_page()
    n_strokes = sum(len(ln.strokes) for ln in page.lines)
    counts = [int(c) for c in re.findall(r"Path count: (\d+)", out.stdout)]
    assert sum(counts[:2]) == n_strokes


@pytest.mark.slow
def test_path_order_cuts_travel_on_a_page_of_real_handwriting(iam_dir):
    """Prints the figures quoted in docs/features.md (run with -s)."""
    from scribe import iam
    forms = sorted(iam.read_split_lists(iam.default_split_dir(iam_dir))["testset_v"])[:3]
    lines = iam.read_lines(iam_dir, forms=set(forms))
    strokes = [ink.clean_strokes(ln.strokes) for ln in lines]
    page = layout_page([InkLine(s) for s in strokes], float(np.median([ink.ink_height(s) for s in strokes])))
    greedy = plan_page(page, PlotterOptions(paper="a4", improve_passes=0))
    full = plan_page(page, PlotterOptions(paper="a4"))
    print(f"\n{len(lines)} real lines, {len(full.strokes)} strokes on A4: pen-up travel in writing order "
          f"{full.travel_before_mm:.0f} mm; greedy {greedy.travel_after_mm:.0f} mm "
          f"({greedy.travel_after_mm / full.travel_before_mm:.2f}x); greedy + 2-opt {full.travel_after_mm:.0f} mm "
          f"({full.travel_after_mm / full.travel_before_mm:.2f}x)")
    assert full.travel_after_mm <= greedy.travel_after_mm < full.travel_before_mm
    assert _same_stroke_sets(full.strokes, greedy.strokes)


def test_a_hostile_colour_stays_inside_attributes_and_comments():
    page = make_page()
    bad = '"/><script>x</script>\nG0 Z-50'
    page.lines[1].color = bad
    root = ET.fromstring(plotter_svg(page))
    assert "<script" not in plotter_svg(page) and root.findall(f"{SVG}g")[1].get("stroke") == bad
    code = gcode_program(page)
    assert "\nG0 Z-50" not in code
    assert len(parse_gcode(code)[0]) == sum(len(ln.strokes) for ln in page.lines)
