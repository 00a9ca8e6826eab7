"""Live ink: a write shown while it is written, and stopped when the user presses Stop.

`live_updates` turns the LiveInk stream of a write (scribe.web.api.write_lines_live, or
write_paragraph_live: a chunk of wrapped lines at a time) into `Update`s for the page: the page so far
as SVG whenever there is new ink to draw (in the app, on the paper chosen for the PNG and PDF), a
status line in between, and the finished result last. No Gradio here; scribe.web.tabs and the
/write_live and /write_paragraph_live endpoints yield these.

What counts as new ink is the mode:
- "lines": a line is drawn once it is finished (its ink is then final);
- "strokes": every stroke is drawn once the pen lifts, at most every `min_interval` seconds.
benchmarks/live_cost.py measures both against a write without live ink.

Stopping: Gradio closes a cancelled generator (Stop's `cancels=`, or a client's job.cancel()). The
close lands at this generator's yield and closes the write under it, which ends the sampling loop
after the chunk of pen steps under way (scribe.sampling.Sampler.sample_live); no file is written. The
status is sent at least every `status_every` seconds, so a close never waits long for a yield.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

import itertools

import numpy as np

from .. import ink
from ..render.page import InkLine, layout_page, page_to_svg, stroke_path
from ..render.paper import paper_svg
from ..render.paragraph import Measure
from .outputs import Written

log = logging.getLogger("scribe.app")

LIVE_MODES = ("lines", "strokes")
DEFAULT_LIVE = "strokes"
MIN_PREVIEW_S = 0.25      # "strokes": a new preview at most this often
STATUS_EVERY_S = 0.5      # a status update at least this often
CLOCK = time.monotonic    # what the throttle reads when a caller gives no clock (tests step a fake one)


@dataclass
class Update:
    svg: str | None                    # the page so far, when it changed since the last update; else None
    status: str
    step: int = 0                      # pen steps run so far
    result: Written | None = None      # the finished write: the last update only
    # Sending only what is new (`incremental`): the first update of a page (or of a paragraph's chunk
    # of lines) has the empty page in `svg` and its `live_id`; later ones have `added`, the strokes
    # finished since the last update (added_svg) for the browser to draw onto that page.
    added: str | None = None
    live_id: str = ""


def page_width(live) -> float:
    """A width for the page so far (px) that the finished page is likely to have, so that the
    preview does not grow (and scale) as the ink comes: every line's text at the default measure."""
    layout = live.layout
    widest = max((Measure().width(s.text) for s in live.specs if s.text), default=0.0)
    return widest * layout.x_height_px + 2 * layout.margin_px


def status_line(live) -> str:
    n = len(live.rows)
    s = (f"Writing… pen step {live.step:,} (at most {live.cap:,}) · {live.lines_done} of {n} "
         f"line{'s' if n != 1 else ''} done")
    if live.candidates > 1:
        s += (f" · shown: each line's first of {live.candidates} candidates; the legibility check keeps the "
              f"best once all are written")
    return s


class Running:
    """The live writes running now, by browser session. Stop's message waits until its session's write
    has ended: Gradio sends the cancelled write's last update and its end before it closes the
    generator, so a message sent after the close is the last word on the page."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ends: dict[str, list[threading.Event]] = {}

    @contextlib.contextmanager
    def write(self, session: str | None):
        if session is None:
            yield
            return
        ended = threading.Event()
        with self._lock:
            self._ends.setdefault(session, []).append(ended)
        try:
            yield
        finally:
            ended.set()
            with self._lock:
                left = [e for e in self._ends.get(session, []) if e is not ended]
                if left:
                    self._ends[session] = left
                else:
                    self._ends.pop(session, None)

    def wait(self, session: str | None, timeout: float) -> bool:
        """Wait until every write of `session` running now has ended; False if one is still going."""
        with self._lock:
            ends = list(self._ends.get(session, [])) if session is not None else []
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in ends)


_live_ids = itertools.count(1)


class InkFeed:
    """The strokes of a write in progress that have not been sent yet, as SVG paths on a page of fixed
    size: each line's pen starts at the left margin on its own row. (The finished page is laid out by
    its whole ink, scribe.render.page.layout_page, and replaces this preview at the end.) Its cost per
    update is that of the new strokes, plus the unfinished lines' ink so far, never the whole page."""

    def __init__(self, live, width: float, on_paper: bool):
        self.live_id = f"w{next(_live_ids)}"
        lines = [InkLine([], s.color, s.width) for s in live.specs]
        self.page = layout_page(lines, live.ink_height, live.layout)
        self.page.width = max(self.page.width, width)
        self.scale = live.layout.x_height_px / live.ink_height
        self.margin, self.pitch = live.layout.margin_px, self.page.pitch_px
        self.sent = [0] * len(live.specs)          # strokes sent, per line
        self.final = set()                         # lines whose final ink has been sent
        self.on_paper, self.paper = on_paper, live.paper

    def empty_page(self) -> str:
        return paper_svg(self.page, self.paper) if self.on_paper else page_to_svg(self.page)

    def added(self, live, partial: bool) -> str:
        """<g data-line="n"> groups (n: 1-based line) of the strokes new since the last call; "" if none."""
        parts = []
        for i in range(len(live.specs)):
            if i in self.final:
                continue
            done = live.finished(i)
            offs = live.line(i, partial)
            if done:
                self.final.add(i)
            if offs is None or not len(offs):
                continue
            strokes = ink.offsets_to_strokes(offs)
            new = strokes[self.sent[i]:]
            self.sent[i] = len(strokes)
            if not new:
                continue
            at = np.array([self.margin, self.margin + (i + 0.5) * self.pitch])
            paths = "".join(f'<path d="{stroke_path(st * self.scale + at)}"/>' for st in new)
            parts.append(f'<g data-line="{i + 1}">{paths}</g>')
        return "".join(parts)


def live_updates(writing, mode: str = DEFAULT_LIVE, min_interval: float = MIN_PREVIEW_S,
                 status_every: float = STATUS_EVERY_S, clock=None, session: str | None = None, *,
                 running: Running, on_paper: bool = False, incremental: bool = False):
    """Updates from `writing`, a generator of LiveInk that returns an outputs.Written (write_lines_live,
    write_paragraph_live). Closing this generator closes `writing`, which stops its sampling loop.
    `session`: the browser session, so that its Stop can wait for this write's end in `running` (the
    app's own, AppState.running: no registry is shared by default). `on_paper`: the page so far on the
    paper its PNG and PDF will have (LiveInk.paper), for the app's preview; off for SVG that a caller
    may keep (an SVG never has paper). `clock`: seconds for the throttle, `CLOCK` (the monotonic clock)
    unless given. `incremental`: updates carry only the strokes new since the last one (Update.added:
    InkFeed), not the page so far; the last update is the finished page either way."""
    if mode not in LIVE_MODES:
        raise ValueError(f"live mode must be one of {', '.join(LIVE_MODES)}, not {mode!r}")
    with running.write(session):
        yield from _updates(writing, mode, min_interval, status_every, clock or CLOCK, on_paper, incremental)


def _updates(writing, mode, min_interval, status_every, clock, on_paper=False, incremental=False):
    shown_key, shown_at, said_at, live, width, shown_specs = None, float("-inf"), clock(), None, 0.0, None
    feed = None
    try:
        while True:
            try:
                live = next(writing)
            except StopIteration as end:
                result = end.value    # an outputs.Written, of either mode
                yield Update(None if result.paragraph else result.svg, result.summary(), live.step if live else 0,
                             result)
                return
            if width == 0.0 or live.specs is not shown_specs:    # paragraphs: a new chunk of lines
                width, shown_specs = page_width(live), live.specs
                if incremental:
                    feed = InkFeed(live, width, on_paper)
                    yield Update(feed.empty_page(), status_line(live), live.step, live_id=feed.live_id)
            key = (id(shown_specs), live.lines_done if mode == "lines" else (live.lines_done, live.strokes_done()))
            now = clock()
            if incremental and key != shown_key and (mode == "lines" or now - shown_at >= min_interval):
                shown_key, shown_at, said_at = key, now, now
                added = feed.added(live, partial=mode == "strokes")
                yield Update(None, status_line(live), live.step, added=added or None, live_id=feed.live_id)
            elif key != shown_key and (mode == "lines" or now - shown_at >= min_interval):
                page = live.page(partial=mode == "strokes", min_width=width)
                shown_key, shown_at, said_at = key, now, now
                svg = paper_svg(page, live.paper) if on_paper else page_to_svg(page)
                yield Update(svg, status_line(live), live.step)
            elif now - said_at >= status_every:
                said_at = now
                yield Update(None, status_line(live), live.step)
    except GeneratorExit:
        if live is not None:
            log.info("write stopped at pen step %d of %d (cancelled)", live.step, live.cap)
        raise
    finally:
        writing.close()


def stopped_status(status: str | None) -> str | None:
    """The status after Stop: what was written when it stopped; None when no write was running."""
    if not status or not status.startswith("Writing…"):
        return None
    return status.replace("Writing…", "Stopped after", 1).split(" · shown:")[0] + \
        ". Nothing was saved; press Write to start again."
