"""What the page shows, as HTML strings: previews of results and styles, the model line. No Gradio.
"""
from __future__ import annotations

import html
import os
import tempfile
import uuid
from pathlib import Path

from .. import ink
from ..hand import Hand
from ..render.animate import AnimationOptions, animated_svg
from ..render.page import InkLine, Layout, Page, layout_page, page_to_svg
from ..render.paper import PaperOptions, paper_svg
from ..styles import Style, StyleBank, StyleError
from .forms import DEFAULT_COLOR, FREE_STYLE


# ---- messages ---------------------------------------------------------------------------------------
_PROJECT = Path(__file__).resolve().parent.parent.parent


def _server_folders(folders=()) -> list[str]:
    """Folders whose absolute names a message must not show, longest first: this process's own, and
    `folders` (the app's: AppState.folders)."""
    found = {os.getcwd(), str(_PROJECT), tempfile.gettempdir(), str(Path.home()), *map(str, folders)}
    found |= {os.path.realpath(f) for f in found}
    return sorted({f.rstrip(os.sep) for f in found if len(f.rstrip(os.sep)) > 1}, key=len, reverse=True)


def hide_server_paths(text: str, folders=()) -> str:
    """`text` with every server folder it names cut off, so that files are named relative to their
    folder: /home/me/scribe/checkpoints/x.pt -> checkpoints/x.pt, /tmp/gradio/ab/ink.json -> gradio/ab/ink.json."""
    for folder in _server_folders(folders):
        text = text.replace(folder + os.sep, "")
    return text


def shown_text(text, folders=()) -> str:
    """Text for an error, a toast or a Markdown line: server folders cut, HTML escaped (Gradio renders
    messages as HTML, and they echo what the user typed)."""
    return html.escape(hide_server_paths(str(text), folders), quote=False)


def describe_checkpoint(hand: Hand) -> str:
    """One line for the UI: which model, how trained, what it can write."""
    c = hand.checkpoint
    parts = [f"step {c.step:,}"]
    nll = c.metrics.get("valid_nll") if isinstance(c.metrics, dict) else None
    if isinstance(nll, (int, float)):
        parts.append(f"validation NLL {nll:.1f} nats/line")
    parts.append(f"{c.config.num_layers}×{c.config.rnn_size} LSTM")
    parts.append(f"{len(hand.alphabet)} characters")
    parts.append(f"{len(hand.style_ids)} styles" if hand.style_ids else "no style bank")
    return " · ".join(parts)


# ---- styles ----------------------------------------------------------------------------------------
def style_choices(bank: StyleBank | None) -> list[tuple[str, str]]:
    """Dropdown choices (label, value): "free" first, then every style by id with a bit of its text."""
    out = [("free (no style)", FREE_STYLE)]
    for i in (bank.ids if bank else []):
        try:
            style = bank.get(i)
        except StyleError:
            continue
        text = style.text
        label = style.description or f"{text[:28]}{'…' if len(text) > 28 else ''}"
        out.append((f"{i}: {label}", str(i)))
    return out


def style_preview_svg(style: Style, color: str = DEFAULT_COLOR, x_height_px: float = 14.0,
                      width: float = 1.1) -> str:
    """The style's own ink (the real line that primes the model), small, as an SVG string."""
    strokes = style.strokes()
    page = layout_page([InkLine(strokes, color, width)], ink.ink_height(strokes),
                       Layout(x_height_px=x_height_px, line_spacing=2.6, margin_px=3.0))
    return page_to_svg(page)


def style_chart_html(bank: StyleBank | None) -> str:
    """A grid of every style's ink with its id, so users can choose a hand by eye."""
    if bank is None or not bank.ids:
        return ("<p class='scribe-note'>No style bank is loaded (checkpoints/styles/ is missing), so "
                "every line is written in the model's own hand.</p>")
    cards = []
    for i in bank.ids:
        try:
            style = bank.get(i)
            svg = style_preview_svg(style)
        except StyleError as e:
            cards.append(f"<figure class='scribe-style'><figcaption>style {i}: unreadable "
                         f"({html.escape(str(e))})</figcaption></figure>")
            continue
        about = f" {html.escape(style.description)}" if style.description else ""
        cards.append(f"<figure class='scribe-style' title='{html.escape(style.text, quote=True)}'>"
                     f"<div class='scribe-style-ink'>{svg}</div><figcaption><b>{i}</b>{about}</figcaption></figure>")
    return f"<div class='scribe-style-grid'>{''.join(cards)}</div>"


def style_row_preview(bank: StyleBank | None, choice) -> str:
    """The small preview beside one line's style picker."""
    if choice in (None, "", FREE_STYLE) or bank is None:
        return "<div class='scribe-row-style scribe-note' title='the model&#39;s own hand'>no style</div>"
    try:
        return f"<div class='scribe-row-style'>{style_preview_svg(bank.get(int(choice)), x_height_px=10.0)}</div>"
    except (StyleError, ValueError, TypeError):
        return f"<div class='scribe-row-style scribe-note'>no style {html.escape(str(choice))}</div>"


def style_choice(style_id: int, text: str) -> tuple[str, str]:
    return (f"{style_id}: {text[:28]}{'…' if len(text) > 28 else ''} (yours)", str(style_id))


# ---- results ---------------------------------------------------------------------------------------
def preview_html(svg: str | None) -> str:
    """The result inline, as vector graphics: crisp at any zoom, on white whatever the page theme."""
    if not svg:
        return ("<div class='scribe-preview scribe-empty'>Your handwriting appears here. "
                "Type some text and press <b>Write</b>.</div>")
    return f"<div class='scribe-preview'>{svg}</div>"


def live_preview_html(svg: str | None, added: str | None, live_id: str) -> str:
    """A live update for the preview (scribe.web.live, incremental): the empty page of a write
    (`svg`), or the strokes `added` since the last update, which assets.LIVE_PREVIEW_JS draws onto
    that page in the browser (the fragment itself stays hidden)."""
    if svg is not None:
        return f"<div class='scribe-preview scribe-live' data-live='{live_id}'>{svg}</div>"
    return (f"<div class='scribe-live-add' data-live='{live_id}' hidden>"
            f"<svg xmlns='http://www.w3.org/2000/svg'>{added or ''}</svg></div>")


def pages_preview_html(pages: list[Page], paper: PaperOptions | None = None) -> str:
    """Every page inline, one under the other, each on white (or its `paper`, as the PNGs and the PDF
    have it) with a caption when there are several."""
    paper = paper if paper is not None and paper.kind != "plain" else None    # plain: the page is white already
    if len(pages) == 1:
        return preview_html(paper_svg(pages[0], paper))
    parts = [f"<figure style='margin:0 0 12px 0'><figcaption style='font-size:12px;color:#666'>page {i} of "
             f"{len(pages)}</figcaption><div style='border:1px solid #ddd'>{paper_svg(p, paper)}</div></figure>"
             for i, p in enumerate(pages, start=1)]
    return f"<div class='scribe-preview scribe-pages'>{''.join(parts)}</div>"


def animation_html(page: Page, speed: float) -> str:
    """The page being written, for a gr.HTML component. CSS keyframes start when the element is inserted
    (SMIL would run on the document's clock), and the nonce makes every Play a new value, so it replays."""
    svg = animated_svg(page, AnimationOptions(speed=speed, method="css"))
    return f"<div class='scribe-preview scribe-anim' data-play='{uuid.uuid4().hex[:8]}'>{svg}</div>"
