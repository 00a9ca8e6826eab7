"""Every command answers bad input with one line on stderr and exit code 2, never a traceback, and refuses
before it does the work (issue 28, items 2, 3 and 6). Each case runs the real command in a subprocess,
in a folder of its own that must be empty again afterwards; the shared inputs must be untouched.

"Before the work" is checked by what is left behind, not by the clock: no output file, no report or run
folder, no `<dir>.svg` beside a folder; an app flag refused at start-up exits with 2 instead of serving.
"""
from __future__ import annotations

import ast
import os
import pickle
import subprocess
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, synthetic_offsets, tiny_checkpoint, write_tiny_data
from scribe import cli
from scribe.checkpoint import save_training_checkpoint
from scribe.styles import write_style

WRITE = ["-m", "scribe.sample"]
EVALUATE = ["-m", "scribe.evaluate"]
ADAPT = ["-m", "scribe.adapt"]
TRAIN = [str(ROOT / "train" / "train.py")]
APP = [str(ROOT / "app.py")]
HAS_PROC = Path("/proc/self").exists()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The inputs every case reads (never writes): a tiny model and data, hostile files and folders."""
    w = tmp_path_factory.mktemp("inputs")
    save_training_checkpoint(tiny_checkpoint(), w / "checkpoint-7.pt")
    write_tiny_data(w / "data.npz")
    (w / "empty_styles").mkdir()
    write_style(w / "huge_styles", 0, "hello", synthetic_offsets())
    with open(w / "huge_styles" / "style-0-strokes.npy", "wb") as f:   # a header claiming 10.9 TiB
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)})
        f.write(b"\0" * 64)
    write_style(w / "zero_styles", 0, "hello", np.zeros((20, 3), np.float32))
    (w / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (w / "nan_seed.json").write_text('{"scribe_document": 1, "seed": NaN, "lines": [{"text": "hi"}]}')
    (w / "random.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    (w / "object.pkl").write_bytes(pickle.dumps({"a": 1}))
    (w / "bad_config.json").write_text('{"rnn_size": -3}')
    (w / "bad_stage.json").write_text('{"stages": [{"until_step": 10, "batch_size": 0}]}')
    (w / "a_folder").mkdir()
    return w


W_ARGS = ["--checkpoint", "{in}/checkpoint-7.pt", "--candidates", "1"]
T_ARGS = ["--data", "{in}/data.npz", "--out_dir", "{case}/run", "--max_steps", "1"]
E_ARGS = ["--checkpoint", "{in}/checkpoint-7.pt", "--data", "{in}/data.npz"]

# (id, command, arguments, extra environment, what the one line must say)
CASES = [
    # scribe-write / python -m scribe.sample
    ("write-empty-style-folder", WRITE, ["--text", "hi", "--style_dir", "{in}/empty_styles", "--style", "0",
                                         "--out", "{case}/o.svg", *W_ARGS], {}, "no style 0"),
    ("write-npy-header-1e12", WRITE, ["--text", "hi", "--style_dir", "{in}/huge_styles", "--style", "0",
                                      "--out", "{case}/o.svg", *W_ARGS], {}, "header does not match the data"),
    ("write-all-zero-style", WRITE, ["--text", "hi", "--style_dir", "{in}/zero_styles", "--style", "0",
                                     "--out", "{case}/o.svg", *W_ARGS], {}, "pen never moves"),
    ("write-deep-document", WRITE, ["--document", "{in}/deep.json", "--out", "{case}/o.svg", *W_ARGS], {},
     "nested too deeply"),
    ("write-document-seed-NaN", WRITE, ["--document", "{in}/nan_seed.json", "--out", "{case}/o.svg", *W_ARGS],
     {}, "seed must be a whole number"),
    ("write-out-is-a-folder", WRITE, ["--text", "hi", "--out", "{in}/a_folder", *W_ARGS], {}, "is a folder"),
    ("write-out-under-a-file", WRITE, ["--text", "hi", "--out", "{in}/random.bin/x.svg", *W_ARGS], {},
     "is a file, not a folder"),
    ("write-gcode-margin-ignored", WRITE, ["--text", "hi", "--format", "gcode", "--margin", "1e9",
                                           "--out", "{case}/o.gcode", *W_ARGS], {}, "would be ignored"),
    ("write-gcode-margin-too-big", WRITE, ["--text", "hi", "--format", "gcode", "--page", "a4", "--margin", "1e9",
                                           "--out", "{case}/o.gcode", *W_ARGS], {}, "leaves no room"),
    ("write-pen-up-not-ascii", WRITE, ["--text", "hi", "--format", "gcode", "--pen_up", "é",
                                       "--out", "{case}/o.gcode", *W_ARGS], {}, "plain ASCII"),
    ("write-variation-ignored", WRITE, ["--text", "hi", "--variation", "1", "--out", "{case}/o.svg", *W_ARGS], {},
     "would be ignored"),
    ("write-variation-nan", WRITE, ["--text", "hi", "--paragraph", "--variation", "nan", "--out", "{case}/o.svg",
                                    *W_ARGS], {}, "variation nan is outside 0-2"),
    ("write-candidates-0", WRITE, ["--text", "hi", "--out", "{case}/o.svg", "--checkpoint", "{in}/checkpoint-7.pt",
                                   "--candidates", "0"], {}, "candidates per line"),
    ("write-unknown-flag", WRITE, ["--text", "hi", "--nope", *W_ARGS], {}, "unrecognized arguments: --nope"),
    # scribe-evaluate
    ("evaluate-biases-nan", EVALUATE, ["--biases", "nan", "--out", "{case}/report", *E_ARGS], {},
     "argument --biases: must be a finite number from 0 to 4, not 'nan'"),
    ("evaluate-out-under-a-file", EVALUATE, ["--out", "{in}/random.bin/report", *E_ARGS], {},
     "is a file, not a folder"),
    pytest.param("evaluate-out-proc", EVALUATE, ["--out", "/proc/nope", *E_ARGS], {}, "cannot make the folder",
                 marks=pytest.mark.skipif(not HAS_PROC, reason="no /proc")),
    ("evaluate-data-random-bytes", EVALUATE, ["--out", "{case}/report", "--checkpoint", "{in}/checkpoint-7.pt",
                                              "--data", "{in}/random.bin"], {}, "not a processed dataset"),
    # scribe-adapt
    ("adapt-missing-ink", ADAPT, ["--ink", "{case}/none.json", "--out", "{case}/me.safetensors"], {}, "no file at"),
    ("adapt-out-suffix", ADAPT, ["--ink", "{in}/random.bin", "--out", "{case}/me.pt", "--style_dir", ""], {},
     "saved as .safetensors"),
    ("adapt-minutes-nan", ADAPT, ["--ink", "{in}/random.bin", "--out", "{case}/me.safetensors", "--minutes", "nan"],
     {}, "minutes must be a number"),
    # scribe-train / train/train.py
    ("train-data-missing", TRAIN, [*T_ARGS, "--data", "{case}/nope.npz"], {}, "no processed dataset"),
    ("train-data-random-bytes", TRAIN, [*T_ARGS, "--data", "{in}/random.bin"], {}, "not a processed dataset"),
    ("train-rnn-size--1", TRAIN, [*T_ARGS, "--rnn_size", "-1"], {}, "argument --rnn_size"),
    ("train-batch-size-0", TRAIN, [*T_ARGS, "--batch_size", "0"], {}, "argument --batch_size"),
    ("train-learning-rate-nan", TRAIN, [*T_ARGS, "--learning_rate", "nan"], {}, "argument --learning_rate"),
    ("train-config-binary", TRAIN, [*T_ARGS, "--config", "{in}/random.bin"], {}, "is not a JSON file"),
    ("train-config-bad-value", TRAIN, [*T_ARGS, "--config", "{in}/bad_config.json"], {}, "rnn_size: must be"),
    ("train-config-bad-stage", TRAIN, [*T_ARGS, "--config", "{in}/bad_stage.json"], {}, "stage 1: batch_size"),
    ("train-init-from-pickle", TRAIN, [*T_ARGS, "--init_from", "{in}/object.pkl"], {}, "object.pkl is corrupt"),
    ("train-device-xyz", TRAIN, [*T_ARGS, "--device", "xyz"], {}, "argument --device"),
    ("train-out-dir-under-a-file", TRAIN, [*T_ARGS, "--out_dir", "{in}/random.bin/run"], {},
     "is a file, not a folder"),
    pytest.param("train-out-dir-proc", TRAIN, [*T_ARGS, "--out_dir", "/proc/nope"], {}, "cannot make the folder",
                 marks=pytest.mark.skipif(not HAS_PROC, reason="no /proc")),
    # the other train/ scripts
    ("train-recognizer-batch-0", [str(ROOT / "train" / "train_recognizer.py")],
     ["--data", "{in}/data.npz", "--out", "{case}/r.safetensors", "--state", "{case}/s.pt", "--batch_size", "0"],
     {}, "argument --batch_size"),
    ("prepare-data-min-step-nan", [str(ROOT / "train" / "prepare_data.py")],
     ["--data_dir", "{case}", "--out", "{case}/d.npz", "--min_step", "nan"], {}, "argument --min_step"),
    ("export-pickle", [str(ROOT / "train" / "export.py")],
     ["--checkpoint", "{in}/object.pkl", "--out", "{case}/m.safetensors", "--curve", ""], {}, "object.pkl is corrupt"),
    ("verify-data-random-bytes", [str(ROOT / "train" / "verify_data.py")], ["--data", "{in}/random.bin"], {},
     "not a processed dataset"),
    ("synthetic-iam-forms-0", [str(ROOT / "train" / "make_synthetic_iam.py")], ["--out", "{case}/iam", "--forms", "0"],
     {}, "argument --forms"),
    # scribe-app / app.py: refused at start-up, before the model is loaded or a port is opened
    ("app-port--1", APP, ["--port", "-1"], {}, "argument --port"),
    ("app-port-70000", APP, ["--port", "70000"], {}, "argument --port"),
    ("app-device-xyz", APP, ["--device", "xyz"], {}, "argument --device"),
    ("app-max-steps--1", APP, ["--max_steps", "-1"], {}, "argument --max_steps"),
    ("app-max-user-styles--5", APP, ["--max_user_styles", "-5"], {}, "argument --max_user_styles"),
    ("app-concurrency-0", APP, ["--concurrency", "0"], {}, "argument --concurrency"),
    ("app-concurrency--3", APP, ["--concurrency", "-3"], {}, "argument --concurrency"),
    ("app-max-queue--1", APP, ["--max_queue", "-1"], {}, "argument --max_queue"),
    ("app-max-sessions--1", APP, ["--max_sessions", "-1"], {}, "argument --max_sessions"),
    ("app-max-output-mb-0", APP, ["--max_output_mb", "0"], {}, "argument --max_output_mb"),
    ("app-env-max-steps", APP, [], {"SCRIBE_MAX_STEPS": "-4"}, "environment variable SCRIBE_MAX_STEPS"),
    ("app-env-port", APP, [], {"GRADIO_SERVER_PORT": "abc"}, "environment variable GRADIO_SERVER_PORT"),
]


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name, command, args, env, message", CASES, ids=[
    c.values[0] if hasattr(c, "values") else c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(name, command, args, env, message, inputs, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    before = _tree(inputs)
    argv = [a.replace("{in}", str(inputs)).replace("{case}", str(case)) for a in args]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    full_env.pop(cli.TRACEBACK_ENV, None)
    # the timeout only guards against a server that started when it should have refused: not a speed test
    r = subprocess.run([sys.executable, *command, *argv], capture_output=True, text=True, cwd=case,
                       env=full_env, timeout=600)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr + r.stdout
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0], lines[0]
    assert _tree(case) == [], f"{name} left {_tree(case)}"           # no output, report or run folder
    assert _tree(inputs) == before                                   # nothing written beside the inputs


# ---- the shared helper itself, in process ----------------------------------------------------------------
def _fails_with(e):
    @cli.command
    def main(argv=None):
        raise e
    return main


def test_command_maps_exceptions_to_one_line_and_an_exit_code(capsys, monkeypatch):
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    from scribe.errors import InputError
    assert _fails_with(InputError("the text is\nempty"))() == 2
    assert capsys.readouterr().err == "error: the text is empty\n"
    assert _fails_with(FileNotFoundError(2, "No such file or directory", "/x/y"))() == 2
    assert capsys.readouterr().err == "error: No such file or directory: /x/y\n"
    assert _fails_with(KeyError("bug"))() == 1        # a bug: said plainly, still no traceback
    err = capsys.readouterr().err
    assert err.startswith("internal error: KeyError: 'bug' (a bug in Scribe") and "Traceback" not in err
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    assert _fails_with(KeyError("bug"))() == 1
    assert "Traceback" in capsys.readouterr().err      # for a bug report
    assert _fails_with(KeyboardInterrupt())() == 130
    assert cli.command(lambda argv=None: None)() == 0 and cli.command(lambda argv=None: 3)() == 3
    p = cli.ArgumentParser(prog="x")
    p.add_argument("--n", type=cli.whole(1, 5))
    with pytest.raises(cli.UsageError, match=r"argument --n: must be a whole number from 1 to 5, not '9' \(see x"):
        p.parse_args(["--n", "9"])
    with pytest.raises(SystemExit):                    # --help still prints and exits
        p.parse_args(["--help"])


def test_the_checks_refuse_and_accept(tmp_path):
    import argparse
    assert cli.whole(0)("7") == 7 and cli.whole(0)(7) == 7 and cli.number(above=0)("1e-3") == 1e-3
    for check, bad in ((cli.whole(1), "0"), (cli.whole(1), "1.5"), (cli.whole(1), True), (cli.number(0, 1), "nan"),
                       (cli.number(0, 1), "inf"), (cli.number(above=0), 0), (cli.port, "0"), (cli.port, "65536")):
        with pytest.raises(argparse.ArgumentTypeError):
            check(bad)
    deep = tmp_path / "a" / "b" / "c"
    assert cli.folder_to_write(str(deep)) == str(deep) and not (tmp_path / "a").exists()   # made and removed
    assert cli.file_to_write(str(deep / "f.svg")) and not (tmp_path / "a").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a folder"):
        cli.folder_to_write(str(tmp_path / "file" / "sub"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        cli.file_to_write(str(tmp_path))


def test_every_entry_point_goes_through_the_helper():
    """Each console script and each scribe/train/*.py main is wrapped by cli.command, and no command builds a
    plain argparse parser (whose mistakes would print the usage text instead of one line)."""
    import importlib
    section = (ROOT / "pyproject.toml").read_text().split("[project.scripts]")[1].split("\n[")[0]
    scripts = re.findall(r'^\S+ = "([\w.]+:\w+)"', section, re.M)
    assert "scribe.sample:main" in scripts
    targets = set(scripts) | {f"scribe.train.{p.stem}:main" for p in (ROOT / "scribe" / "train").glob("*.py")
                              if "def main(" in p.read_text()}
    wrapper = cli.command(lambda argv=None: 0).__code__
    assert len(targets) >= 11
    for target in sorted(targets):
        module, _, name = target.partition(":")
        main = getattr(importlib.import_module(module), name)
        assert main.__code__ is wrapper, f"{target} is not wrapped by scribe.cli.command"
    for path in [*(ROOT / "scribe").rglob("*.py"), *(ROOT / "train").glob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "ArgumentParser" and getattr(node.func.value, "id", "") == "argparse":
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} builds argparse.ArgumentParser; "
                            f"use cli.ArgumentParser")
