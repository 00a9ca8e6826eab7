"""Write handwriting from the command line.

    python -m scribe.sample --text "The quick brown fox jumps over 1234567890" --bias 1.0 --format svg
    python -m scribe.sample --lines "Report due by 09:00 on March 15th, 1985." \\
        "Can't believe it - met him at 3:00pm!" "Got your message (thanks!) - call me." \\
        --biases 1.8 0.6 1.2 --styles 0 3 7 --format svg

Paragraphs, pen plotters, animation and your own hand:

    python -m scribe.sample --text_file letter.txt --paragraph --page a4 --align left --style 3
    python -m scribe.sample --text "Hello plotter" --format gcode --pen_up "M3 S30" --pen_down "M3 S90"
    python -m scribe.sample --text "Watch me write" --animate --speed 2
    python -m scribe.sample --text "In my own hand" --style_from me.inkml --style_text "what I wrote"

PDF and paper, size and spacing, saved documents, batches:

    python -m scribe.sample --text_file letter.txt --paragraph --format pdf --paper ruled
    python -m scribe.sample --lines "Small" "and tight" --size 4 --line_spacing 1.4 --format png --paper grid
    python -m scribe.sample --lines "Keep this" "exactly" --seed 7 --save_document note.json
    python -m scribe.sample --document note.json --format pdf                 # the saved ink, as it was
    python -m scribe.sample --document note.json --write_again --format pdf   # sampled anew from its seed
    python -m scribe.sample --batch rows.csv --out cards/ --format png
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import replace
from pathlib import Path

from . import cli
from .accents import base_text
from .errors import InputError, ScribeError
from .hand import Hand, use_sampling_threads
from .request import (DEFAULT_BIAS, DEFAULT_CANDIDATES, DEFAULT_COLOR, DEFAULT_WIDTH, MAX_CANDIDATES, MIN_CANDIDATES,
                      LineSpec, ParagraphRequest, WriteRequest, check_likeness, check_max_steps, check_pen,
                      check_seed)
from .result import INFO
from .render.animate import AnimationOptions
from .render.export import OUTPUT_FORMATS, format_suffix
from .render.page import DEFAULT_LINE_SPACING, DEFAULT_SIZE_MM, Layout, check_dpi, size_mm
from .render.paper import PAPER_KINDS, PaperOptions, line_spacing_for
from .render.paragraph import ParagraphLayout
from .render.plotter import GcodeOptions, PlotterOptions

GCODE_SUFFIXES = (".gcode", ".nc", ".gc", ".ngc")
DEFAULT_USER_STYLE_DIR = "user_styles"


def build_parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m scribe.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="one line of text (in paragraph mode: the whole text; \\n breaks a line)")
    what.add_argument("--lines", nargs="+", help="several lines, one argument each")
    what.add_argument("--text_file", help="read the text from this file (implies --paragraph)")
    what.add_argument("--document", metavar="FILE", help="a saved document (JSON): its saved ink, exactly as it "
                                                         "was written (--write_again: sampled anew from its seed)")
    what.add_argument("--batch", metavar="CSV", help="one file per row of a CSV with a text column and optional "
                                                     "style, bias, color, out columns; --out is the folder")
    what.add_argument("--list_styles", action="store_true",
                      help="list the style bank (id, the hand in a few words, the writer's line) and exit")
    p.add_argument("--bias", type=float, default=None, help=f"neatness for every line (default {DEFAULT_BIAS})")
    p.add_argument("--biases", type=float, nargs="+", help="one bias per line")
    p.add_argument("--likeness", type=float, default=None,
                   help="how much of a bank style's fitted hand every line applies, 0-1 (default: each style's own)")
    p.add_argument("--likenesses", type=float, nargs="+", help="one likeness per line")
    p.add_argument("--style", type=int, default=None, help="one style id for every line")
    p.add_argument("--styles", type=int, nargs="+", help="one style id per line")
    p.add_argument("--colors", nargs="+", help="ink colour per line (CSS colours; one applies to all)")
    p.add_argument("--widths", type=float, nargs="+", help="stroke width per line in px (one applies to all)")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default="svg",
                   help="svg, png, pdf (one file for every page), plotter-svg (mm, layers), gcode, animated-svg or gif")
    p.add_argument("--save_document", metavar="FILE", help="also save the document as JSON (line mode): the "
                                                           "request and its ink, to open again with --document")
    p.add_argument("--write_again", action="store_true", help="with --document: write its request again from its "
                                                              "seed instead of showing the saved ink")
    p.add_argument("--dpi", type=float, default=192.0, help="PNG resolution (GIF: at most 96)")
    p.add_argument("--out", help="output file (default samples/<text>-<seed>.<format>); several pages "
                                 "become <name>-1, <name>-2, ...")
    p.add_argument("--seed", type=int, default=None, help="make the result reproducible")
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped checkpoint)")
    p.add_argument("--style_dir", default=None, help="folder of style-N-chars.npy / style-N-strokes.npy files")
    p.add_argument("--max_steps", type=int, default=None, help="hard cap on pen steps per line")
    p.add_argument("--progress", action="store_true",
                   help="show a progress bar over the pen steps (line mode; measured 1.2-1.8x slower: the Python step loop)")
    p.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES, metavar="N",
                   help=f"legibility check: sample N candidates of each line, read each back, keep the one "
                        f"that reads as its text ({MIN_CANDIDATES}-{MAX_CANDIDATES}; 1 turns it off; "
                        f"default {DEFAULT_CANDIDATES})")

    lay = p.add_argument_group("page layout")
    lay.add_argument("--paragraph", action="store_true",
                     help="wrap the text into lines that fit the page (words are never split)")
    lay.add_argument("--wrap", type=float, default=None, metavar="MM",
                     help="line width in mm (implies --paragraph; default: the page inside the margins)")
    lay.add_argument("--align", choices=("left", "center", "right"), default="left")
    lay.add_argument("--line_spacing", type=float, default=None,
                     help=f"line pitch in writing sizes (default {DEFAULT_LINE_SPACING})")
    lay.add_argument("--page", choices=("a4", "a5", "letter"), default=None,
                     help="paper size (paragraph mode default a4; plotter output default: the writing's own size)")
    lay.add_argument("--landscape", action="store_true")
    lay.add_argument("--margin", type=float, default=None, metavar="MM",
                     help="page margin in mm (default 20 in paragraph mode, 15 for plotter output)")
    lay.add_argument("--size", default=None, metavar="MM",
                     help=f"writing size, the typical ink height: mm, or px ending in px (24px) (default "
                          f"{DEFAULT_SIZE_MM:g} mm)")
    lay.add_argument("--paper", choices=PAPER_KINDS, default=None,
                     help="paper behind the writing in PNG and PDF (never in SVG): plain, ruled, grid, dotted")
    lay.add_argument("--rule_pitch", type=float, default=None, metavar="MM",
                     help="rule pitch in mm; the line spacing follows it (default: the line spacing)")
    lay.add_argument("--rule_color", default=PaperOptions.color, help="colour of the rules, grid or dots")
    lay.add_argument("--variation", type=float, default=0.0,
                     help="paragraph mode: natural baseline and size variation between lines (0 off, 1 natural)")

    plot = p.add_argument_group("pen plotter (plotter-svg, gcode)")
    plot.add_argument("--pen_up", default="G0 Z5", help="command(s) that lift the pen; several: separate with |")
    plot.add_argument("--pen_down", default="G0 Z0", help="command(s) that lower the pen")
    plot.add_argument("--feed", type=float, default=1500.0, help="drawing feed rate, mm/min")
    plot.add_argument("--travel_feed", type=float, default=None, help="pen-up feed rate, mm/min (default: G0 rapid)")
    plot.add_argument("--origin", choices=("bottom-left", "top-left", "center"), default="bottom-left")
    plot.add_argument("--y_axis", choices=("up", "down"), default="up", help="direction of the machine's +Y")
    plot.add_argument("--units", choices=("mm", "in"), default="mm")
    plot.add_argument("--layer_change", default="M0", help="command between colour layers (pen change); '' for none")
    plot.add_argument("--no_optimize", action="store_true", help="plot in writing order (no travel optimisation)")

    anim = p.add_argument_group("animation")
    anim.add_argument("--animate", action="store_true", help="write an animated SVG of the pen writing")
    anim.add_argument("--speed", type=float, default=1.0, help="animation speed (1 = natural writing pace)")
    anim.add_argument("--loop", action="store_true", help="repeat the animation")
    anim.add_argument("--anim_method", choices=("smil", "css"), default="smil")

    own = p.add_argument_group("your own hand")
    own.add_argument("--style_from", metavar="FILE",
                     help="build a style from your ink: InkML, IAM-OnDB XML or JSON strokes")
    own.add_argument("--style_text", help="what the ink in --style_from says")
    own.add_argument("--user_style_dir", default=DEFAULT_USER_STYLE_DIR,
                     help=f"folder for your styles (default {DEFAULT_USER_STYLE_DIR}); its ids work with --style")
    return p


def per_line(values, n: int, name: str, default):
    """Expand a per-line option: none -> default, one -> all lines, n -> as given."""
    if not values:
        return [default] * n
    if len(values) == 1:
        return list(values) * n
    if len(values) != n:
        raise InputError(f"--{name} has {len(values)} values for {n} lines; give one, or one per line")
    return list(values)


def specs_from_args(args) -> list[LineSpec]:
    texts = [args.text] if args.text is not None else args.lines
    n = len(texts)
    biases = per_line(args.biases or ([args.bias] if args.bias is not None else None), n, "biases", DEFAULT_BIAS)
    styles = per_line(args.styles or ([args.style] if args.style is not None else None), n, "styles", None)
    colors = per_line(args.colors, n, "colors", DEFAULT_COLOR)
    widths = per_line(args.widths, n, "widths", DEFAULT_WIDTH)
    likenesses = per_line(args.likenesses or ([args.likeness] if args.likeness is not None else None), n,
                          "likenesses", None)
    return [LineSpec(*pen) for pen in zip(texts, styles, biases, colors, widths, likenesses)]


def default_out(texts: list[str], seed: int, fmt: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", base_text(" ".join(texts)).lower()).strip("-")[:40] or "handwriting"
    return Path("samples") / f"{slug}-{seed}.{fmt}"


def output_format(args) -> str:
    if not args.animate:
        return args.format
    if args.format in ("svg", "animated-svg"):
        return "animated-svg"
    if args.format == "gif":
        return "gif"
    raise InputError(f"--animate makes an animated SVG or a GIF; it does not go with --format {args.format}")


def output_path(args, fmt: str, texts: list[str], seed: int) -> Path:
    suffix = format_suffix(fmt)
    if not args.out:
        return default_out(texts, seed, suffix[1:])
    out = Path(args.out)
    ok = GCODE_SUFFIXES if fmt == "gcode" else (".svg", ".png") if fmt in ("svg", "png") else (suffix,)
    return out if out.suffix.lower() in ok else out.with_suffix(suffix)


def plot_options(args):
    plotter = PlotterOptions(paper=args.page, landscape=args.landscape,
                             margin_mm=15.0 if args.margin is None else args.margin, optimize=not args.no_optimize)
    gcode = GcodeOptions(pen_up=args.pen_up, pen_down=args.pen_down, draw_feed=args.feed,
                         travel_feed=args.travel_feed, origin=args.origin, y_axis=args.y_axis, units=args.units,
                         layer_change=args.layer_change)
    return plotter, gcode


def paragraph_text(args) -> str:
    if args.text_file:
        try:
            return Path(args.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read --text_file {args.text_file}: {e}") from None
    if args.text is not None:
        return args.text.replace("\\n", "\n")
    return "\n".join(args.lines)


def check_args(args) -> None:
    """Refuse bad numbers and colours before the model is loaded or a line is sampled. The checks are
    the library's own (scribe.request, scribe.render), which every front end shares."""
    problems = []
    for check, value in ((check_seed, args.seed), (check_max_steps, args.max_steps), (check_dpi, args.dpi)):
        try:
            check(value)
        except ScribeError as e:      # InputError, or RenderError from check_dpi
            problems.append(str(e))
    pens = [(DEFAULT_BIAS, c, DEFAULT_WIDTH) for c in args.colors or []] + \
        [(DEFAULT_BIAS, DEFAULT_COLOR, w) for w in args.widths or []] + \
        [(b, DEFAULT_COLOR, DEFAULT_WIDTH) for b in (args.biases or []) + ([args.bias] if args.bias is not None else [])]
    for bias, color, width in pens:
        problems += check_pen(None, bias, color, width, "", None)[0]
    for likeness in (args.likenesses or []) + ([args.likeness] if args.likeness is not None else []):
        try:
            check_likeness(likeness)
        except InputError as e:
            problems.append(str(e))
    if problems:
        raise InputError("; ".join(problems))


PLOTTER_FORMATS = ("plotter-svg", "gcode")


def check_plan(args, fmt: str, paragraph: bool) -> None:
    """Refuse, before the model is loaded, what the flags ask for that cannot be written: options of the
    output format (G-code commands, plotter margins, animation), and output paths that cannot be written
    (a folder given as --out, a folder that cannot be made)."""
    from .candidates import check_candidates
    check_candidates(args.candidates)
    if args.margin is not None and not paragraph:
        if not math.isfinite(args.margin) or args.margin < 0:
            raise InputError(f"--margin {args.margin:g} mm must be a finite number of mm, 0 or more")
        if fmt not in PLOTTER_FORMATS or args.page is None or args.batch:
            raise InputError("--margin places the writing on a page: in line mode only for plotter output "
                             "(--format plotter-svg or gcode) with --page; here it would be ignored")
    if args.variation and not paragraph:
        raise InputError("--variation changes lines in paragraph mode (--paragraph); here it would be ignored")
    if fmt in PLOTTER_FORMATS:
        plotter, gcode = plot_options(args)
        if plotter.paper is not None and not paragraph:
            from .render.page import paper_size_mm
            paper = paper_size_mm(plotter.paper, plotter.landscape)
            if 2 * plotter.margin_mm >= min(paper):
                raise InputError(f"--margin {plotter.margin_mm:g} mm leaves no room on {paper[0]:g} x "
                                 f"{paper[1]:g} mm paper")
        if fmt == "gcode":
            gcode.check()
    if fmt in ("animated-svg", "gif"):
        AnimationOptions(speed=args.speed, method=args.anim_method, loop=args.loop).check()
    if args.batch:
        cli.checked(args.out or "samples", cli.folder_to_write, "--out")
    elif args.out:
        if Path(args.out).is_dir():
            raise InputError(f"--out {args.out} is a folder; give a file name (e.g. {Path(args.out) / 'note'}"
                             f"{format_suffix(fmt)})")
        cli.checked(output_path(args, fmt, [], 0), cli.file_to_write, "--out")
    else:
        cli.checked("samples", cli.folder_to_write, "output folder")
    if args.save_document:
        cli.checked(args.save_document, cli.file_to_write, "--save_document")
    if args.style_from:
        cli.checked(args.user_style_dir, cli.folder_to_write, "--user_style_dir")


def look(args) -> tuple[float, float, PaperOptions | None]:
    """(writing size in mm, line spacing, paper or None) from the flags; a rule pitch sets the spacing."""
    try:
        size = size_mm(args.size)
        paper = None
        if args.paper or args.rule_pitch is not None:
            paper = PaperOptions(args.paper or "ruled", args.rule_pitch, args.rule_color).check()
    except ValueError as e:
        raise InputError(str(e)) from None
    if paper is not None and paper.pitch_mm is not None:
        if args.line_spacing is not None:
            raise InputError("--rule_pitch sets the line spacing (one line on every rule); leave out --line_spacing")
        return size, line_spacing_for(paper.pitch_mm, size), paper
    return size, DEFAULT_LINE_SPACING if args.line_spacing is None else args.line_spacing, paper


def paragraph_layout(args, size: float, spacing: float) -> ParagraphLayout:
    layout = ParagraphLayout(page=args.page or "a4", landscape=args.landscape,
                             margin_mm=20.0 if args.margin is None else args.margin, width_mm=args.wrap,
                             ink_height_mm=size, line_spacing=spacing, align=args.align, variation=args.variation)
    try:
        layout.check()
    except (TypeError, ValueError) as e:
        raise InputError(str(e)) from None
    return layout


def run_batch(args, hand, fmt: str, size: float, spacing: float, paper) -> int:
    from tqdm import tqdm
    from .batch import read_rows, run_batch as write_batch
    layout = line_layout(size, spacing, args.align)
    rows, bad = read_rows(args.batch)       # the file's own problems stop here, before any writing
    n_rows = len(rows) + len(bad)
    out_dir = Path(args.out or "samples")
    seed = 0 if args.seed is None else args.seed
    with tqdm(total=n_rows, initial=len(bad), unit="row", desc="Writing", file=sys.stderr) as bar:
        report = write_batch(hand, args.batch, out_dir, fmt, seed, layout, args.dpi, paper, args.max_steps,
                             progress=bar.update, candidates=args.candidates)
    for line in report.lines():
        print(f"error: {line}", file=sys.stderr)
    print(f"Wrote {len(report.written)} file{'s' * (len(report.written) != 1)} in {out_dir} "
          f"({len(report.failed)} bad row{'s' * (len(report.failed) != 1)}, seed {seed})")
    return 0 if report.written or not report.failed else 2


def write_with_progress(hand: Hand, request: WriteRequest, show: bool):
    """hand.write(request), with a tqdm bar over the pen steps when `show` (its total is the step
    cap, reached only if a line never ends). The bar follows Hand.write_live, whose loop runs in compiled
    chunks of pen steps: the same ink, at about the cost of no bar (benchmarks/live_cost.py)."""
    if not show:
        return hand.write(request)
    from tqdm import tqdm
    writing = hand.write_live(request)
    with tqdm(unit="step", desc="Writing", file=sys.stderr) as bar:
        while True:
            try:
                ink = next(writing)
            except StopIteration as end:
                return end.value
            if bar.total != ink.cap:
                bar.total = ink.cap
            bar.update(ink.step - bar.n)
            bar.set_postfix_str(f"{ink.lines_done}/{len(ink.rows)} lines done", refresh=False)


def line_layout(size: float, spacing: float, align: str) -> Layout:
    try:
        return Layout.sized(size, spacing, align)
    except ValueError as e:
        raise InputError(str(e)) from None


def report_notes(result, first: bool) -> None:
    """The result's notes: warnings on stderr (`first`: those before the "Wrote" line), information
    on stdout after it."""
    for note in result.notes():
        if (note.level == INFO) != first:
            print(note.text if note.level == INFO else f"warning: {note.text}",
                  file=sys.stdout if note.level == INFO else sys.stderr)


def list_styles(style_dir) -> int:
    from .style_adapters import own_strength
    from .styles import StyleBank
    bank = StyleBank(style_dir)
    for i in bank.ids:
        style = bank.get(i)
        lines = f" (+{len(style.more)} more line{'s' * (len(style.more) != 1)} of the writer)" if style.more else ""
        likeness = own_strength(style)
        fitted = "" if likeness is None else f"  likeness {likeness:g}"
        print(f"{i:3d}  {style.description or '(no description)':42s}  {style.text!r}{lines}{fitted}")
    print(f"{len(bank.ids)} styles in {bank.folder.name}/; write in one with --style N")
    if bank.adapter_file is not None:
        from .style_adapters import AdapterError, read_adapter_records, style_strength
        try:
            record = read_adapter_records(bank.adapter_file)
            styles = record.get("styles", {})
            values = sorted(style_strength(record, int(sid), bank.adapter_file.name) for sid in styles)
            by_style = any(isinstance(r, dict) and "strength" in r for r in styles.values())
            strength = (f"strength {values[0]:g}-{values[-1]:g} by style, chosen by legibility" if by_style
                        else f"strength {record.get('strength', 1.0):g}")
            print(f"{len(styles)} of them also have the model's biases and output layer fitted to "
                  f"their writer ({bank.adapter_file.name}, {strength}; --likeness 0-1 sets another)")
        except AdapterError as e:
            print(f"warning: {bank.adapter_file.name} cannot be read ({e}); the styles are written by priming alone",
                  file=sys.stderr)
    return 0


@cli.command
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_styles:
        return list_styles(args.style_dir)
    use_sampling_threads()
    paragraph = args.paragraph or args.wrap is not None or args.text_file is not None
    check_args(args)
    fmt = output_format(args)
    if args.style_from and (args.style is not None or args.styles):
        raise InputError("--style_from makes the style for every line; leave out --style/--styles")
    if paragraph and ((args.biases and len(args.biases) > 1) or (args.styles and len(args.styles) > 1)):
        raise InputError("paragraph mode writes in one style and one bias: use --style and --bias")
    if (paragraph or args.batch) and args.save_document:
        raise InputError("--save_document saves a line-mode document (--text or --lines)")
    check_plan(args, fmt, paragraph)
    size, spacing, paper = look(args)
    layout = paragraph_layout(args, size, spacing) if paragraph else line_layout(size, spacing, args.align)
    if paper is not None and fmt not in ("png", "pdf"):
        print(f"note: paper is drawn in PNG and PDF only, not in {fmt} (a plotter would draw it)",
              file=sys.stderr)
    document = None
    if args.document:
        from .document import Document
        document = Document.load(args.document)
    hand = Hand.load(args.checkpoint, args.style_dir, user_style_dir=args.user_style_dir)
    if args.batch:
        return run_batch(args, hand, fmt, size, spacing, paper)
    style_from_id = None
    if args.style_from:
        style, style_from_id = hand.style_from_ink(args.style_from, args.style_text, save_to=args.user_style_dir)
        print(f"Saved your style as style {style_from_id} in {args.user_style_dir} ({style.text!r}); "
              f"reuse it with --style {style_from_id} --user_style_dir {args.user_style_dir}")
    plotter, gcode = plot_options(args)
    animation = AnimationOptions(speed=args.speed, method=args.anim_method, loop=args.loop)
    if paragraph:
        style_id = style_from_id if style_from_id is not None else (
            args.style if args.style is not None else (args.styles[0] if args.styles else None))
        bias = args.bias if args.bias is not None else (args.biases[0] if args.biases else DEFAULT_BIAS)
        request = ParagraphRequest(paragraph_text(args), style_id, bias, (args.colors or [DEFAULT_COLOR])[0],
                                   (args.widths or [DEFAULT_WIDTH])[0], layout, paper, args.seed, args.candidates,
                                   args.max_steps,
                                   args.likeness if args.likeness is not None else (args.likenesses or [None])[0])
        result = hand.write(request)
        out = output_path(args, fmt, request.text.split(), result.seed)
        written = result.export(out, fmt, args.dpi, plotter, gcode, animation)
        report_notes(result, first=True)
        print(f"Wrote {', '.join(map(str, written))} ({len(result.pages)} page{'s' * (len(result.pages) > 1)}, "
              f"{sum(1 for t in result.texts if t)} lines, seed {result.seed}, {result.seconds:.2f}s)")
        report_notes(result, first=False)    # after the guide's "Wrote" line, which stays first
        return 0
    if document is not None and not args.write_again and document.has_ink:
        result = document.open()             # the saved ink: exactly the page that was written
        if paper is not None:
            result.request.paper = paper
    elif document is not None:
        if not document.has_ink:
            print("note: this document keeps no ink (an older format), so it is written again from its seed",
                  file=sys.stderr)
        if paper is not None:
            document.paper = paper
        result = document.write_again(hand, max_steps=args.max_steps)   # its seed and N: new ink
    else:
        specs = specs_from_args(args)
        if style_from_id is not None:
            specs = [replace(s, style=style_from_id) for s in specs]
        request = WriteRequest(specs, args.seed, layout, paper, args.candidates, args.max_steps)
        result = write_with_progress(hand, request, args.progress)
    out = output_path(args, fmt, [s.text for s in result.specs], result.seed)
    by_suffix = fmt in ("svg", "png") and result.paper is None    # the suffix picks svg or png, as it always has
    out = result.save(out, None if by_suffix else fmt, args.dpi, plotter=plotter, gcode=gcode, animation=animation)
    if args.save_document:
        from .document import document_of
        from .styles import style_ids
        user = Path(args.user_style_dir)
        saved = document_of(result, hand, hand.checkpoint.path, paper,
                            embed_styles=style_ids(user) if user.is_dir() else ())
        print(f"Saved the document as {saved.save(args.save_document)}")
    report_notes(result, first=True)
    print(f"Wrote {out} ({len(result.specs)} lines, seed {result.seed}, {result.seconds:.2f}s)")
    report_notes(result, first=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
