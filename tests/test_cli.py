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
    cases = [(["--text", "caf\u00e9 \u03a9"], "cannot write '\u03a9';"),
             (["--text", "abc", "--style", "42"], "valid style ids: 0-2"),
             (["--lines", "a", "b", "--biases", "1", "2", "3"], "--biases has 3 values for 2 lines")]
    for args, message in cases:
        r = run_cli(*args, *common, "--out", str(tmp_path / "x.svg"))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.svg").exists()
    r = run_cli("--text", "abc", "--checkpoint", str(tmp_path / "missing.pt"))
    assert r.returncode == 2 and "no checkpoint file" in r.stderr


# ---- CLI validation (issue 14, items 5 and 12) ------------------------------------------------------------
import pytest


@pytest.mark.parametrize("flags, message", [
    (["--colors", "#zzzzzz"], "not a colour"),
    (["--dpi", "0"], "dpi is outside"),
    (["--dpi", "nan"], "dpi is outside"),
    (["--seed", str(2**70)], "seed must be a whole number from 0 to 4294967295"),
    (["--seed", "-1"], "seed must be"),
    (["--max_steps", "-5"], "step cap must be a whole number"),
    (["--max_steps", "100000000"], "step cap"),
    (["--widths", "nan"], "stroke width nan"),
    (["--widths", "-5"], "stroke width -5"),
    (["--bias", "nan"], "bias nan"),
    (["--line_spacing", "nan"], "line spacing nan"),
])
def test_bad_flags_get_one_error_line_and_no_file(flags, message, tmp_path, tiny_style_dir, capsys):
    from scribe.sample import main
    ckpt = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(), ckpt)
    out = tmp_path / "out.svg"
    code = main(["--text", "hello", "--checkpoint", str(ckpt), "--style_dir", str(tiny_style_dir),
                 "--out", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_the_cli_refuses_a_png_over_the_pixel_cap(tmp_path, tiny_style_dir, capsys):
    from scribe.sample import main
    ckpt = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(), ckpt)
    common = ["--checkpoint", str(ckpt), "--style_dir", str(tiny_style_dir), "--max_steps", "30", "--seed", "1"]
    assert main(["--text", "hello", "--dpi", "9000", "--out", str(tmp_path / "w.png"), *common]) == 2
    assert "megapixels); the limit is 40 megapixels" in capsys.readouterr().err
    assert main(["--text", "hello", "--paragraph", "--page", "a4", "--dpi", "2000", "--format", "png",
                 "--out", str(tmp_path / "p.png"), *common]) == 2
    assert "use at most 643 dpi" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


def test_list_styles_names_every_style_with_its_hand(tiny_style_dir):
    import json
    (tiny_style_dir / "bank.json").write_text(json.dumps({"2": {"description": "slanted right, narrow, printed letters"}}))
    r = run_cli("--list_styles", "--style_dir", str(tiny_style_dir))
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert len(rows) == 4 and rows[-1].startswith("3 styles in")
    assert "slanted right, narrow, printed letters" in rows[2] and "'a line of ink'" in rows[2]
    assert "fitted" not in r.stdout                   # no adapters file in that folder
    shipped = run_cli("--list_styles")
    rows = shipped.stdout.splitlines()
    assert shipped.returncode == 0 and rows[-2].startswith("13 styles")
    assert rows[-1].startswith("13 of them also have the model's biases and output layer fitted") and "by style, chosen by legibility" in rows[-1]
    assert all("(no description)" not in row for row in rows)
    assert rows[5].endswith("likeness 0.15") and rows[0].endswith("likeness 1")     # each style's own
    assert "likeness" not in r.stdout.replace("--likeness", "")
