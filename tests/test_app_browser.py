"""A real headless browser (Debian's chromium, driven by Playwright) using the real app.

It loads the page, adds a line, types text, picks a style, clicks Write, waits for the inline preview,
downloads the SVG and the PNG and checks them, and takes a screenshot.

The committed screenshot (docs/img/app.png) comes from the same flow with a trained checkpoint:

    python tests/test_app_browser.py --screenshot docs/img/app.png     # newest runs/cpu_standin checkpoint
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import (MAX_STEPS, ROOT, browser_page, check_png, check_svg, needs_browser, open_tab,
                     screenshot_model, start_app)

def line_texts(page):
    return page.locator(".scribe-line-text textarea")


def pick_style(page, row: int, label: str) -> None:
    box = page.locator(".scribe-line-style input").nth(row)
    box.click()
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_function(f"document.querySelectorAll('.scribe-line-style input')[{row}].value === {label!r}")


def write_and_wait(page, n_lines: int, timeout_ms: int = 180_000) -> str:
    page.locator("#scribe-write").click()
    page.wait_for_function(f"document.querySelector('#scribe-status')?.innerText.includes('Wrote {n_lines} line')",
                           timeout=timeout_ms)
    return page.locator("#scribe-status").inner_text()


def add_line_and_write(page, url: str, text: str, style_label: str, out_dir: Path) -> dict:
    """The user's path through the app. Returns what it saw and downloaded."""
    page.goto(url)
    line_texts(page).first.wait_for(timeout=60_000)
    n = line_texts(page).count()
    page.locator("#scribe-add").click()
    page.wait_for_function(f"document.querySelectorAll('.scribe-line-text textarea').length === {n + 1}")
    line_texts(page).nth(n).fill(text)
    pick_style(page, n, style_label)
    # The row's own preview now shows the chosen style's ink.
    page.locator(".scribe-row-style svg").nth(n).wait_for(timeout=30_000)
    status = write_and_wait(page, n + 1)
    groups = page.locator("#scribe-preview svg > g").count()
    with page.expect_download() as svg_dl:
        page.locator("#scribe-svg").click()
    svg_path = out_dir / svg_dl.value.suggested_filename
    svg_dl.value.save_as(svg_path)
    with page.expect_download() as png_dl:
        page.locator("#scribe-png").click()
    png_path = out_dir / png_dl.value.suggested_filename
    png_dl.value.save_as(png_path)
    return {"lines": n + 1, "status": status, "preview_groups": groups, "svg": svg_path, "png": png_path,
            "typed": line_texts(page).nth(n).input_value()}


@pytest.fixture()
def browser_app(tiny_ckpt_path, tiny_style_dir):
    demo, url = start_app(tiny_ckpt_path, tiny_style_dir, MAX_STEPS)
    try:
        yield url
    finally:
        demo.close()


@pytest.mark.slow
@needs_browser
def test_browser_adds_a_line_writes_and_downloads(browser_app, tmp_path):
    with browser_page(downloads=True) as page:
        seen = add_line_and_write(page, browser_app, "A second line", "1: quick fox", tmp_path)
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        if os.environ.get("SCRIBE_APP_SCREENSHOT"):
            page.screenshot(path=os.environ["SCRIBE_APP_SCREENSHOT"], full_page=True)
    assert seen["lines"] == 2 and seen["typed"] == "A second line"
    assert "Wrote 2 lines" in seen["status"] and "seed" in seen["status"]
    assert seen["preview_groups"] == 2                  # the inline preview is the vector page itself
    root = check_svg(seen["svg"], n_lines=2)
    assert root.get("viewBox") and seen["svg"].suffix == ".svg"
    check_png(seen["png"])
    assert (tmp_path / "app.png").stat().st_size > 10_000
    # The legibility check ran at the app's default, and the tiny model's scribbles are named.
    assert "legibility check: 2 lines checked, 4 candidates at most" in seen["status"]
    assert "lines 1, 2 still read poorly" in seen["status"]


@pytest.mark.slow
@needs_browser
def test_browser_legibility_check_control_explains_itself_and_turns_off(browser_app):
    with browser_page() as page:
        page.goto(browser_app)
        line_texts(page).first.wait_for(timeout=60_000)
        control = page.locator("#scribe-candidates")
        assert "Legibility check" in control.inner_text() and "1 = off" in control.inner_text()
        number = control.locator("input[type=number]")
        number.fill("1")
        number.press("Enter")
        status = write_and_wait(page, 1)
        assert "Wrote 1 line" in status and "legibility" not in status


@pytest.mark.slow
@needs_browser
def test_browser_guide_example_and_bad_input_keep_the_text(browser_app):
    with browser_page() as page:
        page.goto(browser_app)
        line_texts(page).first.wait_for(timeout=60_000)
        page.get_by_text("The guide's three-line document", exact=False).first.click()
        page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea').length === 3")
        page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea')[2].value"
                               ".startsWith('Got your message')")
        texts = [line_texts(page).nth(i).input_value() for i in range(3)]
        # This tiny bank has styles 0-2 only: the page says the guide's 3 and 7 fall back.
        page.get_by_text("has no style 3, 7").first.wait_for(timeout=30_000)
        # An unknown character: a clear message naming it, and the typed text stays where it was.
        line_texts(page).first.fill("snow \u2603 today")
        page.locator("#scribe-write").click()
        toast = page.get_by_text("this model cannot write").first
        toast.wait_for(timeout=60_000)
        message = toast.inner_text()
        kept = line_texts(page).first.input_value()
        status = page.locator("#scribe-status").inner_text()
    assert texts[0] == "Report due by 09:00 on March 15th, 1985." and texts[1].startswith("Can't believe it")
    assert "'\u2603'" in message and "':'" in message     # every unknown character is listed
    assert "Traceback" not in message
    assert kept == "snow \u2603 today"
    assert "Wrote" not in status


@pytest.mark.slow
@needs_browser
def test_browser_rows_keep_their_values_when_lines_come_and_go(browser_app):
    with browser_page() as page:
        page.goto(browser_app)
        line_texts(page).first.wait_for(timeout=60_000)
        line_texts(page).first.fill("first line, edited")
        page.locator("#scribe-add").click()
        page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea').length === 2")
        line_texts(page).nth(1).fill("second line")
        pick_style(page, 1, "2: a line of ink")
        page.locator("#scribe-add").click()
        page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea').length === 3")
        page.locator(".scribe-remove").first.click()          # remove line 1
        page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea').length === 2")
        texts = [line_texts(page).nth(i).input_value() for i in range(2)]
        styles = [page.locator(".scribe-line-style input").nth(i).input_value() for i in range(2)]
    # The old line 2 is now line 1 with its text and style; the added line copied that style.
    assert texts == ["second line", ""]
    assert styles[0] == "2: a line of ink"


@pytest.mark.slow
@needs_browser
def test_browser_likeness_starts_at_the_style_s_own_and_locks_without_a_fitted_hand(tiny_ckpt_path, tiny_style_dir):
    """Style 1 has a fitted hand at its own strength 0.6, style 0 none: picking a style moves the row's
    likeness slider to that style's own and unlocks it, or locks it; a moved slider writes."""
    from test_likeness import _bank
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6})
    demo, url = start_app(tiny_ckpt_path, tiny_style_dir, MAX_STEPS)
    number = ".scribe-line-likeness input[type=number]"
    try:
        with browser_page() as page:
            page.goto(url)
            line_texts(page).first.wait_for(timeout=60_000)
            line_texts(page).first.fill("hello")
            pick_style(page, 0, "1: quick fox")
            page.wait_for_function(f"document.querySelector({number!r}).value === '0.6'")
            assert page.locator(number).first.is_enabled()
            pick_style(page, 0, "0: hello there")
            page.wait_for_function(f"document.querySelector({number!r}).disabled")
            pick_style(page, 0, "1: quick fox")
            page.wait_for_function(f"!document.querySelector({number!r}).disabled")
            seen = {}
            # seed 5 at likeness 0.2, then seed 6 (so that the status changes), then seed 5 at 0.6
            for seed, likeness in (("5", "0.2"), ("6", "0.2"), ("5", "0.6")):
                page.locator("#scribe-seed input, #scribe-seed textarea").first.fill(seed)
                page.locator(number).first.fill(likeness)
                page.locator(number).first.press("Enter")
                page.locator("#scribe-write").click()
                page.wait_for_function("(seed) => document.querySelector('#scribe-status')?.innerText"
                                       ".includes('seed ' + seed)", arg=seed, timeout=60_000)
                seen[seed, likeness] = (page.locator("#scribe-status").inner_text(),
                                        page.locator("#scribe-preview svg").first.inner_html())
            # the one-pen tabs: their slider follows their style menu too, and a moved one writes
            open_tab(page, "Paragraph (pages)")
            para = "#scribe-para-likeness input[type=number]"
            page.wait_for_function(f"document.querySelector({para!r}).disabled")    # style 0: no fitted hand
            page.locator("#scribe-para-style input").click()
            page.get_by_role("option", name="1: quick fox", exact=True).click()
            page.wait_for_function(f"document.querySelector({para!r}).value === '0.6' && "
                                   f"!document.querySelector({para!r}).disabled")
            page.locator(para).fill("0.3")
            page.locator(para).press("Enter")
            page.locator("#scribe-write-paragraph").click()
            page.wait_for_function("document.querySelector('#scribe-status')?.innerText.includes(' page')",
                                   timeout=60_000)
            para_status = page.locator("#scribe-status").inner_text()
    finally:
        demo.close()
    assert "likeness did nothing" not in seen["5", "0.2"][0] and "likeness did nothing" not in para_status
    assert seen["5", "0.2"][1] != seen["5", "0.6"][1]       # the same seed: only the slider's value differs


# ---- the committed screenshot ------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Screenshot the app after a real write, for the docs.")
    ap.add_argument("--screenshot", default=str(ROOT / "docs" / "img" / "app.png"))
    ap.add_argument("--checkpoint", default=None, help="default: newest runs/cpu_standin/checkpoint-N.pt, "
                                                       "else the shipped checkpoint")
    ap.add_argument("--seed", default="7")
    args = ap.parse_args(argv)
    workdir = tempfile.TemporaryDirectory()
    ckpt, style_dir, max_steps = screenshot_model(args.checkpoint, Path(workdir.name))
    demo, url = start_app(ckpt, style_dir, max_steps, checkpoint_dir=ckpt.parent)
    out = Path(args.screenshot)
    try:
        with browser_page(downloads=True) as page:
            page.goto(url)
            line_texts(page).first.wait_for(timeout=60_000)
            # The guide's document; the tiny model's alphabet lacks its ':' and '(', so it writes a note.
            example, last = (("A note in blue ink", "Yours, Charles") if max_steps else
                             ("The guide's three-line document", "Got your message"))
            page.get_by_text(example, exact=False).first.click()
            page.wait_for_function("document.querySelectorAll('.scribe-line-text textarea')[2]?.value"
                                   f".startsWith({last!r})")
            page.locator("#scribe-seed input, #scribe-seed textarea").first.fill(args.seed)
            status = write_and_wait(page, 3, timeout_ms=300_000)
            page.get_by_text("The styles (each hand's own ink)").click()     # show the style chart too
            page.wait_for_timeout(11_000)      # let any notice fade, so it does not cover the page
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp.png")
            page.screenshot(path=str(tmp), full_page=True)
            os.replace(tmp, out)      # never a half-written screenshot
    finally:
        demo.close()
        workdir.cleanup()
    print(f"checkpoint: {ckpt}\n{status}\nscreenshot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
