"""What one Gradio session costs this app's server, in Python memory.

    python benchmarks/session_memory.py

Gradio keeps, for every session (each browser tab, each gradio_client Client, and each raw API call
made without a session), its own copy of the page's settings, built from every component on the page.
The server keeps `--max_sessions` of them (scribe.web.state.DEFAULT_MAX_SESSIONS), so this sets what
the cap costs at most. Measured with tracemalloc over 50 sessions of the real page (shipped model),
beside a page with one Textbox as the baseline.
"""
from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_session_bytes(demo, n: int = 50) -> float:
    from gradio.state_holder import SessionState
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sessions = [SessionState(demo) for _ in range(n)]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    del sessions
    return grown / n


def main() -> None:
    import gradio as gr
    from scribe.web import app
    from scribe.web.state import DEFAULT_MAX_SESSIONS
    with gr.Blocks() as bare:
        gr.Textbox()
    demo = app.build_demo(app.AppSettings(max_steps=200))
    base, page = per_session_bytes(bare), per_session_bytes(demo)
    print(f"components on the page: {len(demo.blocks)} (baseline page: {len(bare.blocks)})")
    print(f"one session: {page / 1e6:.2f} MB ({page / base:.0f} x the one-Textbox page's {base / 1e3:.1f} kB)")
    print(f"--max_sessions {DEFAULT_MAX_SESSIONS}: at most {DEFAULT_MAX_SESSIONS * page / 1e6:.0f} MB; "
          f"Gradio's default 10,000: {10_000 * page / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
