"""Every output format, one entry point: `export_pages` writes pages as SVG, PNG, plotter SVG, G-code,
animated SVG or GIF. It sits above page, plotter and animate, so none of those imports another's writer.
"""
from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .animate import animated_gif, animated_svg
from .page import CSS_DPI, Page, check_dpi, page_to_svg, svg_to_png
from .plotter import gcode_program, plotter_svg

OUTPUT_FORMATS = ("svg", "png", "plotter-svg", "gcode", "animated-svg", "gif")
_SUFFIX = {"svg": ".svg", "png": ".png", "plotter-svg": ".svg", "gcode": ".gcode", "animated-svg": ".svg",
           "gif": ".gif"}
_BY_SUFFIX = {".svg": "svg", ".png": "png", ".gcode": "gcode", ".nc": "gcode", ".gc": "gcode",
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


def page_bytes(page: Page, fmt: str, dpi: float = 192.0, plotter=None, gcode=None, animation=None) -> bytes:
    """One page in one format, as the bytes of the file. The option objects are
    scribe.render.plotter.PlotterOptions / GcodeOptions and scribe.render.animate.AnimationOptions (None: defaults)."""
    if fmt == "svg":
        return page_to_svg(page).encode("utf-8")
    if fmt == "png":
        return svg_to_png(page_to_svg(page), dpi)
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
                 plotter=None, gcode=None, animation=None) -> list[Path]:
    """Write every page in one format (see `page_bytes`), each file atomically; returns the paths.

    All pages are rendered before any file is written, so a failure leaves no partial set behind.
    """
    if not pages:
        raise ValueError("nothing to export: no pages")
    fmt = format_for_path(path, fmt)
    blobs = [page_bytes(p, fmt, dpi, plotter, gcode, animation) for p in pages]
    return [atomic_write_bytes(target, blob) for target, blob in zip(page_paths(path, len(pages)), blobs)]
