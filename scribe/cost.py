"""What a request will cost, known before any sampling, and the budget it must fit.

The estimate is in seconds of one CPU core (one torch thread) on the machine the constants were
measured on (benchmarks/request_cost.py prints estimate against measure; re-run it to calibrate).
The sampler writes up to MAX_BATCH_LINES lines, N candidates each, in one batch; a batch runs until
its longest line ends, and every pen step costs a fixed part (small ops, the interpreter) plus a
part per row. So, per batch:

    steps = STEPS_PER_CHAR * STEP_MARGIN * (longest line's characters)
    seconds = steps * (STEP_S + ROW_S * lines * N) + (READ_S + HAND_S) * lines * N (the reader and the
              hand scorer, when N > 1)

times LIVE_FACTOR when the ink is watched live, plus PIXEL_S per PNG pixel, plus PRIME_S for each
style (at each likeness) the request primes for the first time. A paragraph is
estimated from its first wrap (its lines before any sampling) and may re-write some lines in later
wrap rounds (PARAGRAPH_ROUNDS).

`fit_budget` lowers the legibility check's N until the estimate fits the budget, saying so, and
refuses with RequestTooCostly (naming the budget) when even N = 1 does not fit. `check_png_pixels`
refuses a page whose PNG would be over the pixel cap, before the sampling that would be wasted.
"""
from __future__ import annotations

import math

from .errors import InputError

MAX_BATCH_LINES = 40          # hand.MAX_LINES: a paragraph is sampled in chunks of this many lines
STEPS_PER_CHAR = 11.8         # the shipped model's mean pen steps per character (config.steps_per_char)
STEP_MARGIN = 1.15            # a batch runs until its slowest row ends
STEP_S = 0.6e-3               # seconds per pen step, whatever the batch (2-core Xeon, AVX-512, one thread)
ROW_S = 0.05e-3               # seconds per pen step per row (line x candidate) in the batch
READ_S = 5e-3                 # seconds for the reader to read one candidate
HAND_S = 3.5e-3               # seconds for the hand scorer to embed one candidate (lines in a style, scribe.nearness;
                              # counted for every line: an upper bound)
LIVE_FACTOR = 1.5             # live ink: the updates' rendering and sending on top of sampling
PIXEL_S = 25e-9               # seconds per PNG pixel (rasterising, compressing)
PRIME_S = 0.2                 # priming a style with its adapter at a new likeness (3 lines through the adapted model)
PARAGRAPH_ROUNDS = 2.5        # paragraph mode: later wrap rounds re-write lines, pages are rendered
DEFAULT_BUDGET_S = 20.0       # the app's default (--max_request_cost): well inside 30 s of one worker


class RequestTooCostly(InputError):
    title = "Request too large"


def estimate(line_lengths: list[int], candidates: int = 1, live: bool = False, png_pixels: float = 0.0,
             paragraph: bool = False, primings: int = 0) -> float:
    """Estimated seconds of one core for writing lines of these lengths (characters; blank lines 0)
    with N candidates each, watched live or not, with a PNG of `png_pixels` pixels, priming `primings`
    styles first."""
    lines = [n for n in line_lengths if n > 0]
    n = max(1, int(candidates))
    seconds = 0.0
    for start in range(0, len(lines), MAX_BATCH_LINES):
        batch = lines[start:start + MAX_BATCH_LINES]
        steps = STEPS_PER_CHAR * STEP_MARGIN * max(batch)
        rows = len(batch) * n
        seconds += steps * (STEP_S + ROW_S * rows) + ((READ_S + HAND_S) * rows if n > 1 else 0.0)
    if paragraph:
        seconds *= PARAGRAPH_ROUNDS
    if live:
        seconds *= LIVE_FACTOR
    return seconds + PIXEL_S * max(0.0, png_pixels) + PRIME_S * max(0, primings)


def fit_budget(line_lengths: list[int], candidates: int, budget: float | None, live: bool = False,
               png_pixels: float = 0.0, paragraph: bool = False, primings: int = 0) -> tuple[int, str]:
    """(N to use, a note or "") for a request that must fit `budget` seconds (None: no budget).
    Lowers N as far as 1; raises RequestTooCostly, naming the budget, when even N = 1 is over it."""
    n = max(1, int(candidates))
    if budget is None:
        return n, ""
    for k in range(n, 0, -1):
        cost = estimate(line_lengths, k, live, png_pixels, paragraph, primings)
        if cost <= budget:
            if k == n:
                return n, ""
            return k, (f"legibility check lowered from {n} to {k} candidate{'s' * (k != 1)} per line: with {n} "
                       f"this request would take about {estimate(line_lengths, n, live, png_pixels, paragraph, primings):.0f} s "
                       f"of the server's time, over its limit of {budget:g} s per request")
    lines = sum(1 for x in line_lengths if x > 0)
    raise RequestTooCostly(
        f"this request ({lines} lines, {sum(line_lengths)} characters{', live ink' if live else ''}) would take "
        f"about {estimate(line_lengths, 1, live, png_pixels, paragraph, primings):.0f} s of the server's time even without "
        f"the legibility check, over its limit of {budget:g} s per request (--max_request_cost): write fewer "
        f"or shorter lines, or split the text")


def png_pixels(width_px: float, height_px: float, dpi: float) -> float:
    """Pixels of a PNG of a page of CSS px (96 per inch) at `dpi`."""
    scale = dpi / 96.0
    return width_px * scale * height_px * scale


def check_png_pixels(width_px: float, height_px: float, dpi: float, max_pixels: int) -> None:
    """Refuse (InputError naming the highest dpi that fits) a PNG over `max_pixels`."""
    if png_pixels(width_px, height_px, dpi) > max_pixels:
        fits = math.floor(96.0 * math.sqrt(max_pixels / max(1.0, width_px * height_px)))
        raise RequestTooCostly(f"a page this size at {dpi:g} dpi would be a PNG of "
                               f"{png_pixels(width_px, height_px, dpi) / 1e6:.0f} megapixels, over the limit of "
                               f"{max_pixels // 1_000_000}; use at most {fits} dpi or a smaller page")
