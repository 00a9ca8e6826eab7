"""Sampling speed: the Scribe guide's three-line document, scribe.fast vs the naive eager step loop.

    python benchmarks/sample_speed.py                          # shipped model and styles, 2 CPU threads
    python benchmarks/sample_speed.py --checkpoint runs/cpu_standin/checkpoint-3200.pt --style_dir /tmp/styles
    python benchmarks/sample_speed.py --device cuda --batch 64  # GPU throughput, lines per second

CPU mode writes the guide's `--lines` example (styles 0 3 7, biases 1.8 0.6 1.2) through
scribe.Hand twice per round, model loaded up front: "cold" with the styles not yet primed (a fresh
app's first request: priming reads each style's ink first) and "warm" with them cached (every later
request). The naive eager path is Hand(fast=False): the model's eager `step` in the Python loop.
Both paths run in turn with the same seed, several rounds, so a busy machine slows both alike; it
prints median wall times, ms per sampling step and the ratios, and checks both wrote the same
number of steps (use --max_steps to force equal counts if a rare draw differs).

CUDA mode samples --batch lines in one batch (the three lines repeated, styles cycling) and prints
lines per second for both paths. It needs a CUDA machine.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import torch

from scribe.checkpoint import load_checkpoint, training_checkpoints
from scribe.hand import Hand, LineSpec
from scribe.sampling import LineRequest, late_dot_ok
from scribe.styles import StyleBank

LINES = ["Report due by 09:00 on March 15th, 1985.",
         "Can't believe it - met him at 3:00pm!",
         "Got your message (thanks!) - call me."]
STYLES = [0, 3, 7]
BIASES = [1.8, 0.6, 1.2]


def pick_checkpoint(arg: str | None) -> Path:
    """--checkpoint, else the shipped model (checkpoints/scribe-*.safetensors), else the newest CPU
    stand-in training checkpoint."""
    if arg:
        return Path(arg)
    shipped = sorted((ROOT / "checkpoints").glob("scribe-*.safetensors"))
    if shipped:
        return shipped[0]
    found = training_checkpoints(ROOT / "runs" / "cpu_standin")
    if not found:
        raise SystemExit("no model yet: pass --checkpoint PATH (no checkpoints/scribe-*.safetensors and no "
                         "runs/cpu_standin/checkpoint-N.pt)")
    return found[-1]


def pick_styles(arg: str | None) -> Path:
    folder = Path(arg) if arg else ROOT / "checkpoints" / "styles"
    if not folder.is_dir():
        raise SystemExit(f"no style bank at {folder}: build one with "
                         f"`python train/build_styles.py --out /tmp/styles` and pass --style_dir /tmp/styles")
    return folder


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def products_alone_ms(fast_step, batch: int, steps: int = 400) -> float:
    """ms per step for one sampling step's matrix products alone (scribe.fast's packed weights,
    nothing else in the loop): the floor for any float32 step loop on this machine."""
    mats = [fast_step.w1, *fast_step.wu, fast_step.ww, fast_step.wo]
    rows = [torch.randn(batch, m.shape[0]) for m in mats]
    biases = [torch.randn(m.shape[1]) for m in mats]

    def loop():
        for _ in range(steps):
            for r, m, b in zip(rows, mats, biases):
                torch.addmm(b, r, m)
    loop()
    return statistics.median(timed(loop)[0] for _ in range(5)) * 1000 / steps


def cpu_benchmark(ckpt, styles, args) -> int:
    t_build, _, fast = timed(lambda: Hand(ckpt, styles, "cpu", fast=True))
    eager = Hand(ckpt, styles, "cpu", fast=False)
    specs = [LineSpec(text, style, bias) for text, style, bias in zip(LINES, STYLES, BIASES)]
    hands = {"naive eager": eager, "scribe.fast": fast}
    runs = {(name, kind): [] for name in hands for kind in ("cold", "warm")}   # (wall, cpu) per round
    steps = {}
    for _ in range(args.rounds):
        for name, hand in hands.items():
            hand._primed.clear()                 # forget the primed styles: a fresh app's first request
            for kind in ("cold", "warm"):
                wall, cpu, doc = timed(lambda: hand.write(specs, seed=args.seed, max_steps=args.max_steps))
                runs[name, kind].append((wall, cpu))
            steps[name] = [ln.steps for ln in doc.lines]
    prime_points = sum(len(fast._primed[s][1].offsets) for s in STYLES)
    loop = {name: max(s) for name, s in steps.items()}
    med = {key: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for key, v in runs.items()}
    print(f"document: {len(LINES)} lines, styles {STYLES}, biases {BIASES}, seed {args.seed}; "
          f"priming reads {prime_points} points of style ink")
    for name in hands:
        print(f"  {name}: steps per line {steps[name]} (the batch loop runs {loop[name]} steps)")
    if steps["naive eager"] != steps["scribe.fast"]:
        print("  NOTE: step counts differ (a draw fell the other way); compare ms/step, or rerun with "
              "--max_steps below both counts")
    print(f"scribe.fast build (TorchScript, once per process): {t_build:.2f} s")
    print(f"median of {args.rounds} rounds; wall = elapsed time, cpu = CPU time of this process "
          f"(less sensitive to other work on the machine)")
    print(f"{'':13s}{'cold: priming + document':>26s}{'warm: document':>24s}{'ms/step (warm)':>22s}")
    print(f"{'':13s}{'wall':>13s}{'cpu':>13s}{'wall':>12s}{'cpu':>12s}{'wall':>11s}{'cpu':>11s}")
    for name in hands:
        (cw, cc), (ww, wc) = med[name, "cold"], med[name, "warm"]
        print(f"{name:13s}{cw:>11.3f} s{cc:>11.3f} s{ww:>10.3f} s{wc:>10.3f} s"
              f"{1000 * ww / loop[name]:>11.2f}{1000 * wc / loop[name]:>11.2f}")
    e, f = "naive eager", "scribe.fast"
    ratios = [med[e, "cold"][i] / med[f, "cold"][i] for i in (0, 1)] + \
             [med[e, "warm"][i] / med[f, "warm"][i] for i in (0, 1)] + \
             [(med[e, "warm"][i] / loop[e]) / (med[f, "warm"][i] / loop[f]) for i in (0, 1)]
    print(f"{'ratio':13s}" + "".join(f"{r:>{w}.2f} x" for r, w in zip(ratios, (11, 11, 10, 10, 9, 9))))
    floor = products_alone_ms(fast.sampler.step_fn, len(LINES))
    print(f"the step's matrix products alone (float32 weights, {len(LINES)} rows, nothing else): {floor:.2f} ms "
          f"per step; a loop of nothing else would be {1000 * med[e, 'warm'][0] / loop[e] / floor:.1f}x "
          f"faster than naive eager")
    print("rounds, wall s: " + "; ".join(
        f"{n} {k} " + ", ".join(f"{w:.3f}" for w, _ in runs[n, k]) for n in hands for k in ("cold", "warm")))
    return 0


def cuda_benchmark(ckpt, styles, args) -> int:
    if not torch.cuda.is_available():
        print("CUDA is not available on this machine: --device cuda runs only on a GPU.")
        return 2
    results = {}
    for name, fast in (("naive eager", False), ("scribe.fast", True)):
        hand = Hand(ckpt, styles, "cuda", fast=fast)
        reqs, parts = [], []
        for i in range(args.batch):
            text, style, bias = LINES[i % 3], STYLES[i % 3], BIASES[i % 3]
            state, prime, prime_encoded = hand._prime(style)     # cached per style, as Hand.write does
            reqs.append(LineRequest(hand.alphabet.encode(text), bias, prime, prime_encoded, late_dot_ok(text)))
            parts.append(state)
        primed = ([torch.cat([p[0][k] for p in parts]) for k in range(len(parts[0][0]))],
                  torch.cat([p[1] for p in parts]))
        hand.sampler.sample(reqs, seed=args.seed, max_steps=args.max_steps, primed=primed)   # warm-up
        times = []
        for _ in range(args.rounds):
            torch.cuda.synchronize()
            dt, _, lines = timed(lambda: hand.sampler.sample(reqs, seed=args.seed, max_steps=args.max_steps,
                                                             primed=primed))
            torch.cuda.synchronize()
            times.append(dt)
        results[name] = (statistics.median(times), max(ln.steps for ln in lines))
    print(f"batch of {args.batch} lines (the document's three, styles cycling), styles primed, "
          f"{torch.cuda.get_device_name()}")
    for name, (dt, n) in results.items():
        print(f"{name:14s} {args.batch / dt:8.1f} lines/s  ({dt:.2f} s, {n} steps, {1000 * dt / n:.2f} ms/step)")
    print(f"ratio: {results['naive eager'][0] / results['scribe.fast'][0]:.2f}x")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="model file (default: the shipped one, else the newest "
                                        "runs/cpu_standin checkpoint)")
    p.add_argument("--style_dir", help="style bank (default: checkpoints/styles)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for CPU mode")
    p.add_argument("--batch", type=int, default=64, help="lines per batch in CUDA mode")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max_steps", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = pick_checkpoint(args.checkpoint)
    t_load, _, ckpt = timed(lambda: load_checkpoint(path))
    style_dir = pick_styles(args.style_dir)
    styles = StyleBank(style_dir)
    c = ckpt.config
    print(f"model {path} ({c.num_layers}x{c.rnn_size}, K={c.window_gaussians}, M={c.mixtures}, "
          f"step {ckpt.step}), styles {style_dir}, device {args.device}, torch threads "
          f"{torch.get_num_threads()}; checkpoint read in {t_load:.2f} s (not timed below)")
    return cuda_benchmark(ckpt, styles, args) if args.device == "cuda" else cpu_benchmark(ckpt, styles, args)


if __name__ == "__main__":
    sys.exit(main())
