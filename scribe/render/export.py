"""Every output format, one entry point: `export_pages` writes pages as SVG, PNG, PDF, plotter SVG,
G-code, animated SVG or GIF. PDF is one file for every page; paper (render/paper.py) goes behind the ink
in PNG and PDF only, never in an SVG a plotter could draw. It sits above page, plotter and animate, so none of those imports another's writer.
"""
from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .animate import animated_gif, animated_svg
from .paper import paper_svg
from .pdf import svgs_to_pdf
from .page import CSS_DPI, Page, check_dpi, page_to_svg, svg_to_png
from .plotter import gcode_program, plotter_svg

OUTPUT_FORMATS = ("svg", "png", "pdf", "plotter-svg", "gcode", "animated-svg", "gif")
_SUFFIX = {"svg": ".svg", "png": ".png", "pdf": ".pdf", "plotter-svg": ".svg", "gcode": ".gcode", "animated-svg": ".svg",
           "gif": ".gif"}
_BY_SUFFIX = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gcode": "gcode", ".nc": "gcode", ".gc": "gcode",
              ".ngc": "gcode", ".gif": "gif"}


def format_suffix(fmt: str) -> str:
    return _SUFFIX[fmt]


def format_for_path(path: str | Path, fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else chosen by the suffix (.svg is the plain SVG)."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        if suffix not in _BY_SUFFIX:
            raise ValueError(f"cannot tell the output format from {str(path)!r}: use a suffix of "
                             f"{', '.join(sorted(_BY_SUFFIX))} or name the format ({', '.join(OUTPUT_FORMATS)})")
        return _BY_SUFFIX[suffix]
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


def page_bytes(page: Page, fmt: str, dpi: float = 192.0, plotter=None, gcode=None, animation=None,
               paper=None) -> bytes:
    """One page in one format, as the bytes of the file. The option objects are
    scribe.render.plotter.PlotterOptions / GcodeOptions, scribe.render.animate.AnimationOptions and
    scribe.render.paper.PaperOptions (PNG and PDF only) (None: defaults, no paper)."""
    if fmt == "svg":
        return page_to_svg(page).encode("utf-8")
    if fmt == "png":
        return svg_to_png(paper_svg(page, paper), dpi)
    if fmt == "pdf":
        return svgs_to_pdf([paper_svg(page, paper)])
    if fmt == "plotter-svg":
        return plotter_svg(page, plotter).encode("utf-8")
    if fmt == "gcode":
        return gcode_program(page, plotter, gcode).encode("ascii")
    if fmt == "animated-svg":
        return animated_svg(page, animation).encode("utf-8")
    if fmt == "gif":
        return animated_gif(page, animation, dpi=min(check_dpi(dpi), CSS_DPI))
    raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")


def page_paths(path: str | Path, n_pages: int) -> list[Path]:
    """`out.svg` for one page; `out-1.svg`, `out-2.svg`, ... for several."""
    path = Path(path)
    if n_pages == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, n_pages + 1)]


def export_pages(pages: list[Page], path: str | Path, fmt: str | None = None, dpi: float = 192.0,
                 plotter=None, gcode=None, animation=None, paper=None) -> list[Path]:
    """Write every page in one format (see `page_bytes`), each file atomically; returns the paths.
    PDF is one file however many pages there are.

    All pages are rendered before any file is written, so a failure leaves no partial set behind.
    """
    if not pages:
        raise ValueError("nothing to export: no pages")
    fmt = format_for_path(path, fmt)
    if fmt == "pdf":
        return [atomic_write_bytes(path, svgs_to_pdf([paper_svg(p, paper) for p in pages]))]
    blobs = [page_bytes(p, fmt, dpi, plotter, gcode, animation, paper) for p in pages]
    return [atomic_write_bytes(target, blob) for target, blob in zip(page_paths(path, len(pages)), blobs)]
