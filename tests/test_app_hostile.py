"""Hostile and careless requests to the real server (issue 14, items 1, 6, 9 and 10 in the web layer):
every value reaches the app's own checks or gets a typed refusal, messages are escaped and name no
server folder, and the visitors' own styles stay private when the app is served beyond this machine.

The request checks run without a server (fast); the rest drive the real server through gradio_client,
raw HTTP (NaN / Infinity literals, wrong JSON types) and headless chromium (slow).
"""
from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path

import pytest

from helpers import MAX_STEPS, browser_page, needs_browser, start_app, synthetic_offsets, tiny_checkpoint
from scribe.checkpoint import save_training_checkpoint
from scribe.errors import InputError
from scribe.styles import write_style
from scribe.web import forms, outputs, views

GRADIO_CRASH = "has raised an exception"     # gradio_client's words when Gradio failed before the app ran


# ---- the request check, without a server ---------------------------------------------------------------
@pytest.mark.parametrize("parse, value, words", [
    (lambda v: forms.parse_number(v, "bias", 0, 4, 1), "abc", "bias must be a number, not 'abc'"),
    (lambda v: forms.parse_number(v, "bias", 0, 4, 1), [1, 2], "bias must be a number, not [1, 2]"),
    (lambda v: forms.parse_number(v, "bias", 0, 4, 1), True, "bias must be a number, not True"),
    (lambda v: forms.parse_number(v, "bias", 0, 4, 1), 10**400, "bias must be a number"),
    (forms.parse_seed, math.inf, "seed must be a whole number from 0"),
    (forms.parse_seed, {"a": 1}, "seed must be a whole number (or blank for random), not {'a': 1}"),
    (forms.parse_style, [[[]]], "style must be a style id"),
    (forms.parse_style, math.nan, "style must be a style id"),
    (forms.parse_align, {}, "align must be one of left, center, right, not {}"),
    (forms.parse_wrap, "abc", "wrap width must be a whole number"),
    (forms.parse_wrap, 1e308, "wrap width must be between 5 and"),
    (forms.parse_candidates, [1], "candidates per line must be a whole number"),
    (forms.parse_size, {"mm": 6}, "writing size must be a number of mm"),
    (forms.parse_color, 5, "ink colour 5 is not a colour"),
    (lambda v: forms.parse_flag(v, "loop"), "yes please", "loop must be true or false"),
    (lambda v: forms.parse_text(v, "text"), {"text": 5}, "text must be text (a string), not dict"),
    (lambda v: forms.plotter_options(paper=v), 3.5, "paper must be text"),
    (lambda v: forms.specs_from_block(v), ["Hello"], "the text must be text"),
])
def test_every_parser_takes_any_json_value_and_names_the_field(parse, value, words):
    with pytest.raises(InputError) as e:
        parse(value)
    assert words in str(e.value)


def test_echoed_values_are_cut_short():
    with pytest.raises(InputError) as e:
        forms.parse_seed("x" * 300)
    assert len(str(e.value)) < 120 and "xxxx…" in str(e.value)


def test_loose_values_that_mean_something_still_work():
    assert forms.parse_style("3") == 3 and forms.parse_style(3.0) == 3 and forms.parse_style("free") is None
    assert forms.parse_seed("7") == 7 and forms.parse_seed(None) is None and forms.parse_seed(math.nan) is None
    assert forms.parse_flag("true", "gif") is True and forms.parse_flag(0, "gif") is False
    assert forms.parse_wrap(None) is None and forms.parse_wrap(30.0) == 30 and forms.parse_wrap("") == forms.DEFAULT_WRAP


def test_messages_are_escaped_and_name_no_server_folder(tmp_path):
    views.SERVER_FOLDERS.add(str(tmp_path))
    text = views.shown_text(f"no style 9 in {tmp_path}/styles; not '<img src=x onerror=alert(1)>'")
    assert text == "no style 9 in styles; not '&lt;img src=x onerror=alert(1)&gt;'"
    here = Path(outputs.__file__).resolve().parent
    assert views.shown_text(f"{here}/x.py") == "scribe/web/x.py"


def test_a_document_is_json_text_never_a_server_path(tmp_path):
    """/write_document's text is the document itself: a planted document file is never read, and an
    existing path and a missing one get the same answer (no existence oracle)."""
    planted = tmp_path / "planted.scribe.json"
    planted.write_text(json.dumps({"scribe_document": 1, "seed": 1, "lines": [{"text": "leaked"}]}))
    answers = []
    for text in (str(planted), str(planted) + "X", "/etc/passwd", "/etc/passwdX"):
        with pytest.raises(InputError) as e:
            outputs.document_from_text(text)
        answers.append(str(e.value))
    assert len(set(answers)) == 1 and "not a file name" in answers[0]
    with pytest.raises(InputError, match="nested too deeply"):
        outputs.document_from_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")


# ---- the real server ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client
    base = tmp_path_factory.mktemp("hostile")
    save_training_checkpoint(tiny_checkpoint(seed=0), base / "models" / "checkpoint-7.pt")
    for i, text in enumerate(["hello there", "quick fox", "a line of ink"]):
        write_style(base / "styles", i, text, synthetic_offsets(seed=i))
    demo, url = start_app(base / "models" / "checkpoint-7.pt", base / "styles", MAX_STEPS, user_dir=base / "user")
    try:
        client = Client(url, verbose=False)
        api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        yield {"url": url, "client": client, "base": base,
               "params": {k: [q["parameter_name"] for q in v["parameters"]] for k, v in api.items()}}
    finally:
        demo.close()


def call_raw(url: str, name: str, body: str) -> tuple[str, object]:
    """POST a raw JSON body to /gradio_api/call/<name> and read the result: (event, data)."""
    req = urllib.request.Request(f"{url}gradio_api/call/{name}", body.encode("utf-8", "surrogatepass"),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{name}/{event_id}", timeout=120) as r:
        stream = r.read().decode("utf-8")
    event, data = [line.split(": ", 1)[1] for line in stream.strip().split("\n")[-2:]]
    return event, json.loads(data)


def app_error(client, **kwargs):
    """The AppError a request gets (its title and message), failing if it was written."""
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError) as e:
        client.predict(**kwargs)
    return e.value.title, e.value.message


@pytest.mark.slow
@pytest.mark.parametrize("kwargs, title, words", [
    (dict(text="Hello", style="3", api_name="/write_text"), "Cannot write this", "no style 3"),   # the issue's example
    (dict(text="Hello", bias="abc", api_name="/write_text"), "Cannot write this", "bias must be a number, not 'abc'"),
    (dict(text="Hello", seed=[1, 2], api_name="/write_text"), "Cannot write this", "seed must be a whole number"),
    (dict(text={"a": 1}, api_name="/write_text"), "Cannot write this", "the text must be text"),
    (dict(text="Hello", wrap_at={}, api_name="/write_text"), "Cannot write this", "wrap width"),
    (dict(lines=[{"text": "hi"}], png_dpi="high", api_name="/write"), "Cannot write this", "PNG resolution"),
    (dict(lines=[{"text": "hi"}], candidates="many", api_name="/write"), "Cannot write this", "candidates"),
    (dict(lines=[{"text": "hi"}], checkpoint=[1], api_name="/write"), "Checkpoint problem", "checkpoint must be"),
    (dict(lines=[{"text": "hi"}], gif="sometimes", api_name="/write_animated"), "Cannot write this", "gif must be"),
    (dict(lines=[{"text": "hi"}], landscape=[], api_name="/write_plotter"), "Cannot write this", "landscape"),
    (dict(text="Hi there", page=3.5, api_name="/write_paragraph"), "Cannot write this", "page must be text"),
    (dict(ink=5, text="hello world", api_name="/make_style"), "Cannot write this", "ink must be text"),
    (dict(document=[], api_name="/write_document"), "Cannot write this", "document must be"),
])
def test_wrong_types_through_the_client_get_the_apps_own_message(server, kwargs, title, words):
    got_title, message = app_error(server["client"], **kwargs)
    assert GRADIO_CRASH not in message and got_title == title and words in message, (got_title, message)


@pytest.mark.slow
def test_the_issues_example_with_a_style_the_bank_has_writes(server):
    svg, png, seed, summary, _ = server["client"].predict(text="Hello", style="2", seed="4", api_name="/write_text")
    assert Path(svg).is_file() and seed == 4 and "Wrote 1 line" in summary


@pytest.mark.slow
@pytest.mark.parametrize("name, first, words", [
    ("write_text", '"Hello", NaN, Infinity, "#000", -Infinity', "bias"),
    ("write", '[{"text": "hi", "bias": NaN}], Infinity', "bias"),
    ("write", '[{"text": "hi"}], {"seed": 1}', "seed must be"),
    ("write", '[{"text": "hi"}], 1, 96, "left", "", "6mm", NaN', "line spacing"),
    ("write_animated", '[{"text": "hi"}], null, "left", "", NaN', "speed"),
    ("write_paragraph", '"Hi", null, null, null, null, "a4", NaN', "margin"),
    ("write_document", '{"scribe_document": 1, "seed": NaN, "lines": []}', "seed must be"),
    ("make_style", '"[[[0, 0], [1, 1]]]", "hello", {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}',
     "file: only files uploaded to this server"),
    ("make_style", '"", "hello", "/etc/passwd"', "file: only files uploaded"),
    ("make_style", '"", "hello", {"path": 5}', "file: only files uploaded"),
])
def test_raw_http_with_nan_and_wrong_types_is_refused_by_the_app(server, name, first, words, capfd):
    """The first values as JSON text (NaN and Infinity literals included), then nulls for the rest."""
    n = len(server["params"][f"/{name}"])
    body = '{"data": [' + first + ", null" * (n - len(json.loads(
        "[" + first.replace("NaN", "0").replace("-Infinity", "0").replace("Infinity", "0") + "]"))) + "]}"
    event, data = call_raw(server["url"], name, body)
    out, err = capfd.readouterr()
    assert event == "error" and data["error"], data            # a message, never {"error": null}
    assert data["title"] != "Unexpected error" and words in data["error"], data
    assert "Traceback" not in out + err
    assert str(server["base"]) not in data["error"] and "/tmp/" not in data["error"]


@pytest.mark.slow
def test_too_few_values_are_refused_naming_what_the_endpoint_takes(server, capfd):
    event, data = call_raw(server["url"], "write", '{"data": [[{"text": "hi"}]]}')
    assert event == "error" and data["title"] == "Cannot read this request"
    assert "this endpoint takes 11 values (lines, seed, png_dpi" in data["error"] and "sent 1" in data["error"]
    assert "Traceback" not in "".join(capfd.readouterr())


@pytest.mark.slow
def test_info_and_errors_name_no_server_folder(server):
    c, base = server["client"], str(server["base"])
    info = c.predict(api_name="/info")
    assert base not in json.dumps(info) and "/tmp" not in json.dumps(info)
    assert info["checkpoints"][0]["file"] == "checkpoint-7.pt" and info["default_checkpoint"] == "checkpoint-7.pt"
    # the name /info gives is one the API takes
    svg, *_ = c.predict(lines=[{"text": "hi"}], seed=1, checkpoint="checkpoint-7.pt", api_name="/write")
    assert Path(svg).is_file()
    _, message = app_error(c, lines=[{"text": "hi", "style": 9}], api_name="/write")
    assert "no style 9" in message and base not in message
    # the checkpoint menu holds labels, not server paths
    page = urllib.request.urlopen(server["url"] + "config", timeout=60).read().decode()
    assert base not in page


@pytest.mark.slow
@needs_browser
def test_markup_typed_into_the_seed_box_is_shown_as_text_not_rendered(server):
    """Gradio shows error messages as HTML, and the message echoes the seed: an <img onerror> typed
    there must appear as text, never become an element the browser loads."""
    evil = '<img src="x-scribe-probe.png" onerror="window.__scribe_xss=1" id="scribe-xss">'
    fetched = []
    with browser_page() as page:
        page.on("request", lambda r: fetched.append(r.url) if "x-scribe-probe" in r.url else None)
        page.goto(server["url"])
        page.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
        page.locator("#scribe-seed textarea, #scribe-seed input").first.fill(evil)
        page.locator("#scribe-write").click()
        toast = page.get_by_text("seed must be a whole number").first
        toast.wait_for(timeout=60_000)
        shown = toast.inner_text()
        page.wait_for_timeout(500)
        elements = page.evaluate("document.querySelectorAll('#scribe-xss').length")
        ran = page.evaluate("window.__scribe_xss === 1")
    assert elements == 0 and fetched == [] and not ran       # before: the <img> was an element, and fetched
    assert '<img src="x-scribe-probe.png"' in shown          # the user sees what they typed, as text
