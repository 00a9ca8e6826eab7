"""Every named API endpoint: one short function each, registered by `add_endpoints`.

    /write           lines: [{"text", "style", "bias", "color", "width", "likeness"}, ...] -> SVG, PNG, seed, summary
    /write_text      one block of text, one style and bias for every line   -> the same four
    /info            the checkpoints, styles and limits this server offers
    /write_plotter   lines (as /write) -> plotter SVG in mm, G-code, seed, summary
    /write_animated  lines (as /write) -> animated SVG, GIF (or null), seed, summary
    /write_paragraph long text on pages -> SVG pages, PNG pages, seed, summary
    /make_style      ink (canvas JSON, or an InkML / IAM-OnDB XML file) + its text -> a new style id
    /write_pdf       lines (as /write) -> one PDF, the saved document (JSON), seed, summary
    /write_paragraph_pdf  as /write_paragraph -> one PDF of every page, seed, summary
    /write_document  a saved document (JSON text) -> SVG, PNG, PDF, seed, summary (the ink it saved)
    /write_document_again  the same, written again from the document's seed (new sampling)
    /write_live      lines (as /write), streamed: the page so far (SVG text) and a status, then the files
    /write_paragraph_live  as /write_paragraph, streamed: the lines being written (SVG text) and a
                     status, then the pages' files
    /load_styles     your-styles.zip (or style-N-*.npy files) uploaded again -> their style ids, summary

/write, /write_text and the PDF endpoints take the writing size (`size`: mm, or "24px"), `line_spacing`,
and paper (`paper`: plain/ruled/grid/dotted, `rule_pitch` mm (0: the line spacing), `rule_color`); the
paper is drawn in PNG and PDF only.

Your own styles (/make_style, /load_styles, a document's embedded ink) are kept in user_styles/ and
offered to everyone when the app runs on this machine only (per session once that folder is full), and
per session (one gradio_client Client, one browser tab) when it is served beyond it or reached through a
proxy; scribe.web.state says where, and caps them (docs/security.md). The session's own styles (a
gr.State) are every endpoint's last input, `own`, which API clients never see: gradio_client keeps one
session per Client, so a style made through one Client writes through the same Client.

Each endpoint's parameters are hidden components (`Params`), made once and shared by the endpoints that
take the same one; each reaches its handler by name (scribe.web.fields) exactly as the request sent it
(api.as_sent), so scribe.web.forms names a bad field in its own words.

Every endpoint reads the session's own styles (a gr.State), which gr.api cannot take, so each is an
event on a hidden button rather than gr.api.
"""
from __future__ import annotations

import gradio as gr

from ..request import DEFAULT_CANDIDATES, MAX_CANDIDATES, MIN_CANDIDATES
from ..errors import InputError
from ..request import BIAS_RANGE, DEFAULT_BIAS, MAX_CHARS_PER_LINE, MAX_LINES
from ..render.page import DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM
from ..render.plotter import GcodeOptions
from . import api, forms, outputs
from . import live as live_ink
from .api import Flag, Number, Text, as_gr_error, guarded, legibility_dict
from .fields import on
from .state import AppState

# The API's parameters and results: (component class, its options), by key. A key's name before "@" is
# the parameter's name; two endpoints that share a key share its component.
PARAMS = {
    "lines": (gr.JSON, dict(value=[{"text": "Hello world", "style": None, "bias": DEFAULT_BIAS}])),
    "text": (Text, dict(value="Hello world")),
    "style": (Number, dict(value=None, precision=0)),
    "bias": (Number, dict(value=DEFAULT_BIAS)),
    "color": (Text, dict(value=forms.DEFAULT_COLOR)),
    "width": (Number, dict(value=forms.DEFAULT_WIDTH)),
    "likeness": (Number, dict(value=None)),          # blank: each style's own
    "wrap_at": (Number, dict(value=forms.DEFAULT_WRAP, precision=0)),
    "seed": (Number, dict(value=None, precision=0)),
    "png_dpi": (Number, dict(value=forms.DEFAULT_DPI)),
    "align": (Text, dict(value="left")),
    "checkpoint": (Text, dict(value="")),
    "candidates": (Number, dict(value=DEFAULT_CANDIDATES, precision=0)),
    "size": (Text, dict(value="")),                  # mm, or "24px"; blank: the default
    "line_spacing": (Number, dict(value=None)),
    "paper": (Text, dict(value="")),                 # plain, ruled, grid, dotted; blank: none
    "rule_pitch": (Number, dict(value=0)),
    "rule_color": (Text, dict(value="")),
    "live": (Text, dict(value=live_ink.DEFAULT_LIVE)),
    "paper@plotter": (Text, dict(value="a4")),
    "landscape": (Flag, dict(value=False)),
    "margin_mm@plotter": (Number, dict(value=forms.PLOTTER_MARGIN_MM)),
    "pen_up": (Text, dict(value=GcodeOptions.pen_up)),
    "pen_down": (Text, dict(value=GcodeOptions.pen_down)),
    "draw_feed": (Number, dict(value=GcodeOptions.draw_feed)),
    "travel_feed": (Number, dict(value=0)),
    "origin": (Text, dict(value="bottom-left")),
    "units": (Text, dict(value="mm")),
    "speed": (Number, dict(value=1.0)),
    "loop": (Flag, dict(value=False)),
    "gif": (Flag, dict(value=False)),
    "page": (Text, dict(value="a4")),
    "margin_mm@page": (Number, dict(value=forms.PARAGRAPH_MARGIN_MM)),
    "width_mm": (Number, dict(value=0)),
    "size_mm": (Number, dict(value=DEFAULT_SIZE_MM)),
    "line_spacing@page": (Number, dict(value=DEFAULT_LINE_SPACING)),
    "variation": (Number, dict(value=0)),
    "ink": (Text, dict(value="")),
    "text@ink": (Text, dict(value="")),              # blank: the file's own transcription
    "file": (gr.File, dict(type="filepath")),
    "files": (gr.File, dict(file_count="multiple", type="filepath")),
    "document": (Text, dict(value="")),
}
RESULTS = {
    "svg": (gr.File, {}), "png": (gr.File, {}), "pdf": (gr.File, {}), "document": (gr.File, {}),
    "plotter_svg": (gr.File, {}), "gcode": (gr.File, {}), "animated_svg": (gr.File, {}), "gif": (gr.File, {}),
    "svg_pages": (gr.File, dict(file_count="multiple")), "png_pages": (gr.File, dict(file_count="multiple")),
    "style_id": (gr.Number, dict(precision=0)), "style_files": (gr.File, dict(file_count="multiple")),
    "preview_svg": (gr.File, {}), "seed_used": (gr.Number, dict(precision=0)), "summary": (gr.Textbox, {}),
    "legibility": (gr.JSON, {}), "page_svg": (gr.Textbox, {}), "status": (gr.Textbox, {}),
    "style_ids": (gr.JSON, {}), "info": (gr.JSON, {}),
}
LINE_LOOK = ("size", "line_spacing", "paper", "rule_pitch", "rule_color")
PEN = ("text", "style", "bias", "color", "width")
PAGE_LOOK = ("page", "margin_mm@page", "width_mm", "size_mm", "line_spacing@page", "align", "variation")
PAPER = ("paper", "rule_pitch", "rule_color")


class Params:
    """The hidden components behind the endpoints' parameters and results, each made on first use (in
    the hidden column) and then shared; `endpoint` wires one endpoint by its parameters' keys."""

    def __init__(self, state: AppState, mine: gr.State, column: gr.Column):
        self.state, self.mine, self.column = state, mine, column
        self._made: dict[tuple, gr.components.Component] = {}

    def _component(self, key: str, table: dict):
        made = (id(table), key)      # a parameter and a result may share a name (gif, document)
        if made not in self._made:
            cls, options = table[key]
            with self.column:
                self._made[made] = cls(label=key.split("@")[0], **options)
        return self._made[made]

    def endpoint(self, name: str, fn, params, results, description: str, keeps_styles: bool = False, **options):
        """/`name`: `fn(values)` gets `params` by name (plus `own`, the session's styles) and returns the
        `results` in order, then the session's styles when `keeps_styles`."""
        inputs = {key.split("@")[0]: self._component(key, PARAMS) for key in params}
        outputs = [self._component(key, RESULTS) for key in results] + ([self.mine] if keeps_styles else [])
        with self.column:
            button = gr.Button(name)
        on(button.click, fn, {**inputs, "own": self.mine}, outputs, api_name=name, api_description=description,
           **{**self.state.conc, **options})


# ---- line mode -------------------------------------------------------------------------------------
def write(p: Params) -> None:
    def write(v):
        r = api.write_lines(p.state, lambda: forms.specs_from_rows(v.lines), v)
        return str(r.svg_path), str(r.png_path), r.seed, r.summary(), legibility_dict(r.legibility)

    p.endpoint("write", write, ("lines", "seed", "png_dpi", "align", "checkpoint", *LINE_LOOK, "candidates"),
               ("svg", "png", "seed_used", "summary", "legibility"),
               "Write several lines, each with its own text, style (id or null), bias, color, width and "
               "likeness (0-1: how much of a bank style's fitted hand; null: the style's own); size "
               "(mm, or '24px'), line_spacing, paper (plain/ruled/grid/dotted, PNG only), rule_pitch (mm; sets "
               "the spacing), rule_color; `candidates` N (1-16) per line for the legibility check (1: off). "
               "Returns the SVG file, the PNG file, the seed used, a one-line summary and the check's result "
               "(lines_checked, cer, poor_lines as 1-based numbers, skipped).")


def write_text(p: Params) -> None:
    def write_text(v):
        specs = lambda: forms.specs_from_block(v.text, v.style, v.bias, v.color, v.width, v.wrap_at,  # noqa: E731
                                               v.likeness)
        r = api.write_lines(p.state, specs, v)
        return str(r.svg_path), str(r.png_path), r.seed, r.summary(), legibility_dict(r.legibility)

    p.endpoint("write_text", write_text, (*PEN, "wrap_at", "seed", "png_dpi", "align", "checkpoint", *LINE_LOOK,
                                          "candidates", "likeness"),
               ("svg", "png", "seed_used", "summary", "legibility"),
               "Write one block of text (split on newlines, wrapped at wrap_at characters) in one style and "
               "bias (likeness as in /write); `candidates` as in /write. Returns the SVG file, the PNG file, the seed used, a summary "
               "and the legibility check's result.")


def write_pdf(p: Params) -> None:
    def write_pdf(v):
        r = api.write_lines(p.state, lambda: forms.specs_from_rows(v.lines), v)
        return str(r.pdf_path), str(r.document_path), r.seed, r.summary()

    p.endpoint("write_pdf", write_pdf, ("lines", "seed", "align", "checkpoint", *LINE_LOOK),
               ("pdf", "document", "seed_used", "summary"),
               "Write lines (as /write) and return one PDF (paper behind the ink if asked), the saved document "
               "(JSON: open it with /write_document), the seed and a summary.")


def document_endpoint(p: Params, name: str, run, description: str) -> None:
    """/`name`: a saved document (its JSON text) through `run(state, values)` -> (files, session styles)."""
    @guarded(p.state)
    def use_document(v):
        r, own = run(p.state, v)
        return str(r.svg_path), str(r.png_path), str(r.pdf_path), r.seed, r.summary(), own

    p.endpoint(name, use_document, ("document", "png_dpi", "checkpoint"),
               ("svg", "png", "pdf", "seed_used", "summary"), description, keeps_styles=True)


def write_document(p: Params) -> None:
    document_endpoint(p, "write_document", api.open_document,
                      "Open a saved document (its JSON text): exactly the ink it saved, with no sampling (any "
                      "checkpoint will do; a document of format 1 keeps no ink and is written again from its "
                      "seed). Returns SVG, PNG, PDF, seed, summary.")


def write_document_again(p: Params) -> None:
    document_endpoint(p, "write_document_again", api.write_document_again,
                      "Write a saved document (its JSON text) again from its seed: the same ink only with the "
                      "same checkpoint on a machine that samples alike. Returns SVG, PNG, PDF, seed, summary.")


ADDED = "added"      # the live mode that sends only the new strokes (live_ink.InkFeed)


def live_mode(live) -> str:
    mode = str(live or live_ink.DEFAULT_LIVE).strip().lower()
    if mode not in live_ink.LIVE_MODES + (ADDED,):
        raise as_gr_error(InputError(f"live must be one of {', '.join(live_ink.LIVE_MODES + (ADDED,))}, not "
                                     f"{str(live)[:20]!r}"))
    return mode


def live_stream(writing, mode: str, running: live_ink.Running):
    """live_ink.live_updates for an API mode: 'added' is 'strokes' sent as only what is new."""
    added = mode == ADDED
    return live_ink.live_updates(writing, "strokes" if added else mode, incremental=added, running=running)


def write_live(p: Params) -> None:
    def write_live(v):
        mode = live_mode(v.live)
        writing = api.write_lines_live(p.state, lambda: forms.specs_from_rows(v.lines), v)
        for u in live_stream(writing, mode, p.state.running):
            r = u.result
            if r is None:
                yield u.svg or u.added, u.status, None, None, None, "", None
            else:
                yield (r.svg, u.status, str(r.svg_path), str(r.png_path), r.seed, r.summary(),
                       legibility_dict(r.legibility))

    p.endpoint("write_live", write_live, ("lines", "seed", "png_dpi", "align", "checkpoint", *LINE_LOOK,
                                          "candidates", "live"),
               ("page_svg", "status", "svg", "png", "seed_used", "summary", "legibility"),
               "/write, streamed while it is written: every update has the page so far as SVG text (null when "
               "no new ink since the last update) and a status line; the last one also has the SVG and PNG "
               "files, the seed, a summary and the legibility check's result. `live`: 'strokes' (each stroke "
               "once the pen lifts), 'lines' (each line once it is finished) or 'added' (the empty page first, "
               "then only the strokes new since the last update, as <g data-line=\"n\"> groups of <path> to "
               "append to that page's <g id=\"line-n\">: the bytes sent do not grow with the page). "
               "Cancelling the job stops the "
               "sampling loop.")


def info(p: Params) -> None:
    state = p.state

    def info(v) -> dict:
        own = v.own
        return {"checkpoints": [{"label": l, "file": state.checkpoint_name(c)} for l, c in state.choices()],
                "default_checkpoint": state.checkpoint_name(state.default) if state.default else None,
                "styles": sorted(set(state.bank.ids if state.bank else []) | set(own.ids if own is not None else [])),
                "limits": {"max_lines": MAX_LINES, "max_chars_per_line": MAX_CHARS_PER_LINE,
                           "bias_range": list(BIAS_RANGE), "dpi_range": list(forms.DPI_RANGE),
                           "width_range": list(forms.WIDTH_RANGE), "max_steps": state.max_steps,
                           "candidates_range": [MIN_CANDIDATES, MAX_CANDIDATES],
                           "default_candidates": DEFAULT_CANDIDATES, "max_user_styles": state.s.max_user_styles},
                "own_styles": "per session" if state.private else
                (f"shared, in {state.user_dir.name}/ (when it is full: per session)")}

    p.endpoint("info", info, (), ("info",),
               "The checkpoints (by file name: pass one as `checkpoint`), the style ids (the bank's and your "
               "own), the limits, and where your own styles are kept.", queue=False,
               concurrency_limit="default", concurrency_id=None)


# ---- the features ------------------------------------------------------------------------------------
def write_plotter(p: Params) -> None:
    @guarded(p.state)
    def write_plotter(v):
        plotter = forms.plotter_options(v.paper, v.landscape, v.margin_mm)
        gcode = forms.gcode_options(v.pen_up, v.pen_down, v.draw_feed, v.travel_feed, v.origin, v.units)
        pages, used, summary = api.write_pages(p.state, v)
        svgs, codes = outputs.plotter_files(pages, plotter, gcode, stem=f"handwriting-{used}")
        return str(svgs[0]), str(codes[0]), used, summary

    p.endpoint("write_plotter", write_plotter, ("lines", "seed", "align", "checkpoint", "paper@plotter",
                                                "landscape", "margin_mm@plotter", "pen_up", "pen_down",
                                                "draw_feed", "travel_feed", "origin", "units"),
               ("plotter_svg", "gcode", "seed_used", "summary"),
               "Write lines (as /write) and return a plotter SVG (mm units, page preset a4/a5/letter, margin, "
               "one Inkscape layer per colour, strokes only) and a G-code program (pen_up/pen_down commands, "
               "'|' between several; draw_feed and travel_feed in mm/min, 0 = rapid; origin; units mm/in), the "
               "seed and a summary.")


def write_animated(p: Params) -> None:
    @guarded(p.state)
    def write_animated(v):
        options, gif = forms.animation_options(v.speed, v.loop), forms.parse_flag(v.gif, "gif")
        pages, used, summary = api.write_pages(p.state, v)
        files = outputs.animation_files(pages[0], options, gif=gif, stem=f"handwriting-{used}")
        return str(files[0]), (str(files[1]) if len(files) > 1 else None), used, summary

    p.endpoint("write_animated", write_animated, ("lines", "seed", "align", "checkpoint", "speed", "loop", "gif"),
               ("animated_svg", "gif", "seed_used", "summary"),
               "Write lines (as /write) and return an animated SVG of the pen writing them (SMIL; speed 1 = "
               "natural pace, 0.1-20; loop), a GIF of the same when gif is true (else null), the seed and a "
               "summary.")


# ---- paragraph mode ----------------------------------------------------------------------------------
def write_paragraph(p: Params) -> None:
    @guarded(p.state)
    def write_paragraph(v):
        r = api.write_paragraph(p.state, v)
        return ([str(f) for f in r.svg_files], [str(f) for f in r.png_files], r.seed, r.summary(),
                legibility_dict(r.legibility))

    p.endpoint("write_paragraph", write_paragraph, (*PEN, *PAGE_LOOK, "seed", "png_dpi", "checkpoint", *PAPER,
                                                    "candidates", "likeness"),
               ("svg_pages", "png_pages", "seed_used", "summary", "legibility"),
               "Paragraph mode: wrap long text to the line width in the hand's own measure, blank lines as "
               "paragraph breaks, on pages (page a4/a5/letter or 'none'; margin_mm; width_mm 0 = the page "
               "inside its margins; size_mm the writing size; line_spacing in ink heights; align; variation "
               "0-2; candidates and likeness as in /write). Returns the SVG pages, the PNG pages, the seed, a summary and "
               "the legibility check's result (per wrapped line).")


def write_paragraph_pdf(p: Params) -> None:
    @guarded(p.state)
    def write_paragraph_pdf(v):
        r = api.write_paragraph(p.state, {**v, "candidates": 1})     # one PDF: no legibility check
        return str(r.pdf_file), r.seed, r.summary()

    p.endpoint("write_paragraph_pdf", write_paragraph_pdf, (*PEN, *PAGE_LOOK, "seed", "checkpoint", *PAPER,
                                                            "likeness"),
               ("pdf", "seed_used", "summary"),
               "Paragraph mode (as /write_paragraph) as one PDF with a page per page (paper: "
               "plain/ruled/grid/dotted behind the ink; rule_pitch mm sets the line spacing), the seed and a "
               "summary.")


def write_paragraph_live(p: Params) -> None:
    def write_paragraph_live(v):
        mode = live_mode(v.live)
        for u in live_stream(api.write_paragraph_live(p.state, v), mode, p.state.running):
            r = u.result
            if r is None:
                yield u.svg or u.added, u.status, None, None, None, "", None
            else:   # the finished pages are the files
                yield (None, u.status, [str(f) for f in r.svg_files], [str(f) for f in r.png_files], r.seed,
                       r.summary(), legibility_dict(r.legibility))

    p.endpoint("write_paragraph_live", write_paragraph_live, (*PEN, *PAGE_LOOK, "seed", "png_dpi", "checkpoint",
                                                              *PAPER, "candidates", "live", "likeness"),
               ("page_svg", "status", "svg_pages", "png_pages", "seed_used", "summary", "legibility"),
               "/write_paragraph, streamed while it is written: every update has the lines being written (up "
               "to 12 wrapped lines at a time, as SVG text; null when no new ink since the last update) and a "
               "status line; the last one has no page but the SVG pages, the PNG pages, the seed, a summary "
               "and the legibility check's result. `live`: 'strokes', 'lines' or 'added', as in /write_live "
               "('added': each chunk of lines starts with its own empty page). Cancelling "
               "the job stops the sampling loop.")


# ---- your own styles ---------------------------------------------------------------------------------
def make_style(p: Params) -> None:
    @guarded(p.state)
    def make_style(v):
        style, sid, files, preview, own = api.made_style(p.state, v.checkpoint, v.ink, v.text, v.file, v.own)
        where = " (kept for this session only: the last file, your-styles.zip, holds all of yours)" \
            if p.state.in_session(sid, own) else ""
        return sid, [str(f) for f in files], str(preview), f"Saved your style as style {sid}: {style.text!r}{where}", own

    p.endpoint("make_style", make_style, ("ink", "text@ink", "file", "checkpoint"),
               ("style_id", "style_files", "preview_svg", "summary"),
               "Make a style from your own ink: `ink` is canvas JSON ([[{x,y,t}...]...], [[[x,y]...]...] or "
               "{strokes, text}) or `file` an InkML / IAM-OnDB XML upload; `text` is what it says. Saves it in "
               "the server's user style folder (or for this session: see /info's own_styles) and returns its "
               "id (use it as `style` in /write), its two style files, a preview SVG and a summary.",
               keeps_styles=True)


def load_styles(p: Params) -> None:
    @guarded(p.state)
    def load_styles(v):
        return api.loaded_styles(p.state, v.checkpoint, v.files, v.own)

    p.endpoint("load_styles", load_styles, ("files", "checkpoint"), ("style_ids", "summary"),
               "Upload your own styles again: `files` are your-styles.zip (from /make_style or the app) or "
               "style-N-chars.npy / style-N-strokes.npy pairs. Returns the ids they have now (use them as "
               "`style`) and a summary.", keeps_styles=True)


ENDPOINTS = (write, write_text, info, write_live, write_plotter, write_animated, write_paragraph_pdf,
             write_paragraph, write_paragraph_live, make_style, write_pdf, write_document, write_document_again,
             load_styles)


def add_endpoints(state: AppState, mine: gr.State) -> None:
    """Register every named endpoint on the Blocks being built; `mine`: the session's own styles."""
    with gr.Column(visible=False) as column:
        pass
    params = Params(state, mine, column)
    for add in ENDPOINTS:
        add(params)
