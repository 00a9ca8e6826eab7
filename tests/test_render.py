import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
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


# ---- the PNG pixel cap and checked settings (issue 14, items 5 and 12) -----------------------------------
from scribe.render.page import MAX_PNG_PIXELS, RenderError, check_color, max_png_dpi, svg_size_px, svg_to_png


def _sheet_svg(width_px, height_px):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" height="{height_px}px" width="{width_px}px" '
            f'viewBox="0 0 {width_px} {height_px}"><path d="M1 1L5 5" stroke="black"/></svg>')


def test_every_png_is_refused_over_the_pixel_cap_before_rasterising(monkeypatch):
    import cairosvg
    calls = []
    real = cairosvg.svg2png
    monkeypatch.setattr(cairosvg, "svg2png", lambda **k: calls.append(k) or real(**k))
    # the paragraph sheet: 800 mm wide at 600 dpi is about 334 megapixels
    svg = _sheet_svg(800 / 25.4 * 96, 450)
    with pytest.raises(RenderError, match=r"megapixels\); the limit is 40 megapixels: use at most \d+ dpi"):
        svg_to_png(svg, 600)
    assert not calls
    w, h = svg_size_px(svg)
    best = max_png_dpi(w, h)
    assert w * h * (best / 96) ** 2 <= MAX_PNG_PIXELS < w * h * ((best + 1) / 96) ** 2
    assert svg_to_png(svg, 40)[:4] == b"\x89PNG" and calls


@pytest.mark.parametrize("dpi", [0, -5, float("nan"), float("inf"), "abc", 20000])
def test_bad_resolutions_are_refused(dpi):
    with pytest.raises(RenderError, match="dpi"):
        svg_to_png(_sheet_svg(10, 10), dpi)


def test_sizes_are_read_in_any_unit_and_colours_are_checked():
    assert svg_size_px('<svg width="25.4mm" height="1in">') == pytest.approx((96, 96))
    assert svg_size_px('<svg viewBox="0 0 30 20">') == (30, 20)
    with pytest.raises(RenderError):
        svg_size_px("<svg>")
    for ok in ("#000", "#0a0B0c", "rgb(1, 2, 3)", "navy", "ForestGreen"):
        assert check_color(ok) == ok
    for bad in ("#zzzzzz", "", "url(#x)", "red;stroke:blue", None, 5, "<img src=x>"):
        with pytest.raises(RenderError, match="not a colour"):
            check_color(bad)


@pytest.mark.parametrize("field, value", [("line_spacing", float("nan")), ("x_height_px", -1.0),
                                          ("margin_px", float("inf")), ("align", "middle")])
def test_a_layout_that_would_write_nan_coordinates_is_refused(field, value):
    from scribe.render.page import Layout, layout_page
    with pytest.raises(RenderError, match=field.replace("_", " ") if field != "align" else "align"):
        layout_page([InkLine([np.array([[0.0, 0.0], [1.0, 1.0]])])], 1.0, Layout(**{field: value}))
