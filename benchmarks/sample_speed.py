"""Sampling speed on the CPU: what a user of the app or the CLI waits for, scribe.fast against the
eager reference, and how the step's cost grows with the lines written at once.

    python benchmarks/sample_speed.py                      # shipped model and styles, 1 thread
    python benchmarks/sample_speed.py --threads 1,2        # 2 threads beside the 1-thread headline
    python benchmarks/sample_speed.py --random_size 400    # a random 3x400 model (speed only)
    python benchmarks/sample_speed.py --device cuda --batch 64   # GPU throughput, lines per second

Everything runs on 1 torch thread unless --threads says otherwise: the app and the CLI sample on 1
(scribe.hand.use_sampling_threads). Times are wall time and the CPU time of this process, which other
work on a shared machine disturbs less.

1. The Scribe guide's three-line document (styles 0 3 7, biases 1.8 0.6 1.2) through scribe.Hand:
   - first request: a new Python process per path loads the model (timed apart, as app start-up),
     then times its very first write: priming the styles, TorchScript's first-run optimisation and
     the document. Median of --fresh new processes;
   - later requests: the same document again in this process, styles primed, median of --rounds.
   Both paths use the same seed. ms per step divides by the steps the batch loop ran (every line
   shares one loop until the last is done), not by the points kept.
   The eager reference is Hand(fast=False): SynthesisNetwork.step in the Python loop. It is not a
   naive loop: it uses the fused LSTM cell ops, the clamped window exp() and nn.Linear-layout weights.
2. Lines at once: 1, 3 and 12 lines of the same text, styles primed, --batch_steps steps each (so
   every batch runs the same steps), scribe.fast only, the sizes taking turns in each of --rounds
   rounds (best of them): ms per step and the ratios; beside them the floor, the time to read every
   float32 weight of the step once (a sum over each matrix), timed in the same rounds, and the step's
   five matrix products alone on scribe.fast's own weights.

CUDA mode samples --batch lines in one batch (the three lines repeated, styles cycling) and prints
lines per second for both paths. It needs a CUDA machine.
"""
import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import torch

from scribe.checkpoint import load_checkpoint, training_checkpoints
from scribe.fast import NEVER_PACKED
from scribe.hand import Hand
from scribe.request import LineSpec
from scribe.model import SynthesisNetwork
from scribe.sampling import LineRequest, late_dot_ok
from scribe.styles import StyleBank

LINES = ["Report due by 09:00 on March 15th, 1985.",
         "Can't believe it - met him at 3:00pm!",
         "Got your message (thanks!) - call me."]
STYLES = [0, 3, 7]
BIASES = [1.8, 0.6, 1.2]
BATCHES = [1, 3, 12]
PATHS = {"eager reference": False, "scribe.fast": True}


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


def load_model(args):
    """The checkpoint, or with --random_size a random model of that width on its alphabet and stats."""
    ckpt = load_checkpoint(pick_checkpoint(args.checkpoint))
    if args.random_size:
        config = dataclasses.replace(ckpt.config, rnn_size=args.random_size)
        torch.manual_seed(0)
        ckpt = dataclasses.replace(ckpt, config=config, model_state=SynthesisNetwork(config).state_dict(),
                                   step=0)
    return ckpt


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def document():
    return [LineSpec(text, style, bias) for text, style, bias in zip(LINES, STYLES, BIASES)]


def first_write(args) -> int:
    """(--first_write PATH, in a new process) print the app start-up and the first write as JSON."""
    torch.set_num_threads(args.threads_now)
    t_start, c_start, hand = timed(lambda: Hand(load_model(args), StyleBank(pick_styles(args.style_dir)), "cpu",
                                                fast=PATHS[args.first_write]))
    wall, cpu, doc = timed(lambda: hand.write(document(), seed=args.seed, max_steps=args.max_steps,
                                                 candidates=1))
    print(json.dumps({"start": [t_start, c_start], "first": [wall, cpu],
                      "loop": doc.lines[0].loop_steps}))
    return 0


def fresh_first_writes(args, path: str, threads: int):
    """Median (start wall, start cpu, first wall, first cpu) over --fresh new processes."""
    cmd = [sys.executable, __file__, "--first_write", path, "--threads_now", str(threads), "--seed", str(args.seed)]
    for flag in ("checkpoint", "style_dir", "max_steps", "random_size"):
        if getattr(args, flag) is not None:
            cmd += [f"--{flag}", str(getattr(args, flag))]
    rows = []
    for _ in range(args.fresh):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "OMP_NUM_THREADS": str(threads)})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r["start"] + r["first"])
    return [statistics.median(col) for col in zip(*rows)]


def products_alone_ms(step, batch: int, steps: int = 200) -> float:
    """ms per step for the step's five matrix products alone (3 layers, output, window; each bias is a
    weight row), on scribe.fast's own weights, as its step calls them: oneDNN's packed weights from
    step.packed_rows lines up (where it has them; measured when the sampler is built), plain matmuls
    below, and always for the window."""
    packed = list(step.w_packed) if hasattr(step, "w_packed") and batch >= step.packed_rows else []
    mats = list(step.w_in)
    rows = [torch.randn(batch, m.shape[0]) for m in mats]
    window = torch.randn(batch, step.ww.shape[0])

    def loop():
        for _ in range(steps):
            for k, r in enumerate(rows):
                if packed:
                    torch.ops.mkldnn._linear_pointwise(r, packed[k], None, "none", [], "")
                else:
                    torch.mm(r, mats[k])
            torch.mm(window, step.ww)
    loop()
    return min(timed(loop)[1] for _ in range(7)) * 1000 / steps


def floor_ms(step, steps: int = 200, repeats: int = 7) -> float:
    """ms to read every float32 weight of one step once (a sum over each matrix): no step can stream
    its weights faster on this machine."""
    mats = list(step.w_in) + [step.ww]

    def loop():
        for _ in range(steps):
            for m in mats:
                m.sum()
    loop()
    return min(timed(loop)[1] for _ in range(repeats)) * 1000 / steps


def document_times(hands, args):
    """{path: (median wall, median cpu, loop steps)} for the document, styles primed, --rounds rounds
    with the paths in turn (a busy machine slows both alike)."""
    runs = {name: [] for name in hands}
    loops = {}
    specs = document()
    for hand in hands.values():
        hand.write(specs, seed=args.seed, max_steps=args.max_steps, candidates=1)    # prime the styles
    for _ in range(args.rounds):
        for name, hand in hands.items():
            wall, cpu, doc = timed(lambda: hand.write(specs, seed=args.seed, max_steps=args.max_steps, candidates=1))
            runs[name].append((wall, cpu))
            loops[name] = doc.lines[0].loop_steps
    return {name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v), loops[name])
            for name, v in runs.items()}


def batch_times(hand, args):
    """{lines: (ms per step wall, cpu)} for 1, 3, 12 lines of the same text, --batch_steps steps each,
    best of --rounds. The batch sizes take turns within each round, so a slow spell on the machine
    (its memory and last-level cache are shared) slows every size alike instead of one."""
    specs = {n: [LineSpec(LINES[0], STYLES[0], BIASES[0])] * n for n in BATCHES}
    for n in BATCHES:
        hand.write(specs[n], seed=args.seed, max_steps=args.batch_steps, candidates=1)   # prime, warm up
    rounds = {n: [] for n in BATCHES}
    floors = []
    for _ in range(args.rounds):
        for n in BATCHES:
            wall, cpu, doc = timed(lambda: hand.write(specs[n], seed=args.seed, max_steps=args.batch_steps,
                                                      candidates=1))
            rounds[n].append((wall / doc.lines[0].loop_steps, cpu / doc.lines[0].loop_steps))
        floors.append(floor_ms(hand.sampler.step_fn, repeats=1))     # in the same rounds as the steps
    return {n: (1000 * min(w for w, _ in r), 1000 * min(c for _, c in r)) for n, r in rounds.items()}, min(floors)


def cpu_benchmark(ckpt, styles, args) -> int:
    print(f"document: {len(LINES)} lines, styles {STYLES}, biases {BIASES}, seed {args.seed}")

    def row(label, values, unit):
        print(f"  {label:50s}" + "".join(f"{v:>10.3f}{unit}" for v in values))

    for n_threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(n_threads)
        fresh = {name: fresh_first_writes(args, name, n_threads) for name in PATHS}
        hands = {name: Hand(ckpt, styles, "cpu", fast=fast) for name, fast in PATHS.items()}
        doc = document_times(hands, args)
        batches, floor = batch_times(hands["scribe.fast"], args)
        print(f"\n== {n_threads} torch thread{'s' if n_threads > 1 else ''}"
              f"{' (what the app and the CLI use)' if n_threads == 1 else ''}; wall / cpu")
        for name in PATHS:
            start_w, start_c, first_w, first_c = fresh[name]
            wall, cpu, loop = doc[name]
            print(f"  {name}:")
            row("app start-up (read the model, build the sampler)", (start_w, start_c), " s")
            row("first request (new process, primes 3 styles)", (first_w, first_c), " s")
            row("later requests", (wall, cpu), " s")
            row(f"ms per step ({loop} steps in the loop)", (1000 * wall / loop, 1000 * cpu / loop), "  ")
        e, f = (doc[n] for n in PATHS)
        print("  ratio eager / fast: first request "
              f"{fresh['eager reference'][2] / fresh['scribe.fast'][2]:.2f}x wall, "
              f"{fresh['eager reference'][3] / fresh['scribe.fast'][3]:.2f}x cpu; later requests "
              f"{e[0] / f[0]:.2f}x wall, {e[1] / f[1]:.2f}x cpu; per step "
              f"{(e[0] / e[2]) / (f[0] / f[2]):.2f}x wall, {(e[1] / e[2]) / (f[1] / f[2]):.2f}x cpu")
        print(f"  lines at once (scribe.fast, {args.batch_steps} steps each, best of {args.rounds} rounds, sizes in turn), "
              f"ms per step wall / cpu: " + ", ".join(f"{n}: {w:.3f} / {c:.3f}" for n, (w, c) in batches.items()))
        print(f"    3 lines / 1 line: {batches[3][0] / batches[1][0]:.2f}x wall, "
              f"{batches[3][1] / batches[1][1]:.2f}x cpu; 12 lines / 3 lines: {batches[12][0] / batches[3][0]:.2f}x "
              f"wall, {batches[12][1] / batches[3][1]:.2f}x cpu")
        step = hands["scribe.fast"].sampler.step_fn
        print(f"  floor (read every float32 weight of the step once, best of the same rounds, "
              f"{sum(m.numel() for m in list(step.w_in) + [step.ww]) * 4 / 1e6:.1f} MB): {floor:.3f} ms cpu; "
              f"the step at 1 line = {batches[1][1] / floor:.2f}x the floor")
        rows = getattr(step, "packed_rows", None)
        print("  products over several lines: " + ("plain matmuls (no oneDNN)" if rows is None else
              "plain matmuls at every batch here (packed weights measured no faster)" if rows >= NEVER_PACKED else
              f"oneDNN packed weights from {rows} lines (measured faster here), plain below"))
        print("  the step's matrix products alone, ms cpu: "
              + ", ".join(f"{n} line{'s' if n > 1 else ''} {products_alone_ms(step, n):.3f}" for n in BATCHES))
        sys.stdout.flush()
    return 0


def cuda_benchmark(ckpt, styles, args) -> int:
    if not torch.cuda.is_available():
        print("CUDA is not available on this machine: --device cuda runs only on a GPU.")
        return 2
    results = {}
    for name, fast in (PATHS.items()):
        hand = Hand(ckpt, styles, "cuda", fast=fast)
        reqs, parts = [], []
        for i in range(args.batch):
            text, style, bias = LINES[i % 3], STYLES[i % 3], BIASES[i % 3]
            primed = hand.primed(style)
            state, prime, prime_encoded = primed.state, primed.prime, primed.encoded     # cached per style, as Hand.write does
            reqs.append(LineRequest(hand.alphabet.encode(text), bias, prime, prime_encoded, late_dot_ok(text),
                                    adapter=primed.adapter))
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
    print(f"ratio: {results['eager reference'][0] / results['scribe.fast'][0]:.2f}x")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="model file (default: the shipped one, else the newest "
                                        "runs/cpu_standin checkpoint)")
    p.add_argument("--style_dir", help="style bank (default: checkpoints/styles)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", default="1", help="CPU mode: torch thread counts to run, e.g. 1,2 "
                                                  "(the first is the headline)")
    p.add_argument("--random_size", type=int, help="a random model of this width (speed only)")
    p.add_argument("--fresh", type=int, default=3, help="new processes timed for the first request")
    p.add_argument("--batch_steps", type=int, default=200, help="steps per batch in the lines-at-once test")
    p.add_argument("--first_write", choices=list(PATHS), help=argparse.SUPPRESS)
    p.add_argument("--threads_now", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=64, help="lines per batch in CUDA mode")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max_steps", type=int, default=None)
    args = p.parse_args(argv)
    if args.random_size and args.max_steps is None:
        args.max_steps = 300      # a random model's window may never reach the end of the text
    if args.first_write:
        return first_write(args)
    torch.set_num_threads(int(args.threads.split(",")[0]))
    path = pick_checkpoint(args.checkpoint)
    t_load, _, ckpt = timed(lambda: load_model(args))
    style_dir = pick_styles(args.style_dir)
    styles = StyleBank(style_dir)
    c = ckpt.config
    print(f"model {path} ({c.num_layers}x{c.rnn_size}, K={c.window_gaussians}, M={c.mixtures}, "
          f"{'random weights' if args.random_size else f'step {ckpt.step}'}), styles {style_dir}, "
          f"device {args.device}; checkpoint read in {t_load:.2f} s")
    return cuda_benchmark(ckpt, styles, args) if args.device == "cuda" else cpu_benchmark(ckpt, styles, args)


if __name__ == "__main__":
    sys.exit(main())
