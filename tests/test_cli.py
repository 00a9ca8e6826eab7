import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from scribe.alphabet import Alphabet
from scribe.checkpoint import save_training_checkpoint
from helpers import TINY_ALPHABET, tiny_checkpoint

ROOT = Path(__file__).resolve().parent.parent
GUIDE_LINES = ["Report due by 09:00 on March 15th, 1985.", "Can't believe it - met him at 3:00pm!",
               "Got your message (thanks!) - call me."]


def run_cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}   # runs from any folder, like an installed tool
    return subprocess.run([sys.executable, "-m", "scribe.sample", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


def test_guide_examples_write_svg_and_png(tiny_style_dir, tmp_path):
    # the guide's lines use ':' and '(': a tiny model whose alphabet has them
    ckpt = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(Alphabet(TINY_ALPHABET + ":()")), ckpt)
    common = ["--checkpoint", str(ckpt), "--style_dir", str(tiny_style_dir), "--max_steps", "25"]
    r = run_cli("--text", "The quick brown fox jumps over 1234567890", "--bias", "1.0", "--format", "svg",
                "--out", str(tmp_path / "one.svg"), *common)
    assert r.returncode == 0, r.stderr
    assert ET.parse(tmp_path / "one.svg").getroot().findall(".//{http://www.w3.org/2000/svg}path")
    r = run_cli("--lines", *GUIDE_LINES, "--biases", "1.8", "0.6", "1.2", "--styles", "0", "1", "2",
                "--format", "png", "--seed", "3", "--out", str(tmp_path / "doc.png"), *common)
    assert r.returncode == 0, r.stderr
    assert "seed 3" in r.stdout
    assert (tmp_path / "doc.png").read_bytes()[:4] == b"\x89PNG"
    # default output path lands in samples/ under the working directory
    r = run_cli("--text", "abc", *common, "--seed", "9", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "samples" / "abc-9.svg").exists()


def test_errors_are_one_clear_line_and_exit_2(tiny_ckpt_path, tiny_style_dir, tmp_path):
    common = ["--checkpoint", str(tiny_ckpt_path), "--style_dir", str(tiny_style_dir)]
    cases = [(["--text", "caf\u00e9"], "cannot write '\u00e9'"),
             (["--text", "abc", "--style", "42"], "valid style ids: 0-2"),
             (["--lines", "a", "b", "--biases", "1", "2", "3"], "--biases has 3 values for 2 lines")]
    for args, message in cases:
        r = run_cli(*args, *common, "--out", str(tmp_path / "x.svg"))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.svg").exists()
    r = run_cli("--text", "abc", "--checkpoint", str(tmp_path / "missing.pt"))
    assert r.returncode == 2 and "no checkpoint file" in r.stderr
