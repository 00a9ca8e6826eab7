"""What notebooks/train_colab.ipynb needs beyond the library: the Colab runtime, Drive, the IAM-OnDB
archives, running the train/ scripts with live output, and the app as a background process.

Each notebook cell calls one or two of these, so the notebook stays thin and this file is tested like
the rest of the library. Nothing here knows about the model's maths: training, sampling and rendering
stay in train/ and scribe/.
"""
from __future__ import annotations

import base64
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import iam
from .hosting import on_colab
from .files import atomic_write_bytes
from .errors import ScribeError

REPO_DIR = Path(__file__).resolve().parent.parent
DRIVE_MOUNT = Path("/content/drive")
FULL_CONFIG = "train/configs/full_gpu.json"
# Graves (2013), Table 4: synthesis network, validation log-loss on testset_v, nats per line.
GRAVES_VALID_NLL = {"no regularisation": -1096.9, "adaptive weight noise": -1128.2}
SPLIT_FILES = tuple(f"{name}.txt" for name in iam.SPLIT_NAMES)

ENABLE_GPU_HELP = ("On Colab: Runtime > Change runtime type > Hardware accelerator: a GPU (T4 or better) > "
                   "Save, then run the notebook again from the top (the runtime restarts).")


class ColabError(ScribeError, RuntimeError):
    """A notebook step that cannot go on; the message says what to do."""
    title = "Colab set-up problem"


def plain_errors() -> None:
    """In a notebook, show the project's own errors as their message alone: they say what to do, and a
    traceback would bury it. The cell still fails (so "Run all" and CI stop there)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    plain = [ColabError, iam.DataError]
    try:   # runs before the install step: only what needs nothing beyond torch and numpy
        from .checkpoint import CheckpointError
        from .errors import InputError
        from .styles import StyleError
        plain += [CheckpointError, InputError, StyleError]
    except ImportError:
        pass

    shell.set_custom_exc(tuple(plain), show_plain_error)


def show_plain_error(shell, etype, value, tb, tb_offset=None) -> None:
    """IPython's custom-exception handler: show `Name: message` as the cell's error output.

    IPython discards what a handler returns (run_code calls it and drops the result), so the handler
    must display the error itself, or the cell fails with no text at all."""
    text = f"{etype.__name__}: {value}"
    try:   # an error output, as for any exception: Colab and Jupyter show it in red, papermill records it
        shell._showtraceback(etype, value, [text])
    except Exception:   # a shell without it: stderr still reaches the cell's output
        print(text, file=sys.stderr, flush=True)


# ---- 1. the environment ---------------------------------------------------------------------------
@dataclass
class Environment:
    python: str
    torch: str
    cuda: str | None              # CUDA version torch was built with, None for a CPU build
    gpu: str | None               # name of GPU 0, None when there is none
    gpu_memory_gib: float | None
    colab: bool

    @property
    def device(self) -> str:
        return "cuda" if self.gpu else "cpu"

    def report(self) -> str:
        lines = [f"Python {self.python}, torch {self.torch}"
                 + (f" (CUDA {self.cuda})" if self.cuda else " (CPU build)")
                 + (", on Colab" if self.colab else ", not on Colab")]
        if self.gpu:
            lines.append(f"GPU: {self.gpu}, {self.gpu_memory_gib:.1f} GiB")
        else:
            lines.append("WARNING: no GPU. Preparing data, sampling and the app work on CPU, but training "
                         "a real model on CPU takes hours, not minutes.")
            lines.append(ENABLE_GPU_HELP)
        return "\n".join(lines)


def check_environment() -> Environment:
    import torch
    gpu = mem = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu, mem = props.name, props.total_memory / 2**30
    return Environment(platform.python_version(), torch.__version__, torch.version.cuda, gpu, mem, on_colab())


# ---- 2. installing what is missing ----------------------------------------------------------------
def torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        raise ColabError("torch is not installed. On Colab it always is; elsewhere install it first "
                         "(see the README's install command), then re-run this cell.") from None


def install_command(requirements: Path, constraints: Path) -> list[str]:
    """pip over requirements.txt, with torch pinned by a constraints file to the version installed.

    requirements.txt asks for torch>=2.4, which Colab's torch satisfies, and the pin makes sure that no
    other package can pull in a different torch either. No --upgrade: what is installed stays.
    """
    return [sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements), "-c", str(constraints)]


def install_requirements(repo_dir: Path = REPO_DIR) -> str:
    """Install what requirements.txt lists and this runtime lacks; never touches torch. Returns its version."""
    before = torch_version()
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "keep-torch.txt"
        constraints.write_text(f"torch=={before}\n")
        run_command(install_command(Path(repo_dir) / "requirements.txt", constraints))
    after = torch_version()
    if after != before:   # cannot happen with the pin; say so loudly if it ever does
        raise ColabError(f"torch changed from {before} to {after} during the install; restart the runtime")
    return after


# ---- 3. Drive and the project folder --------------------------------------------------------------
def mount_drive(mountpoint: Path = DRIVE_MOUNT) -> Path | None:
    """Mount Google Drive on Colab and return its MyDrive folder; None elsewhere (nothing to mount)."""
    if not on_colab():
        return None
    from google.colab import drive
    drive.mount(str(mountpoint))
    return Path(mountpoint) / "MyDrive"


@dataclass
class Project:
    """Everything the notebook writes lives under one folder (on Drive on Colab), so a disconnect
    loses nothing: the processed data, training runs, samples and the app's log."""
    root: Path

    @property
    def iam_dir(self) -> Path:
        return self.root / "iam-ondb"

    def data(self, max_forms: int = 0) -> Path:
        """The processed file; a subset gets its own name, so it is never mistaken for the full data."""
        return self.root / "data" / ("iam_ondb.npz" if not max_forms else f"iam_ondb-first{max_forms}forms.npz")

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / name

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def styles(self) -> Path:
        return self.root / "styles"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def project(given: str | Path | None, drive_root: Path | None, repo_dir: Path = REPO_DIR) -> Project:
    """The project folder: `given` if set, else MyDrive/scribe on Drive, else outputs/colab (ignored by git)."""
    root = Path(given) if given else (drive_root / "scribe" if drive_root else Path(repo_dir) / "outputs" / "colab")
    root = root.expanduser().resolve()
    for sub in (root, root / "data", root / "runs", root / "samples", root / "logs"):
        sub.mkdir(parents=True, exist_ok=True)
    return Project(root)


# ---- 4. the IAM-OnDB archives ---------------------------------------------------------------------
def has_archives(folder: Path) -> bool:
    """Both archives (or their unpacked folders), as iam.read_lines accepts them."""
    folder = Path(folder)
    return ((folder / iam.STROKES_ARCHIVE).is_file() or (folder / "lineStrokes").is_dir()) and \
           ((folder / iam.ASCII_ARCHIVE).is_file() or (folder / "ascii").is_dir())


def missing_archives_message(looked_in: list[Path], put_in: Path) -> str:
    where = "\n".join(f"  - {p}" for p in looked_in)
    return (
        f"The IAM-OnDB archives are not here yet. Looked in:\n{where}\n\n"
        f"To get them (once; they stay on your Drive):\n"
        f"  1. Register (free, for non-commercial research) on the site of the IAM On-Line Handwriting\n"
        f"     Database, fki.inf.unibe.ch, and open its download page.\n"
        f"  2. Download {iam.STROKES_ARCHIVE} (about 70 MB) and {iam.ASCII_ARCHIVE}; do not unpack them.\n"
        f"  3. Put both in {put_in}\n"
        f"     (in Drive's web page: My Drive > {put_in.parent.name} > {put_in.name}; create the folders).\n"
        f"  4. Put the four form lists of the writer-independent task ({', '.join(SPLIT_FILES)}),\n"
        f"     from the same download page, in {put_in / 'splits'}\n"
        f"  5. Run this cell again.")


def find_iam_dir(candidates: list[Path | str | None], put_in: Path) -> Path:
    """The first candidate folder holding both archives and the split lists; else a ColabError saying
    where to download them and where to put them."""
    looked = [Path(c).expanduser() for c in candidates if c]
    for folder in looked:
        if has_archives(folder):
            splits = iam.default_split_dir(folder)
            missing = [name for name in SPLIT_FILES if not (splits / name).is_file()]
            if missing:
                raise ColabError(
                    f"Found the archives in {folder}, but not the split lists {', '.join(missing)} in "
                    f"{splits}. Download the form lists of the writer-independent task from the IAM-OnDB "
                    f"download page (fki.inf.unibe.ch) and put them there, then run this cell again.")
            return folder
    raise ColabError(missing_archives_message(looked, put_in))


# ---- running the train/ scripts -------------------------------------------------------------------
def run_command(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> None:
    """Run a command, printing its output as it comes; raise ColabError when it fails.

    Interrupting the cell (the stop button) stops the command too, so a stopped training run does
    not go on writing checkpoints in the background.
    """
    print("$ " + shlex.join(str(a) for a in argv), flush=True)
    proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    try:
        for line in proc.stdout:
            print(line, end="", flush=True)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("\nStopped. Run the cell again to go on from the last saved checkpoint.", flush=True)
        raise
    if code:
        what = Path(str(argv[1])).name if len(argv) > 1 and str(argv[1]).endswith(".py") else \
            shlex.join(str(a) for a in argv[:4])
        raise ColabError(f"{what} failed (exit code {code}); its messages are above.")


def run_script(script: str, *args, repo_dir: Path = REPO_DIR) -> None:
    """`python <repo>/<script> args...` with live output, e.g. run_script("train/train.py", "--config", p)."""
    run_command([sys.executable, str(Path(repo_dir) / script), *map(str, args)], cwd=repo_dir)


# ---- 6. the training configuration ----------------------------------------------------------------
# "fast": the same architecture at 3x256 and a third of the steps, for a first look at the whole
# workflow; its samples are legible but less neat than full.
FAST = {"rnn_size": 256, "num_layers": 3, "nmixtures": 20, "nwindow": 10, "learning_rate": 0.002,
        "warmup_steps": 200, "max_steps": 2000, "valid_lines": 0, "save_every": 250, "log_every": 50,
        "stages": [{"until_step": 500, "batch_size": 32}, {"batch_size": 64}]}
CHOICES = ("full", "fast", "custom")

# Measured seconds per training step, by GPU family and batch size, for one model size: written by
# scripts/gpu_run.py (its training_speed.json, copied here). Step 6 turns it into an expected training
# time; a GPU, model or batch size not in it is "not measured", never a guess.
MEASURED_SPEED = REPO_DIR / "benchmarks" / "results" / "training_speed.json"
MODEL_FIELDS = {"rnn_size": 400, "num_layers": 3, "nwindow": 10, "nmixtures": 20}   # TrainConfig defaults


def training_config(choice: str, custom: dict | None = None, repo_dir: Path = REPO_DIR) -> dict:
    """The TrainConfig fields for full (train/configs/full_gpu.json), fast, or custom (full + overrides)."""
    if choice not in CHOICES:
        raise ColabError(f"CONFIG is {choice!r}; choose one of {', '.join(CHOICES)}")
    full = json.loads((Path(repo_dir) / FULL_CONFIG).read_text())
    cfg = full if choice == "full" else dict(FAST) if choice == "fast" else {**full, **(custom or {})}
    if choice == "custom" and not custom:
        raise ColabError("CONFIG is 'custom' but CUSTOM is empty: set CUSTOM to the TrainConfig fields to "
                         "change, e.g. {'rnn_size': 300, 'max_steps': 3000} (python train/train.py --help)")
    cfg = {k: v for k, v in cfg.items() if k not in ("out_dir", "data")}   # the notebook sets these
    return cfg


def write_training_config(cfg: dict, run_dir: Path) -> Path:
    """Save the configuration next to the checkpoints (atomically: Drive is a FUSE mount)."""
    path = Path(run_dir) / "train_config.json"
    atomic_write_bytes(path, (json.dumps(cfg, indent=2) + "\n").encode())
    return path


def model_size(cfg: dict, data_path: Path) -> int:
    """Parameter count of the network train.py will build for `cfg` on this data (same alphabet rule)."""
    from .alphabet import Alphabet
    from .dataset import ProcessedData
    from .model import ModelConfig, SynthesisNetwork
    if cfg.get("alphabet"):
        alphabet = Alphabet(cfg["alphabet"])
    else:
        data = ProcessedData.load(data_path)
        alphabet = Alphabet.from_texts((str(data.texts[i]) for i in data.indices("train")),
                                       cfg.get("min_char_count", 1))
    model_cfg = ModelConfig(alphabet.size, cfg.get("rnn_size", 400), cfg.get("num_layers", 3),
                            cfg.get("nwindow", 10), cfg.get("nmixtures", 20))
    return SynthesisNetwork(model_cfg).num_parameters()


def gpu_family(gpu: str | None) -> str | None:
    for family in ("H200", "H100", "A100", "L4", "T4", "V100", "A10G"):
        if gpu and family in gpu:
            return family
    return None


def expected_time(choice: str, gpu: str | None, cfg: dict | None = None, measured: Path | None = None) -> str:
    """The project's measured figure for this configuration on this GPU, or an honest "not measured".

    Minutes of training steps: each stage's steps times the seconds per step measured on this GPU
    family for this model size at that stage's batch size (benchmarks/results/training_speed.json)."""
    family = gpu_family(gpu)
    path = Path(measured or MEASURED_SPEED)
    try:
        entry = json.loads(path.read_text()).get(family or "") if path.is_file() else None
    except (OSError, ValueError, AttributeError):
        entry = None
    if entry and cfg is not None and cfg.get("max_steps") and \
            all(cfg.get(k, v) == entry.get("model", {}).get(k) for k, v in MODEL_FIELDS.items()):
        per_step = entry.get("seconds_per_step", {})
        seconds, start, used = 0.0, 0, []
        stages = cfg.get("stages") or [{}]
        for stage in stages:
            end = min(stage.get("until_step", cfg["max_steps"]), cfg["max_steps"])
            bs = str(stage.get("batch_size", cfg.get("batch_size", 32)))
            if end > start and bs not in per_step:
                seconds = None
                break
            if end > start:
                seconds += (end - start) * per_step[bs]
                used.append(f"{per_step[bs]:.3f} s/step at batch {bs}")
            start = max(start, end)
        if seconds is not None and start >= cfg["max_steps"]:
            return (f"about {seconds / 60:.0f} min of training steps on {family} ({', '.join(used)}; "
                    f"measured: {entry.get('source', path.name)}), plus the validation at each checkpoint")
    on = f"on {gpu}" if gpu else "on CPU (no GPU: expect hours)"
    return (f"not measured yet for '{choice}' {on}; docs/performance.md will give measured "
            f"figures. Meanwhile each log line of the training cell prints seconds per step, steps per "
            f"second and the time left ('ETA').")


def describe_config(choice: str, cfg: dict, data_path: Path, gpu: str | None) -> str:
    stages = cfg.get("stages") or [{"batch_size": cfg.get("batch_size", 32)}]
    batches = " -> ".join(str(s.get("batch_size", cfg.get("batch_size", 32))) for s in stages)
    steps = cfg.get("max_steps") or f"{cfg.get('nepochs', 30)} epochs"
    return (f"Configuration '{choice}': {cfg.get('num_layers', 3)}x{cfg.get('rnn_size', 400)} LSTM, "
            f"K={cfg.get('nwindow', 10)} window Gaussians, M={cfg.get('nmixtures', 20)} mixtures, "
            f"{model_size(cfg, data_path):,} parameters\n"
            f"Schedule: {steps} steps, batch size {batches}, learning rate {cfg.get('learning_rate', 1e-3)}\n"
            f"Expected time: {expected_time(choice, gpu, cfg)}")


def train_args(config_path: Path, data_path: Path, run_dir: Path, extra: dict | None = None) -> list[str]:
    """Arguments for train/train.py: flags win over the config file, so data and out_dir are ours."""
    args = ["--config", str(config_path), "--data", str(data_path), "--out_dir", str(run_dir)]
    for k, v in (extra or {}).items():
        args += [f"--{k}", str(v)]
    return args


def latest_checkpoint(run_dir: Path) -> Path | None:
    from .checkpoint import training_checkpoints
    found = training_checkpoints(run_dir)
    return found[-1] if found else None


def require_checkpoint(run_dir: Path) -> Path:
    found = latest_checkpoint(run_dir)
    if found is None:
        raise ColabError(f"no checkpoint in {run_dir} yet: run the training cell first")
    return found


# ---- 8. TensorBoard -------------------------------------------------------------------------------
def tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
        return True
    except ImportError:
        return False


def logged_scalars(logdir: Path) -> dict[str, tuple[int, float]]:
    """{tag: (last step, last value)} from the TensorBoard event files in logdir; {} when there are none."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags().get("scalars", []):
        events = acc.Scalars(tag)
        if events:
            out[tag] = (events[-1].step, events[-1].value)
    return out


# ---- 9. evaluation --------------------------------------------------------------------------------
def validation_nll(checkpoint: Path, data_path: Path, device: str = "cpu", batch_size: int = 32,
                   max_lines: int = 0) -> tuple[float, int]:
    """(mean NLL per validation line in nats, lines scored): the quality report's figure
    (scribe.evaluate), computed on `device` so that Colab scores testset_v on its GPU. Lines with
    characters outside the model's alphabet are not scored; max_lines > 0 scores only the first that
    many validation lines (quicker on a CPU)."""
    from .checkpoint import load_checkpoint
    from .dataset import ProcessedData
    from .evaluate import validation_nll as report_nll
    ckpt = load_checkpoint(checkpoint)
    nll = report_nll(ckpt.build_model(device), ckpt.alphabet, ProcessedData.load(data_path), max_lines, batch_size)
    return nll["nats_per_line"], nll["lines"]


def style_folder(project: Project, iam_dir: Path | None, repo_dir: Path = REPO_DIR) -> Path | None:
    """The shipped style bank (checkpoints/styles); else one built from testset_v into the project folder."""
    from .styles import SHIPPED_STYLE_DIR, style_ids
    for folder in (SHIPPED_STYLE_DIR, project.styles):
        if folder.is_dir() and style_ids(folder):
            return folder
    if iam_dir is None:
        return None
    run_script("train/build_styles.py", "--data_dir", iam_dir, "--out", project.styles, repo_dir=repo_dir)
    return project.styles


def writable_styles(hand) -> tuple[list[int], list[int]]:
    """(styles this model can be primed with, styles whose text uses characters it never learned)."""
    ok, skipped = [], []
    for sid in hand.style_ids:
        try:
            hand.alphabet.encode(hand.styles.get(sid).text)
            ok.append(sid)
        except ValueError:
            skipped.append(sid)
    return ok, skipped


def sample_sheet_specs(style_ids: list[int], biases: list[float], text: str):
    """One line per (style, bias), style by style; unprimed lines when there are no styles.
    As many styles as fit in one request (request.MAX_LINES lines)."""
    from .request import MAX_LINES, LineSpec
    styles = style_ids[:max(1, MAX_LINES // max(1, len(biases)))] or [None]
    return [LineSpec(text, style=s, bias=b) for s in styles for b in biases]


def line_specs(lines: list[str], styles: list, biases: list[float], likenesses=None):
    """LineSpecs from per-line lists; a single style, bias or likeness applies to every line (as in the
    CLI). likenesses: None (each style's own), one number, or one per line."""
    from .request import DEFAULT_BIAS, LineSpec
    from .sample import per_line
    n = len(lines)
    like = [likenesses] if likenesses is None or isinstance(likenesses, (int, float)) else likenesses
    return [LineSpec(t, s, b, likeness=k) for t, s, b, k in zip(lines, per_line(styles, n, "styles", None),
                                                                 per_line(biases, n, "biases", DEFAULT_BIAS),
                                                                 per_line(like, n, "likenesses", None))]


def legend(specs) -> str:
    """Which rows of a sheet are which: consecutive lines of one style are grouped."""
    groups: list[tuple[object, list[int], list[float]]] = []
    for i, s in enumerate(specs, start=1):
        if groups and groups[-1][0] == s.style:
            groups[-1][1].append(i)
            groups[-1][2].append(s.bias)
        else:
            groups.append((s.style, [i], [s.bias]))
    return "\n".join(f"lines {rows[0]}-{rows[-1]}: " + ("unprimed" if style is None else f"style {style}")
                     + f", bias {', '.join(f'{b:g}' for b in biases)}" for style, rows, biases in groups)


def download_link(path: Path, label: str | None = None) -> str:
    """An HTML link that downloads the file from the notebook page itself (works on Colab and in Jupyter)."""
    path = Path(path)
    kind = {".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix.lower(), "application/octet-stream")
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<a download="{path.name}" href="data:{kind};base64,{data}">{label or "Download " + path.name}</a>'
            f' ({path.stat().st_size / 1024:.0f} kB; also saved at {path})')


# ---- 11. the app ----------------------------------------------------------------------------------
_PUBLIC_URL = re.compile(r"(https://[\w.-]+\.gradio\.live\S*)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, timeout: float = 5.0) -> bool:
    """True when the URL serves a Gradio page (HTTP 200 with Gradio's front end in it)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200 and b"gradio" in r.read().lower()
    except (urllib.error.URLError, OSError, ValueError):
        return False


class AppServer:
    """`python app.py` running in the background, its output going to a log file."""

    def __init__(self, proc: subprocess.Popen, log_path: Path, local_url: str):
        self.proc, self.log_path, self.local_url = proc, log_path, local_url
        self.public_url: str | None = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def wait_until_ready(self, timeout: float = 240.0, share: bool = False, share_timeout: float = 60.0) -> None:
        """Block until the app answers locally (and, with share, until its public URL is in the log)."""
        deadline = time.time() + timeout
        while not answers(self.local_url):
            if not self.running():
                raise ColabError(f"the app exited (code {self.proc.returncode}) before it answered; its log "
                                 f"({self.log_path}) ends with:\n{self.log_tail()}")
            if time.time() > deadline:
                self.stop()
                raise ColabError(f"the app did not answer at {self.local_url} within {timeout:.0f}s; its log "
                                 f"ends with:\n{self.log_tail()}")
            time.sleep(1.0)
        if share:
            deadline = time.time() + share_timeout
            while self.public_url is None and time.time() < deadline and self.running():
                m = _PUBLIC_URL.search(self.log_path.read_text(errors="replace"))
                self.public_url = m.group(1) if m else None
                if self.public_url is None:
                    time.sleep(1.0)


def app_available(repo_dir: Path = REPO_DIR) -> bool:
    return (Path(repo_dir) / "app.py").is_file()


def launch_app(checkpoint: Path, log_path: Path, share: bool, host: str = "127.0.0.1",
               port: int | None = None, checkpoint_dir: Path | None = None, style_dir: Path | None = None,
               repo_dir: Path = REPO_DIR, timeout: float = 240.0) -> AppServer:
    """Start `python app.py --checkpoint ... [--share]` in the background and wait until it answers.

    checkpoint_dir: a folder whose checkpoints the app's dropdown lists too (the run folder on Drive).
    """
    if not app_available(repo_dir):
        raise ColabError(f"{Path(repo_dir) / 'app.py'} does not exist in this copy of Scribe")
    port = port or free_port()
    argv = [sys.executable, str(Path(repo_dir) / "app.py"), "--checkpoint", str(checkpoint),
            "--host", host, "--port", str(port)]
    argv += ["--checkpoint_dir", str(checkpoint_dir)] if checkpoint_dir else []
    argv += ["--style_dir", str(style_dir)] if style_dir else []
    argv += ["--share"] if share else []
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:   # the child keeps its own copy of the file descriptor
        proc = subprocess.Popen(argv, cwd=repo_dir, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    server = AppServer(proc, log_path, f"http://127.0.0.1:{port}/")
    server.wait_until_ready(timeout, share=share)
    return server
