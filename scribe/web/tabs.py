"""The page, one builder per part. Each builder places its components where it is called, registers
the fields a write reads by name (scribe.web.fields: "settings.seed", "quick.text", ...) and returns the
rest as a small dataclass; each `wire_*` connects one part's events, its handler reading its values by
name. Every tab writes through `wire_write` (api.write_lines_live or api.write_paragraph_live, streamed
through scribe.web.live, with a Stop button that cancels it) and shows the result with `page_updates`;
errors become messages through api.guarded / api.as_gr_error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from ..candidates import APP_CANDIDATES
from ..request import MAX_CANDIDATES, MIN_CANDIDATES
from ..errors import InputError, ScribeError
from ..request import BIAS_RANGE, DEFAULT_BIAS, LIKENESS_RANGE, MAX_CHARS_PER_LINE, MAX_LINES
from ..render.page import DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM, LINE_SPACING_RANGE, MM_PER_PX, Page
from ..render.paper import PaperOptions
from ..render.plotter import ORIGINS, GcodeOptions
from . import forms, live, outputs, views
from .fields import Fields, on
from .api import (document_specs, guarded, loaded_styles, made_style, warn, write_document_again,
                  write_lines_live, write_paragraph_live)
from .api import open_document as open_document_files
from .assets import (CANVAS_CSS, CANVAS_HTML, CANVAS_JS, CLEAR_CANVAS_JS, LINE_EXAMPLES, LIVE_PREVIEW_JS,
                     QUICK_EXAMPLES, READ_CANVAS_JS)
from .state import AppState

INK_UPLOAD_TYPES = [".inkml", ".xml", ".json"]
STYLE_UPLOAD_TYPES = [".zip", ".npy"]
STOP_WAIT_S = 10.0         # Stop's message waits at most this long for the write to end (wire_write)
PRIVATE = dict(api_visibility="private")      # the UI's own events; the named API is in endpoints.py


# ---- what every write shows, and the one write/stop wiring every tab uses -----------------------------
@dataclass
class Outputs:
    """The result column: every write fills these (page_updates)."""
    preview: gr.HTML
    svg: gr.DownloadButton
    png: gr.DownloadButton
    seed_used: gr.Textbox
    status: gr.Markdown
    pages: gr.State          # the laid-out pages, for plotter files and the animation
    pdf: gr.DownloadButton
    document: gr.DownloadButton    # the saved document (JSON) that writes this again

    def all(self) -> list:
        return [self.preview, self.svg, self.png, self.seed_used, self.status, self.pages, self.pdf, self.document]


def result_preview(r: outputs.Written) -> str:
    """A finished write's preview: the page (line mode) or the pages (paragraphs), on their paper."""
    if r.paragraph:
        return views.pages_preview_html(r.pages, r.paper)
    return views.preview_html(r.shown_svg())


def page_updates(state: AppState, out: Outputs, r: outputs.Written) -> dict:
    """A finished write, of either mode, as updates of the result column."""
    svg, png = (outputs.one_file(r.svg_files, f"paragraph-{r.seed}-svg.zip"),
                outputs.one_file(r.png_files, f"paragraph-{r.seed}-png.zip"))
    pdf, document = r.pdf_file, r.document_file
    path = lambda f: str(f) if f else None     # noqa: E731
    return {out.preview: result_preview(r), out.svg: path(svg), out.png: path(png), out.seed_used: r.seed,
            out.status: state.shown(r.summary()), out.pages: r.pages, out.pdf: path(pdf), out.document: path(document)}


def live_page_updates(state: AppState, out: Outputs, writing, request: gr.Request | None = None):
    """The result column while a write runs (scribe.web.live): the page so far and the status, then
    page_updates once it is done. The first update clears the last write's files and seed: they no
    longer match the page on show. `request`: its session's Stop waits for this write's end."""
    first = True
    for u in live.live_updates(writing, session=getattr(request, "session_hash", None), on_paper=True,
                               running=state.running, incremental=True):
        if u.result is not None:
            yield page_updates(state, out, u.result)
            continue
        shown = {out.status: u.status}
        if u.svg or u.added:     # the empty page once, then only the strokes new since (LIVE_PREVIEW_JS)
            shown[out.preview] = views.live_preview_html(u.svg, u.added, u.live_id)
        if first:
            first = False
            shown.update({out.svg: None, out.png: None, out.seed_used: "", out.pages: None, out.pdf: None,
                          out.document: None})
        yield shown


def wire_write(state: AppState, out: Outputs, triggers, stop: gr.Button, start, inputs: dict) -> None:
    """Every tab's write and its Stop: `start(values)` (values by name: `inputs`' names) returns the write,
    a generator from scribe.web.api (write_lines_live, write_paragraph_live), shown as it runs.

    Stop cancels the running write (its sampling loop stops: scribe.web.live) and says where. Its message
    goes through the queue once the session's write has ended (live.Running): the queue sends a session's
    messages in order, so no update of the stopped write can land after it."""
    def write_ui(v):
        yield from live_page_updates(state, out, start(v), v.request)

    writing = on(triggers, write_ui, inputs, out.all(), show_progress_on=[out.preview], show_progress="minimal",
                 **PRIVATE, **state.conc)

    def stopped(v):
        state.running.wait(getattr(v.request, "session_hash", None), STOP_WAIT_S)
        return live.stopped_status(v.status) or gr.skip()

    on(stop.click, stopped, {"status": out.status}, out.status, cancels=[writing], concurrency_limit=None,
       **PRIVATE)


@dataclass
class Links:
    """What every tab's events read beyond their own part: the settings (by name), the result column and
    the session's own styles. The line rows' events are wired in gr.render, which runs when a page loads,
    after the whole layout exists, so `settings` and `out` are set by then."""
    mine: gr.State                 # the session's own styles (scribe.web.state)
    load: object = None            # the page's load event (demo.load)
    settings: dict | None = None   # SettingsPanel.fields: seed, png_dpi, align, checkpoint, candidates, paper, ...
    out: Outputs | None = None
    chart: gr.HTML | None = None   # the chart of styles (SettingsPanel.chart)

    def write_inputs(self, part: dict) -> dict:
        """One tab's fields, the settings every write reads, and the session's own styles, by name."""
        return {**part, **self.settings, "own": self.mine}


def size_controls(prefix: str) -> tuple[gr.Textbox, gr.Slider]:
    """Writing size and line spacing, with the one set of defaults (scribe.render.page)."""
    with gr.Row():
        # interactive: the Lines tab's events read them from inside gr.render, which Gradio cannot see upfront
        size = gr.Textbox(f"{DEFAULT_SIZE_MM:g}", label="Writing size (mm)", info="mm, or px at 96 dpi: 24px",
                          min_width=120, elem_id=f"scribe-{prefix}-size", interactive=True)
        spacing = gr.Slider(*LINE_SPACING_RANGE, value=DEFAULT_LINE_SPACING, step=0.05, interactive=True,
                            label="Line spacing (writing sizes)", min_width=160, elem_id=f"scribe-{prefix}-spacing")
    return size, spacing


# ---- the Lines tab ---------------------------------------------------------------------------------
@dataclass
class LinesTab:
    rows: gr.State
    add: gr.Button
    write: gr.Button
    size: gr.Textbox | None = None
    spacing: gr.Slider | None = None
    open_doc: gr.UploadButton | None = None
    stop: gr.Button | None = None
    again: gr.Button | None = None         # the opened document written again from its seed
    opened: gr.State | None = None         # the opened document's JSON text


ROW_FIELDS = forms.ROW_KEYS     # a line row's fields (forms.specs_from_rows)


def _line_row(state: AppState, n: int, r: dict, own=None) -> tuple[dict, gr.Button]:
    """One line's controls, built from the row's stored values: ({field: control}, its remove button).
    `own`: the session's own styles, offered in its menu too."""
    bank = state.bank_for(own)
    rid = r["id"]
    with gr.Group(key=f"group-{rid}"):
        with gr.Row(key=f"row1-{rid}", equal_height=True):
            text = gr.Textbox(r["text"], key=f"text-{rid}", label=f"Line {n}", interactive=True, scale=8,
                              placeholder=f"Text of line {n} (up to {MAX_CHARS_PER_LINE} characters)",
                              elem_classes="scribe-line-text")
            remove = gr.Button("✕", key=f"remove-{rid}", size="sm", scale=0, min_width=44,
                               elem_classes="scribe-remove")
        # style and its preview get a row of their own, so that the preview is wide enough to read
        with gr.Row(key=f"row2-{rid}", equal_height=True):
            style = gr.Dropdown(state.style_menu(own), value=r["style"], key=f"style-{rid}", label="Style",
                                interactive=True, min_width=190, scale=2, elem_classes="scribe-line-style")
            look = gr.HTML(views.style_row_preview(bank, r["style"]), key=f"look-{rid}", min_width=220,
                           scale=3, elem_classes="scribe-look")
        with gr.Row(key=f"row3-{rid}", equal_height=True):
            bias = gr.Slider(*BIAS_RANGE, value=r["bias"], step=0.05, key=f"bias-{rid}", label="Neatness (bias)",
                             interactive=True, min_width=160, scale=1)
            likeness = gr.Slider(**_likeness_look(r.get("likeness")), key=f"likeness-{rid}", min_width=160, scale=1,
                                 elem_classes="scribe-line-likeness")
        with gr.Row(key=f"row4-{rid}", equal_height=True):
            color = gr.ColorPicker(r["color"], key=f"color-{rid}", label="Ink", interactive=True, min_width=70,
                                   scale=1)
            width = gr.Slider(0.3, 6.0, value=r["width"], step=0.1, key=f"width-{rid}", label="Stroke (px)",
                              interactive=True, min_width=140, scale=4)

    def style_chosen(choice):      # the preview, and the likeness the new style starts from
        return views.style_row_preview(bank, choice), gr.update(**_likeness_look(state.likeness_of(choice, own)))

    style.change(style_chosen, style, [look, likeness], show_progress="hidden", concurrency_limit=None, **PRIVATE)
    return dict(text=text, style=style, bias=bias, color=color, width=width, likeness=likeness), remove


def _likeness_slider(state: AppState, style: gr.Dropdown, first_style, elem_id: str) -> gr.Slider:
    """A one-pen tab's likeness slider, moved to each style's own as the style is picked."""
    slider = gr.Slider(**_likeness_look(state.likeness_of(first_style)), min_width=160, elem_id=elem_id)
    # a session's own styles have no fitted hand: looked up in the shared bank, they lock the slider
    style.change(lambda choice: gr.update(**_likeness_look(state.likeness_of(choice))), style, slider,
                 show_progress="hidden", concurrency_limit=None, **PRIVATE)
    return slider


def asked_likeness(state: AppState, style, value, own=None):
    """The likeness a slider asks for: its value, or nothing where it is locked (the style has no fitted
    hand to scale)."""
    return None if state.likeness_of(style, own) is None else value


def _likeness_look(value: float | None) -> dict:
    """The likeness slider of a row whose style's own likeness is `value` (None: no fitted hand to scale)."""
    return dict(minimum=LIKENESS_RANGE[0], maximum=LIKENESS_RANGE[1], step=0.05,
                value=1.0 if value is None else value, interactive=value is not None, label="Likeness",
                info=_likeness_info(value))


def _likeness_info(value: float | None) -> str:
    if value is None:
        return "no fitted hand"
    if value >= LIKENESS_RANGE[1]:
        return "1 = all of the writer's hand"
    return f"{value:g} keeps it legible; 1 = all"


def lines_tab(state: AppState, first_style: str, links: Links) -> LinesTab:
    # Gradio 6.31 does not carry typed values across a re-render (key=/preserved_by_key is not applied
    # by its frontend: gradio-app/gradio#12788), so adding or removing a line reads every row's current
    # values and stores them in `rows`, from which the re-render builds the rows again.
    def remove_row(rid, rows_now):
        left = [r for r in rows_now if r["id"] != rid]
        return left or [state.new_row()]

    def add_row(rows_now, own=None):
        if len(rows_now) >= MAX_LINES:
            gr.Warning(f"A document has at most {MAX_LINES} lines.")
            return gr.skip()
        last = rows_now[-1] if rows_now else {}
        return rows_now + [state.new_row("", last.get("style"), last.get("bias", DEFAULT_BIAS),
                                         last.get("color"), last.get("width"), own, last.get("likeness"))]

    def load_example(doc):
        missing = sorted({r["style"] for r in doc if r.get("style") is not None
                          and state.style_value(r["style"]) == forms.FREE_STYLE})
        if missing:
            gr.Warning(f"This style bank has no style {', '.join(map(str, missing))}; those lines use the "
                       f"model's own hand.")
        return [state.new_row(r.get("text", ""), r.get("style"), r.get("bias", DEFAULT_BIAS), r.get("color"),
                              r.get("width"), likeness=r.get("likeness")) for r in doc]

    rows = gr.State([state.new_row("Hello! This line was written by a neural network.", first_style)])

    # The session's own styles are read when the rows are built, but making one does not rebuild them
    # (that would lose what is typed): rows added later offer it.
    @gr.render(inputs=[rows, links.mine], triggers=[rows.change, links.load])
    def line_rows(rows_now, own):
        controls, removes = {}, {}
        for n, r in enumerate(rows_now, start=1):
            row, removes[r["id"]] = _line_row(state, n, r, own)
            controls.update({f"{k}_{r['id']}": c for k, c in row.items()})     # by field and row id

        def on_screen(v) -> list[dict]:
            """Every row as it is on screen now, from the values by name."""
            return [{"id": rid, **{k: v[f"{k}_{rid}"] for k in ROW_FIELDS}} for rid in removes]

        edit = dict(outputs=rows, concurrency_limit=None, **PRIVATE)
        on(add.click, lambda v: add_row(on_screen(v), own), controls, **edit)
        for rid, remove in removes.items():
            on(remove.click, lambda v, rid=rid: remove_row(rid, on_screen(v)), controls, **edit)

        def start(v):
            typed = [{**{k: row[k] for k in ROW_FIELDS},
                      "likeness": asked_likeness(state, row["style"], row["likeness"], own)} for row in on_screen(v)]
            return write_lines_live(state, lambda: forms.specs_from_rows(typed), v)

        texts = [c for name, c in controls.items() if name.startswith("text_")]
        wire_write(state, links.out, [write.click] + [t.submit for t in texts], stop, start,
                   links.write_inputs({**controls, "size": size, "line_spacing": spacing}))

    size, spacing = size_controls("lines")
    with gr.Row():
        add = gr.Button("+ Add line", size="md", elem_id="scribe-add")
        write = gr.Button("Write", variant="primary", size="md", elem_id="scribe-write")
        stop = gr.Button("Stop", variant="stop", size="md", elem_id="scribe-stop")
        open_doc = gr.UploadButton("Open document", file_types=[".json"], type="filepath", size="md",
                                   elem_id="scribe-open-document")
        again = gr.Button("Write it again from its seed", size="md", interactive=False,
                          elem_id="scribe-write-again")
    doc_in = gr.JSON(visible=False, label="document")
    gr.Examples([[doc] for _, doc in LINE_EXAMPLES], inputs=[doc_in], outputs=[rows], fn=load_example,
                run_on_click=True, cache_examples=False, label="Examples",
                example_labels=[label for label, _ in LINE_EXAMPLES])
    return LinesTab(rows, add, write, size, spacing, open_doc, stop, again, gr.State(None))


def wire_open_document(state: AppState, tab: LinesTab, links: Links) -> None:
    """A saved document opens as it was written: the result column shows exactly its saved ink (no model
    runs), and the Lines tab is filled with its rows, seed, size, spacing, alignment, paper and (when
    this server has it) its checkpoint; its own ink styles are kept and offered in every menu. "Write it
    again from its seed" then samples it anew (api.write_document_again)."""
    settings, out = links.settings, links.out

    @guarded(state)
    def open_document(v):
        doc = outputs.read_document(v.upload)
        match = [label for label, p in state.choices() if doc.checkpoint and Path(p).name == doc.checkpoint]
        ckpt = match[0] if match else v.checkpoint
        if doc.checkpoint and not match and not doc.has_ink:
            warn(f"This server has no {doc.checkpoint}; the ink will differ from the saved one.", state.folders)
        specs, _, own = document_specs(state, doc, ckpt, v.own)
        written, own = open_document_files(state, {"png_dpi": v.png_dpi, "checkpoint": ckpt, "own": own}, doc)
        sheet = doc.paper
        return {**page_updates(state, out, written),
                tab.rows: [state.new_row(s.text, s.style, s.bias, s.color, s.width, own, s.likeness) for s in specs],
                settings["seed"]: str(doc.seed), tab.size: f"{doc.layout.x_height_px * MM_PER_PX:g}",
                tab.spacing: doc.layout.line_spacing, settings["align"]: doc.layout.align,
                settings["checkpoint"]: ckpt, settings["paper"]: sheet.kind if sheet else "plain",
                settings["rule_pitch"]: (sheet.pitch_mm or 0) if sheet else 0,
                settings["rule_color"]: sheet.color if sheet else PaperOptions.color, links.mine: own,
                tab.opened: doc.dumps(), tab.again: gr.update(interactive=True)}

    shown = [tab.rows, tab.size, tab.spacing, links.mine, tab.opened, tab.again] + out.all() + [settings[k] for k in (
        "seed", "align", "checkpoint", "paper", "rule_pitch", "rule_color")]
    on(tab.open_doc.upload, open_document, {"upload": tab.open_doc, "checkpoint": settings["checkpoint"],
                                            "png_dpi": settings["png_dpi"], "own": links.mine}, shown, **PRIVATE)

    @guarded(state)
    def write_again(v):
        written, own = write_document_again(state, v)
        return {**page_updates(state, out, written), links.mine: own}

    on(tab.again.click, write_again, {"document": tab.opened, "checkpoint": settings["checkpoint"],
                                      "png_dpi": settings["png_dpi"], "own": links.mine},
       out.all() + [links.mine], show_progress_on=[out.preview], **PRIVATE, **state.conc)


# ---- the Quick mode tab ----------------------------------------------------------------------------
@dataclass
class QuickTab:
    style: gr.Dropdown         # its fields by name: Fields.part("quick")
    write: gr.Button
    stop: gr.Button


def quick_tab(state: AppState, first_style: str, fields: Fields) -> QuickTab:
    """Quick mode's fields are registered as "quick.<name>" (forms.specs_from_block's names)."""
    add = lambda name, component: fields.add(f"quick.{name}", component)    # noqa: E731
    text = add("text", gr.Textbox(label="Text", lines=6, placeholder="One line per line of text. A blank "
                                  "line leaves a gap; long lines are wrapped.",
                                  value="The quick brown fox jumps over the lazy dog."))
    with gr.Row():
        style = add("style", gr.Dropdown(state.shipped_style_menu(), value=first_style, label="Style", min_width=160,
                                         elem_id="scribe-quick-style"))
        bias = add("bias", gr.Slider(*BIAS_RANGE, value=DEFAULT_BIAS, step=0.05, label="Neatness (bias)",
                                     info="higher is neater", min_width=160))
        add("likeness", _likeness_slider(state, style, first_style, "scribe-quick-likeness"))
    with gr.Row():
        add("color", gr.ColorPicker(forms.DEFAULT_COLOR, label="Ink", min_width=80))
        add("width", gr.Slider(0.3, 6.0, value=forms.DEFAULT_WIDTH, step=0.1, label="Stroke (px)"))
        add("wrap_at", gr.Slider(10, MAX_CHARS_PER_LINE, value=forms.DEFAULT_WRAP, step=1,
                                 label="Wrap lines at (characters)"))
    size, spacing = size_controls("quick")
    add("size", size)
    add("line_spacing", spacing)
    with gr.Row():
        write = gr.Button("Write", variant="primary", elem_id="scribe-write-quick")
        stop = gr.Button("Stop", variant="stop", elem_id="scribe-stop-quick")
    gr.Examples([[t, state.style_value(st), b] for t, st, b in QUICK_EXAMPLES], inputs=[text, style, bias],
                label="Examples")
    return QuickTab(style, write, stop)


def wire_quick(state: AppState, tab: QuickTab, fields: Fields, links: Links) -> None:
    def start(v):
        specs = lambda: forms.specs_from_block(v.text, v.style, v.bias, v.color, v.width, v.wrap_at,  # noqa: E731
                                               asked_likeness(state, v.style, v.likeness, v.own))
        return write_lines_live(state, specs, v)

    wire_write(state, links.out, tab.write.click, tab.stop, start, links.write_inputs(fields.part("quick")))


# ---- the Paragraph tab -----------------------------------------------------------------------------
@dataclass
class ParagraphTab:
    style: gr.Dropdown         # its fields by name: Fields.part("paragraph")
    write: gr.Button
    stop: gr.Button


def paragraph_tab(state: AppState, first_style: str, fields: Fields) -> ParagraphTab:
    """The Paragraph tab's fields are registered as "paragraph.<name>" (forms.paragraph_look's names)."""
    add = lambda name, component: fields.add(f"paragraph.{name}", component)    # noqa: E731
    gr.Markdown("<span class='scribe-note'>Long text wraps to the line width measured in the handwriting "
                "itself (words are never split); a blank line is a paragraph break; text that runs over "
                "a page continues on the next. Alignment is under <i>Settings</i>.</span>")
    add("text", gr.Textbox(label="Text", lines=8, elem_id="scribe-para-text",
                           value="Dear Ada,\n\nThe engine ran all night without a fault, and by morning "
                                 "the tables were done. I think we may call it a success.\n\nYours, Charles"))
    with gr.Row():
        style = add("style", gr.Dropdown(state.shipped_style_menu(), value=first_style, label="Style", min_width=160,
                                         elem_id="scribe-para-style"))
        add("bias", gr.Slider(*BIAS_RANGE, value=DEFAULT_BIAS, step=0.05, label="Neatness (bias)", min_width=160))
        add("likeness", _likeness_slider(state, style, first_style, "scribe-para-likeness"))
    with gr.Row():
        add("color", gr.ColorPicker(forms.DEFAULT_COLOR, label="Ink", min_width=80))
        add("width", gr.Slider(0.3, 6.0, value=forms.DEFAULT_WIDTH, step=0.1, label="Stroke (px)"))
    with gr.Row():
        add("page", gr.Dropdown(forms.PARAGRAPH_PAGES, value="a5", label="Page", min_width=120))
        add("margin_mm", gr.Slider(0, 50, value=forms.PARAGRAPH_MARGIN_MM, step=1, label="Margin (mm)"))
        add("width_mm", gr.Number(0, label="Line width (mm)", info="0 = the page inside its margins", min_width=120))
    with gr.Row():
        add("size_mm", gr.Slider(2, 20, value=6, step=0.5, label="Writing size (mm)"))
        add("line_spacing", gr.Slider(0.8, 5, value=1.7, step=0.1, label="Line spacing (ink heights)"))
        add("variation", gr.Slider(0, 2, value=0, step=0.1, label="Natural variation",
                                   info="0 = none; 1 = natural baseline, tilt and size changes"))
    with gr.Row():
        write = gr.Button("Write paragraph", variant="primary", elem_id="scribe-write-paragraph")
        stop = gr.Button("Stop", variant="stop", elem_id="scribe-stop-paragraph")
    return ParagraphTab(style, write, stop)


def wire_paragraph(state: AppState, tab: ParagraphTab, fields: Fields, links: Links) -> None:
    wire_write(state, links.out, tab.write.click, tab.stop,
               lambda v: write_paragraph_live(state, {**v, "likeness": asked_likeness(state, v.style, v.likeness,
                                                                                       v.own)}),
               links.write_inputs(fields.part("paragraph")))


# ---- the Your own hand tab -------------------------------------------------------------------------
@dataclass
class OwnHandTab:
    ink_json: gr.Textbox
    text: gr.Textbox
    clear: gr.Button
    upload: gr.File
    make: gr.Button
    message: gr.Markdown
    preview: gr.HTML
    files: gr.File
    style_id: gr.State
    write_text: gr.Textbox
    write: gr.Button
    load: gr.File | None = None        # your-styles.zip (or style files) uploaded again
    stop: gr.Button | None = None


def own_hand_tab(state: AppState) -> OwnHandTab:
    gr.Markdown("Write a short phrase (15-40 characters, one line) below, type exactly what you wrote, "
                "and press **Make style**. Or upload InkML or IAM-OnDB XML ink. The new style is added to "
                "your style menus, and its files are offered for download.")
    gr.HTML(CANVAS_HTML, html_template="${value}", css_template=CANVAS_CSS, js_on_load=CANVAS_JS,
            elem_id="scribe-ink", padding=False)
    ink_json = gr.Textbox(visible=False, label="ink")
    with gr.Row():
        text = gr.Textbox(label="What you wrote", scale=4, elem_id="scribe-own-text",
                          placeholder="type the words on the canvas, exactly")
        clear = gr.Button("Clear", scale=0, min_width=90, elem_id="scribe-ink-clear")
    upload = gr.File(label="…or upload ink (InkML, IAM-OnDB XML, JSON strokes)", file_types=INK_UPLOAD_TYPES,
                     type="filepath", height=90)
    make = gr.Button("Make style", variant="primary", elem_id="scribe-make-style")
    message = gr.Markdown("", elem_id="scribe-style-msg")
    preview = gr.HTML("", elem_id="scribe-style-preview")
    files = gr.File(label="Your style files", file_count="multiple", interactive=False, elem_id="scribe-style-files")
    load = gr.File(label="Load your styles again (your-styles.zip, or style-N-chars.npy with style-N-strokes.npy)",
                   file_count="multiple", file_types=STYLE_UPLOAD_TYPES, type="filepath", height=90,
                   elem_id="scribe-load-styles")
    style_id = gr.State(None)
    with gr.Row():
        write_text = gr.Textbox("Written in my own hand.", label="Write with your new style", scale=4,
                                elem_id="scribe-own-write-text")
        write = gr.Button("Write", variant="primary", scale=1, elem_id="scribe-own-write")
        stop = gr.Button("Stop", variant="stop", scale=0, min_width=90, elem_id="scribe-own-stop")
    return OwnHandTab(ink_json, text, clear, upload, make, message, preview, files, style_id, write_text, write,
                      load, stop)


def _kept_where(state: AppState, sid=None, own=None) -> str:
    if state.in_session(sid, own):
        full = "" if state.private else f"`{state.user_dir.name}/` is full, so it is kept "
        return (f"{full}for this browser session only: nobody else sees it, and it is gone when you close the "
                f"page. Download **your-styles.zip** below to keep it, and load it again next time.")
    return f"in `{state.user_dir.name}/` on this machine. It is now in every style menu."


def wire_own_hand(state: AppState, tab: OwnHandTab, links: Links, style_menus: list) -> None:
    """style_menus: the dropdowns that offer a new style as soon as it is made."""
    checkpoint, mine = links.settings["checkpoint"], links.mine

    def menus_for(own) -> dict:
        return {menu: gr.Dropdown(choices=state.style_menu(own) or None) for menu in style_menus}

    @guarded(state)
    def make_style_ui(v):
        style, sid, files, _, own = made_style(state, v.checkpoint, v.ink, v.text, v.upload, v.own)
        m = style.measures
        msg = (f"Saved as **style {sid}** ({m['points']} points, {m['strokes']} strokes, "
               f"{m['width_per_char']:.2f} ink heights per character), {_kept_where(state, sid, own)}")
        return {tab.preview: f"<div class='scribe-preview'>{style.preview_svg()}</div>",
                tab.files: [str(f) for f in files], tab.message: msg, tab.style_id: sid, mine: own, **menus_for(own)}

    on(tab.make.click, make_style_ui, {"ink": tab.ink_json, "text": tab.text, "upload": tab.upload,
                                       "checkpoint": checkpoint, "own": mine},
       [tab.preview, tab.files, tab.message, tab.style_id, mine] + list(style_menus), js=READ_CANVAS_JS, **PRIVATE)
    tab.clear.click(None, js=CLEAR_CANVAS_JS, **PRIVATE)

    @guarded(state)
    def load_styles_ui(v):
        ids, summary, own = loaded_styles(state, v.checkpoint, v.uploads, v.own)
        files = [str(outputs.your_styles_zip(state.own_styles(own)))] \
            if any(state.in_session(i, own) for i in ids) else None
        return {tab.message: state.shown(summary) + ". Use them from any style menu.", tab.files: files, mine: own,
                **menus_for(own)}

    on(tab.load.upload, load_styles_ui, {"uploads": tab.load, "checkpoint": checkpoint, "own": mine},
       [tab.message, tab.files, mine] + list(style_menus), **PRIVATE)

    def start(v):
        def specs():
            if v.style_id is None:
                raise InputError("make your style first: write on the canvas and press Make style")
            return forms.specs_from_block(v.text, v.style_id, DEFAULT_BIAS + 0.25)
        # the own-hand write keeps the default look: no size, spacing or paper
        return write_lines_live(state, specs, {k: v[k] for k in ("seed", "png_dpi", "align", "checkpoint",
                                                                  "candidates", "own")})

    wire_write(state, links.out, tab.write.click, tab.stop, start,
               links.write_inputs({"text": tab.write_text, "style_id": tab.style_id}))


# ---- settings --------------------------------------------------------------------------------------
@dataclass
class SettingsPanel:
    fields: dict               # what every write reads, by name: Fields.part("settings")
    rescan: gr.Button
    model_line: gr.Markdown
    chart: gr.HTML             # the chart of styles, filled on page load (wire_menus)


def settings_panel(state: AppState, model_line: str, fields: Fields) -> SettingsPanel:
    """The settings every write reads, registered as "settings.<name>" (the API's parameter names):
    seed, png_dpi, align, paper, rule_pitch, rule_color, candidates, checkpoint."""
    with gr.Accordion("Settings: seed, resolution, layout, model", open=True):
        with gr.Row():
            seed = gr.Textbox("", label="Seed", info="blank = random", placeholder="random", min_width=140,
                              elem_id="scribe-seed")
            dpi = gr.Dropdown([96, 150, 192, 300, 600], value=forms.DEFAULT_DPI, label="PNG resolution (dpi)",
                              min_width=140)
            align = gr.Radio(list(forms.ALIGNS), value="left", label="Align", min_width=200)
        with gr.Row():
            kind = gr.Dropdown(forms.PAPER_CHOICES, value="plain", label="Paper (PNG and PDF)", min_width=120,
                               info="never in the SVG: a plotter would draw it", elem_id="scribe-paper")
            pitch = gr.Number(0, label="Rule pitch (mm)", info="0 = the line spacing; else sets it", min_width=120,
                              elem_id="scribe-rule-pitch")
            rule = gr.ColorPicker(PaperOptions.color, label="Rule colour", min_width=80)
        with gr.Row():
            candidates = gr.Slider(MIN_CANDIDATES, MAX_CANDIDATES, value=APP_CANDIDATES, step=1,
                                   label="Legibility check (candidates per line)", min_width=200,
                                   elem_id="scribe-candidates",
                                   info="writes each line this many times at once, reads each back and keeps "
                                        "the one that reads as its text; 1 = off; more is slower")
        with gr.Row(equal_height=False):
            ckpt = gr.Dropdown(state.listed_checkpoint_menu(), value=state.default_label(), label="Checkpoint", scale=5,
                               info="checkpoints/ and --checkpoint_dir; switching needs no restart")
            rescan = gr.Button("Rescan", scale=1, min_width=90, size="sm")
        line = gr.Markdown(model_line)
        gr.Markdown(f"<span class='scribe-note'>{forms.limits_text()}</span>")
    with gr.Accordion("The styles (each hand's own ink)", open=False):
        chart = gr.HTML(views.style_chart_html(state.shipped), elem_classes=["scribe-style-chart"])
    for name, component in dict(seed=seed, png_dpi=dpi, align=align, paper=kind, rule_pitch=pitch, rule_color=rule,
                                candidates=candidates, checkpoint=ckpt).items():
        fields.add(f"settings.{name}", component)
    return SettingsPanel(fields.part("settings"), rescan, line, chart)


def wire_settings(state: AppState, panel: SettingsPanel) -> None:
    def switch_checkpoint(name):
        try:
            text = views.describe_checkpoint(state.hand(name))
            gr.Info(state.shown(f"Model ready: {name}"))
            return text
        except ScribeError as e:
            gr.Warning(state.shown(f"Cannot load this checkpoint: {e}"), title=e.title)
            return state.shown(f"⚠️ cannot load this checkpoint: {e}")
        except Exception as e:   # a file that is not a checkpoint at all
            gr.Warning(state.shown(f"Cannot load this checkpoint ({type(e).__name__}: {e})"))
            return state.shown(f"⚠️ cannot load this checkpoint ({type(e).__name__}: {e})")

    def rescan(current):
        choices = state.checkpoint_menu()
        keep = current if any(current == v for _, v in choices) else (choices[0][1] if choices else None)
        gr.Info(f"{len(choices)} checkpoint{'s' if len(choices) != 1 else ''} found")
        return gr.Dropdown(choices=choices, value=keep)

    ckpt = panel.fields["checkpoint"]
    ckpt.change(switch_checkpoint, ckpt, panel.model_line, show_progress="minimal", **PRIVATE)
    panel.rescan.click(rescan, ckpt, ckpt, queue=False, **PRIVATE)


# ---- the result column: preview, downloads, plotter files, animation ---------------------------------
@dataclass
class ResultPanel:
    out: Outputs
    reuse: gr.Button
    plotter_inputs: dict = field(default_factory=dict)   # by name: forms.plotter_options' and gcode_options'
    plotter_make: gr.Button | None = None
    plotter_files: gr.File | None = None
    plotter_message: gr.Markdown | None = None
    speed: gr.Slider | None = None
    loop: gr.Checkbox | None = None
    play: gr.Button | None = None
    gif: gr.Button | None = None
    animation: gr.HTML | None = None
    animation_files: gr.File | None = None


def result_panel() -> ResultPanel:
    preview = gr.HTML(views.preview_html(None), label="Preview", elem_id="scribe-preview", js_on_load=LIVE_PREVIEW_JS)
    status = gr.Markdown("", elem_id="scribe-status")
    with gr.Row():
        svg = gr.DownloadButton("Download SVG (for plotters)", elem_id="scribe-svg", size="md")
        png = gr.DownloadButton("Download PNG", elem_id="scribe-png", size="md")
        pdf = gr.DownloadButton("Download PDF", elem_id="scribe-pdf", size="md")
        document = gr.DownloadButton("Save document", elem_id="scribe-document", size="md")
    with gr.Row(equal_height=False):
        seed_used = gr.Textbox("", label="Seed used", interactive=False, min_width=140, scale=2)
        reuse = gr.Button("Reuse this seed", size="sm", min_width=120, scale=1)
    p = ResultPanel(Outputs(preview, svg, png, seed_used, status, gr.State(None), pdf, document), reuse)
    with gr.Accordion("Plotter: SVG in mm and G-code", open=False, elem_id="scribe-plotter"):
        with gr.Row():
            paper = gr.Dropdown(forms.PAPERS, value="a4", label="Paper", min_width=100)
            landscape = gr.Checkbox(False, label="Landscape", min_width=100)
            margin = gr.Slider(0, 50, value=forms.PLOTTER_MARGIN_MM, step=1, label="Margin (mm)")
        with gr.Row():
            up = gr.Textbox(GcodeOptions.pen_up, label="Pen up", info="several: separate with |")
            down = gr.Textbox(GcodeOptions.pen_down, label="Pen down")
        with gr.Row():
            feed = gr.Number(GcodeOptions.draw_feed, label="Drawing feed (mm/min)", min_width=100)
            travel = gr.Number(0, label="Travel feed (mm/min)", info="0 = rapid G0", min_width=100)
            origin = gr.Dropdown(list(ORIGINS), value="bottom-left", label="Origin", min_width=100)
            units = gr.Radio(["mm", "in"], value="mm", label="Units", min_width=80)
        p.plotter_inputs = dict(paper=paper, landscape=landscape, margin_mm=margin, pen_up=up, pen_down=down,
                                draw_feed=feed, travel_feed=travel, origin=origin, units=units)
        p.plotter_make = gr.Button("Make plotter files", elem_id="scribe-plotter-make")
        p.plotter_files = gr.File(label="Plotter SVG and G-code", file_count="multiple", interactive=False,
                                  elem_id="scribe-plotter-files")
        p.plotter_message = gr.Markdown("")
    with gr.Accordion("Watch it being written", open=False, elem_id="scribe-animate"):
        with gr.Row(equal_height=True):
            p.speed = gr.Slider(0.25, 8, value=1.5, step=0.25, label="Speed", info="1 = natural pace", scale=3)
            p.loop = gr.Checkbox(False, label="Loop (download)", scale=1)
        with gr.Row():
            p.play = gr.Button("Play", variant="primary", elem_id="scribe-play")
            p.gif = gr.Button("Make GIF", elem_id="scribe-gif")
        p.animation = gr.HTML("", elem_id="scribe-animation")
        p.animation_files = gr.File(label="Animation", file_count="multiple", interactive=False,
                                    elem_id="scribe-animation-files")
    return p


def wire_result(state: AppState, panel: ResultPanel, settings: dict) -> None:
    out = panel.out
    panel.reuse.click(lambda v: "" if v in (None, "") else str(v), out.seed_used, settings["seed"], queue=False,
                      **PRIVATE)

    @guarded(state)
    def plotter_ui(v):
        svgs, codes = outputs.plotter_files(v.pages or [], forms.plotter_options(v.paper, v.landscape, v.margin_mm),
                                            forms.gcode_options(v.pen_up, v.pen_down, v.draw_feed, v.travel_feed,
                                                                v.origin, v.units))
        return [str(p) for p in svgs + codes], (f"{len(svgs)} page{'s' if len(svgs) != 1 else ''}: plotter "
                                               f"SVG in mm, one layer per ink colour, and G-code.")

    on(panel.plotter_make.click, plotter_ui, {"pages": out.pages, **panel.plotter_inputs},
       [panel.plotter_files, panel.plotter_message], **PRIVATE)

    def first_page(pages) -> Page:
        if not pages:
            raise InputError("nothing written yet: press Write first")
        return pages[0]

    @guarded(state)
    def play_ui(v):
        page, options = first_page(v.pages), forms.animation_options(v.speed, v.loop)
        return views.animation_html(page, options.speed), [str(p) for p in outputs.animation_files(page, options)]

    @guarded(state)
    def gif_ui(v):
        page, options = first_page(v.pages), forms.animation_options(v.speed, v.loop)
        return [str(p) for p in outputs.animation_files(page, options, gif=True)]

    animation = {"pages": out.pages, "speed": panel.speed, "loop": panel.loop}
    on(panel.play.click, play_ui, animation, [panel.animation, panel.animation_files], **PRIVATE)
    on(panel.gif.click, gif_ui, animation, panel.animation_files, **PRIVATE)


# ---- the menus that follow the server's styles and checkpoints ---------------------------------------
def wire_menus(state: AppState, load, links: Links, style_menus: list) -> None:
    """The page is built with the shipped styles and the listed checkpoints only, so that what Gradio
    serves as the page never holds a visitor's style or learned hand, whatever the privacy; each page
    load then fills the style menus, the Checkpoint menu and the chart of styles with what this session
    may see now (locally: user_styles/ and user_models/ too; private: its own styles only)."""
    checkpoint = links.settings["checkpoint"]

    def fill(v) -> dict:
        menus = {menu: gr.Dropdown(choices=state.style_menu(v.own)) for menu in style_menus}
        return {**menus, checkpoint: gr.Dropdown(choices=state.menu_with(v.checkpoint)),
                links.chart: views.style_chart_html(state.bank)}

    on(load, fill, {"checkpoint": checkpoint, "own": links.mine}, [*style_menus, checkpoint, links.chart],
       queue=False, **PRIVATE)
