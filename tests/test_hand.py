import xml.etree.ElementTree as ET

import pytest

from scribe.checkpoint import CheckpointError
from scribe.hand import MAX_CHARS_PER_LINE, MAX_LINES, Hand, InputError, LineSpec


def test_write_svg_and_png_and_blank_lines_kept(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    doc = hand.write([LineSpec("abc", 0), LineSpec(""), LineSpec("de", None, 2.0, "blue", 3)], seed=1, max_steps=20)
    assert doc.lines[1] is None and doc.lines[0] is not None
    svg_path = doc.save(tmp_path / "x.svg")
    root = ET.parse(svg_path).getroot()
    groups = root.findall("{http://www.w3.org/2000/svg}g")
    assert groups[2].get("stroke") == "blue" and groups[2].get("stroke-width") == "3"
    assert doc.save(tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="unknown output format"):
        doc.save(tmp_path / "x.jpg")


@pytest.mark.parametrize("specs, message", [
    ([], "nothing to write"),
    ([LineSpec("   ")], "every line is empty"),
    ([LineSpec("h\u00e9llo \u00fc")], "cannot write '\u00e9', '\u00fc'"),
    ([LineSpec("a" * (MAX_CHARS_PER_LINE + 1))], f"limit is {MAX_CHARS_PER_LINE}"),
    ([LineSpec("a")] * (MAX_LINES + 1), f"limit is {MAX_LINES}"),
    ([LineSpec("a", bias=9)], "bias 9"),
    ([LineSpec("a", style=99)], "valid style ids: 0-2"),
])
def test_bad_requests_get_clear_errors(tiny_ckpt_path, tiny_style_dir, specs, message):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    with pytest.raises(InputError, match=message):
        hand.write(specs)


def test_no_checkpoint_yet_is_a_clear_error(monkeypatch, tmp_path):
    import scribe.checkpoint as ckpt
    monkeypatch.setattr(ckpt, "SHIPPED_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        Hand.load()
