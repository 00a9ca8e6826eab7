"""Train the Graves synthesis network on the processed IAM-OnDB data.

    python train/train.py --rnn_size 400 --nmixtures 20 --nepochs 30 --batch_size 32

Resumes from the newest readable checkpoint in --out_dir ("Restored from checkpoint-N"), keeps the last
--keep checkpoints, writes each one atomically, logs TensorBoard events, and skips NaN/inf steps.
Multi-GPU: torchrun --nproc_per_node=N train/train.py ... (DDP; gloo on CPU).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


import numpy as np
import torch
import torch.distributed as dist

from scribe import cli
from scribe.alphabet import Alphabet, AlphabetError
from scribe.checkpoint import (Checkpoint, load_checkpoint, remove_partial_saves, resume_point,
                               rotate_checkpoints, save_training_checkpoint, training_checkpoints)
from scribe.dataset import BucketBatches, PairBatches, ProcessedData, summed_nll
from scribe.files import sync_saved
from scribe.model import ModelConfig, SynthesisNetwork, line_nll
from scribe.progress import progress
from scribe.self_check import checked_loss


@dataclass
class TrainConfig:
    data: str = "data/iam_ondb.npz"
    out_dir: str = "runs/scribe"
    rnn_size: int = 400
    num_layers: int = 3
    nmixtures: int = 20
    nwindow: int = 10
    nepochs: int = 30
    max_steps: int = 0              # overrides nepochs when set
    batch_size: int = 32
    learning_rate: float = 1e-3
    lr_decay: float = 0.1           # cosine decay to learning_rate * lr_decay by the last step
    warmup_steps: int = 100
    grad_clip: float = 10.0
    weight_decay: float = 0.0
    save_every: int = 250
    log_every: int = 10
    keep: int = 5
    valid_lines: int = 0            # lines of testset_v scored at each checkpoint; 0 = all
    seed: int = 1234
    alphabet: str = ""              # explicit alphabet; default: every character of the training text
    min_char_count: int = 1
    max_len: int = 0                # drop training lines longer than this many points; 0 = keep all
    time_budget: float = 0.0        # minutes: save and stop cleanly once spent (chunks of a long run)
    compile: bool = True            # compiled layer-1 + window recurrence (scribe.fast)
    device: str = "auto"
    precision: str = "auto"         # auto | fp32 | bf16 | fp16 (see choose_precision)
    init_from: str = ""             # warm start: weights (not optimiser) of this checkpoint, if no run to resume
    rich_weight: float = 1.0        # draw lines rich in digits, capitals and punctuation this much more often
    pair_fraction: float = 0.0      # share of steps on prime-and-continue pairs (docs/prime-and-continue.md)
    legibility_every: int = 0       # every N checkpoints, read a few generated lines with --recognizer
    recognizer: str = "checkpoints/recognizer.safetensors"
    stages: list = field(default_factory=list)   # from --config: [{"until_step", "learning_rate", "batch_size"}]


def _device(value) -> str:
    return "auto" if str(value).strip() == "auto" else cli.device(value)


def _precision(value) -> str:
    if value not in PRECISIONS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(PRECISIONS)}, not {str(value)[:30]!r}")
    return value


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, not {str(value)[:30]!r}")


def _text(value) -> str:
    if not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"must be text, not {str(value)[:30]}")
    return value


def _optional_file(value) -> str:
    return cli.file_to_read(value) if _text(value) else value


# Each field's check, for its flag and for its value in a --config file alike.
FIELD_CHECKS = {
    "data": _text, "out_dir": _text, "alphabet": _text, "recognizer": _text, "init_from": _optional_file,
    "rnn_size": cli.whole(1, 8192), "num_layers": cli.whole(1, 16), "nmixtures": cli.whole(1, 1000),
    "nwindow": cli.whole(1, 1000), "nepochs": cli.whole(1), "max_steps": cli.whole(0),
    "batch_size": cli.whole(1, 100_000), "learning_rate": cli.number(above=0), "lr_decay": cli.number(0, 1),
    "warmup_steps": cli.whole(0), "grad_clip": cli.number(above=0), "weight_decay": cli.number(0),
    "save_every": cli.whole(1), "log_every": cli.whole(1), "keep": cli.whole(1), "valid_lines": cli.whole(0),
    "seed": cli.whole(0, 2**32 - 1), "min_char_count": cli.whole(1), "max_len": cli.whole(0),
    "time_budget": cli.number(0), "compile": _flag, "device": _device, "precision": _precision,
    "rich_weight": cli.number(0, 100), "legibility_every": cli.whole(0), "pair_fraction": cli.number(0, 1),
}
STAGE_CHECKS = {"until_step": cli.whole(0), "learning_rate": FIELD_CHECKS["learning_rate"],
                "batch_size": FIELD_CHECKS["batch_size"]}


def read_config(path: str) -> dict:
    """A --config file's fields, each checked like its flag; UsageError names what is wrong."""
    try:
        overrides = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise cli.UsageError(f"--config {path}: {e.strerror or e}") from None
    except RecursionError:
        raise cli.UsageError(f"--config {path}: nested too deeply to be a config") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise cli.UsageError(f"--config {path} is not a JSON file ({str(e)[:80]})") from None
    if not isinstance(overrides, dict):
        raise cli.UsageError(f"--config {path} must hold a JSON object of TrainConfig fields")
    unknown = set(overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise cli.UsageError(f"unknown fields in {path}: {sorted(unknown)}")
    for name, value in overrides.items():
        if name != "stages":
            overrides[name] = cli.checked(value, FIELD_CHECKS[name], f"{path}: {name}")
    stages = overrides.get("stages", [])
    if not isinstance(stages, list) or not all(isinstance(st, dict) for st in stages):
        raise cli.UsageError(f"{path}: stages must be a list of objects with until_step, learning_rate, batch_size")
    for n, stage in enumerate(stages, start=1):
        for name, value in stage.items():
            if name not in STAGE_CHECKS:
                raise cli.UsageError(f"{path}: stage {n}: unknown field {str(name)[:30]!r}")
            stage[name] = cli.checked(value, STAGE_CHECKS[name], f"{path}: stage {n}: {name}")
    return overrides


def parse_args(argv=None) -> TrainConfig:
    """The run's TrainConfig: every flag and every --config value checked here, before anything is
    loaded; the output folder checked to be writable (or makeable) without making it."""
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="JSON file of TrainConfig fields, e.g. staged schedules under 'stages'")
    for f in fields(TrainConfig):
        if f.name != "stages":
            p.add_argument(f"--{f.name}", type=FIELD_CHECKS[f.name], default=None)
    args = p.parse_args(argv)
    cfg = TrainConfig()
    if args.config:
        cfg = TrainConfig(**{**asdict(cfg), **read_config(args.config)})
    for f in fields(TrainConfig):   # command-line flags win over the config file
        v = getattr(args, f.name, None)
        if v is not None:
            setattr(cfg, f.name, v)
    cli.checked(cfg.out_dir, cli.folder_to_write, "--out_dir")
    return cfg


def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@functools.lru_cache(maxsize=None)
def cpu_runs_bf16() -> bool:
    """Whether this CPU's oneDNN runs a bf16 LSTM under autocast. Without AVX-512 BF16 (this project's
    AMD machines) it fails on the first batch with "could not create a primitive descriptor"."""
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 4))
        return True
    except RuntimeError:
        return False


def choose_precision(device, requested: str = "auto", capability: tuple[int, int] | None = None) -> str:
    """The autocast precision for a device. "auto": bf16 on CUDA GPUs that have it natively (compute
    capability 8.0 and up), fp16 with a gradient scaler below that (Colab's T4 is 7.5), fp32 elsewhere.
    An explicit choice is kept, except fp16 off CUDA (no fast fp16 kernels there)."""
    device = torch.device(device)
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested == "fp16" and device.type != "cuda":
        raise ValueError(f"precision fp16 needs a CUDA GPU; on {device.type} use bf16 or fp32")
    if requested == "bf16" and device.type == "cpu" and not cpu_runs_bf16():
        raise ValueError("precision bf16 does not run on this CPU (its oneDNN has no bfloat16 LSTM: the CPU "
                         "lacks AVX-512 BF16); use fp32")
    if requested != "auto":
        return requested
    if device.type != "cuda":
        return "fp32"
    major, _ = capability or torch.cuda.get_device_capability(device)
    return "bf16" if major >= 8 else "fp16"


def autocast_for(device, precision: str):
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return lambda: torch.autocast(torch.device(device).type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def stage_at(cfg: TrainConfig, step: int) -> dict:
    for stage in cfg.stages:
        if step < stage.get("until_step", math.inf):
            return {"learning_rate": cfg.learning_rate, "batch_size": cfg.batch_size, **stage}
    return {"learning_rate": cfg.learning_rate, "batch_size": cfg.batch_size}


def lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    base = stage_at(cfg, step)["learning_rate"]
    if step < cfg.warmup_steps:
        return base * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return base * (cfg.lr_decay + (1 - cfg.lr_decay) * 0.5 * (1 + math.cos(math.pi * progress)))


def validate(loss_fn, batches: BucketBatches, device, autocast, groups=None) -> float:
    """Mean NLL per validation line, in nats: Graves' units (summed over each line's points).

    Always in full precision, whatever the training precision: the figure is the model's, and
    checkpoints trained in bf16, fp16 and fp32 stay comparable."""
    full_precision = lambda: torch.autocast(torch.device(device).type, enabled=False)
    groups = sorted(batches.epoch(), key=len) if groups is None else groups
    total, lines, _ = summed_nll(loss_fn, batches, groups, device, full_precision)
    return total / lines


@cli.command
def main(argv=None) -> int:
    cfg = parse_args(argv)
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    device = pick_device(cfg.device)
    try:
        precision = choose_precision(device, cfg.precision)
    except ValueError as e:
        raise cli.UsageError(str(e)) from None
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    main_proc = rank == 0
    log = functools.partial(print, flush=True) if main_proc else (lambda *a, **k: None)
    torch.manual_seed(cfg.seed + rank)
    out_dir = Path(cfg.out_dir)

    data = ProcessedData.load(cfg.data)
    # a warm start's file is read before the run folder is touched: a bad one changes nothing there
    init = load_checkpoint(cfg.init_from) if cfg.init_from and not training_checkpoints(out_dir) else None
    if main_proc:
        remove_partial_saves(out_dir, log=log)
    found = resume_point(out_dir, log=log, set_aside=main_proc)   # NoReadableCheckpointError: one line, exit 2
    resumed = found[1] if found else None
    if resumed is not None:
        init = None
    if resumed is not None:
        alphabet, model_cfg = resumed.alphabet, resumed.config
    elif init is not None:
        alphabet, model_cfg = init.alphabet, init.config
    else:
        train_texts = [str(data.texts[i]) for i in data.indices("train")]
        try:
            alphabet = Alphabet(cfg.alphabet) if cfg.alphabet else Alphabet.from_texts(train_texts, cfg.min_char_count)
        except AlphabetError as e:
            why = (f"--alphabet {cfg.alphabet[:40]!r}" if cfg.alphabet else f"no character of the training text "
                   f"appears --min_char_count {cfg.min_char_count} times")
            raise cli.UsageError(f"{e} ({why})") from None
        per_char = np.median(data.lengths()[data.indices("train")] / [max(1, len(t)) for t in train_texts])
        model_cfg = ModelConfig(alphabet.size, cfg.rnn_size, cfg.num_layers, cfg.nwindow, cfg.nmixtures,
                                float(per_char))
    model = SynthesisNetwork(model_cfg).to(device)
    log(f"Model: {model.num_parameters():,} parameters ({model_cfg.num_layers}x{model_cfg.rnn_size} LSTM, "
        f"K={model_cfg.window_gaussians}, M={model_cfg.mixtures}, alphabet {len(alphabet)} chars); device {device}")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    step, history = 0, []
    if resumed is not None:
        model.load_state_dict(resumed.model_state)
        if resumed.optimizer_state:
            opt.load_state_dict(resumed.optimizer_state)
        step, history = resumed.step, resumed.metrics.get("history", [])
        log(f"Restored from checkpoint-{step}")
    elif init is not None:
        model.load_state_dict({k: v.float() for k, v in init.model_state.items()})
        log(f"Initialised from {Path(cfg.init_from).name} (its step {init.step}); fresh optimiser")

    loss_model = model
    if distributed:
        loss_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    loss_fn = _loss_fn(loss_model, cfg, device, log)
    train_sets: dict[int, BucketBatches] = {}

    def train_batches(bs: int) -> BucketBatches:
        if bs not in train_sets:
            train_sets[bs] = BucketBatches(data, "train", alphabet, bs, seed=cfg.seed + 7919 * step,
                                           max_len=cfg.max_len or None, rich_weight=cfg.rich_weight)
        return train_sets[bs]

    pair_sets: dict[int, PairBatches] = {}

    def pair_batches(bs: int) -> PairBatches:
        if bs not in pair_sets:
            pair_sets[bs] = PairBatches(data, "train", alphabet, bs, seed=cfg.seed + 7919 * step + 1,
                                        max_len=cfg.max_len or None, rich_weight=cfg.rich_weight)
        return pair_sets[bs]

    valid = BucketBatches(data, "valid", alphabet, 32, seed=cfg.seed)
    if cfg.valid_lines:
        valid = BucketBatches(data, "valid", alphabet, 32, seed=cfg.seed, indices=valid.idx[:cfg.valid_lines])
    # With pairs: the same validation lines written after a fixed prime of their form, and alone.
    valid_pairs = valid_pair_groups = None
    if cfg.pair_fraction > 0:
        if distributed and not cfg.compile:
            raise cli.UsageError("--pair_fraction under DDP needs the compiled path (--compile true)")
        try:
            valid_pairs = PairBatches(data, "valid", alphabet, 32, seed=cfg.seed, indices=valid.idx)
            valid_pair_groups = sorted(valid_pairs.epoch(), key=len)
        except ValueError as e:
            log(f"(no primed validation: {e})")
    total = cfg.max_steps or cfg.nepochs * len(train_batches(cfg.batch_size))
    autocast = autocast_for(device, precision)
    # fp16 needs loss scaling so that small gradients do not flush to zero; bf16 and fp32 do not.
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    log(f"Precision: {precision}" + (" with gradient scaling" if scaler.is_enabled() else ""))

    writer = None
    if main_proc:
        try:
            from torch.utils.tensorboard import SummaryWriter
            writer = SummaryWriter(str(out_dir / "tensorboard"))
        except ImportError:
            log("(tensorboard not installed: no event files)")
    bar = None
    if main_proc and sys.stderr.isatty():
        try:
            from tqdm import tqdm
            bar = tqdm(total=total, initial=step, unit="step", dynamic_ncols=True)
        except ImportError:
            pass

    def save(valid_nll: float | None) -> None:
        if not main_proc:
            return
        metrics = {"history": history, "valid_nll": valid_nll,
                   "train_loss": history[-1]["loss"] if history else None}
        ckpt = Checkpoint(model_cfg, alphabet, data.stats, model.state_dict(), step, metrics,
                          asdict(cfg), opt.state_dict())
        save_training_checkpoint(ckpt, out_dir / f"checkpoint-{step}.pt")
        sync_saved(out_dir / f"checkpoint-{step}.pt")   # on Drive before training goes on
        rotate_checkpoints(out_dir, cfg.keep, out_dir / f"checkpoint-{step}.pt")
        log(f"Saved checkpoint-{step}" + (f" (valid NLL {valid_nll:.1f} nats/line)" if valid_nll is not None else ""))

    started, regloss, skipped, first_step = time.time(), None, 0, step
    # On CUDA the compiled path has only been proven on the CPU: check it on the first batch.
    self_check = cfg.compile and device.type == "cuda" and not distributed
    stream, stream_bs, pairs = None, None, None
    # Whether each step trains on pairs; the same draws on every rank (same seed).
    pair_draw = np.random.default_rng(cfg.seed + 7919 * step + 2)
    t_last = time.time()
    while step < total:
        bs = stage_at(cfg, step)["batch_size"]
        if bs != stream_bs:
            stream, stream_bs = iter(train_batches(bs)), bs
            pairs = iter(pair_batches(bs)) if cfg.pair_fraction > 0 else None
        source = pairs if cfg.pair_fraction > 0 and pair_draw.random() < cfg.pair_fraction else stream
        # DDP: every rank draws the same stream (same seed) and keeps batches rank, rank + world, ...
        batch = [next(source) for _ in range(world)][rank]
        batch = batch.to(device)
        if self_check:
            loss_fn, self_check = checked_loss(model, loss_fn, batch, log, autocast), False
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step, total)
        with autocast():
            loss, per_line = loss_fn(batch)
        per_point = loss * len(per_line) / batch.mask.sum()
        if not torch.isfinite(per_point):
            skipped += 1
            log(f"Step {step}: loss is {float(per_point)}; skipping this batch (skipped {skipped} so far)")
            opt.zero_grad(set_to_none=True)
            continue
        opt.zero_grad(set_to_none=True)
        scaler.scale(per_point).backward()
        scaler.unscale_(opt)
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if not torch.isfinite(gnorm):
            if scaler.is_enabled():   # an fp16 overflow: the scaler skips the update and lowers its scale
                scaler.step(opt)
                scaler.update()
                continue
            skipped += 1
            log(f"Step {step}: gradient norm is {float(gnorm)}; skipping this update")
            continue
        scaler.step(opt)
        scaler.update()
        step += 1
        if bar:
            bar.update(1)
        lv = float(per_point.detach())
        regloss = lv if regloss is None else 0.95 * regloss + 0.05 * lv
        if main_proc and (step % cfg.log_every == 0 or step == total):
            with torch.no_grad(), autocast():
                vb = valid.make(valid.epoch()[step % len(valid.epoch())]).to(device)
                vl, vlines = loss_fn(vb)
                valid_loss = float(vl) * len(vlines) / float(vb.mask.sum())
            dt = (time.time() - t_last) / cfg.log_every
            t_last = time.time()
            line = (f"Step {step}/{total}, loss = {lv:.3f}, regloss = {regloss:.3f}, "
                    f"valid_loss = {valid_loss:.3f}, time = {dt:.3f}s"
                    + progress(step, total, first_step, time.time() - started))
            (bar.write if bar else log)(line)
            history.append({"step": step, "loss": lv, "valid_loss": valid_loss,
                            "seconds": time.time() - started, "lr": opt.param_groups[0]["lr"]})
            if writer:
                for k, v in (("loss/train", lv), ("loss/regloss", regloss), ("loss/valid_batch", valid_loss),
                             ("lr", opt.param_groups[0]["lr"]), ("grad_norm", float(gnorm))):
                    writer.add_scalar(k, v, step)
        out_of_time = bool(cfg.time_budget) and (time.time() - started) > cfg.time_budget * 60
        if distributed:   # rank 0's clock decides for all, so that every rank stops at the same step
            flag = torch.tensor([float(out_of_time)], device=device)
            dist.broadcast(flag, 0)
            out_of_time = bool(flag)
        if step % cfg.save_every == 0 or step == total or out_of_time:
            valid_nll = validate(loss_fn, valid, device, autocast) if main_proc else None
            if writer and valid_nll is not None:
                writer.add_scalar("valid/nll_per_line", valid_nll, step)
            if history:
                history[-1]["valid_nll"] = valid_nll
            if main_proc and valid_pairs is not None:
                primed, alone = primed_validation(loss_fn, valid_pairs, valid, valid_pair_groups, device, autocast)
                log(f"Valid NLL of {sum(map(len, valid_pair_groups))} lines after a prime of their form: "
                    f"{primed:.1f} nats/line (the same lines unprimed: {alone:.1f})")
                if writer:
                    writer.add_scalar("valid/primed_nll_per_line", primed, step)
                    writer.add_scalar("valid/unprimed_nll_same_lines", alone, step)
                if history:
                    history[-1].update(valid_primed_nll=primed, valid_unprimed_nll_same_lines=alone)
            save(valid_nll)
            if main_proc and cfg.legibility_every and step % (cfg.save_every * cfg.legibility_every) == 0:
                check_legibility(cfg, model, model_cfg, alphabet, data.stats, writer, step, log)
        if out_of_time:
            log(f"Time budget of {cfg.time_budget} min spent at step {step}; re-run to continue.")
            break
    if bar:
        bar.close()
    if writer:
        writer.close()
    if distributed:
        # Rank 0 may still be validating and saving; leaving together keeps gloo from aborting
        # a rank whose peer is mid-write (seen as SIGABRT on a loaded CI machine).
        dist.barrier()
        dist.destroy_process_group()
        if not main_proc:
            # Everything is saved (by rank 0) and the group is closed. A worker rank that trained through
            # the compiled recurrence sometimes aborted in C++ teardown at interpreter exit on a loaded
            # CPU ("terminate called without an active exception", about 1 run in 6 with the other
            # core busy), and torchrun then reports the whole run failed: leave without that teardown.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    return 0


def primed_validation(loss_fn, pairs: PairBatches, singles: BucketBatches, groups, device, autocast
                      ) -> tuple[float, float]:
    """(mean NLL per line of the pairs' second lines after their primes, the same lines unprimed):
    what a prime adds, in nats per line. Lower primed than unprimed: the prime carries the hand."""
    primed = validate(loss_fn, pairs, device, autocast, groups)
    alone = validate(loss_fn, singles, device, autocast, [np.asarray(g)[:, 1] for g in groups])
    return primed, alone


def check_legibility(cfg: TrainConfig, model, model_cfg, alphabet, stats, writer, step: int, log) -> None:
    """--legibility_every: the quality report's legibility check (scribe.evaluate), to TensorBoard."""
    from scribe.evaluate import training_legibility
    try:
        result = training_legibility(model, model_cfg, alphabet, stats, cfg.recognizer)
    except Exception as e:   # a monitoring hook must never stop a training run
        log(f"Legibility check failed at step {step}: {type(e).__name__}: {e}")
        return
    if result is None:
        log(f"(no recogniser at {cfg.recognizer}: legibility check skipped; train/train_recognizer.py makes one)")
        return
    log(f"Legibility at step {step}: CER {result['cer']:.3f}" +
        (f", ratio to real lines {result['ratio']:.2f}" if result.get("ratio") is not None else ""))
    if writer:
        for k, v in result.items():
            if v is not None:
                writer.add_scalar(f"legibility/{k}", v, step)


def _loss_fn(loss_model, cfg: TrainConfig, device, log):
    """The training loss; the compiled recurrence when asked for and available, else eager."""
    model = loss_model.module if hasattr(loss_model, "module") else loss_model
    if cfg.compile:
        try:
            from scribe.fast import fast_loss
            return fast_loss(loss_model, device)
        except ImportError:
            log("(scribe.fast unavailable: eager training)")
    return lambda batch: model.loss(batch) if loss_model is model else _ddp_loss(loss_model, batch)


def _ddp_loss(ddp_model, batch):
    return line_nll(ddp_model(batch.inputs, batch.text), batch, ddp_model.module.config.mixtures)


if __name__ == "__main__":
    sys.exit(main())
