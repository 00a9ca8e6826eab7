"""The app's "beyond other tools" features: your own hand, pen-plotter files, animated writing and
paragraph mode. `app.py` places these pieces in its layout; everything they do goes through `scribe/`.

Two halves:
- plain functions (`make_style`, `plotter_files`, `animation_files`, `write_paragraph_files`, ...)
  that take parsed values, call the library and write result files; they raise the library's errors
  (InputError, StyleError, PlotterError, AnimationError), and are tested without a server;
- `Features`, which builds the Gradio components, wires their events and adds the named API
  endpoints /write_plotter, /write_animated, /write_paragraph and /make_style.
"""
from __future__ import annotations

import functools
import html
import io
import json
import logging
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from . import app_support as sup
from .animate import SPEED_RANGE, AnimationError, AnimationOptions, animated_svg
from .checkpoint import CheckpointError
from .files import atomic_write_bytes
from .inkml import MAX_BYTES, InkData, InkFileError, read_ink
from .user_style import UserStyleError
from .hand import BIAS_RANGE, DEFAULT_BIAS, Hand, InputError
from .layout import PARAGRAPH_MAX_CHARS, ParagraphLayout
from .plotter import ORIGINS, GcodeOptions, PlotterError, PlotterOptions
from .render import Layout, Page, export_pages, page_to_svg
from .styles import LayeredStyleBank, StyleBank, StyleError

log = logging.getLogger("scribe.app")

DEFAULT_USER_STYLE_DIR = "user_styles"
PAPERS = [("A4", "a4"), ("A5", "a5"), ("Letter", "letter")]
PARAGRAPH_PAGES = PAPERS + [("No page (one long sheet)", "none")]
INK_UPLOAD_TYPES = [".inkml", ".xml", ".json"]
CANVAS_W, CANVAS_H = 1000, 260          # the canvas's own pixels; CSS scales it to the column


# ---- files -------------------------------------------------------------------------------------------
def result_folder() -> Path:
    """A fresh folder for one request's files, under the app's output root (pruned after an hour)."""
    root = sup.output_root()
    sup.prune_outputs(root)
    return root / uuid.uuid4().hex


def zip_files(paths: list[Path], target: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.name)
    return atomic_write_bytes(target, buf.getvalue())


def one_file(paths: list[Path], zip_name: str) -> Path:
    """The single file, or a zip of several (a DownloadButton offers one file)."""
    return paths[0] if len(paths) == 1 else zip_files(paths, paths[0].parent / zip_name)


# ---- parsing form / API values -------------------------------------------------------------------
def _text_option(value, default: str) -> str:
    return default if value is None or not str(value).strip() else str(value).strip()


def plotter_options(paper=None, landscape=False, margin_mm=None) -> PlotterOptions:
    paper = _text_option(paper, "a4").lower()
    if paper not in {v for _, v in PAPERS}:
        raise InputError(f"paper {paper!r} must be one of a4, a5, letter")
    return PlotterOptions(paper=paper, landscape=bool(landscape),
                          margin_mm=sup.parse_number(margin_mm, "margin (mm)", 0, 100, 15.0))


def gcode_options(pen_up=None, pen_down=None, draw_feed=None, travel_feed=None, origin=None,
                  units=None) -> GcodeOptions:
    d = GcodeOptions()
    travel = sup.parse_number(travel_feed, "travel feed (mm/min)", 0, 100_000, 0.0)
    o = GcodeOptions(pen_up=_text_option(pen_up, d.pen_up), pen_down=_text_option(pen_down, d.pen_down),
                     draw_feed=sup.parse_number(draw_feed, "drawing feed (mm/min)", 1, 100_000, d.draw_feed),
                     travel_feed=travel or None,        # 0 or blank: rapid G0 moves
                     origin=_text_option(origin, d.origin), units=_text_option(units, d.units))
    o.check()
    return o


def animation_options(speed=None, loop=False, method: str = "smil") -> AnimationOptions:
    o = AnimationOptions(speed=sup.parse_number(speed, "speed", *SPEED_RANGE, 1.0), loop=bool(loop), method=method)
    o.check()
    return o


def paragraph_layout(page=None, landscape=False, margin_mm=None, width_mm=None, size_mm=None, line_spacing=None,
                     align=None, variation=None) -> ParagraphLayout:
    page = _text_option(page, "a4").lower()
    width = sup.parse_number(width_mm, "line width (mm)", 0, 2000, 0.0)
    layout = ParagraphLayout(page=None if page == "none" else page, landscape=bool(landscape),
                             margin_mm=sup.parse_number(margin_mm, "margin (mm)", 0, 100, 20.0),
                             width_mm=width or None,     # 0 or blank: the page inside its margins
                             ink_height_mm=sup.parse_number(size_mm, "writing size (mm)", 2, 40, 6.0),
                             line_spacing=sup.parse_number(line_spacing, "line spacing", 0.8, 5, 1.7),
                             align=sup.parse_align(align),
                             variation=sup.parse_number(variation, "variation", 0, 2, 0.0))
    try:
        layout.check()
    except ValueError as e:
        raise InputError(str(e)) from None
    return layout


# ---- the features, without Gradio -------------------------------------------------------------------
def plotter_files(pages: list[Page], plotter: PlotterOptions, gcode: GcodeOptions, stem: str = "handwriting",
                  folder: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Plotter SVG and G-code files for every page: (svg files, gcode files)."""
    if not pages:
        raise InputError("nothing written yet: press Write first")
    folder = folder or result_folder()
    try:
        svgs = export_pages(pages, folder / f"{stem}-plotter.svg", "plotter-svg", plotter=plotter)
        codes = export_pages(pages, folder / f"{stem}.gcode", "gcode", plotter=plotter, gcode=gcode)
    except (PlotterError, ValueError) as e:
        raise InputError(str(e)) from None
    return svgs, codes


def animation_html(page: Page, speed: float) -> str:
    """The page being written, for a gr.HTML component. CSS keyframes start when the element is inserted
    (SMIL would run on the document's clock), and the nonce makes every Play a new value, so it replays."""
    svg = animated_svg(page, AnimationOptions(speed=speed, method="css"))
    return f"<div class='scribe-preview scribe-anim' data-play='{uuid.uuid4().hex[:8]}'>{svg}</div>"


def animation_files(page: Page, options: AnimationOptions, gif: bool = False, stem: str = "handwriting",
                    folder: Path | None = None) -> list[Path]:
    """The downloadable animation: an animated SVG (SMIL, plays anywhere), and a GIF when asked."""
    folder = folder or result_folder()
    try:
        out = export_pages([page], folder / f"{stem}-animated.svg", "animated-svg", animation=options)
        if gif:
            out += export_pages([page], folder / f"{stem}.gif", "gif", animation=options)
    except (AnimationError, ValueError) as e:
        raise InputError(str(e)) from None
    return out


@dataclass
class PagesResult:
    """A written result as the app shows it: its pages, their files and a summary."""
    pages: list[Page]
    svg_files: list[Path]
    png_files: list[Path]
    seed: int
    summary: str
    notes: list[str] = field(default_factory=list)


def pages_preview_html(pages: list[Page]) -> str:
    """Every page inline, one under the other, each on white with a caption when there are several."""
    if len(pages) == 1:
        return sup.preview_html(page_to_svg(pages[0]))
    parts = [f"<figure style='margin:0 0 12px 0'><figcaption style='font-size:12px;color:#666'>page {i} of "
             f"{len(pages)}</figcaption><div style='border:1px solid #ddd'>{page_to_svg(p)}</div></figure>"
             for i, p in enumerate(pages, start=1)]
    return f"<div class='scribe-preview scribe-pages'>{''.join(parts)}</div>"


def write_paragraph_files(hand: Hand, text: str, style, bias, color, width, layout: ParagraphLayout,
                          seed=None, dpi=None, max_steps: int | None = None) -> PagesResult:
    """Paragraph mode: wrap, write and set `text` on pages; save every page as SVG and PNG."""
    started = time.perf_counter()
    s = sup.spec("x", style, bias, color, width)        # validates the shared values, names each problem
    if text is not None and len(str(text)) > PARAGRAPH_MAX_CHARS:
        raise InputError(f"the text has {len(str(text))} characters; paragraph mode takes up to "
                         f"{PARAGRAPH_MAX_CHARS}")
    dpi = sup.parse_dpi(dpi)
    doc = hand.write_paragraph(text, s.style, s.bias, s.color, s.width, layout, sup.parse_seed(seed),
                               max_steps=max_steps)
    folder = result_folder()
    svgs = doc.save(folder / f"paragraph-{doc.seed}.svg", "svg")
    pngs = doc.save(folder / f"paragraph-{doc.seed}.png", "png", dpi=dpi)
    lines = sum(1 for t in doc.lines if t)
    notes = []
    if doc.capped_lines:
        notes.append(f"{len(doc.capped_lines)} line(s) hit the step cap, so their ink may be incomplete")
    if doc.shrunk_lines:
        notes.append(f"{len(doc.shrunk_lines)} line(s) came out too wide and were narrowed to fit")
    n = len(doc.pages)
    summary = (f"Wrote {lines} line{'s' if lines != 1 else ''} on {n} page{'s' if n != 1 else ''} in "
               f"{time.perf_counter() - started:.2f} s · seed {doc.seed} · {doc.rounds} wrap round"
               f"{'s' if doc.rounds != 1 else ''}") + "".join(f"\n- {x}" for x in notes)
    return PagesResult(doc.pages, svgs, pngs, doc.seed, summary, notes)


def style_choice(style_id: int, text: str) -> tuple[str, str]:
    return (f"{style_id}: {text[:28]}{'…' if len(text) > 28 else ''} (yours)", str(style_id))


def make_style(hand: Hand, ink, text, upload, user_dir: Path) -> tuple[object, int, list[Path], Path]:
    """A new style from the canvas JSON (`ink`) or an uploaded file (`upload`, a path; it wins) plus the
    typed text; saved in `user_dir`. Returns (UserStyle, id, [its two style files, copied for download],
    preview SVG file). Raises UserStyleError (a StyleError) or InputError with a message for the user."""
    if upload:
        source = _uploaded_ink(upload)
    else:
        ink = ink.strip() if isinstance(ink, str) else ""
        if not ink or _no_strokes(ink):
            raise InputError("nothing to make a style from: write on the canvas (or upload an InkML or "
                             "IAM-OnDB XML file) first")
        # The ink box holds ink itself, never a file name: a request must not make the server read a path.
        if ink[:1] not in ("[", "{", "<"):
            raise InputError("the ink must be the canvas's JSON strokes or InkML / IAM-OnDB XML text; "
                             "to use a file, upload it")
        source = ink
    text = text if text is not None and str(text).strip() else None
    style, style_id = hand.style_from_ink(source, text, save_to=user_dir)
    folder = result_folder()
    files = []
    for kind in ("chars", "strokes"):
        name = f"style-{style_id}-{kind}.npy"
        files.append(atomic_write_bytes(folder / name, (Path(user_dir) / name).read_bytes()))
    preview = atomic_write_bytes(folder / f"style-{style_id}-preview.svg", style.preview_svg().encode("utf-8"))
    return style, style_id, files, preview


def _uploaded_ink(upload) -> InkData:
    """The ink of a file uploaded through Gradio (which keeps uploads in its own cache folder). Read
    here as bytes, so that messages name only the file, never the server folder it sits in."""
    path = Path(getattr(upload, "path", None) or (upload.get("path") if isinstance(upload, dict) else upload))
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path.name}: the file is over the {MAX_BYTES} byte limit")
        data = path.read_bytes()
    except OSError:
        raise InputError(f"{path.name}: the upload could not be read; upload it again") from None
    try:
        return read_ink(data, name=path.name)
    except InkFileError as e:
        raise UserStyleError(f"could not read the ink: {e}") from None


def _no_strokes(ink: str) -> bool:
    try:
        data = json.loads(ink)
    except (ValueError, RecursionError):
        return False          # not JSON (or nested too deeply): let the ink reader name the problem
    strokes = data.get("strokes") if isinstance(data, dict) else data
    return isinstance(strokes, list) and not any(strokes)


# ---- errors as messages ----------------------------------------------------------------------------------
_TITLES = [(StyleError, "Style problem"), (InputError, "Cannot do this"), (CheckpointError, "Checkpoint problem"),
           (PlotterError, "Plotter settings"), (AnimationError, "Animation settings")]


def as_gr_error(e: Exception) -> gr.Error:
    for kind, title in _TITLES:
        if isinstance(e, kind):
            return gr.Error(str(e), title=title, print_exception=False)
    log.exception("unexpected error")
    return gr.Error(f"Something went wrong ({type(e).__name__}: {e}). The server log has the details.",
                    title="Unexpected error")


def _guarded(fn):
    """Run a handler; any failure becomes a gr.Error message (never a stack trace in the page)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise as_gr_error(e) from e
    return run


# ---- the pen-capture canvas ----------------------------------------------------------------------------
CANVAS_HTML = f"""
<div class="scribe-ink-wrap">
  <canvas width="{CANVAS_W}" height="{CANVAS_H}" aria-label="Write here with a mouse, pen or finger"></canvas>
  <div class="scribe-ink-info">Write one line here with a mouse, pen or finger.</div>
</div>
"""

CANVAS_CSS = """
.scribe-ink-wrap { background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 4px; }
.scribe-ink-wrap canvas { width: 100%; height: auto; display: block; touch-action: none; cursor: crosshair; }
.scribe-ink-info { color: #777; font-size: 12px; padding: 2px 4px; }
"""

# Records pointer strokes as [{x, y, t}, ...] in canvas pixels (y down) and draws them as they come.
# The strokes live on the canvas element; "Make style" reads them through canvas.scribeInk().
CANVAS_JS = """
const canvas = element.querySelector('canvas');
const info = element.querySelector('.scribe-ink-info');
const ctx = canvas.getContext('2d');
let strokes = [], current = null;
function where(e) {
  const r = canvas.getBoundingClientRect();
  return {x: Math.round((e.clientX - r.left) * canvas.width / r.width * 10) / 10,
          y: Math.round((e.clientY - r.top) * canvas.height / r.height * 10) / 10,
          t: Math.round(e.timeStamp)};
}
function redraw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#d0d7e2'; ctx.lineWidth = 1; ctx.setLineDash([6, 6]);
  ctx.beginPath(); ctx.moveTo(20, canvas.height * 0.68); ctx.lineTo(canvas.width - 20, canvas.height * 0.68);
  ctx.stroke(); ctx.setLineDash([]);
  ctx.strokeStyle = '#111'; ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  for (const s of strokes) {
    ctx.beginPath(); ctx.moveTo(s[0].x, s[0].y);
    for (const p of s) ctx.lineTo(p.x, p.y);
    if (s.length === 1) ctx.lineTo(s[0].x + 0.1, s[0].y);
    ctx.stroke();
  }
  const n = strokes.reduce((a, s) => a + s.length, 0);
  info.textContent = strokes.length ? `${strokes.length} strokes, ${n} points` :
    'Write one line here with a mouse, pen or finger.';
}
canvas.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  current = [where(e)];
  strokes.push(current);
  redraw();
});
canvas.addEventListener('pointermove', (e) => {
  if (!current) return;
  const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (evs.length ? evs : [e])) current.push(where(ev));
  redraw();
});
for (const name of ['pointerup', 'pointercancel', 'lostpointercapture']) {
  canvas.addEventListener(name, () => { current = null; });
}
canvas.scribeInk = () => JSON.stringify({strokes: strokes});
canvas.scribeClear = () => { strokes = []; current = null; redraw(); };
redraw();
"""

READ_CANVAS_JS = """(ink, ...rest) => {
  const c = document.querySelector('#scribe-ink canvas');
  return [c && c.scribeInk ? c.scribeInk() : ink, ...rest];
}"""
CLEAR_CANVAS_JS = """() => {
  const c = document.querySelector('#scribe-ink canvas');
  if (c && c.scribeClear) c.scribeClear();
}"""


# ---- the Gradio side -----------------------------------------------------------------------------------
class Features:
    """Builds and wires the feature components. `ctx` is app.py's Context (settings, HandCache, bank)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.user_dir = Path(getattr(ctx.s, "user_style_dir", None) or DEFAULT_USER_STYLE_DIR)
        self.style_dropdowns: list[gr.Dropdown] = []
        self.style_opts: list | None = None
        # The bank every dropdown and preview reads: the shipped styles plus the user's, refreshed in
        # place when a style is made (so components that hold a reference see it too).
        self.shipped = ctx.bank
        if ctx.bank is not None or self._user_bank() is not None:
            ctx.bank = LayeredStyleBank(self._banks())

    def _user_bank(self) -> StyleBank | None:
        try:
            return StyleBank(self.user_dir) if self.user_dir.is_dir() else None
        except StyleError:
            return None

    def _banks(self) -> list[StyleBank]:
        return [b for b in (self.shipped, self._user_bank()) if b is not None]

    def refresh_styles(self) -> None:
        banks = self._banks()
        if isinstance(self.ctx.bank, LayeredStyleBank):
            self.ctx.bank.__init__(banks)
        else:
            self.ctx.bank = LayeredStyleBank(banks)
        for hand in self.ctx.cache.loaded_hands():
            if self.user_dir.is_dir():
                hand.add_user_styles(self.user_dir)

    def hand(self, checkpoint) -> Hand:
        return self.ctx.cache.get(self.ctx.resolve(checkpoint))

    def steps(self) -> int | None:
        return self.ctx.s.max_steps

    # ---- line mode, written afresh (the API endpoints) ----------------------------------------------
    def write_pages(self, lines, seed, align, checkpoint) -> tuple[list[Page], int, str]:
        specs, notes = sup.specs_from_rows(lines)
        hand = self.hand(checkpoint)
        doc = hand.write(specs, seed=sup.parse_seed(seed), layout=Layout(align=sup.parse_align(align)),
                         max_steps=self.steps())
        n = sum(1 for ln in doc.lines if ln is not None)
        summary = f"Wrote {n} line{'s' if n != 1 else ''} in {doc.seconds:.2f} s · seed {doc.seed}"
        if doc.capped_lines:
            notes.append(f"{len(doc.capped_lines)} line(s) hit the step cap, so their ink may be incomplete")
        return [doc.page()], doc.seed, summary + "".join(f"\n- {x}" for x in notes)

    # ---- layout pieces (app.py calls these where each belongs) ---------------------------------------
    def paragraph_tab(self, style_opts, first_style):
        self.style_opts = style_opts
        gr.Markdown("<span class='scribe-note'>Long text wraps to the line width measured in the handwriting "
                    "itself (words are never split); a blank line is a paragraph break; text that runs over "
                    "a page continues on the next. Alignment is under <i>Settings</i>.</span>")
        self.p_text = gr.Textbox(label="Text", lines=8, elem_id="scribe-para-text",
                                 value="Dear Ada,\n\nThe engine ran all night without a fault, and by morning "
                                       "the tables were done. I think we may call it a success.\n\nYours, Charles")
        with gr.Row():
            self.p_style = gr.Dropdown(style_opts, value=first_style, label="Style", min_width=160)
            self.p_bias = gr.Slider(*BIAS_RANGE, value=DEFAULT_BIAS, step=0.05, label="Neatness (bias)",
                                    min_width=160)
        with gr.Row():
            self.p_color = gr.ColorPicker(sup.DEFAULT_COLOR, label="Ink", min_width=80)
            self.p_width = gr.Slider(0.3, 6.0, value=sup.DEFAULT_WIDTH, step=0.1, label="Stroke (px)")
        with gr.Row():
            self.p_page = gr.Dropdown(PARAGRAPH_PAGES, value="a5", label="Page", min_width=120)
            self.p_margin = gr.Slider(0, 50, value=15, step=1, label="Margin (mm)")
            self.p_line_w = gr.Number(0, label="Line width (mm)", info="0 = the page inside its margins",
                                      min_width=120)
        with gr.Row():
            self.p_size = gr.Slider(2, 20, value=6, step=0.5, label="Writing size (mm)")
            self.p_spacing = gr.Slider(0.8, 5, value=1.7, step=0.1, label="Line spacing (ink heights)")
            self.p_variation = gr.Slider(0, 2, value=0, step=0.1, label="Natural variation",
                                         info="0 = none; 1 = natural baseline, tilt and size changes")
        self.p_write = gr.Button("Write paragraph", variant="primary", elem_id="scribe-write-paragraph")
        self.style_dropdowns.append(self.p_style)

    def own_hand_tab(self):
        gr.Markdown("Write a short phrase (15-40 characters, one line) below, type exactly what you wrote, "
                    "and press **Make style**. Or upload InkML or IAM-OnDB XML ink. The new style is saved in "
                    f"`{html.escape(str(self.user_dir))}/` and added to every style menu.")
        self.canvas = gr.HTML(CANVAS_HTML, html_template="${value}", css_template=CANVAS_CSS,
                              js_on_load=CANVAS_JS, elem_id="scribe-ink", padding=False)
        self.ink_json = gr.Textbox(visible=False, label="ink")
        with gr.Row():
            self.own_text = gr.Textbox(label="What you wrote", scale=4, elem_id="scribe-own-text",
                                       placeholder="type the words on the canvas, exactly")
            self.clear_btn = gr.Button("Clear", scale=0, min_width=90, elem_id="scribe-ink-clear")
        self.upload = gr.File(label="…or upload ink (InkML, IAM-OnDB XML, JSON strokes)",
                              file_types=INK_UPLOAD_TYPES, type="filepath", height=90)
        self.make_btn = gr.Button("Make style", variant="primary", elem_id="scribe-make-style")
        self.style_msg = gr.Markdown("", elem_id="scribe-style-msg")
        self.style_preview = gr.HTML("", elem_id="scribe-style-preview")
        self.style_files = gr.File(label="Your style files", file_count="multiple", interactive=False)
        self.own_style = gr.State(None)
        with gr.Row():
            self.own_write_text = gr.Textbox("Written in my own hand.", label="Write with your new style",
                                             scale=4, elem_id="scribe-own-write-text")
            self.own_write_btn = gr.Button("Write", variant="primary", scale=1, elem_id="scribe-own-write")

    def result_tools(self):
        """Under the preview: the plotter files and the animation of the current result."""
        self.pages_state = gr.State(None)
        with gr.Accordion("Plotter: SVG in mm and G-code", open=False, elem_id="scribe-plotter"):
            with gr.Row():
                self.pl_paper = gr.Dropdown(PAPERS, value="a4", label="Paper", min_width=100)
                self.pl_landscape = gr.Checkbox(False, label="Landscape", min_width=100)
                self.pl_margin = gr.Slider(0, 50, value=15, step=1, label="Margin (mm)")
            with gr.Row():
                self.pl_up = gr.Textbox(GcodeOptions.pen_up, label="Pen up", info="several: separate with |")
                self.pl_down = gr.Textbox(GcodeOptions.pen_down, label="Pen down")
            with gr.Row():
                self.pl_feed = gr.Number(GcodeOptions.draw_feed, label="Drawing feed (mm/min)", min_width=100)
                self.pl_travel = gr.Number(0, label="Travel feed (mm/min)", info="0 = rapid G0", min_width=100)
                self.pl_origin = gr.Dropdown(list(ORIGINS), value="bottom-left", label="Origin", min_width=100)
                self.pl_units = gr.Radio(["mm", "in"], value="mm", label="Units", min_width=80)
            self.pl_btn = gr.Button("Make plotter files", elem_id="scribe-plotter-make")
            self.pl_files = gr.File(label="Plotter SVG and G-code", file_count="multiple", interactive=False,
                                    elem_id="scribe-plotter-files")
            self.pl_msg = gr.Markdown("")
        with gr.Accordion("Watch it being written", open=False, elem_id="scribe-animate"):
            with gr.Row(equal_height=True):
                self.an_speed = gr.Slider(0.25, 8, value=1.5, step=0.25, label="Speed", info="1 = natural pace",
                                          scale=3)
                self.an_loop = gr.Checkbox(False, label="Loop (download)", scale=1)
            with gr.Row():
                self.an_play = gr.Button("Play", variant="primary", elem_id="scribe-play")
                self.an_gif = gr.Button("Make GIF", elem_id="scribe-gif")
            self.an_view = gr.HTML("", elem_id="scribe-animation")
            self.an_files = gr.File(label="Animation", file_count="multiple", interactive=False,
                                    elem_id="scribe-animation-files")

    # ---- wiring ------------------------------------------------------------------------------------------
    def wire(self, ui_out: list, shared: list, conc: dict, style_dropdowns=()):
        """ui_out: app.py's [preview, svg_dl, png_dl, seed_used, status, pages_state];
        shared: [seed, dpi, align, checkpoint]."""
        self.style_dropdowns += list(style_dropdowns)
        private = dict(api_visibility="private")

        @_guarded
        def write_paragraph_ui(text, style, bias, color, width, page, margin, line_w, size, spacing, variation,
                               seed, dpi, align, ckpt, progress=gr.Progress()):
            progress(0.05, desc="Loading the model")
            layout = paragraph_layout(page, False, margin, line_w, size, spacing, align, variation)
            hand = self.hand(ckpt)
            progress(0.2, desc="Writing the paragraph")
            r = write_paragraph_files(hand, text, style, bias, color, width, layout, seed, dpi, self.steps())
            for note in r.notes:
                gr.Warning(note)
            return (pages_preview_html(r.pages), str(one_file(r.svg_files, f"paragraph-{r.seed}-svg.zip")),
                    str(one_file(r.png_files, f"paragraph-{r.seed}-png.zip")), r.seed, r.summary, r.pages)

        self.p_write.click(write_paragraph_ui,
                           [self.p_text, self.p_style, self.p_bias, self.p_color, self.p_width, self.p_page,
                            self.p_margin, self.p_line_w, self.p_size, self.p_spacing, self.p_variation] + shared,
                           ui_out, show_progress_on=[ui_out[0]], **private, **conc)

        @_guarded
        def plotter_ui(pages, paper, landscape, margin, up, down, feed, travel, origin, units):
            svgs, codes = plotter_files(pages or [], plotter_options(paper, landscape, margin),
                                        gcode_options(up, down, feed, travel, origin, units))
            return [str(p) for p in svgs + codes], (f"{len(svgs)} page{'s' if len(svgs) != 1 else ''}: plotter "
                                                   f"SVG in mm, one layer per ink colour, and G-code.")

        self.pl_btn.click(plotter_ui, [self.pages_state, self.pl_paper, self.pl_landscape, self.pl_margin,
                                       self.pl_up, self.pl_down, self.pl_feed, self.pl_travel, self.pl_origin,
                                       self.pl_units], [self.pl_files, self.pl_msg], **private)

        def first_page(pages) -> Page:
            if not pages:
                raise InputError("nothing written yet: press Write first")
            return pages[0]

        @_guarded
        def play_ui(pages, speed, loop):
            page, options = first_page(pages), animation_options(speed, loop)
            return animation_html(page, options.speed), [str(p) for p in animation_files(page, options)]

        @_guarded
        def gif_ui(pages, speed, loop):
            page, options = first_page(pages), animation_options(speed, loop)
            return [str(p) for p in animation_files(page, options, gif=True)]

        an_in = [self.pages_state, self.an_speed, self.an_loop]
        self.an_play.click(play_ui, an_in, [self.an_view, self.an_files], **private)
        self.an_gif.click(gif_ui, an_in, self.an_files, **private)

        # ---- your own hand ----
        @_guarded
        def make_style_ui(ink, text, upload, ckpt):
            style, sid, files, _ = make_style(self.hand(ckpt), ink, text, upload, self.user_dir)
            self.refresh_styles()
            choice = style_choice(sid, style.text)
            if self.style_opts is not None and choice not in self.style_opts:
                self.style_opts.append(choice)     # rows built from now on offer it too
            m = style.measures
            msg = (f"Saved as **style {sid}** in `{self.user_dir}` ({m['points']} points, {m['strokes']} strokes, "
                   f"{m['width_per_char']:.2f} ink heights per character). It is now in every style menu.")
            preview = f"<div class='scribe-preview'>{style.preview_svg()}</div>"
            updates = [gr.Dropdown(choices=list(self.style_opts or []) or None) for _ in self.style_dropdowns]
            return (preview, [str(f) for f in files], msg, sid, *updates)

        self.make_btn.click(make_style_ui, [self.ink_json, self.own_text, self.upload, shared[3]],
                            [self.style_preview, self.style_files, self.style_msg, self.own_style]
                            + self.style_dropdowns, js=READ_CANVAS_JS, **private)
        self.clear_btn.click(None, js=CLEAR_CANVAS_JS, **private)

        @_guarded
        def write_own_ui(text, sid, seed, dpi, align, ckpt, progress=gr.Progress()):
            if sid is None:
                raise InputError("make your style first: write on the canvas and press Make style")
            specs, notes = sup.specs_from_block(text, sid, DEFAULT_BIAS + 0.25)
            progress(0.2, desc="Writing")
            r = sup.write_files(self.hand(ckpt), specs, sup.parse_seed(seed), sup.parse_dpi(dpi),
                                sup.parse_align(align), self.steps(), notes=notes)
            return (sup.preview_html(r.svg), str(r.svg_path), str(r.png_path), r.seed, r.summary(),
                    getattr(r, "pages", None))

        self.own_write_btn.click(write_own_ui, [self.own_write_text, self.own_style] + shared, ui_out,
                                 show_progress_on=[ui_out[0]], **private, **conc)

    # ---- the named API endpoints -------------------------------------------------------------------------
    def add_api(self, conc: dict):
        with gr.Column(visible=False):
            lines = gr.JSON(value=[{"text": "Hello world", "style": None}], label="lines")
            seed = gr.Number(value=None, precision=0, label="seed")
            align = gr.Textbox(value="left", label="align")
            ckpt = gr.Textbox(value="", label="checkpoint")
            paper = gr.Textbox(value="a4", label="paper")
            landscape = gr.Checkbox(False, label="landscape")
            margin = gr.Number(value=15, label="margin_mm")
            up = gr.Textbox(value=GcodeOptions.pen_up, label="pen_up")
            down = gr.Textbox(value=GcodeOptions.pen_down, label="pen_down")
            feed = gr.Number(value=GcodeOptions.draw_feed, label="draw_feed")
            travel = gr.Number(value=0, label="travel_feed")
            origin = gr.Textbox(value="bottom-left", label="origin")
            units = gr.Textbox(value="mm", label="units")
            speed = gr.Number(value=1.0, label="speed")
            loop = gr.Checkbox(False, label="loop")
            gif = gr.Checkbox(False, label="gif")
            text = gr.Textbox(value="Hello world", label="text")
            style = gr.Number(value=None, precision=0, label="style")
            bias = gr.Number(value=DEFAULT_BIAS, label="bias")
            color = gr.Textbox(value=sup.DEFAULT_COLOR, label="color")
            width = gr.Number(value=sup.DEFAULT_WIDTH, label="width")
            page = gr.Textbox(value="a4", label="page")
            p_margin = gr.Number(value=20, label="margin_mm")
            line_w = gr.Number(value=0, label="width_mm")
            size = gr.Number(value=6, label="size_mm")
            spacing = gr.Number(value=1.7, label="line_spacing")
            variation = gr.Number(value=0, label="variation")
            dpi = gr.Number(value=sup.DEFAULT_DPI, label="png_dpi")
            ink = gr.Textbox(value="", label="ink")
            ink_text = gr.Textbox(value="", label="text")     # blank: the file's own transcription
            ink_file = gr.File(label="file", type="filepath")
            o_plot, o_gcode = gr.File(label="plotter_svg"), gr.File(label="gcode")
            o_anim, o_gif = gr.File(label="animated_svg"), gr.File(label="gif")
            o_svgs = gr.File(label="svg_pages", file_count="multiple")
            o_pngs = gr.File(label="png_pages", file_count="multiple")
            o_sid = gr.Number(label="style_id", precision=0)
            o_sfiles = gr.File(label="style_files", file_count="multiple")
            o_spreview = gr.File(label="preview_svg")
            o_seed, o_summary = gr.Number(label="seed_used", precision=0), gr.Textbox(label="summary")
            btns = [gr.Button(n) for n in ("plotter", "animated", "paragraph", "style")]

        @_guarded
        def write_plotter(lines, seed=None, align=None, checkpoint=None, paper=None, landscape=False,
                          margin_mm=None, pen_up=None, pen_down=None, draw_feed=None, travel_feed=None,
                          origin=None, units=None):
            p, g = plotter_options(paper, landscape, margin_mm), gcode_options(pen_up, pen_down, draw_feed,
                                                                              travel_feed, origin, units)
            pages, used, summary = self.write_pages(lines, seed, align, checkpoint)
            svgs, codes = plotter_files(pages, p, g, stem=f"handwriting-{used}")
            return str(svgs[0]), str(codes[0]), used, summary

        btns[0].click(write_plotter, [lines, seed, align, ckpt, paper, landscape, margin, up, down, feed, travel,
                                      origin, units], [o_plot, o_gcode, o_seed, o_summary],
                      api_name="write_plotter",
                      api_description="Write lines (as /write) and return a plotter SVG (mm units, page preset "
                                      "a4/a5/letter, margin, one Inkscape layer per colour, strokes only) and a "
                                      "G-code program (pen_up/pen_down commands, '|' between several; draw_feed "
                                      "and travel_feed in mm/min, 0 = rapid; origin; units mm/in), the seed and "
                                      "a summary.", **conc)

        @_guarded
        def write_animated(lines, seed=None, align=None, checkpoint=None, speed=None, loop=False, gif=False):
            options = animation_options(speed, loop)
            pages, used, summary = self.write_pages(lines, seed, align, checkpoint)
            files = animation_files(pages[0], options, gif=bool(gif), stem=f"handwriting-{used}")
            return str(files[0]), (str(files[1]) if len(files) > 1 else None), used, summary

        btns[1].click(write_animated, [lines, seed, align, ckpt, speed, loop, gif],
                      [o_anim, o_gif, o_seed, o_summary], api_name="write_animated",
                      api_description="Write lines (as /write) and return an animated SVG of the pen writing "
                                      "them (SMIL; speed 1 = natural pace, 0.1-20; loop), a GIF of the same when "
                                      "gif is true (else null), the seed and a summary.", **conc)

        @_guarded
        def write_paragraph(text, style=None, bias=None, color=None, width=None, page=None, margin_mm=None,
                            width_mm=None, size_mm=None, line_spacing=None, align=None, variation=None, seed=None,
                            png_dpi=None, checkpoint=None):
            layout = paragraph_layout(page, False, margin_mm, width_mm, size_mm, line_spacing, align, variation)
            r = write_paragraph_files(self.hand(checkpoint), text, style, bias, color, width, layout, seed,
                                      png_dpi, self.steps())
            return [str(p) for p in r.svg_files], [str(p) for p in r.png_files], r.seed, r.summary

        btns[2].click(write_paragraph, [text, style, bias, color, width, page, p_margin, line_w, size, spacing,
                                        align, variation, seed, dpi, ckpt], [o_svgs, o_pngs, o_seed, o_summary],
                      api_name="write_paragraph",
                      api_description="Paragraph mode: wrap long text to the line width in the hand's own "
                                      "measure, blank lines as paragraph breaks, on pages (page a4/a5/letter or "
                                      "'none'; margin_mm; width_mm 0 = the page inside its margins; size_mm the "
                                      "writing size; line_spacing in ink heights; align; variation 0-2). Returns "
                                      "the SVG pages, the PNG pages, the seed and a summary.", **conc)

        @_guarded
        def make_style_api(ink=None, text=None, file=None, checkpoint=None):
            style, sid, files, preview = make_style(self.hand(checkpoint), ink, text, file, self.user_dir)
            self.refresh_styles()
            if self.style_opts is not None and style_choice(sid, style.text) not in self.style_opts:
                self.style_opts.append(style_choice(sid, style.text))
            return sid, [str(f) for f in files], str(preview), f"Saved your style as style {sid}: {style.text!r}"

        btns[3].click(make_style_api, [ink, ink_text, ink_file, ckpt], [o_sid, o_sfiles, o_spreview, o_summary],
                      api_name="make_style",
                      api_description="Make a style from your own ink: `ink` is canvas JSON ([[{x,y,t}...]...], "
                                      "[[[x,y]...]...] or {strokes, text}) or `file` an InkML / IAM-OnDB XML "
                                      "upload; `text` is what it says. Saves it in the server's user style folder "
                                      "and returns its id (use it as `style` in /write), its two style files, a "
                                      "preview SVG and a summary.", **conc)
