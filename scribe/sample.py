"""Write handwriting from the command line.

    python -m scribe.sample --text "The quick brown fox jumps over 1234567890" --bias 1.0 --format svg
    python -m scribe.sample --lines "Report due by 09:00 on March 15th, 1985." \\
        "Can't believe it - met him at 3:00pm!" "Got your message (thanks!) - call me." \\
        --biases 1.8 0.6 1.2 --styles 0 3 7 --format svg
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .checkpoint import CheckpointError
from .hand import DEFAULT_BIAS, Hand, InputError, LineSpec
from .styles import StyleError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scribe.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="one line of text")
    what.add_argument("--lines", nargs="+", help="several lines, one argument each")
    p.add_argument("--bias", type=float, default=None, help=f"neatness for every line (default {DEFAULT_BIAS})")
    p.add_argument("--biases", type=float, nargs="+", help="one bias per line")
    p.add_argument("--style", type=int, default=None, help="one style id for every line")
    p.add_argument("--styles", type=int, nargs="+", help="one style id per line")
    p.add_argument("--colors", nargs="+", help="ink colour per line (CSS colours; one applies to all)")
    p.add_argument("--widths", type=float, nargs="+", help="stroke width per line in px (one applies to all)")
    p.add_argument("--format", choices=("svg", "png"), default="svg")
    p.add_argument("--dpi", type=float, default=192.0, help="PNG resolution")
    p.add_argument("--out", help="output file (default samples/<text>-<seed>.<format>)")
    p.add_argument("--seed", type=int, default=None, help="make the result reproducible")
    p.add_argument("--checkpoint", default=None, help="model file (default: the shipped checkpoint)")
    p.add_argument("--style_dir", default=None, help="folder of style-N-chars.npy / style-N-strokes.npy files")
    p.add_argument("--max_steps", type=int, default=None, help="hard cap on pen steps per line")
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
    colors = per_line(args.colors, n, "colors", "#000000")
    widths = per_line(args.widths, n, "widths", 1.5)
    return [LineSpec(t, s, b, c, w) for t, s, b, c, w in zip(texts, styles, biases, colors, widths)]


def default_out(texts: list[str], seed: int, fmt: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(texts).lower()).strip("-")[:40] or "handwriting"
    return Path("samples") / f"{slug}-{seed}.{fmt}"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        specs = specs_from_args(args)
        hand = Hand.load(args.checkpoint, args.style_dir)
        doc = hand.write(specs, seed=args.seed, max_steps=args.max_steps)
        out = Path(args.out) if args.out else default_out([s.text for s in specs], doc.seed, args.format)
        if args.out and out.suffix.lower() not in (".svg", ".png"):
            out = out.with_suffix("." + args.format)
        doc.save(out, dpi=args.dpi)
    except (InputError, StyleError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for i in doc.capped_lines:
        print(f"warning: line {i + 1} hit the step cap before the text ended; it may be incomplete "
              f"(try a higher bias)", file=sys.stderr)
    print(f"Wrote {out} ({len(specs)} lines, seed {doc.seed}, {doc.seconds:.2f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
