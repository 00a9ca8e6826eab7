"""Animated writing: the pen draws each stroke in order, at a speed the user picks.

- `animated_svg(page, options)`: a self-contained SVG that animates in any browser, inline or as an
  <img>. Each stroke is revealed with a dash whose offset runs from the stroke's length to 0; SMIL
  <animate> elements (default) or CSS keyframes drive it.
- `animated_gif(page, options)`: the same timeline drawn frame by frame with Pillow.

Pace: at speed 1 the pen moves 4 ink heights per second while down, which is how fast IAM-OnDB
writers wrote (raw points about 20 whiteboard units apart, 70 per second, ink height about 345).
"""
from __future__ import annotations

import hashlib
import io
import math
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import numpy as np

from .page import InkLine, Page, flatten_stroke, stroke_path
from ..errors import ScribeError

NATURAL_INK_HEIGHTS_PER_S = 4.0
PEN_UP_SPEEDUP = 2.5          # pen-up moves are this much faster than drawing
MIN_LIFT_S, MAX_LIFT_S = 0.04, 0.5
SPEED_RANGE = (0.1, 20.0)
# The GIF cost model. Pillow holds every frame until it writes the file, and each frame costs a pass
# over its pixels, so memory and time grow with frames x pixels: both are capped, frames first.
MAX_GIF_FRAME_PIXELS = 2_000_000      # pixels per frame; a bigger page is drawn smaller
MAX_GIF_PIXELS = 80_000_000           # frames x pixels per frame (about 80 MB of palette frames)
MIN_GIF_FRAMES = 12                   # below this the GIF gets smaller rather than jerkier


class AnimationError(ScribeError, ValueError):
    """Animation options that cannot be used; the message says which."""
    title = "Animation settings"


@dataclass
class AnimationOptions:
    speed: float = 1.0            # 1: natural writing pace; 2: twice as fast
    method: str = "smil"          # "smil" or "css"
    loop: bool = False            # start again after `hold_s`
    hold_s: float = 1.5           # pause on the finished page before looping (and GIF's last frame)
    fps: float = 15.0             # GIF frames per second
    max_frames: int = 400         # GIF frame budget; long pages get fewer frames per second

    def check(self) -> None:
        problems = []
        if not SPEED_RANGE[0] <= float(self.speed) <= SPEED_RANGE[1]:
            problems.append(f"speed {self.speed} is outside {SPEED_RANGE[0]}-{SPEED_RANGE[1]}")
        if self.method not in ("smil", "css"):
            problems.append(f"method {self.method!r} must be 'smil' or 'css'")
        if not 0 <= self.hold_s <= 60:
            problems.append(f"hold {self.hold_s}s is outside 0-60 s")
        if not 1 <= self.fps <= 60 or not 2 <= int(self.max_frames) <= 5000:
            problems.append("fps must be 1-60 and max_frames 2-5000")
        if problems:
            raise AnimationError("; ".join(problems))


@dataclass
class TimedStroke:
    points: np.ndarray     # as stored on the page (px)
    line: InkLine
    start: float           # seconds
    duration: float
    length: float          # px, of the drawn curve


def _pen_speed(page: Page, speed: float) -> float:
    """Pen-down speed in px per second."""
    ink_h = page.ink_height_px or 36.0
    return NATURAL_INK_HEIGHTS_PER_S * ink_h * speed


def timeline(page: Page, speed: float = 1.0) -> tuple[list[TimedStroke], float]:
    """Every stroke in writing order (line by line) with its start time and duration; and the total."""
    v = _pen_speed(page, speed)
    t, pos, out = 0.0, None, []
    for ln in page.lines:
        for st in ln.strokes:
            if not len(st):
                continue
            if pos is not None:
                gap = float(np.hypot(*(st[0] - pos))) / (v * PEN_UP_SPEEDUP)
                t += min(max(gap, MIN_LIFT_S / speed), MAX_LIFT_S / speed)
            curve = flatten_stroke(st)
            length = float(np.hypot(*np.diff(curve, axis=0).T).sum()) if len(curve) > 1 else 0.0
            dur = max(length / v, MIN_LIFT_S / speed)
            out.append(TimedStroke(st, ln, t, dur, length))
            t += dur
            pos = st[-1]
    return out, t


def _num(v: float, precision: int = 3) -> str:
    return f"{v:.{precision}f}".rstrip("0").rstrip(".") or "0"


def animated_svg(page: Page, options: AnimationOptions | None = None) -> str:
    """A self-contained animated SVG of the page being written (px size, like `page_to_svg`)."""
    o = options or AnimationOptions()
    o.check()
    strokes, total = timeline(page, float(o.speed))
    if not strokes:
        raise AnimationError("the page holds no ink to animate")
    cycle = total + (o.hold_s if o.loop else 0.0)
    w, h = _num(page.width, 2), _num(page.height, 2)
    # A short id from the content keeps CSS names unique when several SVGs share one HTML page.
    uid = "s" + hashlib.sha1(f"{w}{h}{total}{len(strokes)}{o}".encode()).hexdigest()[:8]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}px" height="{h}px" '
           f'viewBox="0 0 {w} {h}" id="{uid}" data-duration="{_num(cycle)}">']
    css = []
    for i, ts in enumerate(strokes):
        style = (f'fill="none" stroke={quoteattr(str(ts.line.color))} stroke-width="{_num(ts.line.width)}" '
                 f'stroke-linecap="round" stroke-linejoin="round"')
        d = stroke_path(ts.points)
        a, b = ts.start, ts.start + ts.duration
        dot = ts.length == 0.0
        dash = ts.length * 1.02 + 1.0   # a little longer than the curve, so no gap shows at the end
        if o.method == "smil":
            if dot:
                hidden = ' visibility="hidden"'
                anim = _smil("visibility", "hidden", "visible", a, a, cycle, o.loop, discrete=True)
            else:
                hidden = f' stroke-dasharray="{_num(dash)} {_num(dash)}" stroke-dashoffset="{_num(dash)}"'
                anim = _smil("stroke-dashoffset", _num(dash), "0", a, b, cycle, o.loop)
            out.append(f'<path d="{d}" {style}{hidden}>{anim}</path>')
        else:
            name = f"{uid}-{i}"
            if dot:
                prop, v0, v1 = "opacity", "0", "1"
                init = "opacity:0"
            else:
                prop, v0, v1 = "stroke-dashoffset", _num(dash), "0"
                init = f"stroke-dasharray:{_num(dash)} {_num(dash)};stroke-dashoffset:{_num(dash)}"
            if o.loop:
                pa, pb = 100 * a / cycle, 100 * b / cycle
                css.append(f"@keyframes {name}{{0%,{_num(pa)}%{{{prop}:{v0}}}{_num(max(pb, pa))}%,100%{{{prop}:{v1}}}}}")
                timing = f"{name} {_num(cycle)}s linear 0s infinite"
            else:
                css.append(f"@keyframes {name}{{from{{{prop}:{v0}}}to{{{prop}:{v1}}}}}")
                timing = f"{name} {_num(max(b - a, 0.001))}s linear {_num(a)}s both"
            out.append(f'<path d="{d}" {style} style="{init};animation:{timing}"/>')
    if css:
        out.insert(1, "<style>" + "\n".join(css) + "</style>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _smil(attr: str, v0: str, v1: str, a: float, b: float, cycle: float, loop: bool,
          discrete: bool = False) -> str:
    if loop:
        ka, kb = a / cycle, max(b, a) / cycle
        values, times = f"{v0};{v0};{v1};{v1}", f"0;{_num(ka, 5)};{_num(kb, 5)};1"
        mode = ' calcMode="discrete"' if discrete else ""
        return (f'<animate attributeName="{attr}" values="{values}" keyTimes="{times}"{mode} '
                f'dur="{_num(cycle)}s" repeatCount="indefinite"/>')
    if discrete:
        return f'<set attributeName="{attr}" to="{v1}" begin="{_num(a)}s" fill="freeze"/>'
    return (f'<animate attributeName="{attr}" from="{v0}" to="{v1}" begin="{_num(a)}s" '
            f'dur="{_num(max(b - a, 0.001))}s" fill="freeze"/>')


def _segment(curve: np.ndarray, a: float, b: float) -> np.ndarray:
    """The part of a polyline between arc lengths a and b (px)."""
    seg = np.hypot(*np.diff(curve, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])

    def at(x):
        k = min(max(int(np.searchsorted(cum, x, side="right")), 1), len(curve) - 1)
        f = (x - cum[k - 1]) / max(seg[k - 1], 1e-12)
        return curve[k - 1] + min(max(f, 0.0), 1.0) * (curve[k] - curve[k - 1])

    inside = curve[(cum > a) & (cum < b)]
    return np.vstack([at(a), inside, at(b)])


@dataclass
class GifPlan:
    """How a GIF will be drawn: its size, frame count and spacing, and what the cost caps changed."""
    scale: float                 # output px per page px
    size: tuple[int, int]
    step: float                  # seconds of the timeline between frames
    frames: int                  # drawn frames, the finished page included
    notes: list[str] = field(default_factory=list)   # one per cap that applied; empty: as asked

    @property
    def capped(self) -> bool:
        return bool(self.notes)


@dataclass
class GifResult:
    data: bytes
    plan: GifPlan
    seconds: float               # wall time spent drawing and encoding the GIF

    @property
    def capped(self) -> bool:
        return self.plan.capped


def gif_plan(page: Page, total: float, options: AnimationOptions, dpi: float = 96.0) -> GifPlan:
    """Size and frames for a GIF of a `total`-second timeline, within the cost caps."""
    s = dpi / 96.0
    notes = []
    area = max(1.0, page.width * s) * max(1.0, page.height * s)
    if area > MAX_GIF_FRAME_PIXELS:
        s *= math.sqrt(MAX_GIF_FRAME_PIXELS / area)
        notes.append(f"drawn at {s * 96:.0f} dpi to stay within {MAX_GIF_FRAME_PIXELS / 1e6:g} megapixels a frame")
    size = (max(1, round(page.width * s)), max(1, round(page.height * s)))
    step = max(1.0 / options.fps, total / (int(options.max_frames) - 1))
    frames = max(1, math.ceil(total / step)) + 1
    budget = max(MIN_GIF_FRAMES, int(MAX_GIF_PIXELS // (size[0] * size[1])))
    if frames > budget:
        step = total / max(1, budget - 1)
        frames = budget
        notes.append(f"{frames} frames ({1 / step:.2g} a second) to stay within the GIF size budget")
    if frames * size[0] * size[1] > MAX_GIF_PIXELS:      # the minimum frames of a large page: smaller still
        shrink = math.sqrt(MAX_GIF_PIXELS / (frames * size[0] * size[1]))
        s *= shrink
        size = (max(1, round(page.width * s)), max(1, round(page.height * s)))
        notes.append(f"drawn at {s * 96:.0f} dpi to stay within the GIF size budget")
    return GifPlan(s, size, step, frames, notes)


def animated_gif(page: Page, options: AnimationOptions | None = None, dpi: float = 96.0) -> bytes:
    """A GIF of the page being written; frames every 1/fps s (fewer if over `max_frames` or the cost
    caps), looping. `render_gif` also says whether a cap applied and how long it took."""
    return render_gif(page, options, dpi).data


def render_gif(page: Page, options: AnimationOptions | None = None, dpi: float = 96.0) -> GifResult:
    """The GIF and how it was made (GifResult: .capped and .plan.notes say what the cost caps changed,
    .seconds the true time it took)."""
    from PIL import Image, ImageDraw
    started = time.perf_counter()
    o = options or AnimationOptions()
    o.check()
    strokes, total = timeline(page, float(o.speed))
    if not strokes:
        raise AnimationError("the page holds no ink to animate")
    plan = gif_plan(page, total, o, dpi)
    s, step = plan.scale, plan.step
    times = [*np.arange(step, total - 1e-9 * max(1.0, total), step)][:plan.frames - 1] + [total]
    # Drawn straight onto a palette image (white, then each ink colour), so a frame is a plain copy of
    # the canvas, one byte a pixel, with no per-frame colour quantising.
    from PIL import ImageColor
    colors = list(dict.fromkeys(str(ts.line.color) for ts in strokes))[:255]
    index = {c: i + 1 for i, c in enumerate(colors)}
    palette = [255, 255, 255]
    for c in colors:
        palette += list(ImageColor.getrgb(c))[:3]
    canvas = Image.new("P", plan.size, 0)
    canvas.putpalette(palette + [0, 0, 0] * (256 - len(palette) // 3))
    draw = ImageDraw.Draw(canvas)
    curves = [flatten_stroke(ts.points) * s for ts in strokes]
    drawn = [-1.0] * len(strokes)     # arc length already on the canvas; -1: not started
    frames = [canvas.copy()]
    first = 0                         # strokes before this one are fully drawn
    for t in times:
        for i in range(first, len(strokes)):
            ts = strokes[i]
            if ts.start > t:
                break
            want = ts.length * s * min(1.0, (t - ts.start) / ts.duration)
            if want <= drawn[i]:
                continue
            width = max(1, round(ts.line.width * s))
            pts = curves[i] if len(curves[i]) == 1 else _segment(curves[i], max(drawn[i], 0.0), want)
            _draw_polyline(draw, pts, index.get(str(ts.line.color), 1), width)
            drawn[i] = want
        while first < len(strokes) and drawn[first] >= strokes[first].length * s:
            first += 1
        frames.append(canvas.copy())
    buf = io.BytesIO()
    durations = [round(step * 1000)] * (len(frames) - 1) + [round(max(o.hold_s, 0.1) * 1000)]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, disposal=1, optimize=False)
    return GifResult(buf.getvalue(), plan, time.perf_counter() - started)


def _draw_polyline(draw, pts: np.ndarray, color, width: int) -> None:
    r = width / 2
    if len(pts) > 1 and not np.allclose(pts, pts[0]):
        draw.line([tuple(p) for p in pts], fill=color, width=width, joint="curve")
    for x, y in (pts[0], pts[-1]):   # round caps (and dots)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color)
