import io
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from scribe.render.page import InkLine, Layout, layout_page, page_to_svg, stroke_path, svg_to_png

SVG = "{http://www.w3.org/2000/svg}"


def _lines():
    a = [np.array([[0, 0], [10, 20], [20, 0], [30, 20]], float), np.array([[40, 5]], float)]
    b = [np.array([[0, 0], [50, 10], [100, 0]], float)]
    return [InkLine(a, "#112233", 2.0), InkLine(b, "red", 1.0)]


def test_svg_has_one_unfilled_path_per_stroke_and_no_background():
    svg = page_to_svg(layout_page(_lines(), ink_height=20.0))
    root = ET.fromstring(svg)
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 3
    assert not root.findall(f".//{SVG}rect")
    groups = root.findall(f"{SVG}g")
    assert [g.get("fill") for g in groups] == ["none", "none"]
    assert groups[0].get("stroke") == "#112233" and groups[0].get("stroke-linecap") == "round"


def test_lines_are_left_aligned_and_evenly_spaced():
    page = layout_page(_lines(), ink_height=20.0, layout=Layout(x_height_px=20, line_spacing=2.0, margin_px=10))
    lefts = [min(s[:, 0].min() for s in ln.strokes) for ln in page.lines]
    assert np.allclose(lefts, 10)
    mids = [np.median(np.concatenate(ln.strokes)[:, 1]) for ln in page.lines]
    assert abs((mids[1] - mids[0]) - 40) < 1e-6


def test_dot_and_curve_paths():
    assert stroke_path(np.array([[1.0, 2.0]])) == "M1 2l0 0"
    d = stroke_path(np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float))
    assert d.startswith("M0 0L5 0Q10 0") and d.endswith("L0 10")


def test_png_is_white_with_ink():
    png = svg_to_png(page_to_svg(layout_page(_lines(), ink_height=20.0)), dpi=96)
    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert im[0, 0].tolist() == [255, 255, 255]
    assert (im.sum(-1) < 600).sum() > 20        # dark pixels exist: the ink was drawn
