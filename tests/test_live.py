"""Live ink and stopping, without a server: the sampler's chunked loop (Sampler.sample_live), the
Hand and the app's line-mode files as generators (Hand.write_live, outputs.write_files_live), and the
page updates the app streams (scribe.web.live). The server and the browser: test_app_live.py."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from helpers import tiny_checkpoint
from scribe import sampling
from scribe.fast import fast_step
from scribe.hand import Hand
from scribe.request import LineSpec, ParagraphRequest, WriteRequest
from scribe.sampling import LineRequest, Sampler
from scribe.web import live, outputs

TEXTS = ["ab", "abcdefghijklmnop", "abcdefgh"]


def racing(model):
    """A window that moves about one character per step, so lines end at different steps."""
    with torch.no_grad():
        model.window.weight.zero_()
        model.window.bias[-3:] = 0.0
    return model


def drain(gen):
    items = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as end:
            return items, end.value


@pytest.mark.parametrize("compiled", [True, False])
def test_sample_live_writes_the_same_ink_in_chunks_and_each_finished_line_as_it_ends(compiled):
    ck = tiny_checkpoint()
    model = racing(ck.build_model())
    s = Sampler(model, ck.stats, step_fn=fast_step(model) if compiled else None)
    reqs = [LineRequest(ck.alphabet.encode(t), 0.5) for t in TEXTS]
    whole = s.sample(reqs, seed=3, max_steps=200)
    chunks = []
    gen = s.sample_live(reqs, seed=3, max_steps=200, every=3)
    while True:
        try:
            b = next(gen)
        except StopIteration as end:
            lines = end.value
            break
        chunks.append((b.step, b.done.copy(), [b.line(i, partial=False) for i in range(len(reqs))]))
    for x, y in zip(whole, lines):
        np.testing.assert_array_equal(x.offsets, y.offsets)
        assert (x.steps, x.hit_cap, x.loop_steps) == (y.steps, y.hit_cap, y.loop_steps)
    assert len(chunks) > 2 and [c[0] for c in chunks] == sorted(c[0] for c in chunks)
    assert not whole[0].hit_cap and whole[0].steps < whole[1].steps
    # the short line is finished, with its final ink, while the long one is still being written
    early = next(c for c in chunks if c[1][0] and not c[1][1])
    np.testing.assert_array_equal(early[2][0], whole[0].offsets)
    assert early[2][1] is None


def test_closing_write_live_stops_the_sampling_loop(monkeypatch):
    steps = []
    init = sampling.LiveBatch.__init__

    def counted(self, *args, **kwargs):
        init(self, *args, **kwargs)
        steps.append(self.step)

    monkeypatch.setattr(sampling.LiveBatch, "__init__", counted)
    hand = Hand(tiny_checkpoint())
    gen = hand.write_live([LineSpec("hello there"), LineSpec("quick fox")], seed=1, max_steps=2000, every=8)
    first = next(gen)
    assert first.step == 8 and first.cap == 2000 and first.lines_done == 0
    gen.close()
    assert steps == [8]                       # nothing ran after the close: the loop stopped at its chunk
    with pytest.raises(StopIteration):
        next(gen)


def test_write_live_returns_what_write_returns_and_shows_the_page_so_far():
    hand = Hand(tiny_checkpoint())
    specs = [LineSpec("hello there", None, 0.5, "#123456"), LineSpec(""), LineSpec("quick fox")]
    plain = hand.write(specs, seed=4, max_steps=60)
    seen, doc = drain(hand.write_live(specs, seed=4, max_steps=60, every=10))
    assert doc.svg() == plain.svg() and doc.seed == 4
    assert [s.step for s in seen] == [10, 20, 30, 40, 50, 60]
    # the page so far: three line slots, the blank one empty, ink growing stroke by stroke
    strokes = [s.strokes_done() for s in seen]
    assert strokes == sorted(strokes) and strokes[-1] > strokes[0] > 0
    page = seen[0].page(min_width=900)
    assert len(page.lines) == 3 and page.lines[1].strokes == [] and page.width == 900
    assert page.lines[0].color == "#123456" and page.lines[0].strokes


def test_write_files_live_writes_the_same_files_and_nothing_when_closed(tiny_ckpt_path, tmp_path):
    hand = Hand.load(tiny_ckpt_path)
    specs = [LineSpec("hello"), LineSpec("there")]
    request = WriteRequest(specs, 2, candidates=1, max_steps=40)
    plain = outputs.write_files(hand, request, 96, tmp_path / "a")
    seen, streamed = drain(outputs.write_files_live(hand, request, 96, tmp_path / "b", every=16))
    assert len(seen) == 3                               # steps 16, 32, 40
    assert streamed.svg_path.read_bytes() == plain.svg_path.read_bytes()
    assert streamed.png_path.read_bytes() == plain.png_path.read_bytes()
    gen = outputs.write_files_live(hand, request, 96, tmp_path / "c", every=16)
    next(gen)
    gen.close()
    assert not (tmp_path / "c").exists()                # a stopped write leaves no file behind


def test_paragraph_live_writes_the_same_pages_and_its_updates_end_with_the_result(tmp_path, monkeypatch):
    from scribe.render.page import page_to_svg
    from scribe.render.paragraph import ParagraphLayout
    hand = Hand(tiny_checkpoint())
    text = "hello there quick fox\n\nabc def"
    layout = ParagraphLayout(width_mm=40)
    plain = hand.write_paragraph(text, layout=layout, seed=6, max_steps=40)
    seen, doc = drain(hand.write_paragraph_live(text, layout=layout, seed=6, max_steps=40, every=16))
    assert [page_to_svg(p) for p in doc.pages] == [page_to_svg(p) for p in plain.pages] and doc.texts == plain.texts
    assert seen and all(s.step <= 40 for s in seen) and any(s.lines_done < len(s.rows) for s in seen)
    monkeypatch.setattr(outputs, "output_root", lambda: tmp_path / "out")
    writing = outputs.write_files_live(hand, ParagraphRequest(text, None, 1.0, "#000000", 1.5, layout, seed=6,
                                                              candidates=1, max_steps=40), 96, every=16)
    ups = list(live.live_updates(writing, "strokes", min_interval=0.0, running=live.Running()))
    assert ups[-1].result is not None and "Wrote" in ups[-1].status and "page" in ups[-1].status
    assert any(u.svg for u in ups[:-1]) and all(u.result is None for u in ups[:-1])
    gen = hand.write_paragraph_live(text, layout=layout, seed=6, max_steps=40, every=16)
    next(gen)
    gen.close()                                          # a stopped paragraph: the generator ends at once
    with pytest.raises(StopIteration):
        next(gen)


def test_the_live_preview_is_on_the_chosen_paper_and_an_svg_never_is(tmp_path, monkeypatch):
    from scribe.web import forms
    hand = Hand(tiny_checkpoint())
    layout, paper = forms.line_look("8", 2.0, "left", "ruled", "9", "#3366cc")

    def lines(on_paper):
        writing = outputs.write_files_live(hand, WriteRequest([LineSpec("hello there", None)], 5, layout, paper, 1, 40),
                                           96, tmp_path, every=16)
        return list(live.live_updates(writing, "strokes", min_interval=0.0, on_paper=on_paper, running=live.Running()))

    ups = lines(True)                                   # the app's preview
    shown = [u.svg for u in ups[:-1] if u.svg]
    assert shown and all('id="paper"' in s and "#3366cc" in s for s in shown)
    r = ups[-1].result
    assert 'id="paper"' not in r.svg and 'id="paper"' not in r.svg_path.read_text()
    assert 'id="paper"' in r.shown_svg()
    assert all('id="paper"' not in (u.svg or "") for u in lines(False))     # the API's SVG text
    plain = outputs.write_files_live(hand, WriteRequest([LineSpec("hello there", None)], 5, layout, None, 1, 40),
                                     96, tmp_path, every=16)
    assert all('id="paper"' not in (u.svg or "")
               for u in live.live_updates(plain, "strokes", min_interval=0.0, on_paper=True, running=live.Running()))
    monkeypatch.setattr(outputs, "output_root", lambda: tmp_path / "para")
    playout, sheet = forms.paragraph_look(dict(page="a5", margin_mm=15, width_mm=0, size_mm=6, line_spacing=1.7,
                                                   paper="grid", rule_color="#cc3366"))
    writing = outputs.write_files_live(hand, ParagraphRequest("hello there quick fox", None, 1.0, "#000000", 1.5,
                                                              playout, sheet, 3, 1, 40), 96, every=16)
    ups = list(live.live_updates(writing, "lines", on_paper=True, running=live.Running()))
    assert any('id="paper"' in (u.svg or "") and "#cc3366" in u.svg for u in ups[:-1])
    assert all('id="paper"' not in f.read_text() for f in ups[-1].result.svg_files)


class Clock:
    def __init__(self, tick: float):
        self.t, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.t += self.tick
        return self.t


def updates(hand, specs, mode, **kwargs):
    writing = outputs.write_files_live(hand, WriteRequest(specs, 3, candidates=1, max_steps=80), 96,
                                       kwargs.pop("out_root"), every=4)
    return list(live.live_updates(writing, mode, running=live.Running(), **kwargs))


def test_live_updates_per_line_per_stroke_and_status_between(tmp_path):
    ck = tiny_checkpoint()
    hand = Hand(ck)
    racing(hand.model)
    hand.sampler.step_fn = fast_step(hand.model)
    specs = [LineSpec(t) for t in TEXTS]
    per_line = updates(hand, specs, "lines", min_interval=0.0, status_every=1e9, clock=Clock(0.01),
                       out_root=tmp_path)
    per_stroke = updates(hand, specs, "strokes", min_interval=0.0, status_every=1e9, clock=Clock(0.01),
                         out_root=tmp_path)
    throttled = updates(hand, specs, "strokes", min_interval=0.05, status_every=0.02, clock=Clock(0.01),
                        out_root=tmp_path)
    for ups in (per_line, per_stroke, throttled):
        assert ups[-1].result is not None and ups[-1].svg == ups[-1].result.svg
        assert all(u.result is None for u in ups[:-1])
        assert all(u.status.startswith("Writing… pen step") for u in ups[:-1])
    assert per_line[-1].result.svg == per_stroke[-1].result.svg
    drawn = [u for u in per_line[:-1] if u.svg]
    # per line: a page only when another line is finished (3 lines, ending at different steps)
    done = [int(u.status.split(" of 3 lines")[0].rsplit(" ", 1)[1]) for u in drawn]
    assert len(drawn) >= 2 and done == sorted(set(done)) and done[-1] == 3
    assert len([u for u in per_stroke if u.svg]) > len(drawn)
    assert any(u.svg is None for u in throttled)           # status-only updates between throttled pages
    with pytest.raises(ValueError, match="live mode"):
        next(live.live_updates(iter(()), "words", running=live.Running()))


def test_closing_live_updates_closes_the_write_and_logs_where(tiny_ckpt_path, tmp_path, caplog):
    hand = Hand.load(tiny_ckpt_path)
    writing = outputs.write_files_live(hand, WriteRequest([LineSpec("hello there")], 1, candidates=1, max_steps=5000),
                                       96, tmp_path, every=16)
    ups = live.live_updates(writing, "strokes", running=live.Running())
    first = next(ups)
    with caplog.at_level(logging.INFO, logger="scribe.app"):
        ups.close()
    assert writing.gi_frame is None                        # the write (and its sampling loop) is closed
    assert "write stopped at pen step 16 of 5000 (cancelled)" in caplog.text
    assert live.stopped_status(first.status).startswith("Stopped after pen step 16 (at most 5,000) · 0 of 1 line done.")
    assert live.stopped_status("Wrote 1 line in 0.2 s") is None and live.stopped_status(None) is None


def test_stop_waits_for_its_sessions_write_to_end(tiny_ckpt_path, tmp_path):
    hand = Hand.load(tiny_ckpt_path)
    running = live.Running()
    writing = outputs.write_files_live(hand, WriteRequest([LineSpec("hello")], 1, candidates=1, max_steps=5000),
                                       96, tmp_path, every=16)
    ups = live.live_updates(writing, "strokes", session="tab-1", running=running)
    next(ups)
    assert not running.wait("tab-1", 0.05)                 # the write is still running
    assert running.wait("another tab", 0.0) and running.wait(None, 0.0)
    ups.close()
    assert running.wait("tab-1", 0.0)                      # closed: Stop's message may go now


def test_incremental_updates_send_each_stroke_once_then_the_finished_page(tmp_path):
    import xml.etree.ElementTree as ET
    from scribe.web import views
    hand = Hand(tiny_checkpoint())
    racing(hand.model)
    hand.sampler.step_fn = fast_step(hand.model)
    specs = [LineSpec(t) for t in TEXTS]
    ups = updates(hand, specs, "strokes", min_interval=0.0, status_every=1e9, clock=Clock(0.01),
                  out_root=tmp_path, incremental=True)
    whole = updates(hand, specs, "strokes", min_interval=0.0, status_every=1e9, clock=Clock(0.01),
                    out_root=tmp_path)
    final = ups[-1].result.svg
    assert final == whole[-1].result.svg                         # the same finished page either way
    first, middle = ups[0], ups[1:-1]
    assert first.svg and first.live_id and "<path" not in first.svg          # the empty page, once
    assert all(u.svg is None and u.live_id == first.live_id for u in middle)
    added = [u.added for u in middle if u.added]
    assert len(added) >= 2
    # every stroke is sent once, in its line's group: as many as the finished page has (the tiny
    # model's lines all end at the step cap, so the end rules drop none)
    sent = sum(a.count("<path") for a in added)
    assert sent == final.count("<path") and all(a.startswith('<g data-line="') for a in added)
    for a in added:
        ET.fromstring(f"<svg xmlns='http://www.w3.org/2000/svg'>{a}</svg>")      # well-formed
    # what the preview is sent does not grow with the page: new strokes, then the finished page
    sent_bytes = sum(len(views.live_preview_html(u.svg, u.added, u.live_id)) for u in ups[:-1] if u.svg or u.added)
    whole_bytes = sum(len(views.preview_html(u.svg)) for u in whole[:-1] if u.svg)
    assert sent_bytes + len(final) <= 3 * len(final) < whole_bytes + len(final)
