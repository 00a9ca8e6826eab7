"""A line's likeness: how much of a bank style's fitted hand (its adapter) the line applies, 0-1, or the
style's own strength when not given. Checked and named by the one request check; carried by the JSON
form, the CLI, CSV rows and the app's forms; written exactly as a bank whose file holds that strength."""
import shutil

import numpy as np
import pytest
import torch

from helpers import TINY_ALPHABET
from test_style_adapters import random_adapter
from scribe.alphabet import Alphabet
from scribe.batch import read_rows
from scribe.checkpoint import load_checkpoint
from scribe.errors import InputError
from scribe.hand import Hand
from scribe.request import LineSpec, ParagraphRequest, WriteRequest
from scribe.style_adapters import ADAPTER_FILE, load_adapters, own_strength, save_adapters
from scribe.styles import StyleBank
from scribe.web import forms


def _bank(ckpt_path, folder, strengths: dict, file_strength: float = 1.0, fit_of: dict | None = None):
    """Adapters for the styles in `strengths`, each with its own strength recorded (None: the file's).
    A style's fit is the same random one whatever its strength; `fit_of` {style: style} gives a style
    another's fit."""
    model = load_checkpoint(ckpt_path).build_model()
    adapted = {sid: random_adapter(model, 10 + (fit_of or {}).get(sid, sid), 0.5).params for sid in strengths}
    records = {sid: ({} if s is None else {"strength": s}) for sid, s in strengths.items()}
    save_adapters(folder / ADAPTER_FILE, model, adapted, records, file_strength)
    return model


def test_a_bad_likeness_is_named_with_its_line_and_none_is_the_style_s_own():
    alphabet = Alphabet(TINY_ALPHABET)
    for bad in (1.5, -0.1, "much", float("nan"), [0.5]):
        with pytest.raises(InputError) as e:
            WriteRequest([LineSpec("fine", None), LineSpec("hi", None, likeness=bad)]).check(alphabet)
        assert str(e.value).startswith("line 2: likeness ") and "0-1" in str(e.value)
    with pytest.raises(InputError, match="likeness 2"):
        ParagraphRequest("some words", likeness=2).check(alphabet)
    ok = WriteRequest([LineSpec("hi", None, likeness="0.25"), LineSpec("yo", None)]).check(alphabet)
    assert [s.likeness for s in ok.lines] == [0.25, None]
    assert ParagraphRequest("some words", likeness=0.5).check(alphabet).pen.likeness == 0.5


def test_the_json_form_carries_a_likeness_only_when_one_is_given():
    request = WriteRequest([LineSpec("a", 1, 1.0, likeness=0.3), LineSpec("b", 2)], seed=4)
    data = request.to_json()
    assert data["lines"][0]["likeness"] == 0.3 and "likeness" not in data["lines"][1]
    back = WriteRequest.from_json(data)
    assert [s.likeness for s in back.lines] == [0.3, None]
    para = ParagraphRequest("words", 1, likeness=0.7)
    assert ParagraphRequest.from_json(para.to_json()).likeness == 0.7
    with pytest.raises(InputError, match="line 1: likeness must be a number"):
        WriteRequest.from_json({"lines": [{"text": "a", "likeness": "high"}]})


def test_an_adapter_at_a_strength_is_the_file_loaded_at_that_strength(tiny_ckpt_path, tmp_path):
    model = _bank(tiny_ckpt_path, tmp_path, {1: None, 2: 0.6})
    own = load_adapters(tmp_path / ADAPTER_FILE, model)
    assert own[1].strength == 1.0 and own[2].strength == 0.6
    for s in (0.0, 0.35, 1.0):
        loaded = load_adapters(tmp_path / ADAPTER_FILE, model, strength=s)
        for sid in (1, 2):
            scaled = own[sid].at(s)
            assert scaled.key == loaded[sid].key
            for name, value in loaded[sid].params.items():
                assert torch.equal(scaled.params[name], value)
    assert own[2].at(0.6) is own[2]
    assert own[1].at(0.5).key != own[1].key


def test_a_line_s_likeness_writes_as_its_style_at_that_strength(tiny_ckpt_path, tiny_style_dir, tmp_path):
    """Style 1 carries its own strength 0.6. No likeness and 0.6 write the same ink; likeness 0.25 writes
    what a bank whose file holds 0.25 writes; two likenesses of one style in one batch each write as
    their own strength would (style 2 here is a copy of style 1's ink)."""
    for part in ("chars", "strokes"):
        shutil.copy(tiny_style_dir / f"style-1-{part}.npy", tiny_style_dir / f"style-2-{part}.npy")
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6})
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    assert own_strength(hand.styles.get(1)) == 0.6 and own_strength(hand.styles.get(0)) is None

    def ink(h, specs):
        return [ln.offsets for ln in h.write(specs, seed=5, max_steps=40, candidates=1).lines]

    plain, same = ink(hand, [LineSpec("hi all", 1, 1.0)]), ink(hand, [LineSpec("hi all", 1, 1.0, likeness=0.6)])
    np.testing.assert_array_equal(plain[0], same[0])
    quarter = ink(hand, [LineSpec("hi all", 1, 1.0, likeness=0.25)])
    other = tmp_path / "bank"
    shutil.copytree(tiny_style_dir, other)
    _bank(tiny_ckpt_path, other, {1: 0.25, 2: 1.0}, fit_of={2: 1})
    at_quarter = Hand.load(tiny_ckpt_path, other)
    np.testing.assert_array_equal(quarter[0], ink(at_quarter, [LineSpec("hi all", 1, 1.0)])[0])
    assert quarter[0].shape != plain[0].shape or not np.array_equal(quarter[0], plain[0])
    mixed = ink(hand, [LineSpec("hi all", 1, 1.0, likeness=0.25), LineSpec("hi all", 1, 1.0, likeness=1.0)])
    two_styles = ink(at_quarter, [LineSpec("hi all", 1, 1.0), LineSpec("hi all", 2, 1.0)])
    for a, b in zip(mixed, two_styles):
        np.testing.assert_array_equal(a, b)
    # the legibility check's candidates keep each line's likeness too
    checked = hand.write([LineSpec("hi all", 1, 1.0, likeness=0.25)], seed=5, max_steps=40, candidates=2)
    again = at_quarter.write([LineSpec("hi all", 1, 1.0)], seed=5, max_steps=40, candidates=2)
    np.testing.assert_array_equal(checked.lines[0].offsets, again.lines[0].offsets)


def test_a_likeness_its_style_cannot_give_is_said_once(tiny_ckpt_path, tiny_style_dir):
    _bank(tiny_ckpt_path, tiny_style_dir, {1: None})
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    result = hand.write([LineSpec("a b", 0, 1.0, likeness=0.5), LineSpec("c d", None, 1.0, likeness=0.2),
                         LineSpec("e f", 1, 1.0, likeness=0.2), LineSpec("g h", 0, 1.0, likeness=1.0)],
                        seed=1, max_steps=20, candidates=1)
    notes = [n for n in result.notes() if "likeness" in n.text]
    assert len(notes) == 1 and notes[0].level == "info"
    assert "the model's own hand and style 0 have none" in notes[0].text and "style 1" not in notes[0].text
    quiet = hand.write([LineSpec("a b", 0, 1.0), LineSpec("e f", 1, 1.0, likeness=0.2)], seed=1, max_steps=20,
                       candidates=1)
    assert not [n for n in quiet.notes() if "likeness" in n.text]
    page = hand.write_paragraph("some words here", style=0, max_steps=20, candidates=1, seed=1)
    assert not [n for n in page.notes() if "likeness" in n.text]
    page = hand.write(ParagraphRequest("some words here", style=1, likeness=0.3, seed=1, candidates=1, max_steps=20))
    assert page.request.likeness == 0.3 and all(s.likeness == 0.3 for s in page.specs)


def test_forms_and_csv_rows_take_a_likeness_by_name(tmp_path):
    specs, _ = forms.specs_from_rows([{"text": "a", "likeness": 0.4}, {"text": "b", "likeness": ""},
                                      {"text": "c", "likeness": "own"}, {"text": "d"}])
    assert [s.likeness for s in specs] == [0.4, None, None, None]
    with pytest.raises(InputError) as e:
        forms.specs_from_rows([{"text": "a", "likeness": 3}, {"text": "b", "likeness": "lots"},
                               {"text": "c", "likness": 0.5}])
    text = str(e.value)
    assert "line 1: likeness 3 is outside the allowed range 0-1" in text
    assert "line 2: likeness must be a number" in text
    assert "line 3: unknown field(s) likness; use text, style, bias, color, width, likeness" in text
    block, _ = forms.specs_from_block("one\ntwo", style=1, likeness=0.5)
    assert [s.likeness for s in block] == [0.5, 0.5]
    csv = tmp_path / "rows.csv"
    csv.write_text("text,style,likeness\nhello,1,0.5\nthere,1,\nbad,1,lots\n", encoding="utf-8")
    rows, bad = read_rows(csv)
    assert [r.specs[0].likeness for r in rows] == [0.5, None]
    assert bad == [(3, "likeness must be a number from 0 to 1, or blank, not 'lots'")]


@pytest.mark.parametrize("flags, message", [
    (["--likeness", "1.5"], "likeness 1.5 is not a number in 0-1"),
    (["--likenesses", "0.5", "nan"], "likeness nan is not a number in 0-1"),
    (["--lines", "a", "b", "--likenesses", "0.5", "0.2", "0.1"], "--likenesses has 3 values for 2 lines"),
])
def test_bad_likeness_flags_get_one_error_line_and_no_file(flags, message, tiny_ckpt_path, tiny_style_dir,
                                                           tmp_path, capsys):
    from scribe.sample import main
    out = tmp_path / "out.svg"
    text = [] if "--lines" in flags else ["--text", "hello"]
    code = main([*text, "--checkpoint", str(tiny_ckpt_path), "--style_dir", str(tiny_style_dir),
                 "--out", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_the_cli_writes_each_line_at_its_likeness(tiny_ckpt_path, tiny_style_dir, tmp_path):
    from scribe.document import Document
    from scribe.sample import main
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6})
    doc = tmp_path / "doc.json"
    code = main(["--lines", "hi all", "hi you", "--styles", "1", "--likenesses", "0.2", "1", "--seed", "3",
                 "--checkpoint", str(tiny_ckpt_path), "--style_dir", str(tiny_style_dir), "--max_steps", "30",
                 "--candidates", "1", "--out", str(tmp_path / "out.svg"), "--save_document", str(doc)])
    assert code == 0
    saved = Document.load(doc)
    assert [s.likeness for s in saved.lines] == [0.2, 1.0]
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    direct = hand.write([LineSpec("hi all", 1, likeness=0.2), LineSpec("hi you", 1, likeness=1.0)], seed=3,
                        max_steps=30, candidates=1)
    again = saved.write_again(hand)             # its seed and likenesses: the same ink
    for a, b in zip(again.lines, direct.lines):
        np.testing.assert_array_equal(a.offsets, b.offsets)


def test_the_app_offers_each_style_its_own_likeness(tiny_ckpt_path, tiny_style_dir):
    from scribe.web.state import AppSettings, AppState
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6, 2: None})
    state = AppState(AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                 user_style_dir=str(tiny_style_dir.parent / "user")))
    assert state.likeness_of("1") == 0.6 and state.likeness_of("2") == 1.0
    assert state.likeness_of("0") is None and state.likeness_of(forms.FREE_STYLE) is None
    assert state.likeness_of("99") is None
    assert state.new_row("x", 1)["likeness"] == 0.6 and state.new_row("x", 1, likeness=0.3)["likeness"] == 0.3
    assert state.new_row("x", 0, likeness=0.3)["likeness"] is None      # nothing to scale
    from scribe.web.tabs import asked_likeness
    assert asked_likeness(state, "1", 0.3) == 0.3
    assert asked_likeness(state, "0", 1.0) is None   # a locked slider asks nothing
    assert asked_likeness(state, forms.FREE_STYLE, 1.0) is None
    assert StyleBank(tiny_style_dir, adapters=False).adapter_file is None


def test_each_new_likeness_is_part_of_the_request_s_cost(tiny_ckpt_path, tiny_style_dir):
    """A style primed at a new likeness costs a priming; a request is charged for those it needs, so
    one that asks for many likenesses cannot run past the server's budget unseen."""
    from scribe import cost
    from scribe.cost import RequestTooCostly
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6})
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    specs = [LineSpec("hi", 1, 1.0, likeness=k / 20) for k in range(20)] + [LineSpec("hi", 1, 1.0),
                                                                           LineSpec("yo", 1, 1.0, likeness=0.6)]
    assert hand.primings_needed(specs) == 21           # 20 likenesses; 0.6 is the style's own
    assert cost.estimate([2] * 22, primings=21) == pytest.approx(cost.estimate([2] * 22) + 21 * cost.PRIME_S)
    with pytest.raises(RequestTooCostly):
        hand.write(specs, seed=1, max_steps=10, candidates=1, budget=20 * cost.PRIME_S)
    hand.write(specs[:3], seed=1, max_steps=10, candidates=1)
    assert hand.primings_needed(specs) == 18


def test_the_likeness_image_shows_the_writer_then_three_likenesses(tiny_ckpt_path, tiny_style_dir, tmp_path):
    """scripts/likeness_image.py (docs/img/likeness.png): one labelled row for the writer's own line and
    one per likeness, in one SVG that cairosvg renders."""
    import importlib.util
    import xml.etree.ElementTree as ET
    from helpers import ROOT
    spec = importlib.util.spec_from_file_location("likeness_image", ROOT / "scripts" / "likeness_image.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _bank(tiny_ckpt_path, tiny_style_dir, {1: 0.6})
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    rows = script.rows_for(hand, 1, seed=3, bias=1.0)
    assert [label for label, _ in rows] == ["style 1: the writer's own line", "likeness 0 (priming alone)",
                                           "likeness 0.6 (the style's own)", "likeness 1 (the fitted hand)"]
    assert rows[1][1] != rows[3][1]                  # likeness 0 and 1 write different ink
    root = ET.fromstring(script.compose(rows))
    assert len(root.findall("{http://www.w3.org/2000/svg}svg")) == 4
    import cairosvg
    assert cairosvg.svg2png(bytestring=script.compose(rows).encode())[:4] == b"\x89PNG"
