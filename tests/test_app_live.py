"""Live ink and Stop through the real app: /write_live, /write_paragraph_live and job.cancel() through
gradio_client, and the Lines, Quick, Paragraph and Your own hand tabs in headless Chromium (the preview
shows ink before the write is done, on the paper chosen; Stop stops the sampling loop and the next
write is served).

The model is a tiny random one (128 units): tiny models never end a line on their own, so every line
runs to its step cap (4 x 12 steps a character + 20). Nothing here depends on how fast this machine
samples (that long line takes anything from 0.1 s to seconds): a test that must act while a write is
under way sets the pace of live sampling (conftest's `live_pace`: each chunk of 16 pen steps takes at
least so long, so the long line lasts seconds on any CPU), and the stream test steps the throttle's
clock itself. A counter on scribe.sampling.LiveBatch records every chunk of pen steps the sampling
loop runs, in this process (the server runs here), so a test sees when the loop stops.

The live-ink and paper screenshots in docs/everyday.md come from `main` here, with the shipped model:

    python tests/test_app_live.py --live docs/img/app-live.png --paper docs/img/app-paper.png \
        --paper-preview docs/img/app-paper-preview.png
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers import (ROOT, SVG_NS, browser_page, draw, free_port, make_style, needs_browser, open_tab, start_app,
                     tiny_checkpoint)
from scribe import sampling
from scribe.checkpoint import save_training_checkpoint
from scribe.web import app, live

LONG = ("abcdefghij " * 8).strip()      # 87 characters
CAP = 4 * 12 * len(LONG) + 20           # its step cap: 4,196 pen steps
CHUNKS = -(-CAP // sampling.LIVE_EVERY)  # 263 chunks of pen steps to write it
# The pace of a write that a test stops or cancels: the long line then lasts at least 13 s, over 10x
# the time a cancel or a Stop takes to land, on any CPU.
CANCEL_PACE_S = 0.05
# The pace of a browser test that must see the page mid-write: the long line lasts at least 5 s.
BROWSER_PACE_S = 0.02


class SteppedClock:
    """The live throttle's clock: each reading is `step` seconds after the last, so every chunk with
    new ink is shown, however fast or slow the machine samples."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Chunks:
    """Every LiveBatch made in this process: (time, pen steps run so far)."""

    def __init__(self, monkeypatch):
        self.seen: list[tuple[float, int]] = []
        init = sampling.LiveBatch.__init__

        def counted(batch, *args, **kwargs):
            init(batch, *args, **kwargs)
            self.seen.append((time.monotonic(), batch.step))

        monkeypatch.setattr(sampling.LiveBatch, "__init__", counted)

    def last_step(self) -> int:
        return self.seen[-1][1] if self.seen else 0


def wide_model(folder: Path) -> Path:
    path = folder / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(rnn_size=128), path)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client
    base = tmp_path_factory.mktemp("live")
    demo = app.build_demo(app.AppSettings(checkpoint=str(wide_model(base)), concurrency=1))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Client(url, verbose=False)
    finally:
        demo.close()


def paths_in(svg: str) -> int:
    return len(ET.fromstring(svg).findall(f".//{SVG_NS}path"))


@pytest.mark.slow
def test_write_live_streams_the_page_then_gives_the_files_of_write(server, monkeypatch):
    # The throttle (a new page at most every MIN_PREVIEW_S) reads a clock that moves past it at every
    # chunk: the updates are the chunks with new strokes, whether the write takes 0.1 s or a minute.
    monkeypatch.setattr(live, "CLOCK", SteppedClock(live.MIN_PREVIEW_S))
    lines = [{"text": LONG}, {"text": LONG[:30]}]          # 263 chunks of 16 pen steps
    job = server.submit(lines, 3, 96, None, None, None, None, None, None, None, 1, "strokes", api_name="/write_live")
    svg, status, svg_file, png_file, seed, summary, check = job.result()
    ups = job.outputs()
    assert len(ups) >= 3 and seed == 3 and summary.startswith("Wrote 2 lines")
    for page, line, f_svg, f_png, f_seed, f_summary, _ in ups[:-1]:
        assert line.startswith("Writing… pen step") and (f_svg, f_png, f_seed, f_summary) == (None, None, None, "")
    pages = [u[0] for u in ups[:-1] if u[0]]
    counts = [paths_in(p) for p in pages]
    assert len(pages) >= 2 and counts == sorted(counts) and counts[-1] > counts[0]   # the ink grows
    assert Path(svg_file).read_text() == svg and paths_in(svg) >= counts[-1]
    plain, *_ = server.predict(lines=lines, seed=3, png_dpi=96, candidates=1, api_name="/write")
    assert Path(plain).read_bytes() == Path(svg_file).read_bytes()        # the same ink as /write
    with pytest.raises(Exception, match="live must be one of lines, strokes"):
        server.predict(lines, 3, 96, None, None, None, None, None, None, None, 1, "words", api_name="/write_live")


@pytest.mark.slow
def test_write_live_added_sends_only_the_new_strokes_within_3x_the_final_svg(server, monkeypatch):
    monkeypatch.setattr(live, "CLOCK", SteppedClock(live.MIN_PREVIEW_S))
    lines = [{"text": LONG}, {"text": LONG[:30]}, {"text": LONG[:60]}]
    job = server.submit(lines, 3, 96, None, None, None, None, None, None, None, 1, "added", api_name="/write_live")
    svg, *_ = job.result()
    ups = [u[0] for u in job.outputs()[:-1] if u[0]]
    assert ups[0].startswith("<svg") and "<path" not in ups[0]           # the empty page once
    assert len(ups) >= 3 and all(u.startswith('<g data-line="') for u in ups[1:])
    assert 0 < sum(u.count("<path") for u in ups) <= svg.count("<path")   # no stroke sent twice
    assert sum(map(len, ups)) + len(svg) <= 3 * len(svg)
    plain, *_ = server.predict(lines=lines, seed=3, png_dpi=96, candidates=1, api_name="/write")
    assert Path(plain).read_text() == svg                                  # the same finished page


@pytest.mark.slow
def test_cancel_stops_the_sampling_loop_and_frees_the_worker(server, monkeypatch, caplog, live_pace):
    chunks = Chunks(monkeypatch)
    live_pace.set(CANCEL_PACE_S)
    caplog.set_level(logging.INFO, logger="scribe.app")
    lines = [{"text": LONG}] * 40                   # 40 lines to a cap of 4,196 steps: 13 s at the pace
    job = server.submit(lines, 1, None, None, None, None, None, None, None, None, 1, "strokes",
                        api_name="/write_live")
    deadline = time.monotonic() + 120
    while len(job.outputs()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(job.outputs()) >= 2 and not job.done()
    job.cancel()
    # The server runs one write at a time here, so this one is served only once the first gave way.
    svg, _, _, summary, _ = server.predict(lines=[{"text": "ab"}], seed=2, png_dpi=96, candidates=1,
                                           api_name="/write")
    assert summary.startswith("Wrote 1 line") and Path(svg).exists()
    stopped = [r.getMessage() for r in caplog.records if "(cancelled)" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].endswith(f"of {CAP} (cancelled)")
    at = int(stopped[0].split("pen step ")[1].split(" ")[0])
    # only the long write runs live (/write does not): its loop ended where the log says it stopped
    assert 0 < at < CAP and max(s for _, s in chunks.seen) == at
    seen = len(chunks.seen)
    time.sleep(1.0)
    assert len(chunks.seen) == seen                          # and nothing runs on in the background
    assert all(u[2] is None for u in job.outputs())          # no files from the cancelled write


PARAGRAPH = "abcdefghij abcdefghij abcdefghij\n\nabcdefghij abcdefghij"


@pytest.mark.slow
def test_write_paragraph_live_streams_the_lines_then_gives_the_pages_of_write_paragraph(server):
    ask = dict(text=PARAGRAPH, page="a5", seed=3, png_dpi=96, candidates=1)
    # lines mode: an update for every line as it is finished, however fast (the throttle is for strokes)
    job = server.submit(**ask, live="lines", api_name="/write_paragraph_live")
    page, status, svgs, pngs, seed, summary, check = job.result()
    ups = job.outputs()
    assert page is None and seed == 3 and " page" in summary and summary == status and svgs and len(svgs) == len(pngs)
    assert len(ups) >= 3
    for shown, line, f_svgs, f_pngs, f_seed, f_summary, _ in ups[:-1]:
        assert line.startswith("Writing… pen step") and (f_svgs, f_pngs, f_seed, f_summary) == (None, None, None, "")
    pages = [u[0] for u in ups[:-1] if u[0]]
    assert pages and max(paths_in(p) for p in pages) > 0 and all('id="paper"' not in p for p in pages)
    plain_svgs, *_ = server.predict(**ask, api_name="/write_paragraph")
    assert [Path(f).read_bytes() for f in plain_svgs] == [Path(f).read_bytes() for f in svgs]   # the same ink
    with pytest.raises(Exception, match="live must be one of lines, strokes"):
        server.predict(**ask, live="words", api_name="/write_paragraph_live")


@pytest.mark.slow
def test_cancelling_a_paragraph_stops_its_sampling_loop_and_frees_the_worker(server, monkeypatch, caplog,
                                                                            live_pace):
    chunks = Chunks(monkeypatch)
    live_pace.set(CANCEL_PACE_S)
    caplog.set_level(logging.INFO, logger="scribe.app")
    job = server.submit(text=" ".join([LONG] * 12), seed=1, candidates=1, api_name="/write_paragraph_live")
    deadline = time.monotonic() + 120
    while len(job.outputs()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(job.outputs()) >= 2 and not job.done()
    job.cancel()
    svg, _, _, summary, _ = server.predict(lines=[{"text": "ab"}], seed=2, png_dpi=96, candidates=1,
                                           api_name="/write")
    assert summary.startswith("Wrote 1 line") and Path(svg).exists()
    stopped = [r.getMessage() for r in caplog.records if "(cancelled)" in r.getMessage()]
    assert len(stopped) == 1
    at, cap = (int(x) for x in stopped[0].split("pen step ")[1].split(" (")[0].split(" of "))
    assert 0 < at < cap and max(s for _, s in chunks.seen) == at
    seen = len(chunks.seen)
    time.sleep(1.0)
    assert len(chunks.seen) == seen                          # nothing runs on in the background
    assert all(u[2] is None for u in job.outputs())          # no pages from the cancelled write


@pytest.mark.slow
def test_docs_live_example_runs(server, capsys):
    """docs/api.md's /write_live example, run as written (the port aside) against the live server."""
    doc = (ROOT / "docs" / "api.md").read_text()
    assert "<!-- live-api-example -->" in doc, "docs/api.md lost its /write_live example"
    block = doc.split("<!-- live-api-example -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(block.replace("http://127.0.0.1:7860/", server.src), "docs/api.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    statuses = [line for line in printed if not line.startswith("Loaded as API")]
    assert statuses[0].startswith("Writing… pen step") and any(line.startswith("Wrote 2 lines") for line in statuses)
    assert Path(namespace["files"][0]).exists()


# ---- the page in headless Chromium ---------------------------------------------------------------------
@pytest.fixture()
def live_app(tmp_path, live_pace):
    live_pace.set(BROWSER_PACE_S)          # the long line lasts at least 5 s: the page is seen mid-write
    demo, url = start_app(wide_model(tmp_path), None, None, user_dir=tmp_path / "user")
    try:
        yield url
    finally:
        demo.close()


def open_app(page, url: str) -> None:
    page.goto(url)
    page.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
    number = page.locator("#scribe-candidates input[type=number]")
    number.fill("1")                              # one candidate a line: the tiny model has no reader
    number.press("Enter")
    page.locator("#scribe-seed input, #scribe-seed textarea").first.fill("1")   # a seed that writes long


WRITING = "document.querySelector('#scribe-status')?.innerText.startsWith('Writing…')"
WRITING_WITH_INK = WRITING + " && document.querySelectorAll('#scribe-preview svg path').length > 0"


def wait_for(page, condition: str, timeout_ms: int) -> None:
    """page.wait_for_function, and on a timeout the status line it saw, to say why."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function(condition, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise AssertionError(f"waited {timeout_ms / 1000:g} s for {condition}; the status says "
                             f"{page.locator('#scribe-status').inner_text()!r}") from None


STOPPED = "document.querySelector('#scribe-status')?.innerText.startsWith('Stopped after')"


@pytest.mark.slow
@needs_browser
def test_browser_lines_tab_shows_the_ink_while_it_is_written_and_stops(live_app):
    with browser_page() as page:
        open_app(page, live_app)
        page.locator(".scribe-line-text textarea").first.fill(LONG)
        page.locator("#scribe-write").click()
        wait_for(page, WRITING_WITH_INK, 120_000)
        early = page.locator("#scribe-preview svg path").count()
        status = page.locator("#scribe-status").inner_text()
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('Wrote 1 line')", 300_000)
        final = page.locator("#scribe-preview svg path").count()
        page.locator("#scribe-write").click()                     # again, and Stop it this time
        wait_for(page, WRITING, 120_000)
        page.locator("#scribe-stop").click()
        wait_for(page, STOPPED, 30_000)
    assert "of 1 line done" in status and f"(at most {CAP:,})" in status
    assert 0 < early < final


@pytest.mark.slow
@needs_browser
def test_browser_stop_ends_the_write_and_the_next_one_runs(live_app, monkeypatch):
    chunks = Chunks(monkeypatch)
    with browser_page() as page:
        open_app(page, live_app)
        page.get_by_role("tab", name="Quick mode (paragraph)").click()
        quick_text = page.get_by_placeholder("One line per line of text", exact=False)
        quick_text.fill(LONG)
        page.locator("#scribe-write-quick").click()
        wait_for(page, WRITING, 120_000)
        page.locator("#scribe-stop-quick").click()
        wait_for(page, STOPPED, 30_000)
        status = page.locator("#scribe-status").inner_text()
        time.sleep(1.0)
        stopped_at, seen = chunks.last_step(), len(chunks.seen)
        time.sleep(1.0)
        assert len(chunks.seen) == seen and 0 < stopped_at < CAP      # the sampling loop has stopped
        downloads = page.locator("#scribe-svg").get_attribute("href")
        quick_text.fill("ab")
        page.locator("#scribe-write-quick").click()
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('Wrote 1 line')", 120_000)
    assert "Nothing was saved" in status and not downloads


@pytest.mark.slow
@needs_browser
def test_browser_paragraph_tab_shows_the_ink_while_it_is_written_and_stops(live_app, monkeypatch):
    chunks = Chunks(monkeypatch)
    with browser_page() as page:
        open_app(page, live_app)
        page.get_by_role("tab", name="Paragraph (pages)").click()
        page.locator("#scribe-para-text textarea").fill(LONG)
        page.locator("#scribe-write-paragraph").click()
        wait_for(page, WRITING_WITH_INK, 120_000)
        status = page.locator("#scribe-status").inner_text()
        page.locator("#scribe-stop-paragraph").click()
        wait_for(page, STOPPED, 30_000)
        time.sleep(1.0)
        stopped_at, seen = chunks.last_step(), len(chunks.seen)
        time.sleep(1.0)
        assert len(chunks.seen) == seen and stopped_at > 0            # the sampling loop has stopped
        page.locator("#scribe-para-text textarea").fill("ab ab")
        page.locator("#scribe-write-paragraph").click()              # the worker is free for the next one
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('on 1 page')", 120_000)
    assert "lines done" in status and "pen step" in status


SHOWN_LIVE = ("(() => { const k = document.querySelector('#scribe-preview .scribe-live');"
              " return k && k.offsetParent !== null ? k.querySelectorAll('svg path').length : 0; })()")


@pytest.mark.slow
@needs_browser
def test_browser_live_ink_is_sent_as_new_strokes_drawn_onto_the_page(live_app, monkeypatch):
    # Counted where the server makes each update of the preview (scribe.web.views), as Gradio sends it.
    from scribe.web import views
    sent, finals = [], []
    make, final = views.live_preview_html, views.preview_html
    monkeypatch.setattr(views, "live_preview_html", lambda *a: sent.append(make(*a)) or sent[-1])
    monkeypatch.setattr(views, "preview_html", lambda svg: finals.append(final(svg)) or finals[-1])
    with browser_page() as page:
        open_app(page, live_app)
        page.locator(".scribe-line-text textarea").first.fill(LONG)
        page.locator("#scribe-write").click()
        wait_for(page, f"{WRITING} && {SHOWN_LIVE} > 0", 120_000)    # the kept page, shown, with ink
        early = page.evaluate(SHOWN_LIVE)
        wait_for(page, f"{WRITING} && {SHOWN_LIVE} > {early}", 120_000)   # strokes drawn onto it
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('Wrote 1 line')", 300_000)
        after = page.evaluate("document.querySelectorAll('#scribe-preview .scribe-live').length")
        final_paths = page.locator("#scribe-preview svg path").count()
    assert after == 0 and final_paths > 0                       # the finished page replaced the copy
    assert len(sent) >= 3 and "<path" not in sent[0]            # the empty page first, then new strokes
    final_svg = finals[-1]
    assert 0 < sum(x.count("<path") for x in sent) <= final_svg.count("<path")   # no stroke sent twice
    assert sum(map(len, sent)) + len(final_svg) <= 3 * len(final_svg)


HAS_PAPER = "document.querySelector('#scribe-preview svg #paper line')"


@pytest.mark.slow
@needs_browser
def test_browser_preview_shows_the_paper_live_and_finished_and_the_svg_download_never_has_it(live_app, tmp_path):
    with browser_page(downloads=True) as page:
        open_app(page, live_app)
        page.locator("#scribe-paper input").click()
        page.get_by_role("option", name="Ruled", exact=True).click()
        page.locator(".scribe-line-text textarea").first.fill(LONG[:40])
        page.locator("#scribe-write").click()
        wait_for(page, f"{WRITING} && {HAS_PAPER}", 120_000)          # the page so far, on its paper
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('Wrote 1 line')", 300_000)
        finished = page.locator("#scribe-preview svg #paper line").count()
        with page.expect_download() as download:
            page.locator("#scribe-svg").click()
        download.value.save_as(tmp_path / "page.svg")
        svg = (tmp_path / "page.svg").read_text()
    assert finished > 0 and "<svg" in svg and 'id="paper"' not in svg and "<path" in svg


@pytest.mark.slow
@needs_browser
def test_browser_own_hand_tab_streams_its_write_and_stops(live_app):
    with browser_page() as page:
        open_app(page, live_app)
        open_tab(page, "Your own hand")
        draw(page, "hello there")
        assert "Saved as" in make_style(page, "hello there")
        page.locator("#scribe-own-write-text textarea").fill(LONG)
        page.locator("#scribe-own-write").click()
        wait_for(page, WRITING_WITH_INK, 120_000)
        page.locator("#scribe-own-stop").click()
        wait_for(page, STOPPED, 30_000)
        page.locator("#scribe-own-write-text textarea").fill("ab")
        page.locator("#scribe-own-write").click()
        wait_for(page, "document.querySelector('#scribe-status')?.innerText.includes('Wrote 1 line')", 120_000)


# ---- the docs' screenshots --------------------------------------------------------------------------------
LIVE_LINES = ["Dear Ada, the engine ran all night", "and the tables are done at last.",
              "Come and see them on Friday;", "bring the cards and your notes.", "With love, Charles"]


def live_screenshot(page, url: str, out: Path) -> str:
    """The Lines tab caught mid-write, its strokes coming in as the pen lifts."""
    page.goto(url)
    page.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
    texts = page.locator(".scribe-line-text textarea")
    for i, text in enumerate(LIVE_LINES):
        if i:
            page.locator("#scribe-add").click()
            page.wait_for_function(f"document.querySelectorAll('.scribe-line-text textarea').length === {i + 1}")
        texts.nth(i).fill(text)
    page.locator("#scribe-seed input, #scribe-seed textarea").first.fill("11")
    page.locator("#scribe-write").click()
    page.wait_for_function("document.querySelector('#scribe-status')?.innerText.startsWith('Writing…') && "
                           "document.querySelectorAll('#scribe-preview svg path').length > 60", timeout=120_000)
    status = page.locator("#scribe-status").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#scribe-preview").bounding_box()
    stat = page.locator("#scribe-status").bounding_box()
    page.screenshot(path=str(out), clip={"x": box["x"] - 8, "y": box["y"] - 8, "width": box["width"] + 16,
                                         "height": stat["y"] + stat["height"] - box["y"] + 16})
    page.wait_for_function("document.querySelector('#scribe-status')?.innerText.includes('Wrote')",
                           timeout=300_000)
    return status


def write_example_on_paper(page, url: str, paper: str) -> None:
    """The "note in blue ink" example written on `paper` ("Grid", "Ruled") at a 9 mm pitch, seed 5."""
    page.goto(url)
    page.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
    page.get_by_text("A note in blue ink", exact=False).first.click()
    page.wait_for_timeout(1500)
    page.locator("#scribe-paper input").click()
    page.get_by_role("option", name=paper, exact=True).click()
    page.locator("#scribe-rule-pitch input").fill("9")
    page.locator("#scribe-seed input, #scribe-seed textarea").first.fill("5")
    page.locator("#scribe-write").click()
    page.wait_for_function("document.querySelector('#scribe-status')?.innerText.includes('Wrote')",
                           timeout=300_000)


def paper_picture(page, url: str, out: Path, workdir: Path) -> None:
    """The PNG the app offers for download, on grid paper at a 9 mm pitch."""
    write_example_on_paper(page, url, "Grid")
    with page.expect_download() as png:
        page.locator("#scribe-png").click()
    got = workdir / "paper.png"
    png.value.save_as(got)
    from PIL import Image
    im = Image.open(got).convert("RGB")
    im.thumbnail((900, 900))
    im.quantize(64).save(out, optimize=True)


def paper_preview_screenshot(page, url: str, out: Path, workdir: Path) -> None:
    """The on-screen preview of the "note in blue ink" example on ruled paper (the SVG download has none)."""
    write_example_on_paper(page, url, "Ruled")
    page.add_style_tag(content=".toast-wrap { display: none !important; }")   # the check's note, over the page
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#scribe-preview").bounding_box()
    got = workdir / "preview.png"
    page.screenshot(path=str(got), clip={"x": box["x"] - 4, "y": box["y"] - 4, "width": box["width"] + 8,
                                         "height": box["height"] + 8})
    from PIL import Image
    im = Image.open(got).convert("RGB")
    im.thumbnail((900, 900))
    im.quantize(64).save(out, optimize=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="The live-ink and paper screenshots of docs/everyday.md, from the app.")
    p.add_argument("--live", type=Path, help="where to save the mid-write screenshot (PNG)")
    p.add_argument("--paper", type=Path, help="where to save the grid-paper PNG the app makes")
    p.add_argument("--paper-preview", type=Path, help="where to save the preview on ruled paper (PNG)")
    p.add_argument("--checkpoint", default=None, help="default: the shipped model")
    args = p.parse_args(argv)
    from scribe.checkpoint import default_checkpoint
    with tempfile.TemporaryDirectory() as tmp:
        demo, url = start_app(Path(args.checkpoint) if args.checkpoint else default_checkpoint(), None, None)
        try:
            with browser_page(downloads=True) as page:
                if args.live:
                    print(live_screenshot(page, url, args.live))
                if args.paper:
                    paper_picture(page, url, args.paper, Path(tmp))
                if args.paper_preview:
                    paper_preview_screenshot(page, url, args.paper_preview, Path(tmp))
        finally:
            demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
