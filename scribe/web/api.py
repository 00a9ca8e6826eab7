"""Every named API endpoint, and the one mapper from errors to messages that the UI's events use too.

    /write           lines: [{"text", "style", "bias", "color", "width"}, ...] -> SVG, PNG, seed, summary
    /write_text      one block of text, one style and bias for every line   -> the same four
    /info            the checkpoints, styles and limits this server offers
    /write_plotter   lines (as /write) -> plotter SVG in mm, G-code, seed, summary
    /write_animated  lines (as /write) -> animated SVG, GIF (or null), seed, summary
    /write_paragraph long text on pages -> SVG pages, PNG pages, seed, summary
    /make_style      ink (canvas JSON, or an InkML / IAM-OnDB XML file) + its text -> a new style id
    /write_pdf       lines (as /write) -> one PDF, the saved document (JSON), seed, summary
    /write_paragraph_pdf  as /write_paragraph -> one PDF of every page, seed, summary
    /write_document  a saved document (JSON text) -> SVG, PNG, PDF, seed, summary (the same ink again)
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
proxy; scribe.web.state says where, and caps them (docs/security.md).

The endpoints' inputs and outputs are hidden components; the UI's own events are private.

Every input reaches scribe.web.forms as the request sent it (the `as_sent` components): Gradio's own
type conversion never runs, so a string, a list or NaN in a number field gets the app's message
naming the field. What Gradio still checks before any handler (a file that was not uploaded, too few
values) becomes a typed refusal too (`CheckedBlocks`). Every message is HTML-escaped (the page shows
error text as HTML) and names files without their server folders.
"""
from __future__ import annotations

import functools
import html
import logging

import gradio as gr
from gradio_client import utils as client_utils

from ..candidates import DEFAULT_CANDIDATES, MAX_CANDIDATES, MIN_CANDIDATES
from ..errors import InputError, ScribeError
from ..hand import LIVE_EVERY, run_to_end
from ..request import BIAS_RANGE, DEFAULT_BIAS, MAX_CHARS_PER_LINE, MAX_LINES
from ..render.page import DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM
from ..render.plotter import GcodeOptions
from ..styles import StyleError
from . import forms, outputs
from . import live as live_ink
from .views import shown_text
from .state import AppState

log = logging.getLogger("scribe.app")


# ---- errors as messages ----------------------------------------------------------------------------
ADDED = "added"      # /write_live's live mode that sends only the new strokes


def as_gr_error(e: Exception) -> gr.Error:
    """A ScribeError shows its own title and message; anything else is a bug: logged, and said plainly."""
    if isinstance(e, ScribeError):
        return gr.Error(shown_text(e), title=e.title, print_exception=False)
    log.exception("unexpected error")
    return gr.Error(shown_text(f"Something went wrong ({type(e).__name__}: {e}). Your input is untouched; the "
                               f"server log has the details."), title="Unexpected error")


def warn(note: str) -> None:
    """A note beside a result (step cap, lowered dpi, ...), shown as a toast."""
    gr.Warning(shown_text(note))


# ---- requests Gradio cannot read ------------------------------------------------------------------
UNREADABLE_TITLE = "Cannot read this request"


def _holds_file(value) -> bool:
    found = []
    client_utils.traverse(value, lambda d: found.append(d) or d,
                          lambda d: isinstance(d, dict) and ("path" in d or "url" in d))
    return bool(found)


def unreadable_request(block_fn, inputs: list, error: Exception) -> gr.Error:
    """The refusal for a request that Gradio's own checks stopped before any handler ran: which field,
    and what to send instead. Never echoes Gradio's message (it names server folders)."""
    fields = [getattr(b, "label", None) or type(b).__name__ for b in block_fn.inputs]
    if len(inputs) < len(fields):
        sent = [f for f, b in zip(fields, block_fn.inputs) if not b.stateful]    # the session's own are not sent
        msg = (f"this endpoint takes {len(sent)} values ({', '.join(map(str, sent))}); the request sent "
               f"{min(len(inputs), len(sent))}")
    else:
        files = [f for f, b, v in zip(fields, block_fn.inputs, inputs)
                 if v is not None and (isinstance(b, gr.File) or _holds_file(v))]
        if files:
            msg = (f"{files[0]}: only files uploaded to this server are accepted (with gradio_client, pass "
                   f"handle_file(path)); a file named by its server path is never read")
        else:
            msg = f"a value in this request cannot be read ({type(error).__name__})"
    log.warning("refused a request to %s: %s", getattr(block_fn, "api_name", None) or "an event",
                type(error).__name__)
    return gr.Error(html.escape(msg, quote=False), title=UNREADABLE_TITLE, print_exception=False)


class CheckedBlocks(gr.Blocks):
    """gr.Blocks whose requests are all answered by the app: what fails in Gradio's preprocessing (a
    file that was not uploaded here, a malformed file field, too few values) becomes a typed refusal
    that names the field, with no traceback in the log."""

    async def preprocess_data(self, block_fn, inputs, state, *args, **kwargs):
        try:
            return await super().preprocess_data(block_fn, inputs, state, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise unreadable_request(block_fn, list(inputs or []), e) from None


def _as_sent(payload):
    return payload


def as_sent(component):
    """An API input whose value reaches the endpoint exactly as the request sent it (any JSON value):
    scribe.web.forms then checks it and names the field. Set on the instance, so the page and the API
    docs still see the component's own class (a subclass would also make Gradio write a .pyi stub)."""
    component.preprocess = _as_sent
    return component


def Number(*args, **kwargs) -> gr.Number:
    return as_sent(gr.Number(*args, **kwargs))


def Text(*args, **kwargs) -> gr.Textbox:
    return as_sent(gr.Textbox(*args, **kwargs))


def Flag(*args, **kwargs) -> gr.Checkbox:
    return as_sent(gr.Checkbox(*args, **kwargs))


def guarded(fn):
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


def no_progress(*_, **__):
    pass


# Per-step progress runs the Python step loop, measured 1.2-1.8x slower than the compiled loop
# (benchmarks/progress_cost.py), so only documents long enough to wait for get it.
STEP_PROGRESS_MIN_LINES = 6


def step_progress(progress, n_lines: int, every: int = 10):
    """An on_step callback that moves the bar with the pen steps (every `every` steps), or None."""
    if progress is no_progress or n_lines < STEP_PROGRESS_MIN_LINES:
        return None

    def on_step(step, cap, done):
        if step % every == 0:
            finished = int(done.sum())
            progress(0.2 + 0.75 * step / cap, desc=f"Pen step {step} (at most {cap}); {finished} of {n_lines} "
                                                   f"lines done")
    return on_step


def write_lines(state: AppState, make_specs, seed, dpi, align, checkpoint, progress, look=(),
                candidates=DEFAULT_CANDIDATES, own=None) -> outputs.WriteResult:
    """Line mode, shared by the UI and /write, /write_text: parse, load the model, write, warn.
    `look`: (size, line_spacing, paper, rule_pitch, rule_color), each blank for the default;
    `candidates`: N per line for the legibility check (1: off); `own`: the session's own styles."""
    return run_to_end(write_lines_live(state, make_specs, seed, dpi, align, checkpoint, look, candidates,
                                       progress=progress, every=None, own=own))


def write_lines_live(state: AppState, make_specs, seed, dpi, align, checkpoint, look=(),
                     candidates=DEFAULT_CANDIDATES, progress=no_progress, every: int | None = LIVE_EVERY, own=None):
    """write_lines, as a generator: it yields a scribe.hand.LiveInk (the ink so far) every `every` pen
    steps and returns the WriteResult (scribe.web.live turns this into page updates). Closing it stops
    the sampling loop. every=None: no live ink; `progress` then moves with the pen steps."""
    try:
        specs, notes = make_specs()
        seed, dpi, align = forms.parse_seed(seed), forms.parse_dpi(dpi), forms.parse_align(align)
        candidates = forms.parse_candidates(candidates)
        size, spacing, paper, pitch, rule = (tuple(look) + (None,) * 5)[:5]
        layout, paper = forms.line_look(size, spacing, align, paper, pitch, rule)
        progress(0.05, desc="Loading the model")
        hand = state.hand(checkpoint, own)
        n = sum(1 for s in specs if s.text.strip())
        progress(0.2, desc=f"Writing {n} line{'s' if n != 1 else ''}")
        result = yield from outputs.write_files_live(
            hand, specs, seed, dpi, align, state.max_steps, notes=notes, layout=layout, paper=paper,
            embed_styles=state.own_style_ids(own), candidates=candidates,
            on_step=step_progress(progress, n) if every is None else None, every=every,
            budget=state.max_request_cost)
    except Exception as e:   # every failure becomes a message; never a stack trace in the page
        raise as_gr_error(e) from e
    for note in result.notes:
        warn(note)
    return result


def write_paragraph_live(state: AppState, text, style, bias, color, width, look, seed, dpi, checkpoint,
                         candidates=DEFAULT_CANDIDATES, own=None, every: int | None = LIVE_EVERY):
    """Paragraph mode for the page, as a generator of the LiveInk of the lines being written (a chunk of
    wrapped lines at a time); it returns the PagesResult. `look`: forms.paragraph_look's arguments.
    Closing it stops the sampling loop."""
    try:
        layout, sheet = forms.paragraph_look(*look)
        hand = state.hand(checkpoint, own)
        result = yield from outputs.write_paragraph_files_live(
            hand, text, style, bias, color, width, layout, seed, dpi, state.max_steps,
            forms.parse_candidates(candidates), paper=sheet, every=every, budget=state.max_request_cost)
    except Exception as e:   # every failure becomes a message; never a stack trace in the page
        raise as_gr_error(e) from e
    for note in result.notes:
        warn(note)
    return result


def legibility_dict(check) -> dict:
    """The check's result for an API caller (the same dict whether or not the check ran)."""
    return check.to_dict() if check is not None else {"candidates": 1, "ran": False, "lines_checked": 0}


def made_style(state: AppState, checkpoint, ink, text, upload, own=None):
    """Make a style from the user's ink and keep it as theirs (state.keep_style: their session, or
    user_styles/ and every menu): (UserStyle, id, files to download, preview file, the session's styles)."""
    style = outputs.own_style(state.hand(checkpoint), ink, text, upload)
    sid, own = state.keep_style(style.text, style.offsets, own)
    files, preview = outputs.style_files(sid, style, state.own_styles(own) if state.in_session(sid, own) else None)
    return style, sid, files, preview, own


def loaded_styles(state: AppState, checkpoint, uploads, own=None) -> tuple[list[int], str, object]:
    """Styles uploaded again (your-styles.zip, or style files): kept as the user's own, all or none,
    checked against the model's alphabet. Returns (their ids, a summary, the session's styles)."""
    hand = state.hand(checkpoint)
    styles = outputs.read_style_uploads(uploads)
    for st in styles:
        try:
            hand.alphabet.clean(st.text)
        except ValueError as e:
            raise StyleError(f"style {st.style_id}'s text uses characters this model cannot write: "
                             f"{', '.join(repr(c) for c in sorted(getattr(e, 'unknown', [])))}") from None
    ids, own = state.keep_styles([(st.text, st.offsets) for st in styles], own)
    session = [i for i in ids if state.in_session(i, own)]
    if len(session) == len(ids):
        where = "for this browser session"
    elif not session:
        where = f"in {state.user_dir.name}/"
    else:
        where = f"in {state.user_dir.name}/ ({', '.join(map(str, session))} for this browser session only)"
    return ids, (f"Loaded {len(ids)} style{'s' if len(ids) != 1 else ''} {where}: "
                 f"{', '.join(map(str, ids))}"), own


def document_specs(state: AppState, document, checkpoint, own=None):
    """A saved document's specs, its own ink styles kept as the user's (capped: all or none), and the
    hand that sees them: (specs, hand, the session's styles)."""
    embedded = list(document.embedded.values())
    ids, own = state.keep_styles([(e.text, e.offsets) for e in embedded], own) if embedded else ([], own)
    given = {(e.text, e.offsets.tobytes()): i for e, i in zip(embedded, ids)}
    specs = document.resolved_specs(None, keep=lambda text, offsets: given[(text, offsets.tobytes())])
    return specs, state.hand(checkpoint, own), own


# ---- the endpoints ---------------------------------------------------------------------------------
def add_api(state: AppState, mine: gr.State) -> None:
    """Register every named endpoint on the Blocks being built. `mine`: the session's own styles (a
    gr.State; kept per session when the app is served beyond this machine), read by every write and
    updated by /make_style and /load_styles. API clients never see it: gradio_client keeps one session
    per Client, so a style made through one Client writes through the same Client."""
    conc = state.conc
    with gr.Column(visible=False):
        lines = gr.JSON(value=[{"text": "Hello world", "style": None, "bias": DEFAULT_BIAS}], label="lines")
        text = Text(value="Hello world", label="text")
        style = Number(value=None, precision=0, label="style")
        bias = Number(value=DEFAULT_BIAS, label="bias")
        color = Text(value=forms.DEFAULT_COLOR, label="color")
        width = Number(value=forms.DEFAULT_WIDTH, label="width")
        wrap = Number(value=forms.DEFAULT_WRAP, precision=0, label="wrap_at")
        seed = Number(value=None, precision=0, label="seed")
        dpi = Number(value=forms.DEFAULT_DPI, label="png_dpi")
        align = Text(value="left", label="align")
        ckpt = Text(value="", label="checkpoint")
        cands = Number(value=DEFAULT_CANDIDATES, precision=0, label="candidates")
        paper = Text(value="a4", label="paper")
        landscape = Flag(False, label="landscape")
        margin = Number(value=forms.PLOTTER_MARGIN_MM, label="margin_mm")
        up = Text(value=GcodeOptions.pen_up, label="pen_up")
        down = Text(value=GcodeOptions.pen_down, label="pen_down")
        feed = Number(value=GcodeOptions.draw_feed, label="draw_feed")
        travel = Number(value=0, label="travel_feed")
        origin = Text(value="bottom-left", label="origin")
        units = Text(value="mm", label="units")
        speed = Number(value=1.0, label="speed")
        loop = Flag(False, label="loop")
        gif = Flag(False, label="gif")
        page = Text(value="a4", label="page")
        p_margin = Number(value=forms.PARAGRAPH_MARGIN_MM, label="margin_mm")
        line_w = Number(value=0, label="width_mm")
        size = Number(value=DEFAULT_SIZE_MM, label="size_mm")
        spacing = Number(value=DEFAULT_LINE_SPACING, label="line_spacing")
        variation = Number(value=0, label="variation")
        ink = Text(value="", label="ink")
        ink_text = Text(value="", label="text")     # blank: the file's own transcription
        ink_file = gr.File(label="file", type="filepath")
        o_svg, o_png = gr.File(label="svg"), gr.File(label="png")
        o_plot, o_gcode = gr.File(label="plotter_svg"), gr.File(label="gcode")
        o_anim, o_gif = gr.File(label="animated_svg"), gr.File(label="gif")
        o_svgs = gr.File(label="svg_pages", file_count="multiple")
        o_pngs = gr.File(label="png_pages", file_count="multiple")
        o_sid = gr.Number(label="style_id", precision=0)
        o_sfiles = gr.File(label="style_files", file_count="multiple")
        o_spreview = gr.File(label="preview_svg")
        o_seed, o_summary = gr.Number(label="seed_used", precision=0), gr.Textbox(label="summary")
        w_size = Text(value="", label="size")                 # mm, or "24px"; blank: the default
        w_spacing = Number(value=None, label="line_spacing")
        w_paper = Text(value="", label="paper")               # plain, ruled, grid, dotted; blank: none
        w_pitch = Number(value=0, label="rule_pitch")
        w_rule = Text(value="", label="rule_color")
        document = Text(value="", label="document")
        o_pdf, o_doc = gr.File(label="pdf"), gr.File(label="document")
        o_check = gr.JSON(label="legibility")
        o_page, o_status = gr.Textbox(label="page_svg"), gr.Textbox(label="status")
        w_live = Text(value=live_ink.DEFAULT_LIVE, label="live")
        style_uploads = gr.File(label="files", file_count="multiple", type="filepath")
        o_sids, o_info = gr.JSON(label="style_ids"), gr.JSON(label="info")
        btns = {n: gr.Button(n) for n in ("write", "write_text", "plotter", "animated", "paragraph", "style",
                                          "pdf", "paragraph_pdf", "document", "live", "paragraph_live", "load_styles",
                                          "info")}
        look_in = [w_size, w_spacing, w_paper, w_pitch, w_rule]

    # ---- line mode ----
    def api_write(lines, seed=None, png_dpi=None, align=None, checkpoint=None, size=None, line_spacing=None,
                  paper=None, rule_pitch=None, rule_color=None, candidates=DEFAULT_CANDIDATES, own=None):
        r = write_lines(state, lambda: forms.specs_from_rows(lines), seed, png_dpi, align, checkpoint, no_progress,
                        (size, line_spacing, paper, rule_pitch, rule_color), candidates, own)
        return str(r.svg_path), str(r.png_path), r.seed, r.summary(), legibility_dict(r.legibility)

    def api_write_text(text, style=None, bias=None, color=None, width=None, wrap_at=None, seed=None, png_dpi=None,
                       align=None, checkpoint=None, size=None, line_spacing=None, paper=None, rule_pitch=None,
                       rule_color=None, candidates=DEFAULT_CANDIDATES, own=None):
        r = write_lines(state, lambda: forms.specs_from_block(text, style, bias, color, width, wrap_at),
                        seed, png_dpi, align, checkpoint, no_progress, (size, line_spacing, paper, rule_pitch, rule_color),
                        candidates, own)
        return str(r.svg_path), str(r.png_path), r.seed, r.summary(), legibility_dict(r.legibility)

    def api_write_pdf(lines, seed=None, align=None, checkpoint=None, size=None, line_spacing=None, paper=None,
                      rule_pitch=None, rule_color=None, own=None):
        r = write_lines(state, lambda: forms.specs_from_rows(lines), seed, None, align, checkpoint, no_progress,
                        (size, line_spacing, paper, rule_pitch, rule_color), own=own)
        return str(r.pdf_path), str(r.document_path), r.seed, r.summary()

    @guarded
    def api_write_document(document, png_dpi=None, checkpoint=None, own=None):
        doc = outputs.document_from_text(document)
        specs, hand, own = document_specs(state, doc, checkpoint, own)
        r = outputs.write_document_files(hand, doc, png_dpi, max_steps=state.max_steps, specs=specs,
                                         budget=state.max_request_cost)
        for note in r.notes:
            warn(note)
        return str(r.svg_path), str(r.png_path), str(r.pdf_path), r.seed, r.summary(), own

    file_out = [o_svg, o_png, o_seed, o_summary, o_check]
    btns["write"].click(api_write, [lines, seed, dpi, align, ckpt] + look_in + [cands, mine], file_out,
                        api_name="write",
                        api_description="Write several lines, each with its own text, style (id or null), bias, "
                                        "color and width; size (mm, or '24px'), line_spacing, paper "
                                        "(plain/ruled/grid/dotted, PNG only), rule_pitch (mm; sets the spacing), "
                                        "rule_color; `candidates` N (1-16) per line for the legibility check "
                                        "(1: off). Returns the SVG file, the PNG file, the seed used, a one-line "
                                        "summary and the check's result (lines_checked, cer, poor_lines as "
                                        "1-based numbers, skipped).", **conc)
    btns["pdf"].click(api_write_pdf, [lines, seed, align, ckpt] + look_in + [mine], [o_pdf, o_doc, o_seed, o_summary],
                      api_name="write_pdf",
                      api_description="Write lines (as /write) and return one PDF (paper behind the ink if "
                                      "asked), the saved document (JSON: write it again with /write_document), "
                                      "the seed and a summary.", **conc)
    btns["document"].click(api_write_document, [document, dpi, ckpt, mine],
                           [o_svg, o_png, o_pdf, o_seed, o_summary, mine],
                           api_name="write_document",
                           api_description="Write a saved document (its JSON text) again: the same seed and "
                                           "checkpoint give the same ink. Returns SVG, PNG, PDF, seed, summary.",
                           **conc)
    btns["write_text"].click(api_write_text, [text, style, bias, color, width, wrap, seed, dpi, align, ckpt] + look_in
                             + [cands, mine],
                             file_out, api_name="write_text",
                             api_description="Write one block of text (split on newlines, wrapped at wrap_at "
                                             "characters) in one style and bias; `candidates` as in /write. "
                                             "Returns the SVG file, the PNG file, the seed used, a summary and "
                                             "the legibility check's result.", **conc)

    def live_mode(live) -> str:
        mode = str(live or live_ink.DEFAULT_LIVE).strip().lower()
        if mode not in live_ink.LIVE_MODES + (ADDED,):
            raise as_gr_error(InputError(f"live must be one of {', '.join(live_ink.LIVE_MODES + (ADDED,))}, not "
                                         f"{str(live)[:20]!r}"))
        return mode

    def api_write_live(lines, seed=None, png_dpi=None, align=None, checkpoint=None, size=None, line_spacing=None,
                       paper=None, rule_pitch=None, rule_color=None, candidates=DEFAULT_CANDIDATES,
                       live=live_ink.DEFAULT_LIVE, own=None):
        mode = live_mode(live)
        writing = write_lines_live(state, lambda: forms.specs_from_rows(lines), seed, png_dpi, align, checkpoint,
                                   (size, line_spacing, paper, rule_pitch, rule_color), candidates, own=own)
        added = mode == ADDED       # only the strokes new since the last update (live_ink.InkFeed)
        for u in live_ink.live_updates(writing, "strokes" if added else mode, incremental=added):
            r = u.result
            if r is None:
                yield u.svg or u.added, u.status, None, None, None, "", None
            else:
                yield (r.svg, u.status, str(r.svg_path), str(r.png_path), r.seed, r.summary(),
                       legibility_dict(r.legibility))

    btns["live"].click(api_write_live, [lines, seed, dpi, align, ckpt] + look_in + [cands, w_live, mine],
                       [o_page, o_status, o_svg, o_png, o_seed, o_summary, o_check], api_name="write_live",
                       api_description="/write, streamed while it is written: every update has the page so far "
                                       "as SVG text (null when no new ink since the last update) and a status "
                                       "line; the last one also has the SVG and PNG files, the seed, a summary "
                                       "and the legibility check's result. `live`: 'strokes' (each stroke once "
                                       "the pen lifts), 'lines' (each line once it is finished) or 'added' (the "
                                       "empty page first, then only the strokes new since the last update, as "
                                       "<g data-line=\"n\"> groups of <path> to append to that page's "
                                       "<g id=\"line-n\">: the bytes sent do not grow with the page). "
                                       "Cancelling the job stops the sampling loop.", **conc)

    def info(own=None) -> dict:
        """The checkpoints, style ids (with the caller's own) and limits this server offers."""
        return {"checkpoints": [{"label": l, "file": state.checkpoint_name(p)} for l, p in state.choices()],
                "default_checkpoint": state.checkpoint_name(state.default) if state.default else None,
                "styles": sorted(set(state.bank.ids if state.bank else []) | set(own.ids if own is not None else [])),
                "limits": {"max_lines": MAX_LINES, "max_chars_per_line": MAX_CHARS_PER_LINE,
                           "bias_range": list(BIAS_RANGE), "dpi_range": list(forms.DPI_RANGE),
                           "width_range": list(forms.WIDTH_RANGE), "max_steps": state.max_steps,
                           "candidates_range": [MIN_CANDIDATES, MAX_CANDIDATES],
                           "default_candidates": DEFAULT_CANDIDATES,
                           "max_user_styles": state.s.max_user_styles},
                "own_styles": "per session" if state.private else
                (f"shared, in {state.user_dir.name}/ (when it is full: per session)")}

    btns["info"].click(info, [mine], o_info, api_name="info", queue=False,
                       api_description="The checkpoints (by file name: pass one as `checkpoint`), the style ids "
                                       "(the bank's and your own), the limits, and where your own styles are "
                                       "kept.")

    # ---- the features ----
    @guarded
    def write_plotter(lines, seed=None, align=None, checkpoint=None, paper=None, landscape=False,
                      margin_mm=None, pen_up=None, pen_down=None, draw_feed=None, travel_feed=None,
                      origin=None, units=None, own=None):
        p = forms.plotter_options(paper, landscape, margin_mm)
        g = forms.gcode_options(pen_up, pen_down, draw_feed, travel_feed, origin, units)
        pages, used, summary = outputs.write_pages(state.hand(checkpoint, own), lines, seed, align, state.max_steps)
        svgs, codes = outputs.plotter_files(pages, p, g, stem=f"handwriting-{used}")
        return str(svgs[0]), str(codes[0]), used, summary

    btns["plotter"].click(write_plotter, [lines, seed, align, ckpt, paper, landscape, margin, up, down, feed,
                                          travel, origin, units, mine], [o_plot, o_gcode, o_seed, o_summary],
                          api_name="write_plotter",
                          api_description="Write lines (as /write) and return a plotter SVG (mm units, page "
                                          "preset a4/a5/letter, margin, one Inkscape layer per colour, strokes "
                                          "only) and a G-code program (pen_up/pen_down commands, '|' between "
                                          "several; draw_feed and travel_feed in mm/min, 0 = rapid; origin; "
                                          "units mm/in), the seed and a summary.", **conc)

    @guarded
    def write_animated(lines, seed=None, align=None, checkpoint=None, speed=None, loop=False, gif=False, own=None):
        options, _ = forms.animation_options(speed, loop), forms.parse_flag(gif, "gif")
        pages, used, summary = outputs.write_pages(state.hand(checkpoint, own), lines, seed, align, state.max_steps)
        files = outputs.animation_files(pages[0], options, gif=forms.parse_flag(gif, "gif"),
                                        stem=f"handwriting-{used}")
        return str(files[0]), (str(files[1]) if len(files) > 1 else None), used, summary

    btns["animated"].click(write_animated, [lines, seed, align, ckpt, speed, loop, gif, mine],
                           [o_anim, o_gif, o_seed, o_summary], api_name="write_animated",
                           api_description="Write lines (as /write) and return an animated SVG of the pen "
                                           "writing them (SMIL; speed 1 = natural pace, 0.1-20; loop), a GIF of "
                                           "the same when gif is true (else null), the seed and a summary.",
                           **conc)

    def paragraph_result(text, style, bias, color, width, page, margin_mm, width_mm, size_mm, line_spacing, align,
                         variation, seed, png_dpi, checkpoint, paper, rule_pitch, rule_color, candidates=1, own=None):
        layout, sheet = forms.paragraph_look(page, margin_mm, width_mm, size_mm, line_spacing, align, variation,
                                             paper, rule_pitch, rule_color)
        return outputs.write_paragraph_files(state.hand(checkpoint, own), text, style, bias, color, width, layout, seed,
                                             png_dpi, state.max_steps, forms.parse_candidates(candidates),
                                             paper=sheet, budget=state.max_request_cost)

    @guarded
    def write_paragraph(text, style=None, bias=None, color=None, width=None, page=None, margin_mm=None,
                        width_mm=None, size_mm=None, line_spacing=None, align=None, variation=None, seed=None,
                        png_dpi=None, checkpoint=None, paper=None, rule_pitch=None, rule_color=None,
                        candidates=DEFAULT_CANDIDATES, own=None):
        r = paragraph_result(text, style, bias, color, width, page, margin_mm, width_mm, size_mm, line_spacing,
                             align, variation, seed, png_dpi, checkpoint, paper, rule_pitch, rule_color, candidates,
                             own)
        return ([str(p) for p in r.svg_files], [str(p) for p in r.png_files], r.seed, r.summary(),
                legibility_dict(r.legibility))

    @guarded
    def write_paragraph_pdf(text, style=None, bias=None, color=None, width=None, page=None, margin_mm=None,
                            width_mm=None, size_mm=None, line_spacing=None, align=None, variation=None, seed=None,
                            checkpoint=None, paper=None, rule_pitch=None, rule_color=None, own=None):
        r = paragraph_result(text, style, bias, color, width, page, margin_mm, width_mm, size_mm, line_spacing,
                             align, variation, seed, None, checkpoint, paper, rule_pitch, rule_color, own=own)
        return str(r.pdf_file), r.seed, r.summary()

    para_in = [text, style, bias, color, width, page, p_margin, line_w, size, spacing, align, variation, seed]
    paper_in = [w_paper, w_pitch, w_rule]
    btns["paragraph_pdf"].click(write_paragraph_pdf, para_in + [ckpt] + paper_in + [mine], [o_pdf, o_seed, o_summary],
                                api_name="write_paragraph_pdf",
                                api_description="Paragraph mode (as /write_paragraph) as one PDF with a page per "
                                                "page (paper: plain/ruled/grid/dotted behind the ink; rule_pitch "
                                                "mm sets the line spacing), the seed and a summary.", **conc)
    btns["paragraph"].click(write_paragraph, para_in + [dpi, ckpt] + paper_in + [cands, mine],
                            [o_svgs, o_pngs, o_seed, o_summary, o_check], api_name="write_paragraph",
                            api_description="Paragraph mode: wrap long text to the line width in the hand's own "
                                            "measure, blank lines as paragraph breaks, on pages (page "
                                            "a4/a5/letter or 'none'; margin_mm; width_mm 0 = the page inside its "
                                            "margins; size_mm the writing size; line_spacing in ink heights; "
                                            "align; variation 0-2; candidates as in /write). Returns the SVG "
                                            "pages, the PNG pages, the seed, a summary and the legibility "
                                            "check's result (per wrapped line).", **conc)

    def api_write_paragraph_live(text, style=None, bias=None, color=None, width=None, page=None, margin_mm=None,
                                 width_mm=None, size_mm=None, line_spacing=None, align=None, variation=None,
                                 seed=None, png_dpi=None, checkpoint=None, paper=None, rule_pitch=None,
                                 rule_color=None, candidates=DEFAULT_CANDIDATES, live=live_ink.DEFAULT_LIVE,
                                 own=None):
        mode = live_mode(live)
        look = (page, margin_mm, width_mm, size_mm, line_spacing, align, variation, paper, rule_pitch, rule_color)
        writing = write_paragraph_live(state, text, style, bias, color, width, look, seed, png_dpi, checkpoint,
                                       candidates, own)
        added = mode == ADDED       # only the strokes new since the last update (live_ink.InkFeed)
        for u in live_ink.live_updates(writing, "strokes" if added else mode, incremental=added):
            r = u.result
            if r is None:
                yield u.svg or u.added, u.status, None, None, None, "", None
            else:   # the finished pages are the files
                yield (None, u.status, [str(f) for f in r.svg_files], [str(f) for f in r.png_files], r.seed,
                       r.summary(), legibility_dict(r.legibility))

    btns["paragraph_live"].click(api_write_paragraph_live, para_in + [dpi, ckpt] + paper_in + [cands, w_live, mine],
                                 [o_page, o_status, o_svgs, o_pngs, o_seed, o_summary, o_check],
                                 api_name="write_paragraph_live",
                                 api_description="/write_paragraph, streamed while it is written: every update "
                                                 "has the lines being written (up to 12 wrapped lines at a time, "
                                                 "as SVG text; null when no new ink since the last update) and a "
                                                 "status line; the last one has no page but the SVG pages, the "
                                                 "PNG pages, the seed, a summary and the legibility check's "
                                                 "result. `live`: 'strokes', 'lines' or 'added', as in /write_live "
                                                 "('added': each chunk of lines starts with its own empty page). "
                                                 "Cancelling the job stops the sampling loop.", **conc)

    @guarded
    def make_style_api(ink=None, text=None, file=None, checkpoint=None, own=None):
        style, sid, files, preview, own = made_style(state, checkpoint, ink, text, file, own)
        where = " (kept for this session only: the last file, your-styles.zip, holds all of yours)" \
            if state.in_session(sid, own) else ""
        summary = f"Saved your style as style {sid}: {style.text!r}{where}"
        return sid, [str(f) for f in files], str(preview), summary, own

    btns["style"].click(make_style_api, [ink, ink_text, ink_file, ckpt, mine],
                        [o_sid, o_sfiles, o_spreview, o_summary, mine],
                        api_name="make_style",
                        api_description="Make a style from your own ink: `ink` is canvas JSON "
                                        "([[{x,y,t}...]...], [[[x,y]...]...] or {strokes, text}) or `file` an "
                                        "InkML / IAM-OnDB XML upload; `text` is what it says. Saves it in the "
                                        "server's user style folder (or for this session: see /info's "
                                        "own_styles) and returns its id (use it as `style` in "
                                        "/write), its two style files, a preview SVG and a summary.", **conc)

    @guarded
    def load_styles_api(files=None, checkpoint=None, own=None):
        ids, summary, own = loaded_styles(state, checkpoint, files, own)
        return ids, summary, own

    btns["load_styles"].click(load_styles_api, [style_uploads, ckpt, mine], [o_sids, o_summary, mine],
                              api_name="load_styles",
                              api_description="Upload your own styles again: `files` are your-styles.zip (from "
                                              "/make_style or the app) or style-N-chars.npy / style-N-strokes.npy "
                                              "pairs. Returns the ids they have now (use them as `style`) and a "
                                              "summary.", **conc)
