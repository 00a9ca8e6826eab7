"""`vpype scribe`: Scribe's handwriting as a vpype command, for pen-plotter pipelines.

    vpype scribe "Dear Ada" --style 3 --bias 1 --size 8mm linesort gwrite -p gcode out.gcode
    vpype scribe --file letter.txt --layer-per-line --line-spacing 1.5cm write out.svg

Registered through the package's entry points (`[project.entry-points."vpype.plugins"]` in
pyproject.toml), so installing Scribe into vpype's environment (`pipx inject vpype scribe-handwriting`)
adds the command. vpype is imported only here and only when vpype asks for the command (this module's
`__getattr__`), so Scribe itself never needs vpype; torch and the model load only when the command runs,
so other vpype commands start no slower.

What it reuses: `Hand.write` (whose `Hand.check` refuses a bad request with one message naming every
problem), `Layout.sized` (the writing size and line spacing, checked as everywhere else) and the plotter
output's pen paths (`scribe.render.plotter.pen_paths_by_line`: the SVG's own curves, dots as short
dashes). Lengths are in vpype's units: vpype's length parser reads `8mm`, `0.5in`, `1cm`, `24` (CSS px).
"""
from __future__ import annotations

__all__ = ["scribe"]


def _build_command():
    import click
    import vpype as vp
    import vpype_cli as vpc

    from .errors import ScribeError
    from .render.page import DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM, MM_PER_PX

    class TextFirstCommand(click.Command):
        """vpype chains commands, and click stops reading a chained command's options at its first
        argument, so `vpype scribe "Dear Ada" --style 3` would hand `--style` to the next command, and an
        optional argument would take the next command's name as the text. So the text is an option
        (`--text`), and this command reads a first plain word as that option, with its own options on
        either side of it (`options_first`), up to the next command of the pipeline."""

        def parse_args(self, ctx, args):
            group = ctx.parent.command if ctx.parent is not None else None
            commands = set(getattr(group, "commands", {}))
            return super().parse_args(ctx, options_first(self, args, commands))

        def collect_usage_pieces(self, ctx):
            return ["[TEXT]", *super().collect_usage_pieces(ctx)]

    @click.command("scribe", cls=TextFirstCommand)
    @click.option("-t", "--text", type=vpc.TextType(), default=None,
                  help="The text to write (or give it as the first word after `scribe`; --text for a text that is "
                       "the name of a vpype command).")
    @click.option("--file", "text_file", type=vpc.PathType(exists=True, dir_okay=False),
                  help="Read the text from this file (UTF-8): each line of the file is a line of writing.")
    @click.option("-s", "--style", type=vpc.IntegerType(), default=None,
                  help="Style id from the style bank (0-12 shipped); default: the model's own hand.")
    @click.option("-b", "--bias", type=vpc.FloatType(), default=None,
                  help="Neatness, 0-4 (default 0.75): higher is neater and less varied.")
    @click.option("--likeness", type=vpc.FloatType(), default=None,
                  help="How much of a shipped style's fitted hand, 0-1 (default: each style's own; 1 = the "
                       "writer's hand in full).")
    @click.option("--size", type=vpc.LengthType(), default=f"{DEFAULT_SIZE_MM:g}mm",
                  help=f"Writing size: the typical ink height (default {DEFAULT_SIZE_MM:g}mm).")
    @click.option("--line-spacing", type=vpc.LengthType(), default=None,
                  help=f"Distance from one line to the next (default {DEFAULT_LINE_SPACING:g} x the size).")
    @click.option("--align", type=click.Choice(["left", "center", "right"]), default="left",
                  help="Line alignment (default: left).")
    @click.option("-p", "--position", nargs=2, type=vpc.LengthType(), default=[0, 0],
                  help="Top-left corner of the writing (default: 0, 0).")
    @click.option("--seed", type=vpc.IntegerType(), default=None, help="Same seed, same ink.")
    @click.option("-c", "--candidates", type=vpc.IntegerType(), default=None,
                  help="Legibility check: write each line N times, read each back, keep the one that reads "
                       "as its text (1-16; 1 = off; default 4, as scribe-write).")
    @click.option("-L", "--layer-per-line", is_flag=True,
                  help="One layer per line of writing (from --layer on, or new layers); default: one layer.")
    @click.option("-l", "--layer", type=vpc.LayerType(accept_new=True), default=None,
                  help="Target layer or 'new' (default: the current layer).")
    @click.option("--checkpoint", type=vpc.PathType(exists=True, dir_okay=False), default=None,
                  help="Another handwriting model (default: the shipped one).")
    @click.option("--style-dir", type=vpc.PathType(exists=True, file_okay=False), default=None,
                  help="Another style bank folder (style-N-chars.npy / style-N-strokes.npy).")
    @click.option("--max-steps", type=vpc.IntegerType(), default=None, help="Hard cap on pen steps per line.")
    @vpc.global_processor
    def scribe(document: vp.Document, text, text_file, style, bias, likeness, size, line_spacing, align, position,
               seed, candidates, layer_per_line, layer, checkpoint, style_dir, max_steps) -> vp.Document:
        """Write TEXT in handwriting (Scribe: Graves 2013 handwriting synthesis).

        Each line of TEXT (the first word after `scribe`, or --text; a literal \\n breaks a line) or of
        --file becomes a line of handwriting, at most 90 characters and 40 lines. The writing's top-left
        corner is at --position; lengths take vpype's units (mm, cm, in, pt; plain numbers are CSS px).
        The page grows to hold the writing, with --position's margin on the far sides too (G-code
        profiles that flip the y axis need a page size); `layout` or `pagesize` set a paper size.

        The shipped weights and style lines come from IAM-OnDB: non-commercial research only
        (LICENSE-WEIGHTS.md).
        """
        lines = _lines(text, text_file)
        try:
            page = _write(lines, style, bias, size, line_spacing, align, seed, candidates, checkpoint,
                          style_dir, max_steps, MM_PER_PX, likeness)
        except ScribeError as e:         # InputError, StyleError, CheckpointError ...: one line, no traceback
            raise click.ClickException(str(e)) from None
        from .render.plotter import pen_paths_by_line
        by_line = pen_paths_by_line(page)
        # The page's line boxes leave a model-dependent gap above the ink; a plotter user places the ink
        # itself, so its top-left corner goes exactly to --position (all lines move together).
        corner = _ink_corner(by_line)
        dx, dy = position[0] - corner[0], position[1] - corner[1]
        if layer_per_line:
            first = None if layer is None or layer == "new" else int(layer)
            for n, paths in enumerate(by_line):
                if not paths:
                    continue    # a blank line: a gap, no layer
                lid = document.free_id() if first is None else first + n
                document.add(_collection(vp, paths, dx, dy, f"scribe line {n + 1}"), lid, with_metadata=True)
        else:
            paths = [p for line in by_line for p in line]
            lid = vpc.single_to_layer_id(layer, document)
            document.add(_collection(vp, paths, dx, dy, None), lid, with_metadata=False)
        bounds = document.bounds()
        if bounds is not None:        # a page that holds the writing, with --position's margin on every side
            document.extend_page_size((bounds[2] + max(position[0], 0.0), bounds[3] + max(position[1], 0.0)))
        return document

    scribe.help_group = "Plug-ins"
    return scribe


def options_first(command, args: list[str], commands=frozenset()) -> list[str]:
    """`args` with a first plain word turned into `--text WORD` (unless --text or --file is given, or the
    word is the name of a vpype command, in `commands`: then the text is missing, and saying so beats
    writing "write"), read together with this command's own options on either side of it; everything
    from the first word that is neither (the next command of the pipeline) on stays as it is, in order."""
    import click
    takes = {"--help": 0}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                takes[name] = 0 if param.is_flag else param.nargs
    own, i, has_text = [], 0, False
    while i < len(args):
        word = args[i]
        name = word.split("=", 1)[0] if word.startswith("--") else word
        if name in takes:
            n = 0 if word.startswith("--") and "=" in word else takes[name]
            has_text |= name in ("-t", "--text", "--file")
            own += args[i:i + 1 + n]
            i += 1 + n
        elif not has_text and not word.startswith("-") and word not in commands:
            own += ["--text", word]
            has_text = True
            i += 1
        else:
            break
    return own + list(args[i:])


def _lines(text: str | None, text_file: str | None) -> list[str]:
    import click
    if (text is None) == (text_file is None):
        raise click.UsageError("scribe: give the text to write (`vpype scribe \"Dear Ada\" ...`) or --file FILE, "
                               "one of them")
    if text_file is not None:
        try:
            content = open(text_file, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read --file {text_file}: {e}") from None
    else:
        content = text.replace("\\n", "\n")
    return content.rstrip("\r\n").splitlines() or [""]      # nothing to write: Hand.check says so


def _write(lines, style, bias, size_px, spacing_px, align, seed, candidates, checkpoint, style_dir, max_steps,
           mm_per_px, likeness=None):
    """The page of handwriting (margin 0: the first line box at 0, 0; the caller places the ink), in CSS px."""
    from .candidates import check_candidates
    from .hand import Hand, use_sampling_threads
    from .request import DEFAULT_BIAS, DEFAULT_CANDIDATES, LineSpec, WriteRequest
    from .errors import InputError
    from .render.page import DEFAULT_LINE_SPACING, LINE_SPACING_RANGE, Layout, size_mm as check_size
    size_mm = check_size(float(size_px) * mm_per_px)
    factor = DEFAULT_LINE_SPACING if spacing_px is None else float(spacing_px) / float(size_px)
    lo, hi = LINE_SPACING_RANGE
    if not lo <= factor <= hi:          # also false for NaN
        raise InputError(f"--line-spacing must be {lo:g}-{hi:g} times the size: {lo * size_mm:.1f}-"
                         f"{hi * size_mm:.1f}mm for a size of {size_mm:g}mm")
    layout = Layout.sized(size_mm, factor, align)      # RenderError (a ScribeError) names the range
    layout.margin_px = 0.0
    candidates = check_candidates(DEFAULT_CANDIDATES if candidates is None else candidates)
    use_sampling_threads()
    hand = Hand.load(checkpoint, style_dir)
    specs = [LineSpec(t, style, DEFAULT_BIAS if bias is None else bias, likeness=likeness) for t in lines]
    writing = hand.write(WriteRequest(specs, seed, layout, candidates=candidates, max_steps=max_steps))
    _report(writing)
    return writing.page()


def _report(writing) -> None:
    """What scribe-write says on the terminal: the result's notes, warnings marked (stderr, since vpype
    pipelines may write to stdout)."""
    import sys
    from .result import WARNING
    for note in writing.notes():
        print(f"scribe: {'warning: ' if note.level == WARNING else ''}{note.text}", file=sys.stderr)


def _ink_corner(by_line) -> tuple[float, float]:
    """The top-left corner of all the ink (0, 0 for a page with none)."""
    import numpy as np
    points = [p for line in by_line for p in line]
    if not points:
        return 0.0, 0.0
    low = np.min(np.concatenate(points), axis=0)
    return float(low[0]), float(low[1])


def _collection(vp, paths, dx: float, dy: float, name: str | None):
    lc = vp.LineCollection(metadata={"vp_name": name} if name else None)
    for p in paths:
        lc.append((p[:, 0] + dx) + 1j * (p[:, 1] + dy))
    return lc


def __getattr__(name):
    # vpype's plug-in loader asks for `scribe` (the entry point's attribute): build the command then, and once.
    if name == "scribe":
        globals()["scribe"] = command = _build_command()
        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
