"""The "Learn my hand" session in the Your own hand tab: write a few sentences on the canvas, then
adapt the model to them (scribe.adapt) with a live progress bar; the learned hand joins the
Checkpoint menu, selected, and its first line becomes a style.

The training runs in a thread of the request's own worker, under the app's write concurrency limit;
the handler is a generator that reports each held-out check, so Stop (or closing the page) ends the
training at its next step, keeping the best weights so far.
"""
from __future__ import annotations

import html
import queue
import threading
from dataclasses import dataclass

import gradio as gr

from ..adapt import MIN_LINES, MINUTES_RANGE, PROMPT_SENTENCES, AdaptOptions, adapt, save_adapted
from ..errors import InputError
from . import outputs
from .api import as_gr_error, guarded
from .assets import CLEAR_CANVAS_JS, READ_CANVAS_JS
from .fields import on
from .state import AppState
from .tabs import PRIVATE


DEFAULT_MINUTES = AdaptOptions.minutes
MINUTES_RANGE_UI = (0.5, min(10.0, MINUTES_RANGE[1]))   # the slider's; the API-free handler checks AdaptOptions'


@dataclass
class LearnPanel:
    prompt: gr.Markdown
    add: gr.Button
    undo: gr.Button
    uploads: gr.File
    minutes: gr.Slider
    learn: gr.Button
    stop: gr.Button
    message: gr.Markdown
    lines: gr.State


def prompt_text(lines: list) -> str:
    n = len(lines)
    sentence = PROMPT_SENTENCES[n % len(PROMPT_SENTENCES)]
    done = (f"{n} line{'s' if n != 1 else ''} written" + (f" (at least {MIN_LINES} needed)" if n < MIN_LINES
                                                         else ": enough to learn; more is better"))
    return f"**Line {n + 1}.** Write on the canvas above, on one line: *{html.escape(sentence)}*  \n{done}."


def learn_panel() -> LearnPanel:
    with gr.Accordion("Learn my hand: adapt the model to your writing", open=False, elem_id="scribe-learn"):
        gr.Markdown(f"A style copies your slant and size; learning your hand also teaches the model your "
                    f"letters. Write the sentence shown on the canvas above and press **Add this line**; "
                    f"after {MIN_LINES} or more, press **Learn my hand** (about 3 minutes on a CPU). The "
                    f"new model is added to the Checkpoint menu and selected; your first line becomes a style.")
        prompt = gr.Markdown(prompt_text([]), elem_id="scribe-learn-prompt")
        with gr.Row():
            add = gr.Button("Add this line", elem_id="scribe-learn-add")
            undo = gr.Button("Remove the last line", elem_id="scribe-learn-undo")
        uploads = gr.File(label="…or add lines from files (InkML or IAM-OnDB XML with their transcription)",
                          file_count="multiple", file_types=[".inkml", ".xml"], type="filepath", height=90)
        minutes = gr.Slider(*MINUTES_RANGE_UI, value=DEFAULT_MINUTES, step=0.5, label="Time to learn (minutes)",
                            info="the training stops earlier once your held-out line stops improving")
        with gr.Row():
            learn = gr.Button("Learn my hand", variant="primary", elem_id="scribe-learn-go")
            stop = gr.Button("Stop", variant="stop", elem_id="scribe-learn-stop")
        message = gr.Markdown("", elem_id="scribe-learn-msg")
        lines = gr.State([])
    return LearnPanel(prompt, add, undo, uploads, minutes, learn, stop, message, lines)


def learn_updates(state: AppState, checkpoint, drawn, uploads, minutes, own, progress):
    """The learning run as a generator of (message, checkpoint menu update, own styles) triples."""
    try:
        minutes = float(minutes)
    except (TypeError, ValueError):
        raise InputError(f"the time to learn must be a number of minutes, not {str(minutes)[:20]!r}") from None
    options = AdaptOptions(minutes=minutes)
    hand = state.hand(checkpoint, own)
    pairs = outputs.learning_lines(drawn, uploads)
    path = state.new_model_path()
    reports: queue.Queue = queue.Queue()
    stop = threading.Event()
    box: dict = {}

    def run():
        try:
            box["result"] = adapt(hand.checkpoint, pairs, options, stop=stop.is_set,
                                  on_progress=lambda *a: reports.put(a))
        except BaseException as e:          # handed to the request's thread, which reports it
            box["error"] = e
        finally:
            reports.put(None)

    worker = threading.Thread(target=run, name="scribe-learn", daemon=True)
    worker.start()
    try:
        while True:
            item = reports.get()
            if item is None:
                break
            step, total, nll, seconds = item
            progress((step, total), desc=f"Learning: step {step}, held-out NLL {nll:.3f}")
            yield (f"Learning your hand: step {step} of at most {total}, {seconds:.0f} s; your held-out line's "
                   f"NLL {nll:.3f} nats per point (lower is better)", gr.skip(), gr.skip())
    finally:
        stop.set()                           # Stop, or the page closed: end at the next step
        worker.join()                        # and free this worker only once the training has ended
    if "error" in box:
        raise box["error"]
    result = box["result"]
    save_adapted(result, path)
    label = state.keep_model(path)
    first = result.record["texts"][0]
    sid, own = state.keep_style(first, result.checkpoint.stats.denormalise(result.first_line_offsets), own)
    r = result.record
    nll = r["held_out_nll"]
    yield (f"Learned your hand from {r['lines'] - 1} lines in {r['steps']} steps ({r['seconds']:.0f} s): your "
           f"held-out line's NLL went from {nll['base']:.3f} to {nll['adapted']:.3f} nats per point. The model "
           f"**{html.escape(label)}** is now selected in the Checkpoint menu, and your first line is **style "
           f"{sid}**.", gr.Dropdown(choices=state.menu_with(label), value=label), own)


def wire_learn(state: AppState, panel: LearnPanel, ink_json: gr.Textbox, links) -> None:
    """`links`: tabs.Links (the settings' Checkpoint menu and the session's own styles)."""
    checkpoint, mine = links.settings["checkpoint"], links.mine

    @guarded(state)
    def add_line(v):
        drawn = list(v.drawn or [])
        sentence = PROMPT_SENTENCES[len(drawn) % len(PROMPT_SENTENCES)]
        drawn.append(outputs.learned_line(state.hand(v.checkpoint, v.own), v.ink, sentence))
        return drawn, prompt_text(drawn), f"Line {len(drawn)} added."

    on(panel.add.click, add_line, {"ink": ink_json, "drawn": panel.lines, "checkpoint": checkpoint, "own": mine},
       [panel.lines, panel.prompt, panel.message], js=READ_CANVAS_JS, **PRIVATE).success(
        None, js=CLEAR_CANVAS_JS, **PRIVATE)

    def remove_line(drawn):
        drawn = list(drawn or [])[:-1]
        return drawn, prompt_text(drawn), ""

    panel.undo.click(remove_line, panel.lines, [panel.lines, panel.prompt, panel.message], queue=False, **PRIVATE)

    def learn(drawn, uploads, minutes, checkpoint, own, progress=gr.Progress()):
        try:
            yield from learn_updates(state, checkpoint, drawn, uploads, minutes, own, progress)
        except gr.Error:
            raise
        except Exception as e:
            raise as_gr_error(e, state.folders) from e

    # by name: Gradio passes each input as the keyword of learn's own parameter (gr.Progress needs the
    # plain signature, which fields.on does not give)
    running = panel.learn.click(learn, inputs_kwargs=dict(drawn=panel.lines, uploads=panel.uploads,
                                                          minutes=panel.minutes, checkpoint=checkpoint, own=mine),
                                outputs=[panel.message, checkpoint, mine], show_progress_on=[panel.message],
                                **PRIVATE, **state.conc)
    panel.stop.click(None, cancels=[running], **PRIVATE)
