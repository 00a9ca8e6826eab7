"""Paragraph mode's write loop: wrap a ParagraphRequest's text in the hand's own measure, write the
lines in line-mode batches, measure the ink, re-wrap if the estimate was off, and set the pages.

The measuring, wrapping and page setting are scribe.render.paragraph (its docstring tells the
method); this module only runs them against a Hand: Hand.write(ParagraphRequest) comes here.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import replace

import numpy as np

from . import cost, ink
from .candidates import LegibilityCheck, resolve_candidates
from .render import paragraph as layout
from .render.page import MAX_PNG_PIXELS
from .request import MAX_LINES, SEED_LIMIT, ParagraphRequest, WriteRequest
from .result import Result, run_to_end


def write_paragraph(hand, request: ParagraphRequest) -> Result:
    """`request` written with `hand` (what Hand.write does with a ParagraphRequest)."""
    return run_to_end(paragraph_writing(hand, request))


def paragraph_writing(hand, request: ParagraphRequest, every: int | None = None,
                      max_rounds: int = layout.MAX_ROUNDS, budget: float | None = None,
                      png_dpi: float | None = None):
    """Write `request` with `hand` as a generator: with `every`, each chunk of wrapped lines is written
    live (Hand.write_live) and its LiveInk yielded; it returns the Result. Raises InputError.
    `budget` (seconds, scribe.cost) and `png_dpi` (the PNG the pages will be saved as) are checked
    before any sampling: N lowered or the request refused; a page over the PNG pixel cap refused."""
    started = time.perf_counter()
    request = request.check(hand.alphabet, hand.style)
    measure = layout.Measure()
    if request.style is not None:
        style = hand.style(request.style)
        measure = layout.Measure.from_ink(style.text, style.strokes())
    seed = random.randrange(2**31) if request.seed is None else request.seed
    candidates, bad_candidates = resolve_candidates(request.candidates)
    page_layout, text, pen = request.layout, request.text, request.pen

    target = page_layout.line_width_mm() / page_layout.ink_height_mm       # line width in ink heights
    # What it will cost, from the first wrap (the lines round 1 writes), before any sampling.
    planned = [t for t, _ in layout.wrap_lines(text, lambda t: measure.width(t) <= target * layout.SAFETY,
                                               int(page_layout.max_chars))]
    if png_dpi is not None:
        cost.check_png_pixels(*layout.page_size_px(page_layout, len(planned)), png_dpi, MAX_PNG_PIXELS)
    candidates, lowered = cost.fit_budget([len(t) for t in planned], candidates, budget, live=every is not None,
                                          paragraph=True, primings=hand.primings_needed([replace(pen, text="x")]))
    written: dict[tuple[str, int], layout.WrittenLine] = {}   # (text, occurrence) -> ink
    sampled: dict[tuple[str, int], object] = {}                # -> its SampledLine
    read: dict[tuple[str, int], tuple] = {}   # -> the check's (CER, reading, picked by the hand)
    check = LegibilityCheck(candidates, skipped=bad_candidates, lowered=lowered)
    first_width: dict[str, float] = {}
    rounds = 0
    adapter_notes: dict = {}
    for rounds in range(1, max_rounds + 1):
        def fits(t: str) -> bool:
            return first_width[t] <= target if t in first_width else measure.width(t) <= target * layout.SAFETY
        pairs = layout.wrap_lines(text, fits, int(page_layout.max_chars))
        wrapped = [t for t, _ in pairs]
        keys, seen = [], Counter()
        for t in wrapped:
            seen[t] += 1
            keys.append((t, seen[t]))
        todo = [k for k in keys if k[0] and k not in written]
        for c in range(0, len(todo), MAX_LINES):
            chunk = todo[c:c + MAX_LINES]
            chunk_request = WriteRequest([replace(pen, text=t) for t, _ in chunk],
                                         (seed + 7919 * rounds + c) % SEED_LIMIT, candidates=candidates,
                                         max_steps=request.max_steps)
            if every is None:
                doc = hand.write(chunk_request)
            else:
                doc = yield from hand.write_live(chunk_request, every=every)
            check.skipped = check.skipped or doc.legibility.skipped
            check.drawn += doc.legibility.drawn      # every chunk's candidates, over every round
            adapter_notes.update((n.text, n) for n in doc.extra_notes)
            check.rounds = rounds
            check.accents_stripped = check.accents_stripped or doc.legibility.accents_stripped
            check.hand_skipped = check.hand_skipped or doc.legibility.hand_skipped
            for k, key in enumerate(chunk):
                read[key] = (doc.legibility.line_cers[k] if doc.legibility.line_cers else None,
                             doc.legibility.readings[k] if doc.legibility.readings else None,
                             bool(doc.legibility.hand_picked[k]) if doc.legibility.hand_picked else False)
            for key, line in zip(chunk, doc.lines):
                strokes = ink.offsets_to_strokes(line.offsets)
                w = layout.ink_width(strokes) / hand.stats.ink_height
                written[key], sampled[key] = layout.WrittenLine(key[0], strokes, w, line.hit_cap), line
                first_width.setdefault(key[0], w)
        overflow = any(written[k].width > target for k in keys if k[0])
        # Lines broken for width should come near it; if most fall short, the estimate was too wide.
        fill = [written[k].width / target for k, (_, broken) in zip(keys, pairs) if broken]
        underfilled = len(fill) >= 2 and float(np.median(fill)) < layout.UNDERFILL
        if not (overflow or underfilled) or rounds == max_rounds:
            break
        measure = layout.Measure.fit([(ln.text, ln.width) for ln in written.values()])
    lines = [written[k] if k[0] else layout.WrittenLine("", [], 0.0) for k in keys]
    pages, line_page, shrunk = layout.set_pages(lines, hand.stats.ink_height, page_layout, pen.color, pen.width, seed)
    if check.ran:
        check.line_cers = [read[k][0] if k[0] else None for k in keys]
        check.readings = [read[k][1] if k[0] else None for k in keys]
        check.hand_picked = [read[k][2] if k[0] else False for k in keys]
    result = Result(replace(request, seed=seed), pages, wrapped, [sampled[k] if k[0] else None for k in keys],
                    hand.stats.ink_height, seed, time.perf_counter() - started, check, shrunk, line_page, rounds)
    result.extra_notes += list(adapter_notes.values())     # what the chunks' writes noted (the style's
                                                            # adapters not used), once each
    return result
