"""PDF: one file for a whole document, one PDF page per page, each the size of its page (cairosvg
draws the SVG; several pages share one cairo PDF surface, so there is never a zip of PDFs).
"""
from __future__ import annotations

import io

from .page import CSS_DPI


def svgs_to_pdf(svgs: list[str]) -> bytes:
    """The bytes of one PDF with one page per SVG (px are CSS pixels: 96 per inch)."""
    import cairocffi
    import cairosvg.parser
    import cairosvg.surface

    if not svgs:
        raise ValueError("nothing to export: no pages")
    buf = io.BytesIO()
    shared = {"surface": None}

    class OnePage(cairosvg.surface.PDFSurface):
        def _create_surface(self, width, height):   # every page draws onto the one document surface
            if shared["surface"] is None:
                shared["surface"] = cairocffi.PDFSurface(buf, width, height)
            else:
                shared["surface"].set_size(width, height)
            return shared["surface"], width, height

    for svg in svgs:
        OnePage(cairosvg.parser.Tree(bytestring=svg.encode("utf-8")), None, CSS_DPI)
        shared["surface"].show_page()
    shared["surface"].finish()
    return buf.getvalue()
