"""Helpers shared by the tests: tiny random models, synthetic ink and data, checks of written files,
a free port, the browser, and the app server. Test files import from here (and conftest.py holds the
fixtures); no test file imports another.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch

from scribe import evaluate, sampling
from scribe.alphabet import Alphabet
from scribe.checkpoint import (Checkpoint, CheckpointError, default_checkpoint, save_training_checkpoint,
                               training_checkpoints)
from scribe.dataset import NormStats, ProcessedData
from scribe.model import ModelConfig, SynthesisNetwork
from scribe.styles import write_style

ROOT = Path(__file__).resolve().parent.parent
IAM_DIR = Path(os.environ.get("SCRIBE_IAM_DIR", ROOT.parent / "shared" / "data" / "iam-ondb"))
TRAIN_SCRIPT = ROOT / "train" / "train.py"
TINY_ALPHABET = " !',-.?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
SVG_NS = "{http://www.w3.org/2000/svg}"
MAX_STEPS = 40      # tiny random models never finish a line on their own; keep every write short
WORDS = ["hello there", "quick fox", "a line of ink", "more words", "the end", "pen up"]


# ---- the pace of live sampling ---------------------------------------------------------------------
# Tests of live ink, Stop and cancel must not depend on how fast this machine samples. A test that needs
# a write still under way when it acts (a cancel, a Stop, a preview caught mid-write) sets a pace: every
# chunk of pen steps that Sampler.sample_live hands back then takes at least `seconds_per_chunk`, so a
# long line lasts seconds whatever the CPU. SCRIBE_TEST_SAMPLER_SPEED (a factor, default 1) checks that:
# each chunk's own compute time c is scaled to c / factor (0.2: five times slower, by sleeping 4c more;
# 20: twenty times faster, by sleeping 0.95c less, which a pace of at least c leaves room for).
SAMPLER_SPEED = float(os.environ.get("SCRIBE_TEST_SAMPLER_SPEED", "1") or 1)


class LivePace:
    """The pace of Sampler.sample_live in this process (conftest.py installs it for every test)."""

    def __init__(self, speed: float = SAMPLER_SPEED):
        if not speed > 0:
            raise ValueError(f"SCRIBE_TEST_SAMPLER_SPEED must be a positive factor, not {speed!r}")
        self.speed, self.seconds_per_chunk = speed, 0.0
        self.chunks = 0
        self._lock = threading.Lock()

    def set(self, seconds_per_chunk: float) -> "LivePace":
        self.seconds_per_chunk = float(seconds_per_chunk)
        return self

    def wait_after(self, compute_s: float) -> None:
        with self._lock:
            self.chunks += 1
        wait = self.seconds_per_chunk + compute_s * (1.0 / self.speed - 1.0)
        if wait > 0:
            time.sleep(wait)

    def install(self, monkeypatch) -> "LivePace":
        original = sampling.Sampler.sample_live
        pace = self

        def paced(sampler, *args, **kwargs):
            live = original(sampler, *args, **kwargs)
            sent = None            # rows the caller drops (Sampler.sample_live's send), passed on
            try:
                while True:
                    started = time.perf_counter()
                    try:
                        batch = live.send(sent)
                    except StopIteration as end:
                        return end.value
                    pace.wait_after(time.perf_counter() - started)
                    sent = yield batch
            finally:
                live.close()          # a closed write closes the loop under it, as without a pace

        monkeypatch.setattr(sampling.Sampler, "sample_live", paced)
        return self


# ---- tiny models, ink and data -----------------------------------------------------------------------
def synthetic_offsets(n_strokes: int = 6, points: int = 12, seed: int = 0) -> np.ndarray:
    """Loops moving right, like cursive, in whiteboard-ish units (y up), ending in a pen-up."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_strokes):
        t = np.linspace(0, 2 * np.pi, points)
        xs = 60 * s + 25 * np.cos(t) + rng.normal(0, 1, points) + 8 * t
        ys = 120 * np.sin(t) + rng.normal(0, 1, points)
        pts = np.column_stack([xs, ys])
        for i, p in enumerate(pts):
            rows.append((p, 1.0 if i == points - 1 else 0.0))
    pts = np.array([r[0] for r in rows])
    d = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    d[0] = 0
    return np.column_stack([d, [r[1] for r in rows]]).astype(np.float32)


def tiny_checkpoint(alphabet: Alphabet | None = None, seed: int = 0, rnn_size: int = 16) -> Checkpoint:
    torch.manual_seed(seed)
    alphabet = alphabet or Alphabet(TINY_ALPHABET)
    cfg = ModelConfig(alphabet.size, rnn_size, 3, 3, 4, 12.0)
    model = SynthesisNetwork(cfg)
    stats = NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)
    return Checkpoint(cfg, alphabet, stats, model.state_dict(), step=7, metrics={"valid_nll": -1.0})


def write_tiny_data(path, n_train=10, n_valid=6, words=None, min_strokes=3, points=12,
                    poison: int | None = None, line_ids: list[str] | None = None) -> ProcessedData:
    """Tiny synthetic processed dataset; `poison`: index of a training line whose offsets overflow the loss.
    `words` default: WORDS plus the first evaluation sentence (what the quality report writes).
    `line_ids` default: "line-0", "line-1", ... (all one form)."""
    words = words or WORDS + [evaluate.SENTENCES[0]]
    offs, texts, splits = [], [], []
    for i in range(n_train + n_valid):
        offs.append(synthetic_offsets(n_strokes=min_strokes + i % 3, points=points, seed=i))
        if i == poison:
            offs[-1][:, :2] *= 1e30
        texts.append(words[i % len(words)])
        splits.append("train" if i < n_train else "valid")
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offs])]).astype(np.int64)
    data = ProcessedData(np.concatenate(offs).astype(np.float32), starts, np.array(texts),
                         np.array(line_ids or [f"line-{i}" for i in range(len(texts))]), np.array(splits),
                         NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0))
    data.save(path)
    return data


def write_train_data(path: Path, poison: int | None = None) -> None:
    """The training runs' dataset (test_ddp, test_checkpoint_parts): 16 + 6 short lines."""
    write_tiny_data(path, 16, 6, words=WORDS, min_strokes=2, points=10, poison=poison)


def tiny_run_args(data: Path, out: Path, compile_: str = "false") -> list[str]:
    """train/train.py's flags for a tiny CPU run."""
    return [str(TRAIN_SCRIPT), "--data", str(data), "--out_dir", str(out), "--rnn_size", "16", "--nmixtures", "3",
            "--nwindow", "2", "--batch_size", "4", "--log_every", "2", "--warmup_steps", "1", "--device", "cpu",
            "--compile", compile_]


def handwriting(text: str, height: float = 40.0, x0: float = 50.0, y0: float = 100.0) -> list[np.ndarray]:
    """Canvas-like ink (px, y down): one wavy stroke per word, one wave per letter, 0.55 heights a letter."""
    strokes, x = [], x0
    adv = 0.55 * height
    for word in text.split(" "):
        if word:
            t = np.linspace(0, len(word), 14 * len(word))
            strokes.append(np.column_stack([x + t * adv, y0 - 0.5 * height * np.sin(2 * np.pi * t)]))
            x += len(word) * adv
        x += adv
    return strokes


# ---- written files and servers -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_svg(path_or_text) -> ET.Element:
    text = Path(path_or_text).read_text() if not str(path_or_text).lstrip().startswith("<") else path_or_text
    return ET.fromstring(text)


def check_svg(path, n_lines: int) -> ET.Element:
    """A plotter-clean SVG: n line groups of unfilled stroke paths and no background rectangle."""
    root = parse_svg(path)
    assert root.tag == f"{SVG_NS}svg"
    assert root.findall(f".//{SVG_NS}rect") == []
    groups = root.findall(f"{SVG_NS}g")
    assert len(groups) == n_lines
    paths = root.findall(f".//{SVG_NS}path")
    assert paths, "no strokes in the SVG"
    assert all(g.get("fill") == "none" for g in groups)
    return root


def check_png(path) -> np.ndarray:
    from PIL import Image
    img = np.asarray(Image.open(path).convert("L"))
    assert img.shape[0] > 10 and img.shape[1] > 10
    assert img.max() == 255, "background should be white"
    assert (img < 128).sum() > 0, "the PNG has no ink"
    return img


def start_app(checkpoint: Path, style_dir: Path | None, max_steps: int | None, checkpoint_dir: Path | None = None,
              user_dir: Path | None = None):
    """The real app server in this process: (demo, url). Close it with demo.close()."""
    from scribe.web import app
    demo = app.build_demo(app.AppSettings(checkpoint=str(checkpoint), style_dir=str(style_dir) if style_dir else None,
                                          checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
                                          max_steps=max_steps, user_style_dir=str(user_dir) if user_dir else None))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo, url


# ---- fresh virtual environments (the wheel, the Space) --------------------------------------------------
def fresh_venv(folder: Path) -> Path:
    """A new virtual environment without this Python's packages (so neither this checkout's editable
    install nor anything else leaks in); returns its bin folder. pip there uses pip's own cache and
    configuration, so installs reuse what this machine already downloaded."""
    import subprocess
    import sys
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    return folder / "bin"


def torch_requirement() -> str:
    """The torch this Python runs (the tests' own build: the local CPU wheel here, pip's cache in CI)."""
    return f"torch=={torch.__version__}"


def outside_env(**extra) -> dict:
    """The environment for a command run in a fresh venv, pip included: no PYTHONPATH into a checkout (pip
    would take a checkout's scribe_handwriting.egg-info for an installed copy), one thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update({"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                "PYTHONDONTWRITEBYTECODE": "1"}, **extra)
    return env


def serve_and_write(cmd: list, cwd: Path, env: dict, port: int, log: Path, timeout_s: float = 240.0) -> tuple:
    """Start a server command (the app on `port`), wait until its page answers, write one line through
    `/write` with gradio_client, stop it; returns (svg path, png path, log text). The wait only bounds a
    server that never comes up (its log is shown); it does not time the machine."""
    import subprocess
    import urllib.request
    from gradio_client import Client
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + timeout_s
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1.0)
            svg, png, *_ = Client(url, verbose=False).predict(lines=["hello"], seed=1, candidates=1,
                                                             api_name="/write")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return Path(svg), Path(png), log.read_text()


# ---- the browser -----------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 960}

needs_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed here (scripts/test.sh installs it; CI always has it)")


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def browser_page(downloads: bool = False):
    """A page in headless Debian chromium; the browser closes when the block ends."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            yield browser.new_page(viewport=VIEWPORT, accept_downloads=downloads)
        finally:
            browser.close()



# ---- ink as the app's canvas sends it, and drawn on the canvas in the browser ------------------------
def canvas_json(text: str, height: float = 40.0, as_dict: bool = False) -> str:
    """What the app's canvas sends: strokes of {x, y, t} points in canvas pixels, y down."""
    strokes = [[{"x": round(float(x), 1), "y": round(float(y), 1), "t": 16 * i} for i, (x, y) in enumerate(s)]
               for s in handwriting(text, height)]
    return json.dumps({"strokes": strokes} if as_dict else strokes)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def draw(page, text: str, height: float = 60.0) -> int:
    """Write `text`-like ink on the canvas with mouse moves (press, move, release per stroke)."""
    canvas = page.locator("#scribe-ink canvas")
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    sx = box["width"] / 1000.0                       # the canvas has 1000 pixels of its own across
    strokes = handwriting(text, height=height, x0=60.0, y0=150.0)
    for st in strokes:
        (x, y), rest = st[0], st[1:]
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sx)
        page.mouse.down()
        for x, y in rest[::2]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sx)
        page.mouse.up()
    return len(strokes)


def make_style(page, text: str) -> str:
    """Type the text and press Make style; the message once the style is saved."""
    page.locator("#scribe-own-text textarea").fill(text)
    page.locator("#scribe-make-style").click()
    page.wait_for_function("document.querySelector('#scribe-style-msg')?.innerText.includes('Saved as')",
                           timeout=120_000)
    return page.locator("#scribe-style-msg").inner_text()

# ---- the docs screenshots' model ---------------------------------------------------------------------
def newest_standin_checkpoint() -> Path | None:
    found = training_checkpoints(ROOT / "runs" / "cpu_standin")
    return found[-1] if found else None


def screenshot_model(checkpoint: str | None, workdir: Path) -> tuple[Path, Path | None, int | None]:
    """(checkpoint, style dir, step cap) for the docs' screenshots: --checkpoint, else the newest
    stand-in training checkpoint, else the shipped model, else a tiny random model (gibberish ink)."""
    ckpt = Path(checkpoint) if checkpoint else newest_standin_checkpoint()
    if ckpt is not None:
        return ckpt, None, None
    try:
        return default_checkpoint(), None, None
    except CheckpointError:
        return (*tiny_model_files(workdir), 120)


def tiny_model_files(folder: Path) -> tuple[Path, Path]:
    save_training_checkpoint(tiny_checkpoint(), folder / "checkpoint-7.pt")
    for i, text in enumerate(["hello there", "quick fox", "a line of ink"]):
        write_style(folder / "styles", i, text, synthetic_offsets(seed=i))
    return folder / "checkpoint-7.pt", folder / "styles"
