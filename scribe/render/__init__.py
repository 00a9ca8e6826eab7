"""Turning ink into files. `page` puts lines on a page (SVG, PNG); `paragraph` wraps text into pages;
`plotter` (mm SVG, G-code), `animate` (animated SVG, GIF) and `sheet` (the quality report's grid) build
on `page`; `export` writes any of them. This file imports nothing, so the modules import downward only.
"""
