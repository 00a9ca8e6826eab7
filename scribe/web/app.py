"""The web app: `build_demo` puts the parts of scribe.web together; `main` is `python app.py` and
`scribe-app`.

    python app.py                                  # the shipped checkpoint, on http://127.0.0.1:7860
    python app.py --checkpoint runs/x/checkpoint-3200.pt --checkpoint_dir /content/drive/MyDrive/scribe
    python app.py --share                          # a public link (on by default in Colab)

API endpoints: see scribe/web/api.py, the README, or the app's "Use via API" page.
"""
from __future__ import annotations

import argparse
import ctypes
import logging
import os

import gradio as gr

from .. import cli
from ..hosting import on_colab, served_beyond_this_machine
from ..hand import use_sampling_threads
from ..sampling import MAX_STEP_CAP
from . import api, learn, tabs, views
from .assets import CSS
from .forms import FREE_STYLE
from .state import (DEFAULT_MAX_SESSIONS, DEFAULT_MAX_USER_STYLES, MAX_SESSION_STYLES, SESSION_STYLES_TTL_S,
                    AppSettings, AppState)

log = logging.getLogger("scribe.app")


def build_demo(settings: AppSettings | None = None) -> gr.Blocks:
    s = (settings or AppSettings()).resolved()
    state = AppState(s)
    model_line, load_error = "", ""
    if state.default:
        try:
            model_line = views.describe_checkpoint(state.cache.get(state.default))   # load now: first write is fast
        except Exception as e:   # the page still opens, says why, and offers the other checkpoints
            load_error = f"cannot load the checkpoint {state.default_label()}: {e}"
            model_line = f"⚠️ {load_error}"
    first_style = state.style_opts[1][1] if len(state.style_opts) > 1 else FREE_STYLE

    with api.CheckedBlocks(title="Scribe: handwriting synthesis", delete_cache=(1800, 3600)) as demo:
        # The session's own styles (a MemoryStyleBank, or None) when they are kept per session.
        mine = gr.State(None, time_to_live=SESSION_STYLES_TTL_S)
        links = tabs.Links(mine=mine, load=demo.load)
        gr.Markdown("# Scribe\nHandwriting synthesis (Graves 2013): type lines, pick a hand for each, "
                    "press **Write**, then download a plotter-clean SVG or a PNG.")
        banner = " ".join(api.shown_text(m) for m in (state.missing, load_error, state.bank_error) if m)
        gr.HTML(f"<div class='scribe-banner'>{banner}</div>" if banner else "", visible=bool(banner))

        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=420):
                with gr.Tabs():
                    with gr.Tab("Lines", id="lines"):
                        lines = tabs.lines_tab(state, first_style, links)
                    with gr.Tab("Quick mode (paragraph)", id="quick"):
                        quick = tabs.quick_tab(state, first_style)
                    with gr.Tab("Paragraph (pages)", id="paragraph"):
                        paragraph = tabs.paragraph_tab(state, first_style)
                    with gr.Tab("Your own hand", id="own-hand"):
                        own = tabs.own_hand_tab(state)
                        learning = learn.learn_panel()
                settings_panel = tabs.settings_panel(state, model_line)
            with gr.Column(scale=4, min_width=380):
                result = tabs.result_panel()

        shared, out = settings_panel.shared, result.out
        links.shared, links.out, links.paper = shared, out, settings_panel.paper.all()
        tabs.wire_open_document(state, lines, shared, settings_panel.paper, mine)
        tabs.wire_quick(state, quick, shared, out, settings_panel.paper, mine)
        tabs.wire_paragraph(state, paragraph, shared, out, settings_panel.paper, mine)
        tabs.wire_own_hand(state, own, shared, out, style_menus=[paragraph.style, quick.style], mine=mine)
        learn.wire_learn(state, learning, own.ink_json, shared.checkpoint, mine)
        tabs.wire_settings(state, settings_panel)
        tabs.wire_result(result, shared)
        api.add_api(state, mine)
        state.menus = [paragraph.style, quick.style]

    demo.queue(max_size=s.max_queue, default_concurrency_limit=s.concurrency)
    demo.scribe_state = state          # launch() reads it: served beyond this machine, styles go private
    return demo


MMAP_THRESHOLD = 256 * 1024     # bytes: buffers this large and up are mmapped, and go back to the OS when freed
ONEDNN_CACHE = 8                 # oneDNN primitives kept (the legibility reader's convolutions, one per shape)


def bound_server_memory(threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep a long-running server's native memory from creeping up with every new request shape:
    - oneDNN keeps a compiled primitive (with its buffers) for every input shape its convolutions see,
      up to 1,024 by default; the legibility reader sees a new shape with nearly every document, so
      the server keeps ONEDNN_CACHE (set before the first one is built; the environment wins);
    - on glibc, every buffer of `threshold` bytes and up is mmapped, so that freeing it gives the
      memory back: by default glibc raises that threshold after the first large free, and the PNG,
      GIF and PDF buffers of later requests then fragment a heap that never shrinks.
    benchmarks/fuzz_app.py measures the server's RSS growth. Returns False without glibc."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHE))
    try:
        return ctypes.CDLL("libc.so.6").mallopt(-3, int(threshold)) == 1     # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def launch(demo: gr.Blocks, host: str | None = None, port: int | None = None, share: bool | None = None,
           **kwargs):
    """Launch with Scribe's look. share=None: on in Colab, off elsewhere. Decided here, in this
    process: Gradio's own Colab check looks at the IPython shell, which `!python app.py` does not have."""
    share = on_colab() if share is None else share
    state = getattr(demo, "scribe_state", None)
    if state is not None and not state.private and served_beyond_this_machine(host, share):
        log.warning("served beyond this machine: the visitors' own styles are kept per session, not in %s/",
                    state.user_dir.name)
        state.make_private()
    if state is not None:
        kwargs.setdefault("state_session_capacity", state.s.max_sessions)
    return demo.launch(server_name=host, server_port=port, share=share, css=CSS,
                       theme=gr.themes.Soft(primary_hue="indigo"), footer_links=["api", "gradio", "settings"],
                       **kwargs)


def parse_args(argv=None) -> argparse.Namespace:
    """The app's flags, each checked here (UsageError names a bad one), before anything is loaded; a
    flag left out takes its environment variable, checked the same way."""
    p = cli.ArgumentParser(description="Scribe's web app: multi-line, multi-style handwriting.")
    p.add_argument("--checkpoint", default=os.environ.get("SCRIBE_CHECKPOINT") or None,
                   help="model file to start with (env SCRIBE_CHECKPOINT; default: the shipped checkpoint)")
    p.add_argument("--checkpoint_dir", default=os.environ.get("SCRIBE_CHECKPOINT_DIR") or None,
                   help="an extra folder whose checkpoints the dropdown lists (e.g. your Drive run folder)")
    p.add_argument("--style_dir", default=None, help="style bank folder (default: checkpoints/styles)")
    # Hugging Face Spaces and Docker set these; an explicit flag still wins.
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="address to serve on (0.0.0.0 for every interface; env GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=cli.port, default=None,
                   help="port (env GRADIO_SERVER_PORT; default 7860, or the next free one)")
    p.add_argument("--share", action=argparse.BooleanOptionalAction, default=None,
                   help="make a public gradio.live link (default: on in Colab, off elsewhere)")
    p.add_argument("--max_steps", type=cli.whole(1, MAX_STEP_CAP), default=None,
                   help="hard cap on pen steps per line (env SCRIBE_MAX_STEPS; default: the sampler's cap)")
    p.add_argument("--device", type=cli.device, default=None,
                   help="cpu or cuda (default: cpu, the measured path; sampling on cuda is not measured yet)")
    p.add_argument("--concurrency", type=cli.whole(1, 64), default=None,
                   help="writes at once (default 2 on CPU, 4 on GPU)")
    p.add_argument("--max_queue", type=cli.whole(1, 100_000), default=64, help="requests that may wait in the queue")
    p.add_argument("--user_style_dir", default=os.environ.get("SCRIBE_USER_STYLE_DIR") or None,
                   help="where styles made from your own ink are saved when the app runs on this machine only "
                        "(env SCRIBE_USER_STYLE_DIR; default: user_styles). Served beyond it (--share, or a "
                        "--host other than loopback) each visitor's styles stay in their browser session.")
    p.add_argument("--max_user_styles", type=cli.whole(0, 1_000_000), default=DEFAULT_MAX_USER_STYLES,
                   help=f"the most styles of the visitors' own this server keeps (default "
                        f"{DEFAULT_MAX_USER_STYLES}; {MAX_SESSION_STYLES} per session when kept per session)")
    p.add_argument("--max_sessions", type=cli.whole(1, 1_000_000), default=DEFAULT_MAX_SESSIONS,
                   help=f"sessions held in memory, 0.38 MB each (default {DEFAULT_MAX_SESSIONS}); beyond it the "
                        f"least recently used is dropped, with its rows and its own styles")
    args = p.parse_args(argv)
    if args.port is None:
        args.port = cli.env_value("GRADIO_SERVER_PORT", cli.port)
    if args.max_steps is None:
        args.max_steps = cli.env_value("SCRIBE_MAX_STEPS", cli.whole(1, MAX_STEP_CAP))
    return args


@cli.command
def main(argv=None) -> None:
    args = parse_args(argv)
    bound_server_memory()
    use_sampling_threads()   # one thread per request; the queue runs --concurrency requests at once
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    share = on_colab() if args.share is None else args.share
    demo = build_demo(AppSettings(args.checkpoint, args.checkpoint_dir, args.style_dir, args.max_steps,
                                  args.device, args.concurrency, args.max_queue, args.user_style_dir,
                                  served_beyond_this_machine(args.host, share), args.max_user_styles,
                                  args.max_sessions))
    launch(demo, args.host, args.port, share)

