"""The Gradio web app, and the only package that imports Gradio.

    forms    form / API values -> LineSpecs and option objects (no Gradio)
    views    HTML for previews, styles and the model line (no Gradio)
    state    settings, checkpoints, loaded models, the style bank (no Gradio)
    outputs  writing a request's files: SVG, PNG, pages, plotter, animation, a new style (no Gradio)
    assets   CSS, examples, the pen-capture canvas
    fields   components by field name, and `on`: every handler gets its inputs by name
    api      the web layer's calls into the library, and the one error mapper
    endpoints  every named endpoint, one short function each
    tabs     one builder (and one wiring function) per part of the page; the one write/Stop wiring
    app      build_demo, launch, main (serves with the command line's flags)
    flags    the command line's flags, checked without Gradio
    command  `python app.py`, `scribe-app`: the flags checked before Gradio loads, then app.main
"""
