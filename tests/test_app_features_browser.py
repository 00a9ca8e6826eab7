"""A real headless browser on the real app: write on the pen-capture canvas with the mouse, type the
text, make a style, write with it, make plotter files, play the animation, write a paragraph.

The screenshots in docs/app.md (docs/img/app-*.png) come from the same flow with a trained checkpoint:

    python tests/test_app_features_browser.py          # newest runs/cpu_standin checkpoint, else shipped
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers import (MAX_STEPS, ROOT, SVG_NS, browser_page, draw, handwriting, make_style, needs_browser, open_tab,
                     screenshot_model, start_app)

SAMPLE = "my own hand"


def ink_info(page) -> str:
    return page.locator("#scribe-ink .scribe-ink-info").inner_text()


def wait_status(page, expected: str, timeout_ms: int = 300_000) -> str:
    page.wait_for_function(f"document.querySelector('#scribe-status')?.innerText.includes({expected!r})",
                           timeout=timeout_ms)
    return page.locator("#scribe-status").inner_text()


def own_hand_flow(page, url: str, text: str = SAMPLE, shots: dict | None = None) -> dict:
    """The user's path: draw, clear, draw again, type, make the style, write with it. Returns what it saw."""
    shots = shots or {}
    page.goto(url)
    page.locator("#scribe-preview").wait_for(timeout=60_000)
    open_tab(page, "Your own hand")
    n = draw(page, "scribble")
    drawn_info = ink_info(page)
    page.locator("#scribe-ink-clear").click()
    page.wait_for_function("document.querySelector('#scribe-ink .scribe-ink-info').innerText.startsWith('Write')")
    n = draw(page, text)
    msg = make_style(page, text)
    preview_paths = page.locator("#scribe-style-preview svg path").count()
    file_links = page.locator("a[href*='style-']").count()
    if "style" in shots:
        page.screenshot(path=str(shots["style"]), full_page=True)
    page.locator("#scribe-own-write").click()
    status = wait_status(page, "Wrote 1 line")
    return {"strokes": n, "drawn_info": drawn_info, "msg": msg, "preview_paths": preview_paths,
            "file_links": file_links, "status": status,
            "preview_svg": page.locator("#scribe-preview svg").first.evaluate("e => e.outerHTML")}


def plotter_and_animation(page, shots: dict | None = None) -> dict:
    shots = shots or {}
    page.get_by_text("Plotter: SVG in mm and G-code").click()
    page.locator("#scribe-plotter-make").click()
    page.wait_for_function("document.querySelectorAll('#scribe-plotter-files a').length >= 2", timeout=60_000)
    names = sorted(page.locator("#scribe-plotter-files a").evaluate_all(
        "links => links.map(a => a.getAttribute('download') || decodeURIComponent(a.href))"))
    page.get_by_text("Watch it being written").click()
    page.locator("#scribe-play").click()
    # "attached", not "visible": a first stroke that is a dot is a zero-length path, which has no box
    page.locator("#scribe-animation svg path").first.wait_for(state="attached", timeout=60_000)
    anim = page.locator("#scribe-animation svg").first
    page.wait_for_function("(() => { const p = document.querySelector('#scribe-animation svg path');"
                           " const n = p && getComputedStyle(p).animationName; return n && n !== 'none'; })()",
                           timeout=30_000)
    styles = anim.evaluate("e => [...e.querySelectorAll('path')].map(p => getComputedStyle(p).animationName)")
    page.wait_for_timeout(1200)
    if "animation" in shots:
        page.screenshot(path=str(shots["animation"]), full_page=True)
    return {"plotter_files": names, "animation_names": styles}


def paragraph_flow(page, shots: dict | None = None, expect: str = "page") -> str:
    shots = shots or {}
    open_tab(page, "Paragraph (pages)")
    page.locator("#scribe-write-paragraph").click()
    status = wait_status(page, f" {expect}")
    page.wait_for_timeout(500)
    if "paragraph" in shots:
        page.screenshot(path=str(shots["paragraph"]), full_page=True)
    return status


@pytest.mark.slow
@needs_browser
def test_browser_own_hand_plotter_animation_and_paragraph(tiny_ckpt_path, tiny_style_dir, tmp_path):
    demo, url = start_app(tiny_ckpt_path, tiny_style_dir, MAX_STEPS, user_dir=tmp_path / "user")
    shots = {k: tmp_path / f"app-{k}.png" for k in ("style", "animation", "paragraph")}
    try:
        with browser_page(downloads=True) as page:
            seen = own_hand_flow(page, url, shots=shots)
            tools = plotter_and_animation(page, shots)
            para = paragraph_flow(page, shots)
            # The new style is offered in the paragraph tab's style menu too.
            page.locator("#scribe-para-text").wait_for()
            menus = page.locator("input[role='listbox'], .wrap input").count()
            # Make style with nothing drawn: a message, not a crash.
            open_tab(page, "Your own hand")
            page.locator("#scribe-ink-clear").click()
            page.locator("#scribe-make-style").click()
            toast = page.get_by_text("write on the canvas").first
            toast.wait_for(timeout=60_000)
            empty_msg = toast.inner_text()
    finally:
        demo.close()
    assert seen["drawn_info"].startswith(f"{len(handwriting('scribble'))} strokes")
    assert "Saved as style 3" in seen["msg"].replace("**", "")
    assert seen["preview_paths"] == seen["strokes"]          # the normalised ink, one path per stroke
    assert seen["file_links"] >= 2
    assert "Wrote 1 line" in seen["status"]
    assert ET.fromstring(seen["preview_svg"]).findall(f".//{SVG_NS}path")
    from scribe.styles import StyleBank
    assert StyleBank(tmp_path / "user").get(3).text == SAMPLE
    assert any(n.endswith("-plotter.svg") for n in tools["plotter_files"])
    assert any(n.endswith(".gcode") for n in tools["plotter_files"])
    assert tools["animation_names"] and all(n != "none" for n in tools["animation_names"])
    assert "page" in para and "Wrote" in para and menus >= 1
    assert "Traceback" not in empty_msg
    assert all(p.stat().st_size > 10_000 for p in shots.values())


# ---- the committed screenshots ---------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Screenshots of the feature tabs after real writes, for docs/app.md.")
    ap.add_argument("--out_dir", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--checkpoint", default=None, help="default: newest runs/cpu_standin/checkpoint-N.pt, "
                                                       "else the shipped checkpoint")
    ap.add_argument("--seed", default="7")
    args = ap.parse_args(argv)
    work = tempfile.TemporaryDirectory()
    ckpt, style_dir, max_steps = screenshot_model(args.checkpoint, Path(work.name))
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = {k: out / f".app-{k}.tmp.png" for k in ("style", "animation", "paragraph")}
    demo, url = start_app(ckpt, style_dir, max_steps, user_dir=Path(work.name) / "user")
    try:
        with browser_page(downloads=True) as page:
            page.goto(url)
            page.locator("#scribe-seed input, #scribe-seed textarea").first.wait_for(timeout=60_000)
            seen = own_hand_flow(page, url, "the quick brown fox", shots=tmp)
            page.locator("#scribe-seed input, #scribe-seed textarea").first.fill(args.seed)
            plotter_and_animation(page, tmp)
            status = paragraph_flow(page, tmp)
        for k, t in tmp.items():
            os.replace(t, out / f"app-{k}.png")       # never a half-written screenshot
    finally:
        demo.close()
        work.cleanup()
        for t in tmp.values():
            t.unlink(missing_ok=True)
    print(f"checkpoint: {ckpt}\n{seen['msg']}\n{seen['status']}\n{status}\nscreenshots: {out}/app-*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
