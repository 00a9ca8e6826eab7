"""train/train.py through its real CLI, on a synthetic IAM-format dataset and on the real archives."""
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch
import pytest
from PIL import Image

from scribe.checkpoint import load_checkpoint, training_checkpoints

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--rnn_size", "16", "--nmixtures", "3", "--nwindow", "3", "--batch_size", "4", "--compile", "false",
        "--learning_rate", "0.01", "--warmup_steps", "2"]


def py(*args, **kw):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)


def test_resume_keeps_last_five_and_skips_a_corrupt_newest(synthetic_data, tmp_path):
    out = tmp_path / "run"
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(out), *TINY,
           "--max_steps", "14", "--save_every", "2", "--log_every", "2")
    assert r.returncode == 0, r.stderr
    assert "Step 2/14, loss = " in r.stdout and ", valid_loss = " in r.stdout
    # No terminal here (tqdm is off): every log line carries the rate and the time left.
    assert re.search(r"Step 4/14, .*, time = [\d.]+s, [\d.]+ steps/s, ETA \d+", r.stdout), r.stdout
    assert [p.name for p in training_checkpoints(out)] == [f"checkpoint-{s}.pt" for s in (6, 8, 10, 12, 14)]
    (out / "checkpoint-14.pt").write_bytes(b"half a file")
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(out), *TINY,
           "--max_steps", "16", "--save_every", "2", "--log_every", "2")
    assert r.returncode == 0, r.stderr
    assert "Skipping unreadable checkpoint checkpoint-14.pt" in r.stdout
    assert "Restored from checkpoint-12" in r.stdout
    ck = load_checkpoint(out / "checkpoint-16.pt")
    assert ck.step == 16 and ck.metrics["valid_nll"] is not None
    assert (out / "tensorboard").is_dir()


def test_config_file_stages_and_flags(synthetic_data, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"max_steps": 4, "save_every": 4, "log_every": 2, "stages": '
                   '[{"until_step": 2, "batch_size": 2, "learning_rate": 0.5}, {"batch_size": 3}]}')
    r = py("train/train.py", "--config", str(cfg), "--data", str(synthetic_data), "--out_dir", str(tmp_path / "r"),
           "--rnn_size", "8", "--nmixtures", "2", "--nwindow", "2", "--compile", "false", "--warmup_steps", "0",
           "--lr_decay", "1.0")
    assert r.returncode == 0, r.stderr
    hist = load_checkpoint(tmp_path / "r" / "checkpoint-4.pt").metrics["history"]
    assert [h["lr"] for h in hist] == [0.5, 1e-3]     # the stage's rate, then the default
    r = py("train/train.py", "--config", str(cfg), "--bogus", "1")
    assert r.returncode != 0 and "unrecognized arguments" in r.stderr


@pytest.mark.slow
def test_real_data_prepare_train_kill_resume_sample(iam_dir, tmp_path):
    data = tmp_path / "iam.npz"
    r = py("train/prepare_data.py", "--data_dir", str(iam_dir), "--out", str(data), "--max_forms", "3")
    assert r.returncode == 0, r.stderr
    assert "Read " in r.stdout and "skipped" in r.stdout
    r = py("train/verify_data.py", "--data", str(data))
    assert r.returncode == 0 and "Data OK" in r.stdout and "too rare" in r.stdout
    out = tmp_path / "run"
    args = ["train/train.py", "--data", str(data), "--out_dir", str(out), *TINY, "--batch_size", "8",
            "--max_steps", "40", "--save_every", "5", "--log_every", "5", "--valid_lines", "8"]
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    deadline = time.time() + 300
    while not (out / "checkpoint-10.pt").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)          # a crash mid-run, like a Colab disconnect
    proc.wait()
    r = py(*args)
    assert r.returncode == 0, r.stderr
    restored = int(r.stdout.split("Restored from checkpoint-")[1].split()[0])
    assert restored >= 10
    ck = load_checkpoint(out / "checkpoint-40.pt")
    losses = [h["loss"] for h in ck.metrics["history"]]
    assert np.mean(losses[-3:]) < np.mean(losses[:2])          # the loss falls
    svg, png = tmp_path / "s.svg", tmp_path / "s.png"
    for path in (svg, png):
        r = subprocess.run([sys.executable, "-m", "scribe.sample", "--text", "a test", "--checkpoint",
                            str(out / "checkpoint-40.pt"), "--seed", "2", "--max_steps", "60", "--out", str(path)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert r.returncode == 0, r.stderr
    paths = ET.parse(svg).getroot().findall(".//{http://www.w3.org/2000/svg}path")
    assert paths and all(p.get("d").startswith("M") for p in paths)
    im = np.asarray(Image.open(png).convert("L"))
    assert im.max() == 255 and (im < 128).sum() > 10


@pytest.mark.slow
def test_smoke_script_runs_the_whole_pipeline():
    r = subprocess.run(["bash", "scripts/smoke.sh"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "smoke OK" in r.stdout


@pytest.mark.parametrize("device,capability,expected", [
    ("cpu", None, "fp32"), ("cuda", (7, 5), "fp16"), ("cuda", (8, 0), "bf16"), ("cuda", (9, 0), "bf16"),
    ("cuda", (6, 1), "fp16")])
def test_precision_follows_the_gpu_generation(device, capability, expected):
    from scribe.train.train import choose_precision
    assert choose_precision(device, capability=capability) == expected
    assert choose_precision(device, "fp32", capability=capability) == "fp32"


def test_precision_refuses_what_the_device_cannot_do():
    from scribe.train.train import choose_precision, cpu_runs_bf16
    with pytest.raises(ValueError, match="fp16 needs a CUDA GPU"):
        choose_precision("cpu", "fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_precision("cpu", "half")
    if cpu_runs_bf16():
        assert choose_precision("cpu", "bf16") == "bf16"
    else:
        with pytest.raises(ValueError, match="bf16 does not run on this CPU"):
            choose_precision("cpu", "bf16")


def test_bf16_on_a_cpu_without_it_is_refused_before_training(monkeypatch):
    import scribe.train.train as train_mod
    monkeypatch.setattr(train_mod, "cpu_runs_bf16", lambda: False)
    with pytest.raises(ValueError, match="lacks AVX-512 BF16.*use fp32"):
        train_mod.choose_precision("cpu", "bf16")
    assert train_mod.choose_precision("cpu", "auto") == "fp32"


def test_warm_start_from_a_checkpoint_with_bf16_on_cpu(synthetic_data, tmp_path):
    from scribe.train.train import cpu_runs_bf16
    precision = "bf16" if cpu_runs_bf16() else "fp32"     # bf16 needs AVX-512 BF16 on the CPU
    first = tmp_path / "first"
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(first), *TINY,
           "--max_steps", "4", "--save_every", "4", "--log_every", "2")
    assert r.returncode == 0, r.stderr
    start = load_checkpoint(first / "checkpoint-4.pt")
    second = tmp_path / "second"
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(second), *TINY,
           "--max_steps", "2", "--save_every", "2", "--log_every", "1", "--warmup_steps", "1",
           "--learning_rate", "1e-9", "--precision", precision, "--rich_weight", "3",
           "--init_from", str(first / "checkpoint-4.pt"))
    assert r.returncode == 0, r.stderr
    assert "Initialised from checkpoint-4.pt (its step 4); fresh optimiser" in r.stdout
    assert f"Precision: {precision}" in r.stdout
    warm = load_checkpoint(second / "checkpoint-2.pt")
    assert warm.step == 2     # its own steps count from 0: a fresh run, not a resume
    # a learning rate of 1e-9 leaves the weights where the warm start put them
    for k, v in start.model_state.items():
        assert torch.allclose(warm.model_state[k].float(), v.float(), atol=1e-5), k
    # a second call resumes the new run and ignores --init_from
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(second), *TINY,
           "--max_steps", "3", "--save_every", "1", "--init_from", str(first / "checkpoint-4.pt"))
    assert r.returncode == 0, r.stderr
    assert "Restored from checkpoint-2" in r.stdout and "Initialised" not in r.stdout


def test_rich_lines_are_drawn_more_often():
    from scribe.alphabet import Alphabet
    from scribe.dataset import BucketBatches, ProcessedData, rich_share
    assert rich_share("abc def") == 0 and rich_share("AB 12") == 0.8
    texts = ["plain words here"] * 90 + ["On 12 May, 1985."] * 10
    offsets = [np.zeros((20, 3), np.float32) for _ in texts]
    starts = np.cumsum([0] + [len(o) for o in offsets])
    from scribe.dataset import NormStats
    stats = NormStats((0.0, 0.0), (1.0, 1.0), 1.0, 1.0)
    data = ProcessedData(np.concatenate(offsets), starts, np.array(texts), np.array([f"l{i}" for i in range(100)]),
                         np.array(["train"] * 100), stats)
    alphabet = Alphabet.from_texts(texts)
    counts = []
    for w in (1.0, 5.0):
        bb = BucketBatches(data, "train", alphabet, 10, seed=3, rich_weight=w)
        drawn = np.concatenate([np.concatenate(bb.epoch()) for _ in range(20)])
        counts.append(np.mean(drawn >= 90))
    assert counts[0] == pytest.approx(0.10)
    assert 0.25 < counts[1] < 0.5      # 10 rich lines at weight 5 against 90 at 1: 50/140 = 0.36


def test_a_run_whose_checkpoints_are_all_corrupt_stops_with_a_clear_error(synthetic_data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for step in (6, 8):
        (out / f"checkpoint-{step}.pt").write_bytes(b"damaged by a crash")
    (out / ".checkpoint-10.pt.x1y2z3.tmp").write_bytes(b"half a save")
    r = py("train/train.py", "--data", str(synthetic_data), "--out_dir", str(out), *TINY,
           "--max_steps", "4", "--save_every", "2", "--log_every", "2")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot resume" in r.stderr and "Traceback" not in r.stderr
    assert "Restored" not in r.stdout and "Saved checkpoint" not in r.stdout
    # the user's files are left as they were (only the dead temp file is cleaned up)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint-6.pt", "checkpoint-8.pt"]
    assert "Removed 1 unfinished checkpoint save" in r.stdout


def test_progress_rate_and_time_left():
    from scribe.progress import duration, progress
    assert [duration(s) for s in (0, 12.4, 245, 7380)] == ["0s", "12s", "4m05s", "2h03m"]
    # Resumed at step 100: the rate counts only this run's 50 steps in 10 s.
    assert progress(150, 1150, 100, 10.0) == ", 5.00 steps/s, ETA 3m20s"
    assert progress(100, 1150, 100, 0.0) == ""


def test_a_saved_checkpoint_and_its_folder_are_synced(tmp_path, monkeypatch):
    """train.py calls sync_saved after each save: the file and its folder entry are fsynced, so on
    Drive the checkpoint is handed over before training goes on."""
    from scribe import files
    path = files.atomic_write_bytes(tmp_path / "run" / "checkpoint-5.pt", b"weights")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino), real_fsync(fd)))
    files.sync_saved(path)
    assert synced == [path.stat().st_ino, path.parent.stat().st_ino]
    files.sync_saved(tmp_path / "gone.pt")   # a file that vanished: its folder is still synced, no error
    assert synced[-1] == tmp_path.stat().st_ino
