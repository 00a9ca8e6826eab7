"""Animated writing: the timeline, the animated SVG (SMIL and CSS), the GIF, and playback in a real browser."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from scribe import ink
from scribe.render.animate import AnimationError, AnimationOptions, animated_gif, animated_svg, timeline
from scribe.render.page import InkLine, Layout, Page, layout_page, page_to_svg

from helpers import synthetic_offsets

SVG = "{http://www.w3.org/2000/svg}"


def make_page() -> Page:
    lines = []
    for i, color in enumerate(["#000000", "#1040a0"]):
        strokes = ink.offsets_to_strokes(synthetic_offsets(n_strokes=4, seed=i))
        if i == 0:
            strokes.append(np.array([[strokes[-1][-1, 0] + 40.0, -140.0]]))   # a dot
        lines.append(InkLine(strokes, color))
    return layout_page(lines, ink_height=250.0, layout=Layout())


def test_timeline_follows_writing_order_and_speed():
    page = make_page()
    strokes, total = timeline(page, 1.0)
    assert len(strokes) == sum(len(ln.strokes) for ln in page.lines)
    ends = [s.start + s.duration for s in strokes]
    assert all(b.start > a_end for a_end, b in zip(ends, strokes[1:]))     # pen-up gap between strokes
    assert total == pytest.approx(ends[-1])
    # a longer stroke takes longer; twice the speed, half the time
    long_, short = max(strokes, key=lambda s: s.length), min((s for s in strokes if s.length), key=lambda s: s.length)
    assert long_.duration > short.duration
    _, fast = timeline(page, 2.0)
    assert fast == pytest.approx(total / 2)


def _paths(svg: str):
    return ET.fromstring(svg).findall(f".//{SVG}path")


def test_smil_animation_reveals_each_stroke_in_turn():
    page = make_page()
    svg = animated_svg(page, AnimationOptions(speed=1.5))
    paths = _paths(svg)
    static = _paths(page_to_svg(page))
    assert [p.get("d") for p in paths] == [p.get("d") for p in static]       # the same ink
    strokes, total = timeline(page, 1.5)
    begins = []
    for p, ts in zip(paths, strokes):
        anim = p.find(f"{SVG}animate")
        if ts.length == 0:                                                     # a dot appears at once
            assert p.get("visibility") == "hidden" and p.find(f"{SVG}set").get("to") == "visible"
            begins.append(float(p.find(f"{SVG}set").get("begin")[:-1]))
            continue
        dash = float(p.get("stroke-dashoffset"))
        assert dash > ts.length and p.get("stroke-dasharray") == f"{p.get('stroke-dashoffset')} {p.get('stroke-dashoffset')}"
        assert anim.get("attributeName") == "stroke-dashoffset" and anim.get("to") == "0"
        assert anim.get("fill") == "freeze"
        assert float(anim.get("dur")[:-1]) == pytest.approx(ts.duration, abs=2e-3)
        begins.append(float(anim.get("begin")[:-1]))
    assert begins == sorted(begins) and begins[0] == 0
    assert float(ET.fromstring(svg).get("data-duration")) == pytest.approx(total, abs=2e-3)


def test_looping_and_css_animations():
    page = make_page()
    loop = animated_svg(page, AnimationOptions(loop=True, hold_s=2.0))
    anims = ET.fromstring(loop).findall(f".//{SVG}animate")
    assert anims and all(a.get("repeatCount") == "indefinite" for a in anims)
    for a in anims:
        times = [float(t) for t in a.get("keyTimes").split(";")]
        assert times == sorted(times) and times[0] == 0 and times[-1] == 1
    css = animated_svg(page, AnimationOptions(method="css"))
    root = ET.fromstring(css)
    style = root.find(f"{SVG}style").text
    paths = root.findall(f"{SVG}path")
    names = re.findall(r"@keyframes (\S+?)\{", style)
    assert len(names) == len(paths) and len(set(names)) == len(names)
    delays = [float(re.search(r"linear ([\d.]+)s both", p.get("style")).group(1)) for p in paths]
    assert delays == sorted(delays)
    # two documents on one HTML page must not share animation names
    other = animated_svg(make_page(), AnimationOptions(method="css", speed=2))
    assert not set(names) & set(re.findall(r"@keyframes (\S+?)\{", other))


def test_bad_animation_options_and_empty_pages():
    with pytest.raises(AnimationError, match="speed 0 is outside"):
        animated_svg(make_page(), AnimationOptions(speed=0))
    with pytest.raises(AnimationError, match="method 'flash'"):
        animated_svg(make_page(), AnimationOptions(method="flash"))
    with pytest.raises(AnimationError, match="no ink"):
        animated_svg(Page(10, 10, [InkLine([])]))


def test_gif_builds_up_the_writing_frame_by_frame():
    from PIL import Image
    page = make_page()
    data = animated_gif(page, AnimationOptions(speed=3, fps=10))
    img = Image.open(io.BytesIO(data))
    assert img.format == "GIF" and img.n_frames > 3 and img.size == (round(page.width), round(page.height))
    dark = []
    for k in range(img.n_frames):
        img.seek(k)
        dark.append(int((np.asarray(img.convert("L")) < 128).sum()))
    assert dark[0] == 0 and dark[-1] > 0
    assert all(b >= a for a, b in zip(dark, dark[1:]))          # ink only ever appears
    assert len(set(dark)) > 3


@pytest.mark.slow
@pytest.mark.parametrize("method", ["smil", "css"])
def test_the_animation_plays_in_a_real_browser(method, tmp_path):
    """Chromium renders the inline SVG at chosen animation times: blank at 0, growing, complete at the end."""
    playwright = pytest.importorskip("playwright.sync_api")
    page_ink = make_page()
    anim = animated_svg(page_ink, AnimationOptions(method=method))
    _, total = timeline(page_ink, 1.0)
    html = (f"<html><body style='margin:0;background:#fff'><div id='a'>{anim}</div>"
            f"<div id='s'>{page_to_svg(page_ink)}</div></body></html>")
    seek = {"smil": "t => { const s = document.querySelector('#a svg'); s.pauseAnimations(); s.setCurrentTime(t); }",
            "css": "t => document.getAnimations().forEach(a => { a.pause(); a.currentTime = t * 1000; })"}[method]
    from PIL import Image
    with playwright.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        except Exception as e:   # no browser on this machine
            pytest.skip(f"chromium cannot start here: {e}")
        try:
            tab = browser.new_page()
            tab.set_content(html)
            def ink_at(t):
                tab.evaluate(seek, t)
                tab.wait_for_timeout(50)
                shot = tab.locator("#a svg").screenshot()
                return int((np.asarray(Image.open(io.BytesIO(shot)).convert("L")) < 160).sum())
            counts = [ink_at(t) for t in (0.0, total * 0.3, total * 0.7, total + 0.5)]
            full = int((np.asarray(Image.open(io.BytesIO(tab.locator("#s svg").screenshot())).convert("L")) < 160).sum())
        finally:
            browser.close()
    assert counts[0] == 0
    assert 0 < counts[1] < counts[2] < counts[3]
    assert counts[3] == pytest.approx(full, rel=0.03)


def test_a_hostile_colour_cannot_break_out_of_the_svg():
    page = make_page()
    page.lines[0].color = '"/><script>alert(1)</script><path d="'
    for method in ("smil", "css"):
        svg = animated_svg(page, AnimationOptions(method=method))
        assert "<script" not in svg
        assert ET.fromstring(svg).find(f".//{SVG}path").get("stroke") == page.lines[0].color


# ---- the GIF cost model (issue 14, item 3) ---------------------------------------------------------------
def _long_page(n_lines=40):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n_lines):
        strokes = []
        for w in range(12):
            t = np.linspace(0, 6, 80)
            strokes.append(np.column_stack([w * 900 + t * 120, 150 * np.sin(3 * t) + rng.normal(0, 3, 80)]))
        lines.append(InkLine(strokes, ["#000000", "darkred"][i % 2]))
    # the page: 40 long lines at 36 px a line (the size line mode had then), so that both the
    # frame count and the frame size go over the budget
    return layout_page(lines, 345.0, Layout(x_height_px=36.0))


def test_a_long_slow_gif_is_capped_by_the_cost_model_and_says_so():
    import time
    from PIL import Image
    from scribe.render.animate import MAX_GIF_FRAME_PIXELS, MAX_GIF_PIXELS, render_gif
    page = _long_page()
    started = time.perf_counter()
    result = render_gif(page, AnimationOptions(speed=0.1))      # the case: 40 lines at speed 0.1
    wall = time.perf_counter() - started
    plan = result.plan
    assert result.capped and any("frames" in n for n in plan.notes) and any("dpi" in n for n in plan.notes)
    w, h = plan.size
    assert w * h <= MAX_GIF_FRAME_PIXELS * 1.01 and plan.frames * w * h <= MAX_GIF_PIXELS * 1.01
    assert 0 < result.seconds <= wall                            # the true time of drawing it
    img = Image.open(io.BytesIO(result.data))
    assert img.size == plan.size and img.n_frames <= plan.frames + 1
    img.seek(img.n_frames - 1)
    rgb = np.asarray(img.convert("RGB")).reshape(-1, 3)
    assert {(0, 0, 0), (139, 0, 0), (255, 255, 255)} <= set(map(tuple, np.unique(rgb, axis=0)))


def test_a_small_gif_is_drawn_as_asked():
    from scribe.render.animate import render_gif
    page = make_page()
    result = render_gif(page, AnimationOptions(speed=3, fps=10))
    assert not result.capped and result.plan.notes == []
    assert result.plan.size == (round(page.width), round(page.height)) and result.plan.step == pytest.approx(0.1)
