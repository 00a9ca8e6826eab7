"""`vpype scribe`, in this process: vpype's own pipeline runner with the plug-in's command added (the
installed entry point and the real `vpype` command are tests/test_package.py's, slow). The shipped model
writes, with the legibility check off (candidates 1) unless a test is about it."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT

vpype_cli = pytest.importorskip("vpype_cli")
click = pytest.importorskip("click")

from scribe import vpype_plugin  # noqa: E402
from scribe.render.page import MM_PER_PX  # noqa: E402

vpype_cli.cli.add_command(vpype_plugin.scribe)
MM = 1 / MM_PER_PX          # CSS px per mm: vpype's unit


def run(pipeline: str):
    return vpype_cli.execute(pipeline)


def paths(layer) -> list[np.ndarray]:
    return [np.column_stack([line.real, line.imag]) for line in layer]


def test_a_first_word_is_the_text_and_the_options_may_follow_it_up_to_the_next_command():
    cmd = vpype_plugin.scribe
    assert vpype_plugin.options_first(cmd, ["Dear Ada", "--style", "3", "--bias", "1", "linesort", "gwrite",
                                            "-p", "gcode", "out.gcode"]) == \
        ["--text", "Dear Ada", "--style", "3", "--bias", "1", "linesort", "gwrite", "-p", "gcode", "out.gcode"]
    # -p takes two values; the text may come after options; a second plain word is the next command
    assert vpype_plugin.options_first(cmd, ["-s", "3", "-p", "1mm", "2mm", "hi", "-L", "write", "o.svg"]) == \
        ["-s", "3", "-p", "1mm", "2mm", "--text", "hi", "-L", "write", "o.svg"]
    # with --file (or --text) there is no first word to take: the next command stays a command
    assert vpype_plugin.options_first(cmd, ["--file", "f.txt", "write", "o.svg"]) == ["--file", "f.txt", "write", "o.svg"]
    assert vpype_plugin.options_first(cmd, ["--seed=3", "hi", "write"]) == ["--seed=3", "--text", "hi", "write"]


def test_scribe_writes_one_layer_at_the_position_and_size_given_in_vpypes_units():
    doc = run('scribe "Dear Ada" --style 3 --bias 1 --seed 5 --candidates 1 --size 8mm -p 10mm 2cm linesort')
    assert list(doc.layers) == [1]
    xmin, ymin, xmax, ymax = doc.bounds()
    assert xmin == pytest.approx(10 * MM, abs=1.0) and ymin == pytest.approx(20 * MM, abs=1.0)
    assert 25 * MM < xmax - xmin < 60 * MM, "two words at 8 mm are a few cm wide"
    # the same seed writes the same ink: twice the size is exactly twice as wide
    big = run('scribe "Dear Ada" --style 3 --bias 1 --seed 5 --candidates 1 --size 16mm')
    bx0, _, bx1, _ = big.bounds()
    assert (bx1 - bx0) == pytest.approx(2 * (xmax - xmin), rel=1e-6)
    # i-dots and full stops survive as short dashes: vpype keeps no zero-length path
    assert all(len(p) >= 2 and np.ptp(p, axis=0).max() > 0 for p in paths(doc.layers[1]))


def test_one_layer_per_line_from_a_file_with_a_blank_line_as_a_gap(tmp_path):
    text = tmp_path / "letter.txt"
    text.write_text("Dear Ada,\n\nthe engine works.\n", encoding="utf-8")
    doc = run(f'scribe --file {text} -L --seed 2 --candidates 1 --line-spacing 15mm')
    assert list(doc.layers) == [1, 2]
    assert [doc.layers[i].metadata.get("vp_name") for i in (1, 2)] == ["scribe line 1", "scribe line 3"]
    top1, top3 = (np.median(np.concatenate(paths(doc.layers[i]))[:, 1]) for i in (1, 2))
    assert top3 - top1 == pytest.approx(2 * 15 * MM, rel=0.15), "lines 1 and 3 sit two line-spacings apart"
    at = run(f'scribe --file {text} -L -l 5 --seed 2 --candidates 1')
    assert list(at.layers) == [5, 7]


def test_the_legibility_check_runs_and_says_what_it_found(capfd):
    run('scribe "hello there" --seed 1 --candidates 2')
    assert "legibility check" in capfd.readouterr().err


@pytest.mark.parametrize("pipeline, message", [
    ('scribe "hi" --bias 9 --candidates 1', "bias 9"),
    ('scribe "hi" --style 1 --likeness 3 --candidates 1', "likeness 3.0 is not a number in 0-1"),
    ('scribe "hi" --style 99 --candidates 1', "style"),
    ('scribe "hi" --candidates 40', "40"),
    ('scribe "hi" --size 0.5mm', "writing size"),
    ('scribe "hi" --line-spacing 1mm', "--line-spacing"),
    ('scribe "\u4e2d\u6587" --candidates 1', "cannot write"),
])
def test_a_bad_request_is_one_clear_message_from_scribes_own_checks(pipeline, message):
    with pytest.raises(click.ClickException, match=message):
        run(pipeline)


def test_no_text_is_a_usage_error():
    with pytest.raises(click.UsageError, match="give the text"):
        run("scribe --seed 1")


def test_loading_the_plugin_imports_neither_torch_nor_vpype_until_vpype_asks():
    code = ("import sys, scribe.vpype_plugin; a = {'torch', 'vpype'} & set(sys.modules); "
            "scribe.vpype_plugin.scribe; b = 'torch' in sys.modules; print(sorted(a), b)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "False"]      # vpype loads every plug-in for every command it runs


def test_a_missing_text_is_not_taken_from_the_next_command():
    cmd = vpype_plugin.scribe
    assert vpype_plugin.options_first(cmd, ["--seed", "1", "write", "o.svg"], {"write", "linesort"}) == \
        ["--seed", "1", "write", "o.svg"]
    doc = run('scribe --text write --seed 1 --candidates 1')      # the word itself, on purpose
    assert len(doc.layers[1]) > 0


def test_the_page_holds_the_writing_with_the_positions_margin_on_every_side():
    doc = run('scribe "Dear Ada" --seed 5 --candidates 1 -p 10mm 10mm')
    x0, y0, x1, y1 = doc.bounds()
    w, h = doc.page_size
    assert w == pytest.approx(x1 + 10 * MM) and h == pytest.approx(y1 + 10 * MM)


def test_the_help_states_scribes_own_defaults():
    from scribe.candidates import DEFAULT_CANDIDATES
    from scribe.request import DEFAULT_BIAS
    ctx = click.Context(vpype_plugin.scribe, info_name="scribe")
    text = " ".join(vpype_plugin.scribe.get_help(ctx).split())
    assert f"default {DEFAULT_CANDIDATES}, as scribe-write" in text and f"(default {DEFAULT_BIAS:g})" in text
    assert "Usage: scribe [TEXT] [OPTIONS]" in text and "non-commercial research only" in text
