"""The one GPU run, in one command: self-check, batch-size probe, time-budgeted training, benchmarks.

    OUT=/returned/folder python scripts/gpu_run.py            # on the GPU: 3x400 K=10 M=20, ~550 s in all
    python scripts/gpu_run.py --dry_run --out /tmp/gpu-dry    # every phase on the CPU, tiny model (CI)

Made for a borrowed GPU machine that keeps nothing, allows one command of at most 10 minutes, and
returns only a few small files. Everything it makes goes to --out (default $OUT), rewritten as it goes,
so a run cut short still returns what it had:
  gpu_run.log              this log, line by line (also on stdout, unbuffered)
  gpu_results.json         every figure measured, phase by phase
  scribe-gpu.safetensors   the model in half precision, exported every --export_every s while training
  training_speed.json      benchmarks/results/training_speed.json with this GPU's figures added: copy it
                           there, and the notebook's step 6 gives expected training times from it
Phases: 1. the CUDA self-check of the compiled training path against the eager model (scribe/self_check.py);
2. a batch-size probe (at most --probe_seconds); 3. train/train.py from scratch for the time left, its
learning-rate schedule fitted to the steps that time allows; 4. training throughput, eager vs
scribe.fast, at the chosen batch, and sampling throughput at batch 64, eager vs scribe.fast.
Needs torch and safetensors only (tensorboard if present): nothing here imports gradio, svgwrite or cairosvg.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

STARTED = time.time()   # the command's clock starts before torch is imported

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch

from scribe.alphabet import Alphabet
from scribe.checkpoint import load_checkpoint, newest_readable, save_shipped
from scribe.colab import MEASURED_SPEED, gpu_family
from scribe.dataset import BucketBatches, ProcessedData
from scribe.files import atomic_write_bytes
from scribe.model import ModelConfig, SynthesisNetwork
from scribe.self_check import fast_disagreement

GUIDE_LINES = ["Report due by 09:00 on March 15th, 1985.", "Can't believe it - met him at 3:00pm!",
               "Got your message (thanks!) - call me."]
GUIDE_BIASES = [1.8, 0.6, 1.2]


class Run:
    """The log (stdout and gpu_run.log, flushed per line), the results file and the clock."""

    def __init__(self, out: Path, total_seconds: float):
        self.out, self.t0, self.total = out, STARTED, total_seconds
        out.mkdir(parents=True, exist_ok=True)
        self.log_file = open(out / "gpu_run.log", "a", buffering=1)
        self.results: dict = {}

    def elapsed(self) -> float:
        return time.time() - self.t0

    def left(self) -> float:
        return self.total - self.elapsed()

    def log(self, *parts) -> None:
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def phase(self, name: str) -> None:
        self.log(f"== {name} (at {self.elapsed():.0f}s of {self.total:.0f}s)")

    def guarded(self, name: str, fn, *args, default=None):
        """fn(*args); an error is logged and recorded, and the run goes on to its next phase."""
        try:
            return fn(*args)
        except Exception as e:   # one failed phase must not cost the others (the machine is lent once)
            self.log(f"{name} FAILED: {type(e).__name__}: {e}\n{traceback.format_exc()}")
            self.record(f"{name}_error", f"{type(e).__name__}: {e}")
            return default

    def record(self, key: str, value) -> None:
        self.results[key] = value
        atomic_write_bytes(self.out / "gpu_results.json", (json.dumps(self.results, indent=2) + "\n").encode())


def environment(device: torch.device) -> dict:
    env = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device),
           "python": sys.version.split()[0]}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   capability=list(torch.cuda.get_device_capability(device)))
    # The precision train.py trains in: bf16 autocast on CUDA today (TrainConfig.precision once merged).
    try:
        from scribe.train.train import choose_precision
        env["precision"] = choose_precision(device)
    except ImportError:
        env["precision"] = "bf16" if device.type == "cuda" else "fp32"
    return env


def autocast_for(device: torch.device, precision: str):
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return lambda: torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def build(cfg: dict, data: ProcessedData, device):
    """(alphabet, model config, model) as train.py builds them for this data."""
    import numpy as np
    texts = [str(data.texts[i]) for i in data.indices("train")]
    alphabet = Alphabet.from_texts(texts)
    per_char = float(np.median(data.lengths()[data.indices("train")] / [max(1, len(t)) for t in texts]))
    mc = ModelConfig(alphabet.size, cfg["rnn_size"], cfg["num_layers"], cfg["nwindow"], cfg["nmixtures"], per_char)
    torch.manual_seed(0)
    return alphabet, mc, SynthesisNetwork(mc).to(device).train()


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---- 1. self-check ----------------------------------------------------------------------------------
def self_check(run: Run, model, batches, device, precision) -> bool:
    from scribe.fast import fast_loss
    batch = batches.make(batches.epoch()[0]).to(device)
    t = time.time()
    try:
        fast = fast_loss(model, device)
    except ImportError as e:
        why, agreement = str(e), ""
    else:
        why, agreement = fast_disagreement(model, fast, model.loss, batch, autocast_for(device, precision))
    ok = why is None
    run.log(f"Self-check ({time.time() - t:.1f}s): " + (f"the compiled path matches the eager model: {agreement}"
            if ok else f"FAILED: {why}. Training and benchmarks use the eager model (cuDNN)."))
    run.record("self_check", {"ok": ok, "why": why, "agreement": agreement, "seconds": round(time.time() - t, 1)})
    return ok


# ---- 2. batch-size probe ----------------------------------------------------------------------------
def probe(run: Run, model, data, alphabet, device, precision, use_fast: bool, sizes: list[int],
          budget: float, steps: int) -> tuple[int, dict]:
    """Seconds per training step (loss, backward, clip, Adam) at each batch size, a few real batches
    each, until one runs out of memory or the time is spent; returns the best in sequences per second."""
    from scribe.fast import fast_loss
    autocast, t0, found, last = autocast_for(device, precision), time.time(), {}, 0.0
    for bs in sizes:
        if found and time.time() - t0 + 2 * last > budget:   # a bigger batch takes longer than the last one
            run.log(f"Probe: stopping before batch {bs} (the probe's {budget:.0f}s would be spent)")
            break
        started = time.time()
        trial = copy.deepcopy(model)
        loss_fn = fast_loss(trial, device) if use_fast else trial.loss
        opt = torch.optim.Adam(trial.parameters(), 1e-4)
        batches = BucketBatches(data, "train", alphabet, bs, seed=1)
        order = batches.epoch()[:steps + 1]
        try:
            times = []
            for i, idx in enumerate(order):
                batch = batches.make(idx).to(device)
                sync(device)
                t = time.time()
                with autocast():
                    loss, per_line = loss_fn(batch)
                opt.zero_grad(set_to_none=True)
                (loss * len(per_line) / batch.mask.sum()).backward()
                torch.nn.utils.clip_grad_norm_(trial.parameters(), 10.0)
                opt.step()
                sync(device)
                if i:   # the first step of each size warms up (allocations, TorchScript profiling)
                    times.append(time.time() - t)
        except torch.cuda.OutOfMemoryError:
            run.log(f"Probe: batch {bs} is out of GPU memory")
            found[bs] = None
            break
        finally:
            del trial, opt
            if device.type == "cuda":
                torch.cuda.empty_cache()
        if not times:
            run.log(f"Probe: batch {bs}: too few training lines for a timed step")
            break
        sps = sum(times) / len(times)
        found[bs], last = sps, time.time() - started
        run.log(f"Probe: batch {bs}: {sps:.3f} s/step, {bs / sps:.1f} sequences/s")
    measured = {bs: s for bs, s in found.items() if s}
    best = max(measured, key=lambda bs: bs / measured[bs])
    run.log(f"Probe ({time.time() - t0:.1f}s): batch {best} (most sequences per second)")
    run.record("probe", {"seconds_per_step": {str(k): v for k, v in found.items()}, "chosen_batch": best,
                         "seconds": round(time.time() - t0, 1), "steps_per_size": steps})
    return best, measured


# ---- 3. training ------------------------------------------------------------------------------------
class Exporter(threading.Thread):
    """Every `every` seconds, the newest checkpoint of the run, as the fp16 safetensors in out."""

    def __init__(self, run: Run, run_dir: Path, path: Path, every: float):
        super().__init__(daemon=True)
        self.owner, self.run_dir, self.path, self.every = run, run_dir, path, every
        self.exported_step, self.exports, self.stop = None, [], threading.Event()

    def export(self) -> None:
        found = newest_readable(self.run_dir, log=lambda *a: None, with_optimizer=False)
        if found is None or found[1].step == self.exported_step:
            return
        save_shipped(found[1], self.path)
        self.exported_step = found[1].step
        self.exports.append({"step": found[1].step, "at_seconds": round(self.owner.elapsed())})
        self.owner.log(f"Exported step {found[1].step} to {self.path.name} ({self.path.stat().st_size / 1e6:.1f} MB)")

    def run(self) -> None:   # threading.Thread's body
        while not self.stop.wait(self.every):
            try:
                self.export()
            except Exception as e:   # a failed export must not stop training; the next one may work
                self.owner.log(f"Export failed: {type(e).__name__}: {e}")


def train(run: Run, args, cfg: dict, batch: int, s_per_step: float, use_fast: bool, run_dir: Path,
          seconds: float) -> dict:
    """train/train.py from scratch for `seconds` of wall time, startup and the last save included."""
    budget_s = max(5.0, seconds - args.train_overhead)
    steps = max(10, int(budget_s / s_per_step * 0.95))
    save_every = max(5, int(args.export_every / s_per_step))
    config = {**cfg, "batch_size": batch, "stages": [], "max_steps": steps, "save_every": save_every,
              "time_budget": budget_s / 60, "keep": 2, "compile": use_fast,
              "warmup_steps": min(cfg.get("warmup_steps", 100), max(1, steps // 10))}
    config_path = run_dir / "gpu_run_config.json"
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config, indent=2))
    run.log(f"Training: batch {batch}, {steps} steps planned (LR schedule fitted to them), checkpoint every "
            f"{save_every} steps, time budget {budget_s:.0f}s")
    exporter = Exporter(run, run_dir, run.out / "scribe-gpu.safetensors", args.export_every)
    exporter.start()
    argv = [sys.executable, "-u", str(ROOT / "train" / "train.py"), "--config", str(config_path),
            "--data", str(args.data), "--out_dir", str(run_dir), "--device", args.device]
    t = time.time()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    killer = threading.Timer(seconds + args.kill_grace, proc.kill)   # overstaying costs only that much
    killer.start()
    for line in proc.stdout:
        run.log("  " + line.rstrip())
    code = proc.wait()
    killer.cancel()
    exporter.stop.set()
    exporter.join()
    exporter.export()   # the last checkpoint, whatever the clock said
    ckpt = load_checkpoint(exporter.path) if exporter.path.exists() else None
    history = ckpt.metrics.get("history", []) if ckpt else []
    timed = [h for h in history if h.get("seconds") is not None]
    per_step = ((timed[-1]["seconds"] - timed[0]["seconds"]) / (timed[-1]["step"] - timed[0]["step"])
                if len(timed) > 1 and timed[-1]["step"] > timed[0]["step"] else None)
    result = {"exit_code": code, "wall_seconds": round(time.time() - t, 1), "batch": batch,
              "planned_steps": steps, "steps": ckpt.step if ckpt else 0, "seconds_per_step": per_step,
              "valid_nll": ckpt.metrics.get("valid_nll") if ckpt else None, "exports": exporter.exports,
              "compiled_path": use_fast, "valid_lines": cfg.get("valid_lines")}
    run.log(f"Training done (exit {code}): step {result['steps']}, "
            + (f"{per_step:.3f} s/step with checkpoints, " if per_step else "")
            + f"validation NLL {result['valid_nll']} nats/line on {cfg.get('valid_lines')} lines")
    run.record("training", result)
    return result


# ---- 4. benchmarks ----------------------------------------------------------------------------------
def _train_speed_module():
    spec = importlib.util.spec_from_file_location("train_speed", ROOT / "benchmarks" / "train_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_training(run: Run, args, cfg: dict, batch: int, device, precision, use_fast: bool) -> None:
    """Steps per second, the naive eager model vs scribe.fast, same weights, same real batches, in turn."""
    from scribe.fast import fast_loss
    ts = _train_speed_module()
    batches, alphabet_size, source = ts.real_batches(Path(args.data), batch, args.bench_steps + 1, None, 0)
    batches = [b.to(device) for b in batches]
    torch.manual_seed(0)
    mc = ModelConfig(alphabet_size, cfg["rnn_size"], cfg["num_layers"], cfg["nwindow"], cfg["nmixtures"], 12.0)
    eager = SynthesisNetwork(mc).to(device).train()
    fast = copy.deepcopy(eager)
    autocast = autocast_for(device, precision)
    paths = {"naive eager": ts.make_step(eager, eager.loss, torch.optim.Adam(eager.parameters(), 1e-4), autocast)}
    if use_fast:
        paths["scribe.fast"] = ts.make_step(fast, fast_loss(fast, device), torch.optim.Adam(fast.parameters(), 1e-4),
                                            autocast)
    for step in paths.values():
        step(batches[0])   # warm-up
    wall = {name: [] for name in paths}
    for _ in range(args.bench_rounds):
        for name, step in paths.items():
            sync(device)
            t = time.time()
            for b in batches[1:]:
                step(b)
            sync(device)
            wall[name].append(time.time() - t)
    out = {"batch": batch, "steps": args.bench_steps, "rounds": args.bench_rounds, "precision": precision,
           "source": source}
    for name, w in wall.items():
        sps = args.bench_steps / sorted(w)[len(w) // 2]
        out[name] = {"steps_per_s": sps, "sequences_per_s": sps * batch, "round_seconds": w}
        run.log(f"Training speed, {name}: {sps:.3f} steps/s, {sps * batch:.1f} sequences/s (batch {batch})")
    if len(paths) == 2:
        out["ratio"] = out["scribe.fast"]["steps_per_s"] / out["naive eager"]["steps_per_s"]
        run.log(f"Training speed ratio, scribe.fast / naive eager: {out['ratio']:.2f}x")
    run.record("bench_training", out)


def bench_sampling(run: Run, args, checkpoint: Path, device) -> None:
    """Lines per second for one batch of --sample_batch lines (the guide's three, repeated), unprimed,
    eager step loop vs scribe.fast's compiled loop, same seed."""
    from scribe.fast import fast_step
    from scribe.sampling import LineRequest, Sampler, late_dot_ok
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build_model(device)
    known = set(ckpt.alphabet.chars)
    lines = ["".join(c for c in line if c in known) for line in GUIDE_LINES]   # all of them, with IAM-OnDB's
    if lines != GUIDE_LINES:
        run.log("Sampling: characters this model does not know are left out of the guide's lines")
    texts = [lines[i % 3] for i in range(args.sample_batch)]
    requests = [LineRequest(ckpt.alphabet.encode(t), GUIDE_BIASES[i % 3], late_dot_ok=late_dot_ok(t))
                for i, t in enumerate(texts)]
    out = {"batch": args.sample_batch, "checkpoint_step": ckpt.step, "max_steps": args.sample_max_steps}
    for name, sampler in (("naive eager", Sampler(model, ckpt.stats)),
                          ("scribe.fast", Sampler(model, ckpt.stats, fast_step(model)))):
        sampler.sample(requests[:2], seed=1, max_steps=20)   # warm-up (compilation, allocations)
        sync(device)
        t = time.time()
        lines = sampler.sample(requests, seed=1, max_steps=args.sample_max_steps)
        sync(device)
        seconds = time.time() - t
        steps = max(line.steps for line in lines)
        out[name] = {"seconds": seconds, "lines_per_s": len(lines) / seconds, "loop_steps": steps,
                     "ms_per_step": 1000 * seconds / max(1, steps),
                     "lines_at_cap": sum(line.hit_cap for line in lines)}
        run.log(f"Sampling speed, {name}: {len(lines) / seconds:.1f} lines/s ({len(lines)} lines, {steps} steps, "
                f"{1000 * seconds / max(1, steps):.2f} ms/step, {out[name]['lines_at_cap']} at the step cap)")
    out["ratio"] = out["scribe.fast"]["lines_per_s"] / out["naive eager"]["lines_per_s"]
    out["same_steps"] = out["scribe.fast"]["loop_steps"] == out["naive eager"]["loop_steps"]
    run.log(f"Sampling speed ratio, scribe.fast / naive eager: {out['ratio']:.2f}x")
    run.record("bench_sampling", out)


def speed_file(run: Run, env: dict, cfg: dict, probe_s: dict, training: dict | None) -> None:
    """training_speed.json: the committed file with this GPU's seconds per step added, for the notebook."""
    known = json.loads(MEASURED_SPEED.read_text()) if MEASURED_SPEED.is_file() else {}
    per_batch = {str(bs): round(s, 4) for bs, s in probe_s.items()}
    if training and training.get("seconds_per_step"):
        per_batch[str(training["batch"])] = round(training["seconds_per_step"], 4)
    family = gpu_family(env.get("gpu")) or env.get("gpu", "cpu")   # the notebook's key for this GPU
    known[family] = {
        "model": {k: cfg[k] for k in ("rnn_size", "num_layers", "nwindow", "nmixtures")},
        "seconds_per_step": per_batch, "precision": env["precision"],
        "compiled_path": bool(training and training.get("compiled_path")),
        "gpu": env.get("gpu", "cpu"), "torch": env["torch"],
        "source": f"scripts/gpu_run.py on {time.strftime('%Y-%m-%d')} (batch {training['batch'] if training else '?'}: "
                  "mean over the training run, checkpoints included; other batch sizes: the probe's few steps)"}
    atomic_write_bytes(run.out / "training_speed.json", (json.dumps(known, indent=2) + "\n").encode())


# ---- the run ----------------------------------------------------------------------------------------
FULL = {"rnn_size": 400, "num_layers": 3, "nwindow": 10, "nmixtures": 20}
TINY = {"rnn_size": 16, "num_layers": 3, "nwindow": 3, "nmixtures": 3}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.environ.get("OUT"), help="folder for everything written (default: $OUT)")
    p.add_argument("--data", default=str(ROOT / "data" / "iam_ondb.npz"))
    p.add_argument("--config", default=str(ROOT / "train" / "configs" / "full_gpu.json"),
                   help="TrainConfig fields for training (model size, learning rate); batch and steps are set here")
    p.add_argument("--dry_run", action="store_true",
                   help="CPU, tiny model, every phase in about a minute: checks the script, measures nothing")
    p.add_argument("--device", default=None, help="default: cuda (cpu with --dry_run)")
    p.add_argument("--total_seconds", type=float, default=None, help="the whole run, from when this script starts (default 550; dry run 60)")
    p.add_argument("--probe_seconds", type=float, default=None, help="batch-size probe (default 20; dry run 10)")
    p.add_argument("--batch_sizes", default=None, help="probed sizes (default 32,64,128; dry run 4,8)")
    p.add_argument("--bench_seconds", type=float, default=None, help="kept for the benchmarks (default 75; dry run 10)")
    p.add_argument("--export_every", type=float, default=None, help="seconds between exports (default 90; dry run 5)")
    p.add_argument("--valid_lines", type=int, default=None, help="validation lines per checkpoint (default 256)")
    args = p.parse_args(argv)
    dry = args.dry_run
    defaults = dict(device="cpu" if dry else "cuda", total_seconds=60 if dry else 550, probe_seconds=10 if dry else 20,
                    batch_sizes="4,8" if dry else "32,64,128", bench_seconds=10 if dry else 75,
                    export_every=5 if dry else 90, valid_lines=8 if dry else 256)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.probe_steps = 1 if dry else 2
    args.bench_steps, args.bench_rounds = (2, 1) if dry else (5, 2)
    args.sample_batch, args.sample_max_steps = (8, 30) if dry else (64, None)
    args.train_overhead = 15 if dry else 25   # train.py's start (imports, data, compile) and its last save
    args.kill_grace = 240 if dry else 30      # past its budget, train.py is killed (a busy CI machine is slow)
    if not args.out:
        p.error("set --out or $OUT: the folder whose files come back")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    run = Run(Path(args.out), args.total_seconds)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        run.log("CUDA is not available here: run on the GPU machine, or use --dry_run on a CPU.")
        return 2
    torch.backends.cudnn.benchmark = False   # lengths vary batch to batch: autotuning each would cost more
    run.phase("0. environment")
    env = environment(device)
    run.log(json.dumps(env))
    run.record("environment", {**env, "dry_run": args.dry_run, "argv": sys.argv[1:]})
    cfg = {**json.loads(Path(args.config).read_text()), **(TINY if args.dry_run else {}),
           "valid_lines": args.valid_lines, "log_every": 100 if args.dry_run else 50}
    cfg = {k: v for k, v in cfg.items() if k not in ("out_dir", "data")}
    if not args.dry_run and {k: cfg[k] for k in FULL} != FULL:
        run.log(f"Note: the model is {cfg['num_layers']}x{cfg['rnn_size']} K={cfg['nwindow']} M={cfg['nmixtures']}, "
                "not the full 3x400 K=10 M=20")
    data = ProcessedData.load(args.data)
    alphabet, _, model = build(cfg, data, device)
    run.log(f"Model: {model.num_parameters():,} parameters; data {args.data}")

    run.phase("1. self-check: scribe.fast vs the eager model, first batch")
    use_fast = run.guarded("self_check", self_check, run, model, BucketBatches(data, "train", alphabet, 8, seed=0),
                           device, env["precision"], default=False)

    run.phase("2. batch-size probe")
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    fallback = (sizes[0], {sizes[0]: 0.5})   # an unmeasured guess, only if the probe itself fails
    batch, probe_s = run.guarded("probe", probe, run, model, data, alphabet, device, env["precision"], use_fast,
                                 sizes, args.probe_seconds, args.probe_steps, default=fallback)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()

    run.phase("3. training")
    # Training checkpoints (45 MB with Adam's state) stay out of --out: only the fp16 export goes back.
    run_dir = Path(os.environ.get("SCRIBE_GPU_RUN_DIR") or tempfile.mkdtemp(prefix="scribe-gpu-run-"))
    training = run.guarded("training", train, run, args, cfg, batch, probe_s[batch], use_fast, run_dir,
                           run.left() - args.bench_seconds,
                           default={"exit_code": -1, "batch": batch, "seconds_per_step": None, "compiled_path": use_fast})
    if "probe_error" not in run.results:
        run.guarded("speed_file", speed_file, run, env, cfg, probe_s, training)

    run.phase("4. benchmarks")
    run.guarded("bench_training", bench_training, run, args, cfg, batch, device, env["precision"], use_fast)
    exported = run.out / "scribe-gpu.safetensors"
    if exported.exists():
        run.guarded("bench_sampling", bench_sampling, run, args, exported, device)
    else:
        run.log("No exported model (training saved no checkpoint): sampling benchmark skipped")
    run.phase("done")
    run.record("seconds", round(run.elapsed(), 1))
    return 0 if training["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
