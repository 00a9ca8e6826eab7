"""The web app: `build_demo` puts the parts of scribe.web together; `main` serves it with the command
line's flags (scribe.web.flags); `python app.py` and `scribe-app` are scribe.web.command, which checks
those flags before Gradio loads and then calls `main`.

    python app.py                                  # the shipped checkpoint, on http://127.0.0.1:7860
    python app.py --checkpoint runs/x/checkpoint-3200.pt --checkpoint_dir /content/drive/MyDrive/scribe
    python app.py --share                          # a public link (on by default in Colab)

API endpoints: see scribe/web/endpoints.py, docs/api.md, or the app's "Use via API" page.
"""
from __future__ import annotations

import ctypes
import logging
import os

import gradio as gr

from .. import cli
from ..hosting import came_through_proxy, on_colab, served_beyond_this_machine
from ..hand import use_sampling_threads
from . import api, learn, outputs, tabs, views
from .assets import CSS
from .flags import parse_args
from .endpoints import add_endpoints
from .fields import Fields
from .forms import FREE_STYLE
from .state import SESSION_STYLES_TTL_S, AppSettings, AppState

log = logging.getLogger("scribe.app")


def build_demo(settings: AppSettings | None = None) -> gr.Blocks:
    s = (settings or AppSettings()).resolved()
    state = AppState(s)
    outputs.OutputLimits.max_bytes = s.max_output_mb * 1024 * 1024     # the process's result folders
    model_line, load_error = "", ""
    if state.default:
        try:
            model_line = views.describe_checkpoint(state.cache.get(state.default))   # load now: first write is fast
        except Exception as e:   # the page still opens, says why, and offers the other checkpoints
            load_error = f"cannot load the checkpoint {state.default_label()}: {e}"
            model_line = f"⚠️ {load_error}"
    shipped = state.shipped_style_menu()
    first_style = shipped[1][1] if len(shipped) > 1 else FREE_STYLE

    with api.CheckedBlocks(title="Scribe: handwriting synthesis", delete_cache=(1800, 3600)) as demo:
        # The session's own styles (a MemoryStyleBank, or None) when they are kept per session.
        mine = gr.State(None, time_to_live=SESSION_STYLES_TTL_S)
        fields = Fields()
        links = tabs.Links(mine=mine, load=demo.load)
        gr.Markdown("# Scribe\nHandwriting synthesis (Graves 2013): type lines, pick a hand for each, "
                    "press **Write**, then download a plotter-clean SVG or a PNG.")
        banner = " ".join(state.shown(m) for m in (state.missing, load_error, state.bank_error) if m)
        gr.HTML(f"<div class='scribe-banner'>{banner}</div>" if banner else "", visible=bool(banner))

        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=420):
                with gr.Tabs():
                    with gr.Tab("Lines", id="lines"):
                        lines = tabs.lines_tab(state, first_style, links)
                    with gr.Tab("Quick mode (paragraph)", id="quick"):
                        quick = tabs.quick_tab(state, first_style, fields)
                    with gr.Tab("Paragraph (pages)", id="paragraph"):
                        paragraph = tabs.paragraph_tab(state, first_style, fields)
                    with gr.Tab("Your own hand", id="own-hand"):
                        own = tabs.own_hand_tab(state)
                        learning = learn.learn_panel()
                settings_panel = tabs.settings_panel(state, model_line, fields)
            with gr.Column(scale=4, min_width=380):
                result = tabs.result_panel()

        links.settings, links.out, links.chart = settings_panel.fields, result.out, settings_panel.chart
        tabs.wire_open_document(state, lines, links)
        tabs.wire_quick(state, quick, fields, links)
        tabs.wire_paragraph(state, paragraph, fields, links)
        tabs.wire_own_hand(state, own, links, style_menus=[paragraph.style, quick.style])
        learn.wire_learn(state, learning, own.ink_json, links)
        tabs.wire_settings(state, settings_panel)
        tabs.wire_result(state, result, links.settings)
        tabs.wire_menus(state, demo.load, links, style_menus=[paragraph.style, quick.style])
        add_endpoints(state, mine)

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


def go_private(demo: gr.Blocks, why: str) -> None:
    """Keep the visitors' own styles per session from now on. The page itself needs no change: it is
    built with the shipped styles and listed checkpoints only, and each page load fills its menus with
    what that session may see (tabs.wire_menus)."""
    state = getattr(demo, "scribe_state", None)
    if state is None or state.private:
        return
    state.make_private()
    log.warning("served beyond this machine (%s): the visitors' own styles are kept per session from now "
                "on, not in %s/", why, state.user_dir.name)


class PrivateWhenProxied:
    """ASGI middleware of a server that runs with shared styles (bound to loopback, no share link): the
    first request that came through a proxy or tunnel (scribe.hosting.came_through_proxy) makes the
    styles private for good, before that request is answered. For good, not per request: once one
    request came from elsewhere, any later one may have too (a proxy need not mark every request), and
    the shared menus would already show every local style to whoever is behind it."""

    def __init__(self, app, demo: gr.Blocks):
        self.app, self.demo = app, demo

    async def __call__(self, scope, receive, send):
        if scope.get("type") in ("http", "websocket"):
            state = getattr(self.demo, "scribe_state", None)
            if state is not None and not state.private:
                why = came_through_proxy(scope.get("headers") or [])
                if why:
                    go_private(self.demo, why)
        await self.app(scope, receive, send)


def launch(demo: gr.Blocks, host: str | None = None, port: int | None = None, share: bool | None = None,
           **kwargs):
    """Launch with Scribe's look. share=None: on in Colab, off elsewhere. Decided here, in this
    process: Gradio's own Colab check looks at the IPython shell, which `!python app.py` does not have.
    Served beyond this machine, the visitors' styles go private now; served on loopback, they do as soon
    as a request comes through a proxy or tunnel (PrivateWhenProxied)."""
    from starlette.middleware import Middleware
    share = on_colab() if share is None else share
    state = getattr(demo, "scribe_state", None)
    if state is not None and not state.private and served_beyond_this_machine(host, share):
        go_private(demo, "a share link" if share else f"host {host or os.environ.get('GRADIO_SERVER_NAME')}")
    if state is not None:
        kwargs.setdefault("state_session_capacity", state.s.max_sessions)
        app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(PrivateWhenProxied, demo=demo)]
        kwargs["app_kwargs"] = app_kwargs
    return demo.launch(server_name=host, server_port=port, share=share, css=CSS,
                       theme=gr.themes.Soft(primary_hue="indigo"), footer_links=["api", "gradio", "settings"],
                       **kwargs)


@cli.command
def main(argv=None) -> None:
    args = parse_args(argv)
    bound_server_memory()
    use_sampling_threads()   # one thread per request; the queue runs --concurrency requests at once
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    share = on_colab() if args.share is None else args.share
    demo = build_demo(AppSettings(args.checkpoint, args.checkpoint_dir, args.style_dir, args.max_steps,
                                  args.device, args.concurrency, args.max_queue, args.user_style_dir,
                                  args.private_styles or served_beyond_this_machine(args.host, share),
                                  args.max_user_styles,
                                  args.max_sessions, args.max_output_mb, args.max_request_cost or None))
    launch(demo, args.host, args.port, share)

