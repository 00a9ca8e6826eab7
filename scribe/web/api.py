"""The web layer's calls into the library, and the one mapper from errors to messages that every event
uses. The UI's tabs (scribe.web.tabs, scribe.web.learn) and the named endpoints (scribe.web.endpoints)
write through the functions here, each taking its settings by name, so a change in how the library
takes a write is one edit here.

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
from pathlib import Path

import gradio as gr
from gradio_client import utils as client_utils

from ..errors import ScribeError
from ..hand import LIVE_EVERY, run_to_end
from ..render.page import Layout
from ..request import ParagraphRequest, WriteRequest
from ..result import INFO, Note
from ..styles import StyleError
from . import forms, outputs
from .views import shown_text
from .state import AppState

log = logging.getLogger("scribe.app")


# ---- errors as messages ----------------------------------------------------------------------------
def as_gr_error(e: Exception, folders=()) -> gr.Error:
    """A ScribeError shows its own title and message; anything else is a bug: logged, and said plainly.
    `folders`: the app's own (AppState.folders), never named."""
    if isinstance(e, ScribeError):
        return gr.Error(shown_text(e, folders), title=e.title, print_exception=False)
    log.exception("unexpected error")
    return gr.Error(shown_text(f"Something went wrong ({type(e).__name__}: {e}). Your input is untouched; the "
                               f"server log has the details.", folders), title="Unexpected error")


def warn(note: str, folders=()) -> None:
    """A warning beside a result (a style this server lacks, ...), shown as a toast."""
    gr.Warning(shown_text(note, folders))


def show_notes(notes, folders=()) -> None:
    """A result's notes (scribe.result.Note) as toasts, by their level: INFO as gr.Info, WARNING as
    gr.Warning."""
    for note in notes:
        (gr.Info if note.level == INFO else gr.Warning)(shown_text(note.text, folders))


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


def guarded(state: AppState):
    """A decorator: run a handler of `state`'s app; any failure becomes a gr.Error message (never a
    stack trace in the page) that names none of the app's folders."""
    def guard(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:
                raise as_gr_error(e, state.folders) from e
        return run
    return guard


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


def line_request(state: AppState, specs, settings) -> WriteRequest:
    """Line mode's request from the named settings (seed, align, candidates, size, line_spacing, paper,
    rule_pitch, rule_color; each blank for its default), with the server's step cap."""
    v = settings
    layout, paper = forms.line_look(v.get("size"), v.get("line_spacing"), forms.parse_align(v.get("align")),
                                    v.get("paper"), v.get("rule_pitch"), v.get("rule_color"))
    return WriteRequest(specs, forms.parse_seed(v.get("seed")), layout, paper,
                        forms.parse_candidates(v.get("candidates")), state.max_steps)


def paragraph_request(state: AppState, settings) -> ParagraphRequest:
    """Paragraph mode's request from the named settings: text, style, bias, color, width, likeness, seed,
    candidates and the page's look (forms.paragraph_look's names), with the server's step cap."""
    v = settings
    layout, paper = forms.paragraph_look(v)
    pen = forms.spec("x", v.get("style"), v.get("bias"), v.get("color"), v.get("width"),
                     likeness=v.get("likeness"))   # names each problem
    return ParagraphRequest(forms.parse_text(v.get("text"), "text"), pen.style, pen.bias, pen.color, pen.width,
                            layout, paper, forms.parse_seed(v.get("seed")),
                            forms.parse_candidates(v.get("candidates")), state.max_steps, pen.likeness)


def with_notes(written: outputs.Written, notes) -> outputs.Written:
    """The caller's own notes (a style this server lacks, ...) added to the result's, as warnings."""
    written.result.extra_notes.extend(Note(str(n)) for n in notes)
    return written


def write_lines(state: AppState, make_specs, settings, progress=no_progress) -> outputs.Written:
    """Line mode, shared by the UI and /write, /write_text, /write_pdf: write_lines_live, run to its end,
    the progress bar moving with the pen steps."""
    return run_to_end(write_lines_live(state, make_specs, settings, progress=progress, every=None))


def write_lines_live(state: AppState, make_specs, settings, progress=no_progress, every: int | None = LIVE_EVERY):
    """Line mode as a generator: build the request, load the model, write, show the notes. It yields a
    scribe.result.LiveInk (the ink so far) every `every` pen steps and returns the outputs.Written
    (scribe.web.live turns this into page updates); closing it stops the sampling loop. every=None: no
    live ink; `progress` then moves with the pen steps. `make_specs()`: (specs, notes). `settings`, by
    name, each blank (None) for its default: seed, png_dpi, checkpoint, own (the session's own styles)
    and line_request's names."""
    v = settings
    try:
        specs, notes = make_specs()
        request, dpi = line_request(state, specs, v), forms.parse_dpi(v.get("png_dpi"))
        progress(0.05, desc="Loading the model")
        hand = state.hand(v.get("checkpoint"), v.get("own"))
        n = sum(1 for s in specs if s.text.strip())
        progress(0.2, desc=f"Writing {n} line{'s' if n != 1 else ''}")
        written = yield from outputs.write_files_live(
            hand, request, dpi, embed_styles=state.own_style_ids(v.get("own")), budget=state.max_request_cost,
            on_step=step_progress(progress, n) if every is None else None, every=every)
    except Exception as e:   # every failure becomes a message; never a stack trace in the page
        raise as_gr_error(e, state.folders) from e
    show_notes(with_notes(written, notes).notes(), state.folders)
    return written


def write_paragraph(state: AppState, settings) -> outputs.Written:
    """Paragraph mode, run to its end (/write_paragraph, /write_paragraph_pdf): the notes are in the
    summary only."""
    return run_to_end(write_paragraph_live(state, settings, every=None, notify=False))


def write_paragraph_live(state: AppState, settings, every: int | None = LIVE_EVERY, notify: bool = True):
    """Paragraph mode as a generator of the LiveInk of the lines being written (a chunk of wrapped lines
    at a time); it returns the outputs.Written; closing it stops the sampling loop. `settings`, by name:
    png_dpi, checkpoint, own and paragraph_request's names."""
    v = settings
    try:
        request, dpi = paragraph_request(state, v), forms.parse_dpi(v.get("png_dpi"))
        hand = state.hand(v.get("checkpoint"), v.get("own"))
        written = yield from outputs.write_files_live(hand, request, dpi, budget=state.max_request_cost,
                                                      every=every)
    except Exception as e:   # every failure becomes a message; never a stack trace in the page
        raise as_gr_error(e, state.folders) from e
    if notify:
        show_notes(written.notes(), state.folders)
    return written


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




def write_pages(state: AppState, settings) -> tuple[list, int, str]:
    """Line mode for the feature endpoints (plotter, animation): `settings` by name (lines, seed, align,
    checkpoint, own) -> (one written page, the seed, a summary)."""
    v = settings
    specs, notes = forms.specs_from_rows(v.get("lines"))
    hand = state.hand(v.get("checkpoint"), v.get("own"))
    # these endpoints never ran the legibility check (candidates=1)
    layout = Layout(align=forms.parse_align(v.get("align")))
    result = hand.write(WriteRequest(specs, forms.parse_seed(v.get("seed")), layout, candidates=1,
                                     max_steps=state.max_steps))
    result.extra_notes.extend(Note(str(n)) for n in notes)
    return result.pages, result.seed, result.summary()


OPENED_NOTE = "the saved ink, exactly as it was written (no model was run)"


def open_document(state: AppState, settings, doc=None) -> tuple[outputs.Written, object]:
    """A saved document shown exactly as it was written, from its ink (Document.open: no model runs, so
    any checkpoint will do); `settings`: document (its JSON text), png_dpi. A document of format 1 keeps
    no ink: it is written again from its seed (write_document_again), and a note says so. Returns (the
    result, the session's styles). `doc`: the Document, when the caller has read it already."""
    v = settings
    doc = outputs.document_from_text(v.get("document")) if doc is None else doc
    if not doc.has_ink:
        return write_document_again(state, v, doc)
    written = outputs.save_files(doc.open(), forms.parse_dpi(v.get("png_dpi")), document=doc)
    written.result.extra_notes.append(Note(OPENED_NOTE, INFO))
    show_notes(written.notes(), state.folders)
    return written, v.get("own")


def write_document_again(state: AppState, settings, doc=None) -> tuple[outputs.Written, object]:
    """A saved document written again from its seed (`settings`: document, its JSON text; png_dpi,
    checkpoint, own): the same ink only with the same checkpoint on a machine that samples alike.
    Returns (the result, the session's styles, holding the document's own ink styles)."""
    v = settings
    doc = outputs.document_from_text(v.get("document")) if doc is None else doc
    specs, hand, own = document_specs(state, doc, v.get("checkpoint"), v.get("own"))
    request = WriteRequest(specs, doc.seed, doc.layout, doc.paper, doc.candidates, state.max_steps)
    written = outputs.write_files(hand, request, forms.parse_dpi(v.get("png_dpi")),
                                  embed_styles={specs[i].style for i in doc.embedded}, budget=state.max_request_cost)
    name = Path(hand.checkpoint.path).name if hand.checkpoint.path else None
    if not doc.has_ink:
        written.result.extra_notes.append(Note("this document keeps no ink (format 1), so it was written again "
                                               "from its seed", INFO))
    if doc.checkpoint and name and doc.checkpoint != name:
        written.result.extra_notes.append(Note(f"the document was written with {doc.checkpoint}; this is {name}, "
                                               f"so the ink differs from the saved one"))
    show_notes(written.notes(), state.folders)
    return written, own
