"""The app's cold start and memory: `python app.py` in a fresh process, timed until its page answers,
then RSS after a few writes through the API. Targets on CPU: ready in <= 10 s, RSS <= 1 GB.

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/app_startup.py
    python benchmarks/app_startup.py --checkpoint runs/cpu_standin/checkpoint-3200.pt --requests 5

The checkpoint is --checkpoint, else the shipped one, else the newest runs/cpu_standin/checkpoint-N.pt,
else a randomly initialised full-size model (3 x 400 LSTM, the shipped architecture's size) with a
step cap, since memory depends on the model's size and not on its training. For scale, the same
script times a bare `python -c "import gradio"` and reports the app's start as a multiple of it.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGET_START_S = 10.0
TARGET_RSS_BYTES = 1024**3
GUIDE_DOC = [{"text": "Report due by 09:00 on March 15th, 1985.", "style": 0, "bias": 1.8},
             {"text": "Can't believe it - met him at 3:00pm!", "style": 3, "bias": 0.6},
             {"text": "Got your message (thanks!) - call me.", "style": 7, "bias": 1.2}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def rss_bytes(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process and its children; psutil if installed, else /proc."""
    try:
        import psutil
        procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
        now = sum(p.memory_info().rss for p in procs)
    except ImportError:
        now = None
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return (now if now is not None else fields["VmRSS"]), fields["VmHWM"]


def pick_checkpoint(explicit: str | None, workdir: Path) -> tuple[Path, str, int | None]:
    """(path, what it is, step cap to pass) -- see the module docstring."""
    from scribe.checkpoint import CheckpointError, default_checkpoint, training_checkpoints
    if explicit:
        return Path(explicit), "given with --checkpoint", None
    try:
        return default_checkpoint(), "the shipped checkpoint", None
    except CheckpointError:
        pass
    runs = training_checkpoints(ROOT / "runs" / "cpu_standin")
    if runs:
        return runs[-1], "newest runs/cpu_standin checkpoint", None
    import torch
    from scribe.alphabet import Alphabet
    from scribe.checkpoint import Checkpoint, save_shipped
    from scribe.dataset import NormStats
    from scribe.model import ModelConfig, SynthesisNetwork
    alphabet = Alphabet(" !\"#&'(),-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    torch.manual_seed(0)
    cfg = ModelConfig(alphabet.size, 400, 3, 10, 20, 12.0)
    ckpt = Checkpoint(cfg, alphabet, NormStats((8.0, 0.0), (30.0, 30.0), 300.0, 10.0),
                      SynthesisNetwork(cfg).state_dict())
    path = workdir / "random-3x400.safetensors"
    save_shipped(ckpt, path)
    return path, "random full-size model (no trained checkpoint here yet)", 300


def time_bare_gradio_import() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--requests", type=int, default=5, help="writes through the API before RSS is read")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        ckpt, what, max_steps = pick_checkpoint(args.checkpoint, Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        cmd = [sys.executable, str(ROOT / "app.py"), "--checkpoint", str(ckpt), "--port", str(port)]
        cmd += ["--max_steps", str(max_steps)] if max_steps else []
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        log_path = Path(tmp) / "app.log"
        with open(log_path, "w") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while not answers(url):
                if proc.poll() is not None or time.perf_counter() - t0 > args.timeout:
                    print(f"app did not start; log:\n{log_path.read_text()[-3000:]}", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            ready_s = time.perf_counter() - t0
            rss_ready, _ = rss_bytes(proc.pid)

            from gradio_client import Client
            client = Client(url, verbose=False)
            styles = client.predict(api_name="/info")["styles"]
            doc = [{**line, "style": line["style"] if line["style"] in styles else None} for line in GUIDE_DOC]
            times = []
            for i in range(args.requests):
                t = time.perf_counter()
                svg, png, seed, summary, _ = client.predict(lines=doc, seed=i, api_name="/write")
                times.append(time.perf_counter() - t)
            rss_after, rss_peak = rss_bytes(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        bare_import_s = time_bare_gradio_import()

    gib = 1024**3
    print(f"checkpoint: {ckpt} ({what}{f', --max_steps {max_steps}' if max_steps else ''})")
    print(f"cold start to ready:   {ready_s:6.2f} s   = {ready_s / TARGET_START_S:.2f} x the 10 s target   "
          f"({ready_s / bare_import_s:.1f} x a bare `import gradio`, {bare_import_s:.2f} s)")
    print(f"RSS when ready:        {rss_ready / gib:6.3f} GiB")
    print(f"RSS after {args.requests} writes:    {rss_after / gib:6.3f} GiB = {rss_after / TARGET_RSS_BYTES:.2f} x "
          f"the 1 GB target (peak {rss_peak / gib:.3f} GiB)")
    print(f"3-line write via API:  first {times[0]:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
          f"(last summary: {summary.splitlines()[0]})")
    ok = ready_s <= TARGET_START_S and rss_peak <= TARGET_RSS_BYTES
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
