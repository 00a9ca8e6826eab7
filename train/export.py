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

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scribe.checkpoint import CheckpointError, latest_readable, load_checkpoint, save_shipped
from scribe.render import save_png


def curve_svg(history: list[dict], width: int = 720, height: int = 360) -> str:
    """Training loss, validation-batch loss and full validation NLL per point against step, as SVG."""
    import svgwrite
    pad_l, pad_r, pad_t, pad_b = 60, 20, 30, 45
    pts = {"train loss": [(h["step"], h["loss"]) for h in history],
           "valid batch": [(h["step"], h["valid_loss"]) for h in history]}
    xs = [s for series in pts.values() for s, _ in series]
    ys = sorted(v for series in pts.values() for _, v in series)
    lo, hi = ys[0], ys[int(0.98 * (len(ys) - 1))]        # clip the first spikes so the tail is readable
    x0, x1 = min(xs), max(xs)
    sx = lambda s: pad_l + (s - x0) / max(1, x1 - x0) * (width - pad_l - pad_r)
    sy = lambda v: pad_t + (hi - min(max(v, lo), hi)) / max(1e-9, hi - lo) * (height - pad_t - pad_b)
    d = svgwrite.Drawing(size=(width, height))
    d.add(d.rect((0, 0), (width, height), fill="white"))
    d.add(d.line((pad_l, height - pad_b), (width - pad_r, height - pad_b), stroke="#444"))
    d.add(d.line((pad_l, pad_t), (pad_l, height - pad_b), stroke="#444"))
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        d.add(d.text(f"{v:.2f}", insert=(6, sy(v) + 4), font_size=11, font_family="sans-serif"))
        s = x0 + (x1 - x0) * i / 4
        d.add(d.text(f"{int(s)}", insert=(sx(s) - 10, height - pad_b + 16), font_size=11, font_family="sans-serif"))
    d.add(d.text("step", insert=(width / 2, height - 8), font_size=12, font_family="sans-serif"))
    d.add(d.text("NLL, nats per pen point", insert=(pad_l, 18), font_size=12, font_family="sans-serif"))
    for (name, series), color, y in zip(pts.items(), ("#1f77b4", "#ff7f0e"), (18, 34)):
        d.add(d.polyline([(sx(s), sy(v)) for s, v in series], fill="none", stroke=color, stroke_width=1.5))
        d.add(d.text(name, insert=(width - 150, y), fill=color, font_size=12, font_family="sans-serif"))
    return d.tostring()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="a checkpoint-N.pt file, or a run folder (its newest readable one)")
    p.add_argument("--out", default="checkpoints/scribe-standin.safetensors")
    p.add_argument("--curve", default="checkpoints/training-curve.png")
    args = p.parse_args(argv)
    try:
        src = Path(args.checkpoint)
        ckpt = latest_readable(src, with_optimizer=False) if src.is_dir() else load_checkpoint(src)
        if ckpt is None:
            raise CheckpointError(f"no readable checkpoint in {src}")
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    save_shipped(ckpt, args.out)
    print(f"Wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB) from step {ckpt.step}")
    history = ckpt.metrics.get("history", [])
    if args.curve and len(history) > 1:
        save_png(curve_svg(history), args.curve, dpi=96)
        print(f"Wrote {args.curve}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
