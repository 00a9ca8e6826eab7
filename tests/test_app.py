"""The Gradio app: its helpers (fast), and the real server driven by gradio_client (slow).

The server tests launch app.py's demo in this process with a tiny random checkpoint and a tiny style
bank, cap pen steps so that each write takes a fraction of a second, and call every documented
endpoint: /write, /write_text and /info.
"""
from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from helpers import MAX_STEPS, ROOT, SVG_NS, check_png, check_svg, free_port, parse_svg, tiny_checkpoint
from scribe.web import app, forms, outputs, state, views
from scribe.checkpoint import CheckpointError, save_shipped, save_training_checkpoint
from scribe.hand import Hand
from scribe.errors import InputError
from scribe.request import LineSpec, MAX_CHARS_PER_LINE, MAX_LINES, WriteRequest
from scribe.result import WARNING



# ---- helpers (no server) ----------------------------------------------------------------------------
@pytest.fixture()
def tiny_hand(tiny_ckpt_path, tiny_style_dir) -> Hand:
    return Hand.load(tiny_ckpt_path, tiny_style_dir)


def test_specs_from_rows_keeps_numbering_and_explains_gaps():
    specs, notes = forms.specs_from_rows([
        {"text": "first", "style": 1, "bias": 1.5, "color": "#112233", "width": 2},
        {"text": "   "},
        "third as a bare string",
        {"text": ""}, None,            # trailing empties are dropped, not written as gaps
    ])
    assert [s.text for s in specs] == ["first", "", "third as a bare string"]
    assert (specs[0].style, specs[0].bias, specs[0].color, specs[0].width) == (1, 1.5, "#112233", 2.0)
    assert specs[2].style is None and specs[2].bias == forms.DEFAULT_BIAS
    assert len(notes) == 1 and "line 2" in notes[0] and "gap" in notes[0]


def test_specs_from_rows_reports_every_problem_with_its_line():
    with pytest.raises(InputError) as e:
        forms.specs_from_rows([{"text": "ok", "bias": 9, "color": "url(#x)"}, {"text": "b", "style": "three"},
                             {"text": "c", "width": 0}, {"text": "d", "font": "serif"}])
    msg = str(e.value)
    for part in ("line 1: bias 9 is outside", "line 1: ink colour 'url(#x)'", "line 2: style must be",
                 "line 3: stroke width 0", "line 4: unknown field(s) font"):
        assert part in msg
    with pytest.raises(InputError, match="every line is empty"):
        forms.specs_from_rows(["", {"text": "  "}])
    with pytest.raises(InputError, match="must be a list"):
        forms.specs_from_rows("just a string")


def test_split_block_wraps_long_lines_and_keeps_paragraph_gaps():
    long = "word " * 30
    lines, notes = forms.split_block(f"\n\nShort line\n\n{long}\n\n", wrap_at=40)
    assert lines[0] == "Short line" and lines[1] == ""
    assert all(0 < len(ln) <= 40 for ln in lines[2:]) and len(lines) > 3
    assert notes and "wrapped 1 long line at 40" in notes[0]
    unwrapped, notes = forms.split_block("a\r\nb", wrap_at=None)
    assert unwrapped == ["a", "b"] and notes == []
    with pytest.raises(InputError, match="nothing to write"):
        forms.split_block(" \n ")
    with pytest.raises(InputError, match="too many lines"):
        forms.specs_from_block("\n".join(["x"] * (MAX_LINES + 1)))


def test_parsers_name_the_problem():
    assert forms.parse_seed("") is None and forms.parse_seed(None) is None
    assert forms.parse_seed("42") == 42 and forms.parse_seed(7.0) == 7
    for bad in ("-1", "1.5", "abc", 2**32, float("nan"), "nan", float("inf")):   # a raw NaN is no "random"
        with pytest.raises(InputError, match="seed must be a whole number"):
            forms.parse_seed(bad)
    assert forms.parse_dpi(None) == forms.DEFAULT_DPI and forms.parse_dpi("300") == 300
    with pytest.raises(InputError, match="outside the allowed range 24-600"):
        forms.parse_dpi(5000)
    with pytest.raises(InputError, match="align must be one of"):
        forms.parse_align("justify")
    assert forms.parse_style("free") is None and forms.parse_style("3") == 3 and forms.parse_style(4.0) == 4
    for ok in ("#abc", "#A1B2C3", "rgb(10, 20, 30)", "rgba(10,20,30,0.5)", "navy"):
        assert forms.parse_color(ok) == ok
    with pytest.raises(InputError, match="is not a colour"):
        forms.parse_color('red" onload="alert(1)')


def test_png_dpi_is_lowered_only_for_huge_pages():
    assert outputs.png_dpi_within_limit(800, 300, 300) == 300
    lowered = outputs.png_dpi_within_limit(3000, 3000, 600, max_pixels=10_000_000)
    assert lowered < 600
    scale = lowered / outputs.CSS_DPI
    assert 3000 * 3000 * scale * scale <= 10_000_000


def test_list_checkpoints_puts_the_explicit_one_first_without_duplicates(tmp_path):
    shipped, extra = tmp_path / "shipped", tmp_path / "drive"
    save_shipped(tiny_checkpoint(), shipped / "scribe-standin.safetensors")
    for step in (200, 400):
        save_training_checkpoint(tiny_checkpoint(), extra / f"checkpoint-{step}.pt")
    explicit = extra / "checkpoint-200.pt"
    listed = state.list_checkpoints(extra, first=explicit, shipped_dir=shipped)
    paths = [Path(p).name for _, p in listed]
    assert paths == ["checkpoint-200.pt", "scribe-standin.safetensors", "checkpoint-400.pt"]
    for label, p in listed:      # labels name the file and the folder it is in
        assert Path(p).name in label and Path(p).parent.name in label


def save_other_model(path: Path) -> None:
    """A safetensors file that is not a handwriting model (like checkpoints/recognizer.safetensors)."""
    import json
    import torch
    from safetensors.torch import save_file
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"w": torch.zeros(2)}, str(path), metadata={"scribe-recognizer": json.dumps({"format": "x"})})


def test_other_models_in_checkpoints_are_neither_listed_nor_started_with(tmp_path, monkeypatch):
    shipped = tmp_path / "checkpoints"
    save_other_model(shipped / "recognizer.safetensors")
    assert state.list_checkpoints(shipped_dir=shipped) == []
    import scribe.checkpoint
    monkeypatch.setattr(scribe.checkpoint, "SHIPPED_DIR", shipped)   # only the recogniser is there
    start, message = state.initial_checkpoint(None, [])
    assert start is None and "no checkpoint yet" in message and "no trained handwriting model" in message
    save_shipped(tiny_checkpoint(), shipped / "scribe-standin.safetensors")
    listed = state.list_checkpoints(shipped_dir=shipped)
    assert [Path(p).name for _, p in listed] == ["scribe-standin.safetensors"]
    assert state.initial_checkpoint(None, listed) == (listed[0][1], "")


def test_hand_cache_reuses_switches_and_reports_unreadable_files(tmp_path, tiny_style_dir):
    a, b, bad = tmp_path / "a.pt", tmp_path / "b.safetensors", tmp_path / "checkpoint-9.pt"
    save_training_checkpoint(tiny_checkpoint(seed=0), a)
    save_shipped(tiny_checkpoint(seed=1), b)
    save_training_checkpoint(tiny_checkpoint(), bad)
    bad.write_bytes(bad.read_bytes()[:2000])         # a copy cut short, as by a full disk
    cache = state.HandCache(tiny_style_dir, max_loaded=1)
    hand_a = cache.get(a)
    assert cache.get(a) is hand_a
    hand_b = cache.get(b)
    assert hand_b is not hand_a and cache.loaded() == [os.path.realpath(b)]   # LRU bound of 1
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        cache.get(bad)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        cache.get(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no checkpoint selected"):
        cache.get("")
    # A file rewritten in place (same path, new content) is loaded again.
    st = os.stat(b)
    save_shipped(tiny_checkpoint(seed=2), b)
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.get(b) is not hand_b


def test_style_chart_and_row_preview_show_each_styles_own_ink(tiny_style_dir):
    bank = state.style_bank(tiny_style_dir)
    chart = views.style_chart_html(bank)
    assert chart.count("<svg") == len(bank.ids) == 3
    for i in bank.ids:
        assert f"<b>{i}</b>" in chart
    svg = views.style_preview_svg(bank.get(1))
    root = parse_svg(svg)
    assert len(root.findall(f".//{SVG_NS}path")) == len(bank.get(1).strokes())
    assert "<svg" in views.style_row_preview(bank, "2")
    assert "no style" in views.style_row_preview(bank, forms.FREE_STYLE)
    assert "no style 99" in views.style_row_preview(bank, "99")
    assert [v for _, v in views.style_choices(bank)] == [forms.FREE_STYLE, "0", "1", "2"]
    assert "No style bank" in views.style_chart_html(None)


def test_write_files_saves_a_clean_svg_and_a_white_png(tiny_hand, tmp_path):
    specs = [LineSpec("Hello there", 0, 1.0, "#1f3a93", 2.0), LineSpec(""), LineSpec("second", None, 0.5)]
    request = WriteRequest(specs, seed=11, candidates=1, max_steps=MAX_STEPS)
    r = outputs.write_files(tiny_hand, request, dpi=150, out_root=tmp_path)
    root = check_svg(r.svg_path, n_lines=3)
    assert root.find(f"{SVG_NS}g").get("stroke") == "#1f3a93"
    assert r.svg_path.read_text() == r.svg and r.seed == 11 and r.lines == 2 and r.dpi == 150
    check_png(r.png_path)
    assert "seed 11" in r.summary() and "Wrote 2 lines" in r.summary()
    assert any("step cap" in n.text and n.level == WARNING for n in r.notes())   # MAX_STEPS cuts the tiny model's lines
    again = outputs.write_files(tiny_hand, request, dpi=150, out_root=tmp_path)
    assert again.svg == r.svg and again.svg_path != r.svg_path


def test_initial_checkpoint_says_none_yet(monkeypatch):
    def none_yet():
        raise CheckpointError("no checkpoint yet: train one")
    monkeypatch.setattr(state, "default_checkpoint", none_yet)
    assert state.initial_checkpoint(None, []) == (None, "no checkpoint yet: train one")
    assert state.initial_checkpoint(None, [("x", "/a/x.pt")]) == ("/a/x.pt", "")
    assert state.initial_checkpoint("/b/y.pt", []) == ("/b/y.pt", "")


def test_command_line_flags_and_environment(monkeypatch):
    monkeypatch.setenv("SCRIBE_CHECKPOINT", "/models/mine.safetensors")
    monkeypatch.setenv("SCRIBE_MAX_STEPS", "123")
    args = app.parse_args([])
    assert (args.checkpoint, args.max_steps, args.share) == ("/models/mine.safetensors", 123, None)
    assert args.host == "127.0.0.1"
    args = app.parse_args(["--checkpoint", "x.pt", "--share", "--port", "8000", "--checkpoint_dir", "/d"])
    assert (args.checkpoint, args.share, args.port, args.checkpoint_dir) == ("x.pt", True, 8000, "/d")
    assert app.parse_args(["--no-share"]).share is False


# ---- the real server ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """app.py's demo on a free port: a tiny .pt (the default) and a tiny .safetensors in the listed folder,
    an unreadable checkpoint-9.pt beside them, and a three-style bank."""
    from helpers import synthetic_offsets
    from scribe.styles import write_style
    from gradio_client import Client
    base = tmp_path_factory.mktemp("app")
    save_training_checkpoint(tiny_checkpoint(seed=0), base / "models" / "checkpoint-7.pt")
    save_shipped(tiny_checkpoint(seed=1), base / "models" / "other.safetensors")
    bad = base / "models" / "checkpoint-9.pt"
    save_training_checkpoint(tiny_checkpoint(), bad)
    bad.write_bytes(bad.read_bytes()[:2000])     # unreadable: cut short
    for i, text in enumerate(["hello there", "quick fox", "a line of ink"]):
        write_style(base / "styles", i, text, synthetic_offsets(seed=i))
    demo = app.build_demo(app.AppSettings(checkpoint=str(base / "models" / "checkpoint-7.pt"),
                                          checkpoint_dir=str(base / "models"), style_dir=str(base / "styles"),
                                          max_steps=MAX_STEPS, concurrency=2, max_queue=64))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield {"url": url, "client": Client(url, verbose=False), "models": base / "models", "demo": demo}
    finally:
        demo.close()


@pytest.mark.slow
def test_api_lists_the_documented_endpoints(server):
    api = server["client"].view_api(return_format="dict", print_info=False)
    assert {"/write", "/write_text", "/info"} <= set(api["named_endpoints"])
    assert api["unnamed_endpoints"] == {}       # the page's own events are private
    write = api["named_endpoints"]["/write"]
    assert [p["parameter_name"] for p in write["parameters"]] == ["lines", "seed", "png_dpi", "align", "checkpoint",
                                                                  "size", "line_spacing", "paper", "rule_pitch",
                                                                  "rule_color", "candidates"]
    assert [r["label"] for r in write["returns"]] == ["svg", "png", "seed_used", "summary", "legibility"]


@pytest.mark.slow
def test_write_returns_valid_svg_and_png_and_is_reproducible(server):
    c = server["client"]
    lines = [{"text": "Report due by nine.", "style": 0, "bias": 1.8},
             {"text": "Can't believe it!", "style": 1, "bias": 0.6, "color": "#aa0000", "width": 2.5},
             {"text": "Got your message.", "style": None, "bias": 1.2}]
    svg, png, seed, summary, check = c.predict(lines=lines, seed=1234, png_dpi=96, api_name="/write")
    root = check_svg(svg, n_lines=3)
    assert root.findall(f"{SVG_NS}g")[1].get("stroke") == "#aa0000"
    check_png(png)
    assert seed == 1234 and "Wrote 3 lines" in summary and "seed 1234" in summary
    # The legibility check ran at the default N with the shipped reader, and says so both ways.
    assert check["ran"] and check["lines_checked"] == 3 and check["candidates"] == 4
    assert 0.0 <= check["cer"] and "legibility check: 3 lines checked" in summary
    # The tiny random model scribbles: every line reads poorly, and the summary says which.
    assert check["poor_lines"] == [1, 2, 3] and "lines 1, 2, 3 still read poorly" in summary
    *_, off = c.predict(lines=lines, seed=1234, candidates=1, api_name="/write")
    assert not off["ran"] and off["lines_checked"] == 0
    *_, summary17, bad = c.predict(lines=lines, seed=1234, candidates=17, api_name="/write")
    assert not bad["ran"] and "legibility check not run" in summary17 and "from 1 to 16" in bad["skipped"]
    svg2, *_ = c.predict(lines=lines, seed=1234, png_dpi=96, api_name="/write")
    assert Path(svg2).read_text() == Path(svg).read_text()
    _, _, random_seed, *_ = c.predict(lines=lines, api_name="/write")      # seed omitted: random, reported
    assert isinstance(random_seed, (int, float)) and 0 <= random_seed < 2**32


@pytest.mark.slow
def test_a_likeness_goes_through_every_line_endpoint_by_name(server):
    """Rows take a likeness, and the block and paragraph endpoints take one as their last parameter (so
    callers that pass values in order are unchanged). This bank has no fitted hands, so the write says
    that likeness did nothing, and writes what it would without it."""
    c = server["client"]
    api = c.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name in ("/write_text", "/write_paragraph", "/write_paragraph_pdf", "/write_paragraph_live"):
        assert api[name]["parameters"][-1]["parameter_name"] == "likeness", name
    lines = [{"text": "hello", "style": 1, "likeness": 0.5}]
    svg, _, _, summary, _ = c.predict(lines=lines, seed=3, candidates=1, api_name="/write")
    assert "style 1 has none, so likeness did nothing" in summary
    plain, *_ = c.predict(lines=[{"text": "hello", "style": 1}], seed=3, candidates=1, api_name="/write")
    assert Path(svg).read_text() == Path(plain).read_text()
    *_, summary, _ = c.predict(text="hello", style=1, likeness=0.5, seed=3, candidates=1, api_name="/write_text")
    assert "likeness did nothing" in summary
    *_, summary, _ = c.predict(text="hello there", style=1, likeness=0.5, seed=3, candidates=1,
                               api_name="/write_paragraph")
    assert "likeness did nothing" in summary


@pytest.mark.slow
def test_write_text_splits_wraps_and_keeps_gaps(server):
    c = server["client"]
    text = "First paragraph line.\n\n" + "many words here " * 8
    svg, png, seed, summary, _ = c.predict(text=text, style=2, bias=1.0, wrap_at=30, seed=5, png_dpi=150,
                                        align="center", api_name="/write_text")
    n_lines = 2 + len(forms.split_block("many words here " * 8, 30)[0])
    check_svg(svg, n_lines=n_lines)
    img = check_png(png)
    assert "wrapped 1 long line at 30" in summary
    _, small_png, *_ = c.predict(text=text, style=2, bias=1.0, wrap_at=30, seed=5, png_dpi=75,
                                   api_name="/write_text")
    assert check_png(small_png).shape[1] < img.shape[1]       # resolution follows png_dpi


@pytest.mark.slow
def test_info_describes_checkpoints_styles_and_limits(server):
    info = server["client"].predict(api_name="/info")
    names = [Path(c["file"]).name for c in info["checkpoints"]]
    assert names[0] == "checkpoint-7.pt" and {"other.safetensors", "checkpoint-9.pt"} <= set(names)
    assert info["styles"] == [0, 1, 2]
    assert info["limits"]["max_lines"] == MAX_LINES and info["limits"]["max_chars_per_line"] == MAX_CHARS_PER_LINE
    assert info["limits"]["max_steps"] == MAX_STEPS


@pytest.mark.slow
def test_switching_checkpoint_needs_no_restart(server):
    c = server["client"]
    other = str(server["models"] / "other.safetensors")
    lines = [{"text": "same text", "style": 0}]
    svg_default, *_ = c.predict(lines=lines, seed=3, api_name="/write")
    svg_other, *_ = c.predict(lines=lines, seed=3, checkpoint=other, api_name="/write")
    svg_label, *_ = c.predict(lines=lines, seed=3, checkpoint=state.checkpoint_label(other), api_name="/write")
    assert Path(svg_other).read_text() != Path(svg_default).read_text()    # a different model writes
    assert Path(svg_label).read_text() == Path(svg_other).read_text()      # by label or by path


@pytest.mark.slow
@pytest.mark.parametrize("kwargs, expected", [
    ({"lines": [{"text": "naïve café ☃"}]}, "cannot write"),
    ({"lines": [{"text": "x" * (MAX_CHARS_PER_LINE + 1)}]}, f"the limit is {MAX_CHARS_PER_LINE}"),
    ({"lines": ["hi"] * (MAX_LINES + 1)}, f"too many lines: {MAX_LINES + 1}; the limit is {MAX_LINES}"),
    ({"lines": [{"text": "hi", "bias": 7}]}, "bias 7 is outside the allowed range"),
    ({"lines": [{"text": "hi", "style": 12}]}, "no style 12"),
    ({"lines": [{"text": "hi", "style": 1, "likeness": 2}]}, "likeness 2 is outside the allowed range 0-1"),
    ({"lines": ["", "  "]}, "every line is empty"),
    ({"lines": ["hi"], "seed": -5}, "seed must be a whole number"),
    ({"lines": ["hi"], "checkpoint": "/etc/passwd"}, "unknown checkpoint '/etc/passwd'"),
    ({"lines": ["hi"], "checkpoint": "checkpoint-9.pt"}, "corrupt or truncated"),
])
def test_bad_input_is_an_error_message_not_a_crash(server, kwargs, expected):
    from gradio_client.exceptions import AppError
    if kwargs.get("checkpoint") == "checkpoint-9.pt":       # the unreadable file in the listed folder
        kwargs = {**kwargs, "checkpoint": str(server["models"] / "checkpoint-9.pt")}
    with pytest.raises(AppError) as e:
        server["client"].predict(**kwargs, api_name="/write")
    assert expected in str(e.value)
    assert "Traceback" not in str(e.value)
    svg, *_ = server["client"].predict(lines=["still fine"], seed=1, api_name="/write")   # the server lives on
    check_svg(svg, n_lines=1)


@pytest.mark.slow
def test_unknown_characters_are_listed(server):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError) as e:
        server["client"].predict(text="snow ☃ and € signs", api_name="/write_text")
    assert "'☃'" in str(e.value) and "'€'" in str(e.value)


@pytest.mark.slow
def test_twenty_concurrent_requests_all_get_their_own_files(server):
    from gradio_client import Client
    url = server["url"]

    def one(i):
        c = Client(url, verbose=False)
        n = 1 + i % 3
        lines = [{"text": f"request {i} line {k}", "style": k % 3} for k in range(n)]
        svg, png, seed, summary, _ = c.predict(lines=lines, seed=1000 + i, png_dpi=72, api_name="/write")
        return i, n, svg, png, seed, summary

    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(one, i) for i in range(20)]
        results = [f.result(timeout=300) for f in futures]     # a hung request fails the test, not CI
    assert len(results) == 20
    for i, n, svg, png, seed, summary in results:
        assert seed == 1000 + i and Path(svg).name == f"handwriting-{1000 + i}.svg"
        check_svg(svg, n_lines=n)
        check_png(png)
        assert f"Wrote {n} line" in summary
    # The same request alone gives the same file: concurrent requests did not mix their state.
    svg_concurrent, svg_alone = results[7][2], one(7)[2]
    assert Path(svg_alone).read_text() == Path(svg_concurrent).read_text()


def test_app_builds_with_an_unreadable_checkpoint_and_says_why(tmp_path, tiny_style_dir):
    bad = tmp_path / "checkpoint-5.pt"
    bad.write_bytes(b"PK\x03\x04 cut short")
    demo = app.build_demo(app.AppSettings(checkpoint=str(bad), style_dir=str(tiny_style_dir)))
    config = str(demo.get_config_file())
    assert "cannot load the checkpoint" in config and "checkpoint-5.pt" in config


@pytest.mark.slow
def test_app_starts_without_any_checkpoint_and_says_so(tmp_path, monkeypatch, tiny_style_dir):
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    import urllib.request

    def none_yet():
        raise CheckpointError("no checkpoint yet: checkpoints/ holds no trained model")
    monkeypatch.setattr(state, "default_checkpoint", none_yet)
    monkeypatch.setattr(state, "SHIPPED_DIR", tmp_path / "empty")
    demo = app.build_demo(app.AppSettings(style_dir=str(tiny_style_dir), max_steps=MAX_STEPS))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        config = urllib.request.urlopen(url.rstrip("/") + "/config", timeout=30).read().decode()
        assert "no checkpoint yet" in config                  # the banner on the page
        with pytest.raises(AppError, match="no checkpoint yet"):
            Client(url, verbose=False).predict(lines=["hello"], api_name="/write")
    finally:
        demo.close()


@pytest.mark.slow
def test_docs_client_example_runs(server, tmp_path, monkeypatch):
    """docs/api.md's gradio_client example, run as written against a live server."""
    doc = (ROOT / "docs" / "api.md").read_text()
    assert "<!-- app-api-example -->" in doc, "docs/api.md lost its API example"
    block = doc.split("<!-- app-api-example -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert 'api_name="/write"' in block and 'api_name="/write_text"' in block
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block.replace("http://127.0.0.1:7860/", server["url"]), "docs/api.md", "exec"), namespace)
    check_svg(tmp_path / "letter.svg", n_lines=2)
    check_png(tmp_path / "letter.png")
    check_svg(namespace["svg"], n_lines=2)      # the /write_text call: two lines of text
    assert "Wrote 2 lines" in namespace["summary"]


@pytest.mark.parametrize("name", ["a\x00b.pt", "\ud800.pt"])
def test_hand_cache_names_a_nul_or_surrogate_checkpoint_as_missing(name):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        state.HandCache().get(name)


def test_share_is_on_in_a_colab_process_and_sampling_defaults_to_the_cpu(monkeypatch):
    """`!python app.py` in a Colab cell is a subprocess: Gradio's own Colab check (the IPython shell)
    fails there, so the app decides share itself, from Colab's environment."""
    launched = []

    class FakeDemo:
        def launch(self, **kwargs):
            launched.append(kwargs)

    monkeypatch.setattr(app, "build_demo", lambda settings: FakeDemo())
    monkeypatch.setattr(app, "use_sampling_threads", lambda: None)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    app.main(["--port", "7999"])
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20260101")
    app.main(["--port", "7999"])
    app.main(["--port", "7999", "--no-share"])
    assert [k["share"] for k in launched] == [False, True, False]
    # The measured sampling path is the CPU's; CUDA only when asked for.
    assert app.AppSettings().resolved().device == "cpu" and app.AppSettings().resolved().concurrency == 2
    assert app.AppSettings(device="cuda").resolved().device == "cuda"
