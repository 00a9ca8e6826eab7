"""Scribe's web app: write multi-line, multi-style handwriting and download it as SVG or PNG.

    python app.py                                  # the shipped checkpoint, on http://127.0.0.1:7860
    python app.py --checkpoint runs/x/checkpoint-3200.pt --checkpoint_dir /content/drive/MyDrive/scribe
    python app.py --share                          # a public link (on by default in Colab)

A thin shell: layout and event wiring only. Everything it does goes through `scribe.Hand` and
`scribe.app_support`. API endpoints (see the README or the app's "Use via API" page):
  /write       lines: [{"text", "style", "bias", "color", "width"}, ...] -> SVG file, PNG file, seed, summary
  /write_text  one block of text, one style and bias for every line   -> the same four
  /info        the checkpoints, styles and limits this server offers
  /write_plotter, /write_animated, /write_paragraph, /make_style   see scribe/app_features.py and the README
"""
from __future__ import annotations

import argparse
import html
import itertools
import logging
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gradio as gr

from scribe import app_features as feat
from scribe import app_support as sup
from scribe.checkpoint import CheckpointError
from scribe.colab import on_colab
from scribe.hand import (BIAS_RANGE, DEFAULT_BIAS, MAX_CHARS_PER_LINE, MAX_LINES, InputError,
                         use_sampling_threads)
from scribe.styles import StyleError

log = logging.getLogger("scribe.app")

# The Scribe guide's three-line document: one writer per line, each at its own neatness.
GUIDE_DOC = [
    {"text": "Report due by 09:00 on March 15th, 1985.", "style": 0, "bias": 1.8},
    {"text": "Can't believe it - met him at 3:00pm!", "style": 3, "bias": 0.6},
    {"text": "Got your message (thanks!) - call me.", "style": 7, "bias": 1.2},
]
LINE_EXAMPLES = [
    ("The guide's three-line document (styles 0, 3, 7)", GUIDE_DOC),
    ("A note in blue ink", [
        {"text": "Dear Ada,", "style": 2, "bias": 1.0, "color": "#1f3a93", "width": 1.8},
        {"text": "the engine ran all night without a fault.", "style": 2, "bias": 1.0, "color": "#1f3a93"},
        {"text": "Yours, Charles", "style": 2, "bias": 1.4, "color": "#1f3a93", "width": 1.8},
    ]),
    ("One sentence, three hands", [
        {"text": "Every hand tells a story.", "style": s, "bias": 1.0} for s in (1, 5, 9)]),
]
QUICK_EXAMPLES = [
    ["The quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs.", 4, 1.0],
    ["Meeting moved to Thursday at 10:30.\nBring the draft report and your ideas.", 6, 1.5],
    ["Rain again today. I stayed in, read a little, and wrote this letter to you.", 11, 0.5],
]
_ids = itertools.count(1)          # row ids: never reused, so a new row never inherits an old row's values

CSS = """
.scribe-preview { background: #fff; color: #222; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 12px; min-height: 180px; overflow: auto; }
.scribe-preview svg { display: block; max-width: 100%; height: auto; }
.scribe-empty { display: flex; align-items: center; justify-content: center; color: #777; }
.scribe-style-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px; }
.scribe-style { margin: 0; padding: 4px 6px; background: #fff; color: #222; border: 1px solid #ddd;
  border-radius: 6px; }
.scribe-style svg { display: block; max-width: 100%; height: auto; max-height: 60px; }
.scribe-style figcaption { font-size: 12px; }
.scribe-row-style { background: #fff; color: #666; border-radius: 6px; min-height: 40px; padding: 2px 4px;
  display: flex; align-items: center; overflow: hidden; font-size: 12px; }
.scribe-row-style svg { flex: none; max-width: none; width: auto; height: 40px; }   /* the line's start, legible */
.scribe-look { background: var(--block-background-fill); padding: 6px; }
.scribe-note { color: #777; font-size: 13px; }
.scribe-banner { border-left: 4px solid #d97706; padding: 8px 12px; background: #fef3c7; color: #222;
  border-radius: 4px; }
"""


@dataclass
class AppSettings:
    checkpoint: str | None = None        # explicit model file: --checkpoint or SCRIBE_CHECKPOINT
    checkpoint_dir: str | None = None    # an extra folder listed in the dropdown (e.g. Drive)
    style_dir: str | None = None         # default: checkpoints/styles
    max_steps: int | None = None         # per-line step cap (SCRIBE_MAX_STEPS); None: the sampler's own
    device: str | None = None            # default: cpu, the measured sampling path (README, Speed)
    concurrency: int | None = None       # writes at once; default 2 on CPU, 4 on GPU
    max_queue: int = 64                  # requests waiting beyond this are refused ("queue full")
    user_style_dir: str | None = None    # styles made from the user's own ink; default: user_styles/

    def resolved(self) -> "AppSettings":
        device = self.device or "cpu"   # sampling on CUDA has not been measured: opt in with --device cuda
        return AppSettings(self.checkpoint, self.checkpoint_dir, self.style_dir, self.max_steps, device,
                           self.concurrency or (4 if device.startswith("cuda") else 2), self.max_queue,
                           self.user_style_dir or feat.DEFAULT_USER_STYLE_DIR)


class Context:
    """Per-server state shared by every session: settings, loaded models, the style bank."""

    def __init__(self, settings: AppSettings):
        self.s = settings
        self.cache = sup.HandCache(settings.style_dir, settings.device, user_style_dir=settings.user_style_dir)
        try:
            self.bank, self.bank_error = sup.style_bank(settings.style_dir), ""
        except StyleError as e:
            self.bank, self.bank_error = None, str(e)
        self.default, self.missing = sup.initial_checkpoint(settings.checkpoint, self.choices())

    def choices(self) -> list[tuple[str, str]]:
        return sup.list_checkpoints(self.s.checkpoint_dir, first=self.s.checkpoint)

    def resolve(self, value: str | None) -> str:
        """A checkpoint named by the UI or an API client: blank = the default; else a listed file only."""
        if not value:
            if not self.default:
                raise CheckpointError(self.missing or "no checkpoint selected")
            return self.default
        for label, path in self.choices():
            if value in (label, path) or os.path.realpath(value) == os.path.realpath(path):
                return path
        listed = ", ".join(label for label, _ in self.choices()) or "none"
        raise CheckpointError(f"unknown checkpoint {value!r}; this server offers: {listed}")

    def style_value(self, style) -> str:
        """A dropdown value for a style id; ids missing from the bank fall back to the model's own hand."""
        ids = self.bank.ids if self.bank else []
        try:
            return str(int(style)) if style is not None and int(style) in ids else sup.FREE_STYLE
        except (TypeError, ValueError):
            return sup.FREE_STYLE

    def new_row(self, text: str = "", style=None, bias=DEFAULT_BIAS, color=sup.DEFAULT_COLOR,
                width=sup.DEFAULT_WIDTH) -> dict:
        return {"id": next(_ids), "text": text, "style": self.style_value(style), "bias": bias,
                "color": color or sup.DEFAULT_COLOR, "width": width or sup.DEFAULT_WIDTH}


# ---- event handlers: convert values, call scribe, turn its errors into messages -----------------------
_TITLES = {InputError: "Cannot write this", StyleError: "Style problem", CheckpointError: "Checkpoint problem"}


def _as_gr_error(e: Exception) -> gr.Error:
    for kind, title in _TITLES.items():
        if isinstance(e, kind):
            return gr.Error(str(e), title=title, print_exception=False)
    log.exception("unexpected error while writing")
    return gr.Error(f"Something went wrong while writing ({type(e).__name__}: {e}). "
                    f"Your text is untouched; the server log has the details.", title="Unexpected error")


def _write(ctx: Context, make_specs, seed, dpi, align, checkpoint, progress) -> sup.WriteResult:
    try:
        specs, notes = make_specs()
        seed, dpi, align = sup.parse_seed(seed), sup.parse_dpi(dpi), sup.parse_align(align)
        progress(0.05, desc="Loading the model")
        hand = ctx.cache.get(ctx.resolve(checkpoint))
        n = sum(1 for s in specs if s.text.strip())
        progress(0.2, desc=f"Writing {n} line{'s' if n != 1 else ''}")
        result = sup.write_files(hand, specs, seed, dpi, align, ctx.s.max_steps, notes=notes)
    except Exception as e:   # every failure becomes a message; never a stack trace in the page
        raise _as_gr_error(e) from e
    for note in result.notes:
        gr.Warning(note)
    return result


def _ui_outputs(r: sup.WriteResult):
    return sup.preview_html(r.svg), str(r.svg_path), str(r.png_path), r.seed, r.summary(), r.pages


def _api_outputs(r: sup.WriteResult):
    return str(r.svg_path), str(r.png_path), r.seed, r.summary()


def _rows_from_values(values) -> list[dict]:
    keys = ("text", "style", "bias", "color", "width")
    return [dict(zip(keys, values[i:i + 5])) for i in range(0, len(values), 5)]


def _line_row(ctx: Context, n: int, r: dict, style_opts) -> tuple[list, gr.Button]:
    """One line's controls, built from the row's stored values: ([text, style, bias, color, width], remove)."""
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
            style = gr.Dropdown(style_opts, value=r["style"], key=f"style-{rid}", label="Style", interactive=True,
                                min_width=190, scale=2, elem_classes="scribe-line-style")
            look = gr.HTML(sup.style_row_preview(ctx.bank, r["style"]), key=f"look-{rid}", min_width=220, scale=3,
                           elem_classes="scribe-look")
        with gr.Row(key=f"row3-{rid}", equal_height=True):
            bias = gr.Slider(*BIAS_RANGE, value=r["bias"], step=0.05, key=f"bias-{rid}", label="Neatness (bias)",
                             interactive=True, min_width=160, scale=3)
            color = gr.ColorPicker(r["color"], key=f"color-{rid}", label="Ink", interactive=True, min_width=70,
                                   scale=1)
            width = gr.Slider(0.3, 6.0, value=r["width"], step=0.1, key=f"width-{rid}", label="Stroke (px)",
                              interactive=True, min_width=140, scale=2)
    style.change(partial(sup.style_row_preview, ctx.bank), style, look, show_progress="hidden",
                 api_visibility="private", concurrency_limit=None)
    return [text, style, bias, color, width], remove


def build_demo(settings: AppSettings | None = None) -> gr.Blocks:
    s = (settings or AppSettings()).resolved()
    ctx = Context(s)
    feats = feat.Features(ctx)     # your own hand, plotter files, animation, paragraph mode
    ckpt_info, load_error = "", ""
    if ctx.default:
        try:
            ckpt_info = sup.describe_checkpoint(ctx.cache.get(ctx.default))   # load now: first write is fast
        except Exception as e:   # the page still opens, says why, and offers the other checkpoints
            load_error = f"cannot load the checkpoint {ctx.default}: {e}"
            ckpt_info = f"⚠️ {load_error}"
    style_opts = sup.style_choices(ctx.bank)
    first_style = style_opts[1][1] if len(style_opts) > 1 else sup.FREE_STYLE
    conc = dict(concurrency_limit=s.concurrency, concurrency_id="write")

    # ---- per-line rows ---------------------------------------------------------------------------------
    # Gradio 6.31 does not carry typed values across a re-render (key=/preserved_by_key is not applied
    # by its frontend: gradio-app/gradio#12788), so adding or removing a line reads every row's current
    # values and stores them in `rows`, from which the re-render builds the rows again.
    def remove_row(rid, rows_now):
        left = [r for r in rows_now if r["id"] != rid]
        return left or [ctx.new_row()]

    def add_row(rows_now):
        if len(rows_now) >= MAX_LINES:
            gr.Warning(f"A document has at most {MAX_LINES} lines.")
            return gr.skip()
        last = rows_now[-1] if rows_now else {}
        return rows_now + [ctx.new_row("", last.get("style"), last.get("bias", DEFAULT_BIAS),
                                       last.get("color"), last.get("width"))]

    def load_example(doc):
        missing = sorted({r["style"] for r in doc if r.get("style") is not None
                          and ctx.style_value(r["style"]) == sup.FREE_STYLE})
        if missing:
            gr.Warning(f"This style bank has no style {', '.join(map(str, missing))}; those lines use the "
                       f"model's own hand.")
        return [ctx.new_row(r.get("text", ""), r.get("style"), r.get("bias", DEFAULT_BIAS), r.get("color"),
                            r.get("width")) for r in doc]

    with gr.Blocks(title="Scribe: handwriting synthesis", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# Scribe\nHandwriting synthesis (Graves 2013): type lines, pick a hand for each, "
                    "press **Write**, then download a plotter-clean SVG or a PNG.")
        banner = " ".join(html.escape(m) for m in (ctx.missing, load_error, ctx.bank_error) if m)
        gr.HTML(f"<div class='scribe-banner'>{banner}</div>" if banner else "", visible=bool(banner))

        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=420):
                with gr.Tabs():
                    with gr.Tab("Lines", id="lines"):
                        rows = gr.State([ctx.new_row("Hello! This line was written by a neural network.",
                                                     first_style)])
                        @gr.render(inputs=[rows])
                        def line_rows(rows_now):
                            ids, values, removes = [r["id"] for r in rows_now], [], []
                            for n, r in enumerate(rows_now, start=1):
                                controls, remove = _line_row(ctx, n, r, style_opts)
                                values += controls
                                removes.append(remove)

                            def on_screen(args) -> list[dict]:
                                return [{"id": rid, **row} for rid, row in zip(ids, _rows_from_values(args))]

                            edit = dict(inputs=values, outputs=rows, api_visibility="private", concurrency_limit=None)
                            add_btn.click(lambda *a: add_row(on_screen(a)), **edit)
                            for rid, remove in zip(ids, removes):
                                remove.click(lambda *a, rid=rid: remove_row(rid, on_screen(a)), **edit)

                            def write_rows(*args, progress=gr.Progress()):
                                specs = lambda: sup.specs_from_rows(_rows_from_values(list(args[:-4])))
                                return _ui_outputs(_write(ctx, specs, *args[-4:], progress))

                            for trigger in [write_lines_btn.click] + [t.submit for t in values[0::5]]:
                                trigger(write_rows, values + shared, ui_out, api_visibility="private",
                                        show_progress_on=[preview], **conc)

                        with gr.Row():
                            add_btn = gr.Button("+ Add line", size="md", elem_id="scribe-add")
                            write_lines_btn = gr.Button("Write", variant="primary", size="md", elem_id="scribe-write")
                        doc_in = gr.JSON(visible=False, label="document")
                        gr.Examples([[doc] for _, doc in LINE_EXAMPLES], inputs=[doc_in], outputs=[rows],
                                    fn=load_example,
                                    run_on_click=True, cache_examples=False, label="Examples",
                                    example_labels=[label for label, _ in LINE_EXAMPLES])
                    with gr.Tab("Quick mode (paragraph)", id="quick"):
                        q_text = gr.Textbox(label="Text", lines=6, placeholder="One line per line of text. A blank "
                                            "line leaves a gap; long lines are wrapped.",
                                            value="The quick brown fox jumps over the lazy dog.")
                        with gr.Row():
                            q_style = gr.Dropdown(style_opts, value=first_style, label="Style", min_width=160)
                            q_bias = gr.Slider(*BIAS_RANGE, value=DEFAULT_BIAS, step=0.05, label="Neatness (bias)",
                                               info="higher is neater", min_width=160)
                        with gr.Row():
                            q_color = gr.ColorPicker(sup.DEFAULT_COLOR, label="Ink", min_width=80)
                            q_width = gr.Slider(0.3, 6.0, value=sup.DEFAULT_WIDTH, step=0.1, label="Stroke (px)")
                            q_wrap = gr.Slider(10, MAX_CHARS_PER_LINE, value=sup.DEFAULT_WRAP, step=1,
                                               label="Wrap lines at (characters)")
                        write_quick_btn = gr.Button("Write", variant="primary", elem_id="scribe-write-quick")
                        gr.Examples([[t, ctx.style_value(st), b] for t, st, b in QUICK_EXAMPLES],
                                    inputs=[q_text, q_style, q_bias], label="Examples")
                    with gr.Tab("Paragraph (pages)", id="paragraph"):
                        feats.paragraph_tab(style_opts, first_style)
                    with gr.Tab("Your own hand", id="own-hand"):
                        feats.own_hand_tab()

                with gr.Accordion("Settings: seed, resolution, layout, model", open=True):
                    with gr.Row():
                        seed = gr.Textbox("", label="Seed", info="blank = random", placeholder="random",
                                          min_width=140, elem_id="scribe-seed")
                        dpi = gr.Dropdown([96, 150, 192, 300, 600], value=sup.DEFAULT_DPI,
                                          label="PNG resolution (dpi)", min_width=140)
                        align = gr.Radio(list(sup.ALIGNS), value="left", label="Align", min_width=200)
                    with gr.Row(equal_height=False):
                        ckpt = gr.Dropdown(ctx.choices(), value=ctx.default, label="Checkpoint", scale=5,
                                           info="checkpoints/ and --checkpoint_dir; switching needs no restart")
                        refresh = gr.Button("Rescan", scale=1, min_width=90, size="sm")
                    ckpt_md = gr.Markdown(ckpt_info)
                    gr.Markdown(f"<span class='scribe-note'>{sup.limits_text()}</span>")
                with gr.Accordion("The styles (each hand's own ink)", open=False):
                    gr.HTML(sup.style_chart_html(ctx.bank))

            with gr.Column(scale=4, min_width=380):
                preview = gr.HTML(sup.preview_html(None), label="Preview", elem_id="scribe-preview")
                status = gr.Markdown("", elem_id="scribe-status")
                with gr.Row():
                    svg_dl = gr.DownloadButton("Download SVG (for plotters)", elem_id="scribe-svg", size="md")
                    png_dl = gr.DownloadButton("Download PNG", elem_id="scribe-png", size="md")
                with gr.Row(equal_height=False):
                    seed_used = gr.Textbox("", label="Seed used", interactive=False, min_width=140, scale=2)
                    reuse = gr.Button("Reuse this seed", size="sm", min_width=120, scale=1)
                feats.result_tools()

        # Hidden inputs/outputs for the documented API; the UI's own events stay private.
        with gr.Column(visible=False):
            a_lines = gr.JSON(value=[{"text": "Hello world", "style": None, "bias": DEFAULT_BIAS}], label="lines")
            a_text = gr.Textbox(value="Hello world", label="text")
            a_style = gr.Number(value=None, precision=0, label="style")
            a_bias = gr.Number(value=DEFAULT_BIAS, label="bias")
            a_color = gr.Textbox(value=sup.DEFAULT_COLOR, label="color")
            a_width = gr.Number(value=sup.DEFAULT_WIDTH, label="width")
            a_wrap = gr.Number(value=sup.DEFAULT_WRAP, precision=0, label="wrap_at")
            a_seed = gr.Number(value=None, precision=0, label="seed")
            a_dpi = gr.Number(value=sup.DEFAULT_DPI, label="png_dpi")
            a_align = gr.Textbox(value="left", label="align")
            a_ckpt = gr.Textbox(value="", label="checkpoint")
            a_svg, a_png = gr.File(label="svg"), gr.File(label="png")
            a_seed_out, a_summary = gr.Number(label="seed_used", precision=0), gr.Textbox(label="summary")
            a_write_btn, a_text_btn = gr.Button("write"), gr.Button("write_text")

        ui_out = [preview, svg_dl, png_dl, seed_used, status, feats.pages_state]
        shared = [seed, dpi, align, ckpt]


        # ---- quick mode ---------------------------------------------------------------------------
        def write_quick(text, style, bias, color, width, wrap, sd, dp, al, ck, progress=gr.Progress()):
            r = _write(ctx, lambda: sup.specs_from_block(text, style, bias, color, width, wrap), sd, dp, al, ck,
                       progress)
            return _ui_outputs(r)

        quick_in = [q_text, q_style, q_bias, q_color, q_width, q_wrap] + shared
        write_quick_btn.click(write_quick, quick_in, ui_out, api_visibility="private",
                              show_progress_on=[preview], **conc)
        feats.wire(ui_out, shared, conc, style_dropdowns=[q_style])
        feats.add_api(conc)

        # ---- settings -----------------------------------------------------------------------------
        def switch_checkpoint(path):
            try:
                text = sup.describe_checkpoint(ctx.cache.get(ctx.resolve(path)))
                gr.Info(f"Model ready: {Path(path).name}")
                return text
            except (CheckpointError, StyleError) as e:
                gr.Warning(f"Cannot load this checkpoint: {e}", title="Checkpoint problem")
                return f"⚠️ cannot load this checkpoint: {e}"
            except Exception as e:   # a file that is not a checkpoint at all
                gr.Warning(f"Cannot load this checkpoint ({type(e).__name__}: {e})")
                return f"⚠️ cannot load this checkpoint ({type(e).__name__}: {e})"

        def rescan(current):
            choices = ctx.choices()
            keep = current if any(current == p for _, p in choices) else (choices[0][1] if choices else None)
            gr.Info(f"{len(choices)} checkpoint{'s' if len(choices) != 1 else ''} found")
            return gr.Dropdown(choices=choices, value=keep)

        ckpt.change(switch_checkpoint, ckpt, ckpt_md, api_visibility="private", show_progress="minimal")
        refresh.click(rescan, ckpt, ckpt, api_visibility="private", queue=False)
        reuse.click(lambda v: "" if v in (None, "") else str(v), seed_used, seed, api_visibility="private",
                    queue=False)

        # ---- the documented API -------------------------------------------------------------------
        def api_write(lines, seed=None, png_dpi=None, align=None, checkpoint=None):
            r = _write(ctx, lambda: sup.specs_from_rows(lines), seed, png_dpi, align, checkpoint, _no_progress)
            return _api_outputs(r)

        def api_write_text(text, style=None, bias=None, color=None, width=None, wrap_at=None, seed=None, png_dpi=None,
                           align=None, checkpoint=None):
            r = _write(ctx, lambda: sup.specs_from_block(text, style, bias, color, width, wrap_at),
                       seed, png_dpi, align, checkpoint, _no_progress)
            return _api_outputs(r)

        api_out = [a_svg, a_png, a_seed_out, a_summary]
        a_write_btn.click(api_write, [a_lines, a_seed, a_dpi, a_align, a_ckpt], api_out, api_name="write",
                          api_description="Write several lines, each with its own text, style (id or null), bias, "
                                          "color and width. Returns the SVG file, the PNG file, the seed used and "
                                          "a one-line summary.", **conc)
        a_text_btn.click(api_write_text, [a_text, a_style, a_bias, a_color, a_width, a_wrap, a_seed, a_dpi,
                                          a_align, a_ckpt], api_out, api_name="write_text",
                         api_description="Write one block of text (split on newlines, wrapped at wrap_at "
                                         "characters) in one style and bias. Returns the SVG file, the PNG file, "
                                         "the seed used and a summary.", **conc)

        def info() -> dict:
            """The checkpoints, style ids and limits this server offers."""
            return {"checkpoints": [{"label": l, "file": p} for l, p in ctx.choices()],
                    "default_checkpoint": ctx.default, "styles": ctx.bank.ids if ctx.bank else [],
                    "limits": {"max_lines": MAX_LINES, "max_chars_per_line": MAX_CHARS_PER_LINE,
                               "bias_range": list(BIAS_RANGE), "dpi_range": list(sup.DPI_RANGE),
                               "width_range": list(sup.WIDTH_RANGE), "max_steps": s.max_steps}}

        gr.api(info, api_name="info")

    demo.queue(max_size=s.max_queue, default_concurrency_limit=s.concurrency)
    return demo


def _no_progress(*_, **__):
    pass


def launch(demo: gr.Blocks, host: str | None = None, port: int | None = None, share: bool | None = None,
           **kwargs):
    """Launch with Scribe's look. share=None: on in Colab, off elsewhere. Decided here, in this
    process: Gradio's own Colab check looks at the IPython shell, which `!python app.py` does not have."""
    share = on_colab() if share is None else share
    return demo.launch(server_name=host, server_port=port, share=share, css=CSS,
                       theme=gr.themes.Soft(primary_hue="indigo"), footer_links=["api", "gradio", "settings"],
                       **kwargs)


def parse_args(argv=None) -> argparse.Namespace:
    env_steps = os.environ.get("SCRIBE_MAX_STEPS")
    p = argparse.ArgumentParser(description="Scribe's web app: multi-line, multi-style handwriting.")
    p.add_argument("--checkpoint", default=os.environ.get("SCRIBE_CHECKPOINT") or None,
                   help="model file to start with (env SCRIBE_CHECKPOINT; default: the shipped checkpoint)")
    p.add_argument("--checkpoint_dir", default=os.environ.get("SCRIBE_CHECKPOINT_DIR") or None,
                   help="an extra folder whose checkpoints the dropdown lists (e.g. your Drive run folder)")
    p.add_argument("--style_dir", default=None, help="style bank folder (default: checkpoints/styles)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860, or the next free one)")
    p.add_argument("--share", action=argparse.BooleanOptionalAction, default=None,
                   help="make a public gradio.live link (default: on in Colab, off elsewhere)")
    p.add_argument("--max_steps", type=int, default=int(env_steps) if env_steps else None,
                   help="hard cap on pen steps per line (env SCRIBE_MAX_STEPS; default: the sampler's cap)")
    p.add_argument("--device", default=None,
                   help="cpu or cuda (default: cpu, the measured path; sampling on cuda is not measured yet)")
    p.add_argument("--concurrency", type=int, default=None, help="writes at once (default 2 on CPU, 4 on GPU)")
    p.add_argument("--max_queue", type=int, default=64, help="requests that may wait in the queue")
    p.add_argument("--user_style_dir", default=os.environ.get("SCRIBE_USER_STYLE_DIR") or None,
                   help="where styles made from your own ink are saved (env SCRIBE_USER_STYLE_DIR; "
                        "default: user_styles)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    use_sampling_threads()   # one thread per request; the queue runs --concurrency requests at once
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    demo = build_demo(AppSettings(args.checkpoint, args.checkpoint_dir, args.style_dir, args.max_steps,
                                  args.device, args.concurrency, args.max_queue, args.user_style_dir))
    launch(demo, args.host, args.port, args.share)


if __name__ == "__main__":
    main()
