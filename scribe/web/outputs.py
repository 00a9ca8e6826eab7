"""Writing results into files: a request's pages as SVG, PNG and PDF (either mode: a
scribe.request.WriteRequest or ParagraphRequest, built by scribe.web.api), a saved document, plotter
files, animations, and a style made from the user's ink. Each raises the library's errors (all
ScribeErrors). No Gradio here, so all of it is tested without a server.

Every request gets a fresh folder under the output root; folders older than an hour are pruned.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import time
import uuid
import zipfile

import numpy as np
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import atomic_write_bytes
from ..hand import LIVE_EVERY, Hand, run_to_end
from ..request import ParagraphRequest, WriteRequest
from ..result import Note, Result
from ..inkml import MAX_BYTES, InkData, InkFileError, read_ink
from ..render.animate import AnimationError, AnimationOptions
from ..render.export import export_pages
from ..document import MAX_DOCUMENT_BYTES, Document, DocumentError, document_of
from ..render.page import CSS_DPI, Page
from ..render.paper import PaperOptions, paper_svg
from ..render.plotter import GcodeOptions, PlotterError, PlotterOptions
from ..styles import MAX_PACKED_STYLES, MAX_STYLE_FILE_BYTES, pack_styles, style_file_bytes, unpack_styles
from ..user_style import UserStyleError, save_style
from .forms import DEFAULT_DPI, parse_text

MAX_PNG_PIXELS = 40_000_000        # ~160 MB of RGBA while rasterising; beyond this the dpi is lowered
OUTPUT_MAX_AGE_S = 3600            # result files older than this are removed at the next write
DEFAULT_OUTPUT_MAX_MB = 1024       # and the oldest beyond this many MB in all (--max_output_mb)
OUTPUT_GRACE_S = 120               # a folder this young is never removed: its request may still be answering
MAX_STYLE_UPLOAD_BYTES = 2 * MAX_PACKED_STYLES * MAX_STYLE_FILE_BYTES   # one uploaded zip of style files


# ---- folders ---------------------------------------------------------------------------------------
def output_root() -> Path:
    return Path(tempfile.gettempdir()) / "scribe-app"


def server_cache_root() -> Path:
    """Where the server keeps a copy of every file it hands out (Gradio's cache: GRADIO_TEMP_DIR, else
    <temp>/gradio; one folder per file). The server removes them after an hour; result_folder() bounds
    them by size too, with the same limit and grace as the result folders."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


class OutputLimits:
    """How much the app's result folders may hold: the server sets `max_bytes` from --max_output_mb."""
    max_age_s: float = OUTPUT_MAX_AGE_S
    max_bytes: int = DEFAULT_OUTPUT_MAX_MB * 1024 * 1024


def _folder_bytes(d: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(d):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
            except OSError:
                pass
    return total


def prune_outputs(root: Path, max_age_s: float | None = None, max_bytes: int | None = None,
                  now: float | None = None) -> int:
    """Remove result folders older than `max_age_s`, then the oldest others while all of them hold more
    than `max_bytes` (the server copies results into its own cache, so a folder is only needed while its
    request is answered); a folder younger than OUTPUT_GRACE_S is always kept. Defaults: OutputLimits.
    Returns the bytes left."""
    max_age_s = OutputLimits.max_age_s if max_age_s is None else max_age_s
    max_bytes = OutputLimits.max_bytes if max_bytes is None else max_bytes
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    kept = []
    for d in root.iterdir():
        try:
            if not d.is_dir() or d.is_symlink():
                continue
            mtime = d.stat().st_mtime
        except OSError:
            continue
        if mtime < now - max_age_s:
            shutil.rmtree(d, ignore_errors=True)
        else:
            kept.append((mtime, d))
    kept.sort()
    sizes = [_folder_bytes(d) for _, d in kept]
    total = sum(sizes)
    for (mtime, d), size in zip(kept, sizes):          # oldest first
        if total <= max_bytes or mtime >= now - OUTPUT_GRACE_S:
            break
        shutil.rmtree(d, ignore_errors=True)
        total -= size
    return total


def result_folder() -> Path:
    """A fresh folder for one request's files, under the app's output root (pruned after an hour)."""
    root = output_root()
    prune_outputs(root)
    prune_outputs(server_cache_root())        # the server's copies of earlier results: the same bound
    return root / uuid.uuid4().hex


def zip_files(paths: list[Path], target: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.name)
    return atomic_write_bytes(target, buf.getvalue())


def one_file(paths: list[Path], zip_name: str) -> Path:
    """The single file, or a zip of several (a DownloadButton offers one file)."""
    return paths[0] if len(paths) == 1 else zip_files(paths, paths[0].parent / zip_name)


# ---- a write and its files, either mode ----------------------------------------------------------
@dataclass
class Written:
    """A write as the app hands it out: the library's Result (its pages, seed, notes and summary) and the
    files saved from it. Line mode has one page and a saved document; paragraph mode a file per page."""
    result: Result
    svg_files: list[Path]
    png_files: list[Path]
    pdf_file: Path                          # one PDF, every page
    dpi: float                              # the PNGs' resolution (lowered when a page would be too big)
    document_file: Path | None = None       # line mode: the saved document (JSON), its request and ink

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def pages(self) -> list[Page]:
        return self.result.pages

    @property
    def paper(self) -> PaperOptions | None:
        return self.result.paper

    @property
    def legibility(self):
        return self.result.legibility

    @property
    def paragraph(self) -> bool:
        return self.result.paragraph

    @property
    def lines(self) -> int:
        return self.result.lines_written

    @property
    def svg(self) -> str:
        """The (first) page as SVG, without paper: what the SVG file holds."""
        return self.result.svg()

    @property
    def svg_path(self) -> Path:
        return self.svg_files[0]

    @property
    def png_path(self) -> Path:
        return self.png_files[0]

    @property
    def pdf_path(self) -> Path:
        return self.pdf_file

    @property
    def document_path(self) -> Path | None:
        return self.document_file

    def notes(self) -> list[Note]:
        return self.result.notes()

    def summary(self) -> str:
        return self.result.summary()

    def shown_svg(self) -> str:
        """The (first) page as the app shows it: on its paper, as the PNG and PDF have it."""
        paper = self.paper
        return paper_svg(self.pages[0], paper) if paper is not None and paper.kind != "plain" else self.svg


def png_dpi_within_limit(width_px: float, height_px: float, dpi: float,
                         max_pixels: int = MAX_PNG_PIXELS) -> float:
    """`dpi`, lowered if the PNG would exceed `max_pixels` (a 40-line page at 600 dpi would)."""
    scale = dpi / CSS_DPI
    pixels = width_px * height_px * scale * scale
    if pixels <= max_pixels:
        return dpi
    return math.floor(CSS_DPI * math.sqrt(max_pixels / max(1.0, width_px * height_px)))


def write_files(hand: Hand, request: WriteRequest | ParagraphRequest, dpi: float = DEFAULT_DPI,
                out_root: Path | None = None, embed_styles=(), budget: float | None = None, on_step=None) -> Written:
    """Write `request` (either mode) with `hand` and save its files in a fresh folder (save_files); line
    mode also saves its document (JSON: the request and its ink), with the styles in `embed_styles` (the
    user's own) carried as ink. `budget`: the most seconds the write may cost (scribe.cost); `on_step`:
    line mode's pen-step progress (scribe.hand.Hand.write)."""
    return run_to_end(write_files_live(hand, request, dpi, out_root, embed_styles, budget, on_step, every=None))


def on_paper(writing, paper: PaperOptions | None):
    """The LiveInk of `writing`, each marked with the `paper` its PNG and PDF will have, so that a preview
    can show it (scribe.web.live); the result passes through, and closing this closes `writing`.
    Plain paper marks nothing: the page is white already."""
    paper = paper if paper is not None and paper.kind != "plain" else None
    try:
        while True:
            try:
                live = next(writing)
            except StopIteration as end:
                return end.value
            live.paper = paper
            yield live
    finally:
        writing.close()


def write_files_live(hand: Hand, request: WriteRequest | ParagraphRequest, dpi: float = DEFAULT_DPI,
                     out_root: Path | None = None, embed_styles=(), budget: float | None = None, on_step=None,
                     every: int | None = LIVE_EVERY):
    """write_files, as a generator: it yields a scribe.result.LiveInk (the ink so far) every `every` pen
    steps (Hand.write_live) and returns the Written. Closing it stops the sampling loop; no file is
    written then. every=None: no live ink (write_files)."""
    writing = hand.write_live(request, every=every, on_step=on_step, budget=budget, png_dpi=dpi)
    if every is None:
        result = run_to_end(writing)
    else:
        result = yield from on_paper(writing, request.paper)
    document = None if result.paragraph else document_of(result, hand, hand.checkpoint.path, request.paper,
                                                         embed_styles)
    return save_files(result, dpi, out_root, document)


def save_files(result: Result, dpi: float = DEFAULT_DPI, out_root: Path | None = None,
               document: Document | None = None) -> Written:
    """`result`'s pages as SVG (no paper), PNG and one PDF (on the request's paper), and `document` as
    JSON, each atomically in a fresh folder under `out_root` (the app's output root). A PNG that would
    be over MAX_PNG_PIXELS is made at a lower dpi, and the result's notes say so."""
    used = min(png_dpi_within_limit(p.width, p.height, dpi) for p in result.pages)
    if used < dpi:
        result.extra_notes.append(Note(f"PNG resolution lowered from {dpi:g} to {used:g} dpi to stay under "
                                       f"{MAX_PNG_PIXELS // 1_000_000} megapixels"))
    root = out_root or output_root()
    prune_outputs(root)
    folder = root / uuid.uuid4().hex
    stem = f"{'paragraph' if result.paragraph else 'handwriting'}-{result.seed}"
    svgs = result.export(folder / f"{stem}.svg", "svg")
    pngs = result.export(folder / f"{stem}.png", "png", dpi=used)
    pdf = result.export(folder / f"{stem}.pdf", "pdf")[0]
    saved = None if document is None else atomic_write_bytes(folder / f"{stem}.scribe.json",
                                                              document.dumps().encode("utf-8"))
    return Written(result, svgs, pngs, pdf, used, saved)


# ---- saved documents -------------------------------------------------------------------------------
def read_document(upload) -> Document:
    """The document in a file uploaded through Gradio. Messages name only the file, never the server
    folder it sits in."""
    if not upload:
        raise InputError("choose a saved document (.json) first")
    path = _upload_path(upload, "document")
    try:
        return Document.load(path)
    except DocumentError as e:
        raise DocumentError(str(e).replace(str(path.parent) + "/", "")) from None
    except RecursionError:
        raise DocumentError(f"{path.name} is nested too deeply to be a Scribe document") from None


def document_from_text(text) -> Document:
    """A document sent to the API as its JSON text (or as the JSON object itself). The text is never
    taken as a file name: a request cannot make the server read a path."""
    if isinstance(text, str):
        if not text.strip():
            raise InputError("document: paste the saved document's JSON text (the .scribe.json file's contents)")
        if len(text) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"the document is over the {MAX_DOCUMENT_BYTES} byte limit")
        if text.lstrip()[:1] != "{":
            raise DocumentError("document must be the saved document's JSON text (starting with '{'), not a "
                                "file name; to use a file, send its contents")
        try:
            data = json.loads(text)
        except RecursionError:
            raise DocumentError("the document is nested too deeply to be a Scribe document") from None
        except ValueError as e:
            raise DocumentError(f"the document is not JSON ({e})") from None
    elif isinstance(text, dict):
        data = text
    else:
        raise InputError(f"document must be the saved document's JSON text, not {type(text).__name__}")
    try:
        return Document.from_json(data)
    except RecursionError:
        raise DocumentError("the document is nested too deeply to be a Scribe document") from None


# ---- plotter, animation ---------------------------------------------------------------------------
def plotter_files(pages: list[Page], plotter: PlotterOptions, gcode: GcodeOptions, stem: str = "handwriting",
                  folder: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Plotter SVG and G-code files for every page: (svg files, gcode files)."""
    if not pages:
        raise InputError("nothing written yet: press Write first")
    folder = folder or result_folder()
    try:
        svgs = export_pages(pages, folder / f"{stem}-plotter.svg", "plotter-svg", plotter=plotter)
        codes = export_pages(pages, folder / f"{stem}.gcode", "gcode", plotter=plotter, gcode=gcode)
    except (PlotterError, ValueError) as e:
        raise InputError(str(e)) from None
    return svgs, codes


def animation_files(page: Page, options: AnimationOptions, gif: bool = False, stem: str = "handwriting",
                    folder: Path | None = None) -> list[Path]:
    """The downloadable animation: an animated SVG (SMIL, plays anywhere), and a GIF when asked."""
    folder = folder or result_folder()
    try:
        out = export_pages([page], folder / f"{stem}-animated.svg", "animated-svg", animation=options)
        if gif:
            out += export_pages([page], folder / f"{stem}.gif", "gif", animation=options)
    except (AnimationError, ValueError) as e:
        raise InputError(str(e)) from None
    return out


# ---- your own hand ----------------------------------------------------------------------------------
def own_style(hand: Hand, ink, text, upload):
    """A new style (a UserStyle, not saved anywhere yet) from the canvas JSON (`ink`) or an uploaded
    file (`upload`, a path; it wins) plus the typed text. Raises UserStyleError (a StyleError) or
    InputError with a message for the user."""
    ink, text = parse_text(ink, "ink"), parse_text(text, "the text")
    if upload:
        source = _uploaded_ink(upload)
    else:
        ink = ink.strip() if ink else ""
        if len(ink) > MAX_BYTES:     # before it is parsed: JSON strokes take ~10x their text in memory
            raise InputError(f"the ink is {len(ink)} characters, over the {MAX_BYTES} byte limit; "
                             f"write one line")
        if not ink or _no_strokes(ink):
            raise InputError("nothing to make a style from: write on the canvas (or upload an InkML or "
                             "IAM-OnDB XML file) first")
        # The ink box holds ink itself, never a file name: a request must not make the server read a path.
        if ink[:1] not in ("[", "{", "<"):
            raise InputError("the ink must be the canvas's JSON strokes or InkML / IAM-OnDB XML text; "
                             "to use a file, upload it")
        source = ink
    text = text if text is not None and text.strip() else None
    style, _ = hand.style_from_ink(source, text)
    return style


def style_files(style_id: int, style, mine: list | None = None) -> tuple[list[Path], Path]:
    """The downloads of a style just made: its two style files (+ a zip of all of `mine`, the user's own
    styles, when given), and a preview SVG. Returns (files, preview)."""
    folder = result_folder()
    files = [atomic_write_bytes(folder / name, data)
             for name, data in style_file_bytes(style_id, style.text, style.offsets).items()]
    if mine:
        files.append(atomic_write_bytes(folder / "your-styles.zip", pack_styles(mine)))
    preview = atomic_write_bytes(folder / f"style-{style_id}-preview.svg", style.preview_svg().encode("utf-8"))
    return files, preview


def make_style(hand: Hand, ink, text, upload, user_dir: Path) -> tuple[object, int, list[Path], Path]:
    """`own_style`, saved in `user_dir` under the next free id: (UserStyle, id, [its two style files,
    for download], preview SVG file). `hand` is left as it was: a hand that sees the new style is a new
    one (Hand.with_styles, or Hand.load with user_style_dir)."""
    style = own_style(hand, ink, text, upload)
    style_id = save_style(style, user_dir, avoid_ids=hand.style_ids)
    return (style, style_id, *style_files(style_id, style))


def your_styles_zip(styles: list) -> Path:
    """All of the user's own styles in one zip, to download and upload again later."""
    return atomic_write_bytes(result_folder() / "your-styles.zip", pack_styles(styles))


def read_style_uploads(uploads) -> list:
    """Styles from uploaded files (style-N-*.npy pairs or zips of them; see scribe.styles.unpack_styles).
    Read here as bytes, so that messages name only the files."""
    if not uploads:
        raise InputError("choose your style files first (your-styles.zip, or style-N-chars.npy with "
                         "style-N-strokes.npy)")
    uploads = uploads if isinstance(uploads, list) else [uploads]
    if len(uploads) > 2 * MAX_PACKED_STYLES:
        raise InputError(f"too many files: at most {2 * MAX_PACKED_STYLES} at once")
    files = []
    for up in uploads:
        path = _upload_path(up, "styles")
        try:
            if path.stat().st_size > MAX_STYLE_UPLOAD_BYTES:
                raise InputError(f"{path.name}: over the {MAX_STYLE_UPLOAD_BYTES} byte limit for style files")
            files.append((path.name, path.read_bytes()))
        except OSError:
            raise InputError(f"{path.name}: the upload could not be read; upload it again") from None
    return unpack_styles(files)


def _uploaded_ink(upload) -> InkData:
    """The ink of a file uploaded through Gradio (which keeps uploads in its own cache folder). Read
    here as bytes, so that messages name only the file, never the server folder it sits in."""
    path = _upload_path(upload, "file")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path.name}: the file is over the {MAX_BYTES} byte limit")
        data = path.read_bytes()
    except OSError:
        raise InputError(f"{path.name}: the upload could not be read; upload it again") from None
    try:
        return read_ink(data, name=path.name)
    except InkFileError as e:
        raise UserStyleError(f"could not read the ink: {e}") from None


def _upload_path(upload, name: str) -> Path:
    """The server file of an upload as the handlers get it (a path, or Gradio's FileData / its dict)."""
    path = getattr(upload, "path", None) or (upload.get("path") if isinstance(upload, dict) else upload)
    if not isinstance(path, (str, Path)) or not str(path).isprintable():
        raise InputError(f"{name}: expected an uploaded file, not {type(upload).__name__}")
    return Path(path)


def _no_strokes(ink: str) -> bool:
    try:
        data = json.loads(ink)
    except (ValueError, RecursionError):
        return False          # not JSON (or nested too deeply): let the ink reader name the problem
    strokes = data.get("strokes") if isinstance(data, dict) else data
    return isinstance(strokes, list) and not any(strokes)


# ---- learning a hand (scribe.adapt) ---------------------------------------------------------------
def learned_line(hand: Hand, ink, text: str) -> dict:
    """One line of the guided session, checked now so that a bad line is refused before any training:
    the canvas JSON and the sentence it should say -> {"text", "offsets"} (the normalised-units ink, as
    a style keeps it). Raises UserStyleError or InputError naming the problem."""
    style = own_style(hand, ink, text, None)
    return {"text": style.text, "offsets": style.offsets.tolist()}


def learning_lines(drawn, uploads) -> list[tuple[str, object]]:
    """(text, ink) pairs for scribe.adapt: the session's drawn lines, then uploaded files (each with its
    own transcription: InkML truth or IAM-OnDB XML)."""
    pairs = []
    for line in drawn or []:
        if not isinstance(line, dict) or "text" not in line or "offsets" not in line:
            raise InputError("the written lines are damaged: reload the page and write them again")
        pairs.append((line["text"], np.asarray(line["offsets"], dtype=np.float64)))
    for upload in uploads or []:
        data = _uploaded_ink(upload)
        name = _upload_path(upload, "ink file").name
        if not data.text:
            raise InputError(f"{name} has no transcription (an InkML truth annotation or IAM-OnDB XML text): "
                             f"write that line on the canvas instead")
        pairs.append((data.text, data.strokes))
    return pairs
