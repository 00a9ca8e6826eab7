"""Turn a training checkpoint into the shipped model: half-precision safetensors + a training-curve plot.

    python train/export.py --checkpoint runs/cpu_standin/checkpoint-N.pt \
        --out checkpoints/scribe-standin.safetensors --curve checkpoints/training-curve.png

The exported file carries the same metadata (config, alphabet, normalisation, step, metrics), so the
app, the CLI and the notebook need nothing else. The optimizer state is dropped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from scribe import cli
from scribe.checkpoint import CheckpointError, latest_readable, load_checkpoint, save_shipped
from scribe.render.page import save_png


def _panel(d, series: list[tuple[str, str, float, list[tuple[float, float]], bool]], box, title: str, x_range,
           clip_top: bool = False) -> None:
    """One chart in box (left, top, width, height): series of (name, colour, line width, points, marked)."""
    left, top, w, h = box
    ys = sorted(v for _, _, _, pts, _ in series for _, v in pts)
    lo, hi = ys[0], ys[int(0.98 * (len(ys) - 1))] if clip_top else ys[-1]   # clip early spikes if asked
    hi = hi if hi > lo else lo + 1.0
    x0, x1 = x_range
    sx = lambda s: left + (s - x0) / max(1, x1 - x0) * w
    sy = lambda v: top + (hi - min(max(v, lo), hi)) / (hi - lo) * h
    font = dict(font_size=11, font_family="sans-serif")
    d.add(d.line((left, top + h), (left + w, top + h), stroke="#444"))
    d.add(d.line((left, top), (left, top + h), stroke="#444"))
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        d.add(d.text(f"{v:.2f}" if hi - lo < 10 else f"{v:.0f}", insert=(left - 52, sy(v) + 4), **font))
        step = x0 + (x1 - x0) * i / 4
        d.add(d.text(f"{int(step)}", insert=(sx(step) - 10, top + h + 15), **font))
    d.add(d.text(title, insert=(left, top - 8), font_size=12, font_family="sans-serif"))
    for n, (name, colour, width, pts, marked) in enumerate(series):
        d.add(d.polyline([(sx(s), sy(v)) for s, v in pts], fill="none", stroke=colour, stroke_width=width))
        if marked:
            for s, v in pts:
                d.add(d.circle((sx(s), sy(v)), 3, fill=colour))
        d.add(d.text(name, insert=(left + w - 250, top + 8 + 15 * n), fill=colour, **font))


def curve_svg(history: list[dict], width: int = 720, height: int = 560) -> str:
    """Two charts against step, as SVG: the training loss per pen point (each logged batch, and a
    running mean of 10), and the full validation NLL per line at every checkpoint."""
    import svgwrite
    d = svgwrite.Drawing(size=(width, height))
    d.add(d.rect((0, 0), (width, height), fill="white"))
    steps = [h["step"] for h in history]
    x_range = (min(steps), max(steps))
    train = [(h["step"], h["loss"]) for h in history]
    mean10 = [(s, sum(v for _, v in train[max(0, i - 9):i + 1]) / len(train[max(0, i - 9):i + 1]))
              for i, (s, _) in enumerate(train)]
    box_w = width - 90
    _panel(d, [("training batch", "#9ecae1", 1.0, train, False), ("running mean of 10", "#1f77b4", 2.0, mean10, False)],
           (70, 40, box_w, height / 2 - 90), "Training loss, nats per pen point", x_range, clip_top=True)
    valid = [(h["step"], h["valid_nll"]) for h in history if h.get("valid_nll") is not None]
    if valid:
        _panel(d, [("validation NLL (lower is better)", "#ff7f0e", 2.0, valid, True)],
               (70, height / 2 + 20, box_w, height / 2 - 90),
               "Validation NLL at each checkpoint, nats per line", x_range)
    d.add(d.text("step", insert=(width / 2, height - 8), font_size=12, font_family="sans-serif"))
    return d.tostring()


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True,
                   help="a checkpoint-N.pt file, or a run folder (its newest readable one)")
    p.add_argument("--out", default="checkpoints/scribe-standin.safetensors", type=cli.file_to_write)
    p.add_argument("--curve", default="checkpoints/training-curve.png",
                   type=lambda v: cli.file_to_write(v) if v else v, help="training curve PNG (empty: none)")
    args = p.parse_args(argv)
    src = Path(args.checkpoint)
    ckpt = latest_readable(src, with_optimizer=False) if src.is_dir() else load_checkpoint(src)
    if ckpt is None:
        raise CheckpointError(f"no readable checkpoint in {src}")
    save_shipped(ckpt, args.out)
    print(f"Wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB) from step {ckpt.step}")
    history = ckpt.metrics.get("history", [])
    if args.curve and len(history) > 1:
        save_png(curve_svg(history), args.curve, dpi=96)
        print(f"Wrote {args.curve}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
