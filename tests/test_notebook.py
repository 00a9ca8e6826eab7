"""The Colab notebook: committed stripped and well-formed; run headless end to end on a slice of IAM-OnDB.

The slow test executes notebooks/train_colab.ipynb with papermill on CPU, exactly as a user would run
it outside Colab: a few forms of the real archives, a tiny model, a few dozen steps, everything
written to a temp folder. Drive and the share link are skipped by the notebook's own Colab checks.
It then runs the notebook a second time on the same folder, as after a disconnect, and checks that
training resumed from the first run's checkpoint.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from scribe import colab
from scribe.checkpoint import load_checkpoint, training_checkpoints

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def editable_install_points_back_here():
    """The notebook's install cell runs `pip install -r requirements.txt` in a temporary copy of the
    project, and requirements.txt installs Scribe itself editable: afterwards the environment's `scribe`
    would point at a folder that no longer exists, and every later test that starts `python train/...`
    would fail to import it. Point it back at this checkout."""
    yield
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e",
                    str(ROOT)], check=True, capture_output=True, timeout=600)
NOTEBOOK = ROOT / "notebooks" / "train_colab.ipynb"
CI_ALPHABET = " !\"'(),-.0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TINY_TRAINING = {"rnn_size": 24, "nmixtures": 3, "nwindow": 3, "batch_size": 8, "stages": [],
                 "warmup_steps": 5, "save_every": 15, "log_every": 10, "valid_lines": 16, "max_len": 400,
                 "compile": False, "alphabet": CI_ALPHABET}


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def test_committed_notebook_is_stripped():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"
        assert "execution" not in cell.metadata and "papermill" not in cell.metadata, f"cell {i} metadata"
    assert "papermill" not in nb.metadata


def test_notebook_shape_parameters_headers_and_thin_cells():
    cells = _cells()
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    # Every code cell follows a markdown cell whose header says what it does and how long it takes.
    steps = []
    for prev, cell in zip(cells, cells[1:]):
        if cell.cell_type == "code":
            assert prev.cell_type == "markdown", f"code cell without a header: {cell.source[:60]!r}"
            header = prev.source.splitlines()[0]
            assert header.startswith("## ") and "(" in header, f"header lacks a time: {header!r}"
            if header[3:].split(".")[0].isdigit():
                steps.append(int(header[3:].split(".")[0]))
    assert steps == list(range(0, 12)), steps
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    # Thin cells: no model, data or rendering code of their own.
    for forbidden in ("class ", "import torch", "nn.", "svgwrite", "np.", "torch.load"):
        assert forbidden not in code, f"the notebook should call scribe/train, not use {forbidden!r}"
    assert "--upgrade" not in code and "!pip" not in code and "%pip" not in code   # colab.install_requirements


def test_install_command_keeps_torch(tmp_path):
    constraints = tmp_path / "c.txt"
    cmd = colab.install_command(ROOT / "requirements.txt", constraints)
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert "-c" in cmd and cmd[cmd.index("-c") + 1] == str(constraints)
    assert not {"-U", "--upgrade", "--force-reinstall", "--upgrade-strategy"} & set(cmd)
    # requirements.txt must leave Colab's torch acceptable: a lower bound only, no pin.
    torch_req = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.startswith("torch")]
    assert torch_req and all("==" not in r and "<" not in r for r in torch_req)


def test_find_iam_dir_says_where_to_download_and_put(tmp_path):
    with pytest.raises(colab.ColabError) as e:
        colab.find_iam_dir([None, tmp_path / "nowhere"], put_in=tmp_path / "scribe" / "iam-ondb")
    msg = str(e.value)
    assert "lineStrokes-all.tar.gz" in msg and "ascii-all.tar.gz" in msg
    assert "fki.inf.unibe.ch" in msg and str(tmp_path / "scribe" / "iam-ondb") in msg
    assert str(tmp_path / "nowhere") in msg
    # Archives without split lists: a different, specific message.
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "lineStrokes-all.tar.gz").write_bytes(b"")
    (tmp_path / "a" / "ascii-all.tar.gz").write_bytes(b"")
    with pytest.raises(colab.ColabError, match="split lists"):
        colab.find_iam_dir([tmp_path / "a"], put_in=tmp_path)
    (tmp_path / "a" / "splits").mkdir()
    for name in colab.SPLIT_FILES:
        (tmp_path / "a" / "splits" / name).write_text("a01-000u\n")
    assert colab.find_iam_dir([tmp_path / "nowhere", tmp_path / "a"], put_in=tmp_path) == tmp_path / "a"


def test_project_folder_outside_colab(tmp_path):
    assert not colab.on_colab() and colab.mount_drive() is None
    p = colab.project(None, None, repo_dir=tmp_path)
    assert p.root == (tmp_path / "outputs" / "colab").resolve() and p.root.is_dir()
    assert colab.project(None, tmp_path / "MyDrive").root == (tmp_path / "MyDrive" / "scribe").resolve()
    assert p.data(0).name == "iam_ondb.npz" and p.data(6) != p.data(0)


def test_training_configs():
    full = colab.training_config("full")
    assert full["rnn_size"] == 400 and "out_dir" not in full
    assert colab.training_config("fast")["rnn_size"] < full["rnn_size"]
    custom = colab.training_config("custom", {"rnn_size": 64})
    assert custom["rnn_size"] == 64 and custom["nmixtures"] == full["nmixtures"]
    with pytest.raises(colab.ColabError, match="choose one of"):
        colab.training_config("huge")
    with pytest.raises(colab.ColabError, match="CUSTOM is empty"):
        colab.training_config("custom", {})
    assert "not measured" in colab.expected_time("full", "Tesla T4")


def test_model_size_matches_what_train_builds():
    from scribe.alphabet import Alphabet
    from scribe.model import ModelConfig, SynthesisNetwork
    cfg = {"rnn_size": 32, "nmixtures": 4, "nwindow": 3, "num_layers": 2, "alphabet": "abc "}
    expected = SynthesisNetwork(ModelConfig(Alphabet("abc ").size, 32, 2, 3, 4)).num_parameters()
    assert colab.model_size(cfg, Path("unused.npz")) == expected


def test_run_command_reports_failure():
    with pytest.raises(colab.ColabError, match="exit code 3"):
        colab.run_command([sys.executable, "-c", "import sys; print('x'); sys.exit(3)"])


def test_validation_nll_in_graves_units_agrees_with_the_report(tmp_path):
    import numpy as np
    import torch
    from helpers import synthetic_offsets, tiny_checkpoint
    from scribe.checkpoint import save_training_checkpoint
    from scribe.dataset import ProcessedData, collate
    ckpt = tiny_checkpoint()
    save_training_checkpoint(ckpt, tmp_path / "checkpoint-7.pt")
    offsets = [np.round(synthetic_offsets(n_strokes=3 + i, seed=i)).astype(np.int16) for i in range(7)]
    texts = ["hello", "quick fox", "a line", "more ink here", "bye", "the end", "caf\u00e9"]
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offsets])])
    data = ProcessedData(np.concatenate(offsets), starts, np.array(texts), np.array([f"l{i}" for i in range(7)]),
                         np.array(["train"] * 3 + ["valid"] * 4), ckpt.stats)
    data.save(tmp_path / "data.npz")
    # Reference: each encodable validation line scored on its own, summed over its points, averaged.
    model = ckpt.build_model()
    with torch.no_grad():
        ref = np.mean([float(model.loss(collate([ckpt.stats.normalise(data.line(i))],
                                                [ckpt.alphabet.encode(texts[i])]))[1][0]) for i in (3, 4, 5)])
    nll, lines = colab.validation_nll(tmp_path / "checkpoint-7.pt", tmp_path / "data.npz")
    assert lines == 3 and nll == pytest.approx(ref, rel=1e-4)   # the line with an unknown character is left out
    try:
        from scribe.evaluate import validation_nll as report_nll
    except ImportError:
        return
    assert report_nll(model, ckpt.alphabet, data)["nats_per_line"] == pytest.approx(nll, rel=1e-4)


def test_sheet_specs_fit_one_request_and_legend_groups_styles():
    from scribe.request import MAX_LINES
    specs = colab.sample_sheet_specs(list(range(20)), [0.25, 0.75, 1.5], "hello")
    assert len(specs) <= MAX_LINES and [s.style for s in specs[:4]] == [0, 0, 0, 1]
    assert [s.style for s in colab.sample_sheet_specs([], [0.5, 1.0], "hi")] == [None, None]
    text = colab.legend(colab.sample_sheet_specs([4, 9], [0.25, 1.5], "hi"))
    assert text.splitlines() == ["lines 1-2: style 4, bias 0.25, 1.5", "lines 3-4: style 9, bias 0.25, 1.5"]
    specs = colab.line_specs(["one", "two"], [3], [0.5, 1.0])
    assert [(s.text, s.style, s.bias, s.likeness) for s in specs] == [("one", 3, 0.5, None), ("two", 3, 1.0, None)]
    assert [s.likeness for s in colab.line_specs(["one", "two"], [3], [1.0], 0.4)] == [0.4, 0.4]
    assert [s.likeness for s in colab.line_specs(["one", "two"], [3], [1.0], [0.2, None])] == [0.2, None]


def test_launch_app_reports_an_app_that_dies(tmp_path):
    (tmp_path / "app.py").write_text("import sys\nprint('cannot load that checkpoint')\nsys.exit(2)\n")
    with pytest.raises(colab.ColabError, match="cannot load that checkpoint"):
        colab.launch_app(tmp_path / "x.pt", tmp_path / "logs" / "app.log", share=False, repo_dir=tmp_path)
    with pytest.raises(colab.ColabError, match="does not exist"):
        colab.launch_app(tmp_path / "x.pt", tmp_path / "app.log", share=False, repo_dir=tmp_path / "empty")


FAKE_APP = """
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
print("argv:", " ".join(sys.argv[1:]), flush=True)
if "--share" in sys.argv:
    print("* Running on public URL: https://0123abcd.gradio.live", flush=True)

class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html><script>window.gradio_config = {}</script></html>")

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Page).serve_forever()
"""


def test_launch_app_on_colab_passes_share_and_finds_the_public_url(tmp_path):
    # A stand-in for app.py that speaks HTTP and logs a share URL the way Gradio does.
    (tmp_path / "app.py").write_text(FAKE_APP)
    server = colab.launch_app(tmp_path / "checkpoint-9.pt", tmp_path / "app.log", share=True,
                              checkpoint_dir=tmp_path / "runs", repo_dir=tmp_path, timeout=60)
    try:
        assert server.running() and colab.answers(server.local_url)
        assert server.public_url == "https://0123abcd.gradio.live"
        argv = (tmp_path / "app.log").read_text().splitlines()[0]
        assert f"--checkpoint {tmp_path / 'checkpoint-9.pt'}" in argv and "--share" in argv
        assert f"--checkpoint_dir {tmp_path / 'runs'}" in argv and "--host 127.0.0.1" in argv
    finally:
        server.stop()
    assert not server.running() and not colab.answers(server.local_url, timeout=1)


def test_mount_drive_only_on_colab(monkeypatch):
    import types
    mounted = []
    fake = types.ModuleType("google.colab")
    fake.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", fake)
    assert colab.on_colab()
    assert colab.mount_drive() == Path("/content/drive/MyDrive") and mounted == ["/content/drive"]


def _ensure_kernel() -> None:
    """papermill needs a 'python3' kernelspec; ipykernel's wheel ships one, else register it."""
    from jupyter_client.kernelspec import KernelSpecManager
    if "python3" not in KernelSpecManager().find_kernel_specs():
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", "python3"], check=True)


def _execute(out: Path, params: dict, notebook: Path = NOTEBOOK, expect_error: bool = False):
    """Run the notebook with papermill; (all text output, [(source, error text) of each failed cell]).

    The error text is what the user sees under the failed cell: its error output's traceback lines."""
    import papermill as pm
    try:
        pm.execute_notebook(str(notebook), str(out), parameters=params, kernel_name="python3",
                            cwd=str(notebook.parent), execution_timeout=240, progress_bar=False)
    except pm.PapermillExecutionError:
        if not expect_error:
            raise
    else:
        assert not expect_error, "the notebook ran through, but a cell should have failed"
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    text = "\n".join(o.get("text", "") for c in code for o in c.outputs)
    failed = [(c.source, "\n".join(line for o in c.outputs if o.output_type == "error" for line in o.traceback))
              for c in code if any(o.output_type == "error" for o in c.outputs)]
    return text, failed


def _run(out: Path, project: Path, iam_dir: Path, max_steps: int, **overrides):
    params = {"PROJECT_DIR": str(project), "IAM_DIR": str(iam_dir), "MAX_FORMS": 6, "CONFIG": "custom",
              "CUSTOM": {**TINY_TRAINING, "max_steps": max_steps}, "RUN_NAME": "ci", "SHOW_TENSORBOARD": False,
              "MAX_SAMPLE_STEPS": 250, "KEEP_APP_RUNNING": False, **overrides}
    return _execute(out, params, expect_error=bool(overrides))


@pytest.mark.slow
def test_notebook_runs_headless_and_resumes(iam_dir, tmp_path):
    _ensure_kernel()
    project = tmp_path / "project"
    text, _ = _run(tmp_path / "run1.ipynb", project, iam_dir, max_steps=30)   # fails if any cell fails

    run_dir = project / "runs" / "ci"
    assert [p.name for p in training_checkpoints(run_dir)] == ["checkpoint-15.pt", "checkpoint-30.pt"]
    ckpt = load_checkpoint(run_dir / "checkpoint-30.pt")
    assert ckpt.step == 30 and ckpt.config.rnn_size == 24
    assert json.loads((run_dir / "train_config.json").read_text())["rnn_size"] == 24
    assert list((run_dir / "tensorboard").iterdir()), "no TensorBoard event files"
    assert "loss/train" in text                        # step 8 printed the logged scalars
    assert "Validation NLL (checkpoint-30.pt)" in text
    svgs = sorted((project / "samples").glob("*.svg"))
    assert {p.name.split("-")[0] for p in svgs} == {"sheet", "mine"}
    for svg in svgs:
        root = ET.parse(svg).getroot()
        paths = root.findall(".//{http://www.w3.org/2000/svg}path")
        assert root.tag.endswith("svg") and paths, f"{svg.name} has no strokes"
    assert (project / "samples" / "sheet-ci-checkpoint-30.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if colab.app_available():
        assert "The app answers at http://127.0.0.1:" in text and "Stopped the app" in text
    else:
        assert "app.py is not in this copy of Scribe yet" in text

    # After a "disconnect": the same notebook on the same project folder goes on from checkpoint-30.
    text, _ = _run(tmp_path / "run2.ipynb", project, iam_dir, max_steps=40)
    assert "is already prepared" in text
    assert "Found checkpoint-30.pt: resuming from it." in text and "Restored from checkpoint-30" in text
    assert training_checkpoints(run_dir)[-1].name == "checkpoint-40.pt"
    assert "Validation NLL (checkpoint-40.pt)" in text

    # A CONFIG that does not exist: the cell that reads it fails, and shows why under itself.
    _, failed = _run(tmp_path / "run3.ipynb", project, iam_dir, max_steps=40, CONFIG="huge")
    assert len(failed) == 1 and "colab.training_config(CONFIG" in failed[0][0]
    assert "ColabError: CONFIG is 'huge'; choose one of full, fast, custom" in failed[0][1]


def test_on_colab_in_a_process_the_notebook_starts():
    """The app and train.py run as subprocesses of the notebook, where google.colab is not imported:
    Colab's environment variable still says where they are."""
    code = "from scribe.colab import on_colab; print(on_colab())"
    env = {k: v for k, v in os.environ.items() if k != "COLAB_RELEASE_TAG"}
    run = lambda extra: subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       env={**env, **extra}, timeout=120).stdout.strip()
    assert run({}) == "False"
    assert run({"COLAB_RELEASE_TAG": "release-colab-20260101"}) == "True"


PLAIN_ERROR_CELL = """
import sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
from scribe import colab
colab.plain_errors()
result = shell.run_cell("from scribe.colab import ColabError\\nraise ColabError('put both archives in /x/iam-ondb')")
print("failed:", type(result.error_in_exec).__name__)
result = shell.run_cell("from scribe.errors import InputError\\nraise InputError('unknown character')")
print("failed:", type(result.error_in_exec).__name__)
"""


def test_plain_errors_show_the_message_and_fail_the_cell():
    """IPython drops what a custom exception handler returns: the handler must show the message itself
    (here a terminal shell prints it; in a kernel it is the cell's error output, see the slow test)."""
    r = subprocess.run([sys.executable, "-c", PLAIN_ERROR_CELL], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    out = r.stdout + r.stderr
    assert "ColabError: put both archives in /x/iam-ondb" in out and "failed: ColabError" in out, out
    assert "InputError: unknown character" in out and "failed: InputError" in out, out
    assert "Traceback" not in out   # the message alone: it says what to do



def _zip_of_this_repository(path: Path) -> None:
    """What GitHub's "Download ZIP" gives: every file of the working tree under one top folder."""
    import zipfile
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in listed:
            if (ROOT / name).is_file() and not (ROOT / name).is_symlink() and not name.startswith("data"):
                z.write(ROOT / name, f"scribe-main/{name}")


@pytest.mark.slow
def test_notebook_uploaded_alone_unpacks_a_zip_and_says_where_the_archives_go(tmp_path):
    """No git host: the notebook alone, a zip of the repository in the project folder, no IAM-OnDB
    archives yet. Step 0 unpacks the code, and step 4 fails showing the download instructions.
    After a "disconnect" (the unpacked code is gone) the same run works again, nothing re-typed."""
    import shutil
    _ensure_kernel()
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(NOTEBOOK, upload / NOTEBOOK.name)
    project = tmp_path / "project"
    project.mkdir()
    _zip_of_this_repository(project / "scribe-main.zip")
    params = {"PROJECT_DIR": str(project), "IAM_DIR": str(tmp_path / "empty"), "KEEP_APP_RUNNING": False}
    for attempt in (1, 2):
        text, failed = _execute(tmp_path / f"run{attempt}.ipynb", params, upload / NOTEBOOK.name, expect_error=True)
        assert f"Unpacked {project / 'scribe-main.zip'}" in text
        assert f"Scribe code: {upload / 'scribe'}" in text and (upload / "scribe" / "scribe" / "colab.py").is_file()
        assert len(failed) == 1 and "colab.find_iam_dir" in failed[0][0]
        shown = failed[0][1]
        assert shown.startswith("ColabError: The IAM-OnDB archives are not here yet.")
        assert "lineStrokes-all.tar.gz" in shown and "ascii-all.tar.gz" in shown and "fki.inf.unibe.ch" in shown
        assert str(project / "iam-ondb") in shown and str(tmp_path / "empty") in shown
        shutil.rmtree(upload / "scribe")   # the local disk is wiped at a disconnect; Drive keeps the zip


@pytest.mark.slow
def test_notebook_without_code_url_or_zip_says_how_to_get_the_code(tmp_path):
    import shutil
    _ensure_kernel()
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    _, failed = _execute(tmp_path / "out.ipynb", {"PROJECT_DIR": str(tmp_path / "project")},
                         tmp_path / NOTEBOOK.name, expect_error=True)
    assert len(failed) == 1 and "REPO_URL" in failed[0][0]
    assert "set REPO_URL" in failed[0][1] and "Download ZIP" in failed[0][1] and str(tmp_path / "project") in failed[0][1]


def test_expected_time_from_the_gpu_runs_measured_speed(tmp_path):
    measured = tmp_path / "training_speed.json"
    measured.write_text(json.dumps({"H200": {
        "model": {"rnn_size": 400, "num_layers": 3, "nwindow": 10, "nmixtures": 20},
        "seconds_per_step": {"32": 0.06, "64": 0.09}, "source": "scripts/gpu_run.py on 2026-12-02"}}))
    full = colab.training_config("full")   # 1,000 steps at batch 32, then 5,000 at 64
    text = colab.expected_time("full", "NVIDIA H200", full, measured)
    assert text.startswith(f"about {(1000 * 0.06 + 5000 * 0.09) / 60:.0f} min of training steps on H200")
    assert "0.060 s/step at batch 32" in text and "0.090 s/step at batch 64" in text
    # Another GPU, another model size, or a batch size never measured: said so, not guessed.
    assert "not measured" in colab.expected_time("full", "Tesla T4", full, measured)
    assert "not measured" in colab.expected_time("fast", "NVIDIA H200", colab.training_config("fast"), measured)
    assert "not measured" in colab.expected_time("custom", "NVIDIA H200", {**full, "stages": [{"batch_size": 128}]},
                                                 measured)
    assert "not measured" in colab.expected_time("full", "NVIDIA H200", full, tmp_path / "missing.json")
