import xml.etree.ElementTree as ET

import pytest

from scribe.checkpoint import CheckpointError
from scribe.hand import Hand
from scribe.errors import InputError
from scribe.request import LineSpec, MAX_CHARS_PER_LINE, MAX_LINES


def test_write_svg_and_png_and_blank_lines_kept(tiny_ckpt_path, tiny_style_dir, tmp_path):
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    doc = hand.write([LineSpec("abc", 0), LineSpec(""), LineSpec("de", None, 2.0, "blue", 3)], seed=1, max_steps=20)
    assert doc.lines[1] is None and doc.lines[0] is not None
    svg_path = doc.save(tmp_path / "x.svg")
    root = ET.parse(svg_path).getroot()
    groups = root.findall("{http://www.w3.org/2000/svg}g")
    assert groups[2].get("stroke") == "blue" and groups[2].get("stroke-width") == "3"
    assert doc.save(tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="cannot tell the output format"):
        doc.save(tmp_path / "x.jpg")


@pytest.mark.parametrize("specs, message", [
    ([], "nothing to write"),
    ([LineSpec("   ")], "every line is empty"),
    ([LineSpec("h\u00e9llo \u00fc \u03a9")], "cannot write '\u03a9'; it knows"),   # accents are written
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


# ---- the shared request check takes hostile values (issue 14, items 8 and 12) ----------------------------
@pytest.mark.parametrize("spec, message", [
    (LineSpec("abc", color="#zzzzzz"), "not a colour"),
    (LineSpec("abc", color="<img src=x onerror=alert(1)>"), "not a colour"),
    (LineSpec("abc", width=float("nan")), "stroke width nan"),
    (LineSpec("abc", width=-5), "stroke width -5"),
    (LineSpec("abc", width="wide"), "stroke width wide"),
    (LineSpec("abc", bias=float("nan")), "bias nan"),
    (LineSpec("abc", bias="3"), None),
    (LineSpec("abc", bias=[1]), "bias [1]"),
    (LineSpec(["abc"]), "text must be a string"),
    (LineSpec("a\x00b"), "cannot write '\\x00'"),
    (LineSpec("a\ud800b"), "cannot write '\\ud800'"),
])
def test_bad_values_in_a_line_are_named(tiny_ckpt_path, spec, message):
    hand = Hand.load(tiny_ckpt_path)
    if message is None:      # a number typed as text is still a number
        assert hand.check([spec])[0].bias == 3.0
        return
    with pytest.raises(InputError) as info:
        hand.check([spec])
    assert message in str(info.value)
    str(info.value).encode("utf-8")          # the message itself is always valid UTF-8


@pytest.mark.parametrize("kw, message", [({"seed": 2**70}, "seed must be"), ({"seed": -1}, "seed must be"),
                                         ({"seed": float("nan")}, "seed must be"), ({"seed": "7"}, "seed must be"),
                                         ({"max_steps": -5}, "step cap"), ({"max_steps": 10**9}, "step cap"),
                                         ({"max_steps": 2.5}, "step cap")])
def test_seed_and_step_cap_are_checked(tiny_ckpt_path, kw, message):
    hand = Hand.load(tiny_ckpt_path)
    with pytest.raises(InputError, match=message):
        hand.write([LineSpec("abc")], **kw)
    with pytest.raises(InputError, match=message):
        hand.write_paragraph("abc def", **kw)


def test_paragraph_pngs_obey_the_pixel_cap(tiny_ckpt_path, tmp_path):
    from scribe.render.paragraph import ParagraphLayout
    hand = Hand.load(tiny_ckpt_path)
    doc = hand.write_paragraph("abc de", layout=ParagraphLayout(page=None, width_mm=800, ink_height_mm=40),
                               seed=1, max_steps=30)
    with pytest.raises(InputError, match="megapixels"):
        doc.save(tmp_path / "p.png", "png", dpi=600)
    with pytest.raises(InputError, match="megapixels"):
        doc.png(0, dpi=600)
    with pytest.raises(InputError, match="megapixels"):
        hand.write([LineSpec("abc")], seed=1, max_steps=30).png(dpi=9000)
    assert not list(tmp_path.glob("*.png"))
    assert doc.export(tmp_path / "p.png", "png", dpi=48)[0].read_bytes()[:4] == b"\x89PNG"
