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

from helpers import (MAX_STEPS, browser_page, canvas_json, draw, make_style, needs_browser, open_tab, start_app,
                     synthetic_offsets, tiny_checkpoint)
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
    assert forms.parse_seed("7") == 7 and forms.parse_seed(None) is None
    with pytest.raises(InputError, match="seed must be a whole number"):     # JSON NaN: refused, as "nan" is
        forms.parse_seed(math.nan)
    assert forms.parse_flag("true", "gif") is True and forms.parse_flag(0, "gif") is False
    assert forms.parse_wrap(None) is None and forms.parse_wrap(30.0) == 30
    assert forms.parse_wrap("") == forms.DEFAULT_WRAP


def test_messages_are_escaped_and_name_no_server_folder(tmp_path):
    text = views.shown_text(f"no style 9 in {tmp_path}/styles; not '<img src=x onerror=alert(1)>'", [tmp_path])
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
    ("write", '[{"text": "hi"}], NaN', "seed must be"),                  # a raw NaN seed: refused, not "random"
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


# ---- item 10: the visitors' own styles ------------------------------------------------------------------
@pytest.mark.parametrize("host, share, env, expected", [
    ("127.0.0.1", False, None, False), ("localhost", None, None, False), (None, False, None, False),
    ("127.0.1.1", False, None, False), ("0.0.0.0", False, None, True), ("192.168.1.20", False, None, True),
    ("127.0.0.1", True, None, True), (None, False, "0.0.0.0", True),
])
def test_served_beyond_this_machine(host, share, env, expected, monkeypatch):
    from scribe.hosting import served_beyond_this_machine
    if env:
        monkeypatch.setenv("GRADIO_SERVER_NAME", env)
    else:
        monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    assert served_beyond_this_machine(host, share) is expected


@pytest.mark.parametrize("headers, why", [
    ([("host", "127.0.0.1:7860")], None), ([(b"Host", b"localhost:7860")], None), ([("host", "[::1]:7860")], None),
    ([("host", "127.0.0.1:7860"), ("X-Forwarded-For", "203.0.113.7")], "x-forwarded-for"),
    ([("host", "127.0.0.1:7860"), (b"forwarded", b"for=203.0.113.7")], "forwarded"),
    ([("host", "127.0.0.1:7860"), ("X-Real-IP", "203.0.113.7")], "x-real-ip"),
    ([("host", "127.0.0.1:7860"), ("Via", "1.1 proxy")], "via"),
    ([("host", "scribe.example.org")], "scribe.example.org"),          # a tunnel service, a proxy passing it on
])
def test_a_request_through_a_proxy_is_recognised(headers, why):
    from scribe.hosting import came_through_proxy
    found = came_through_proxy(headers)
    assert (found is None) if why is None else (why in found)


@pytest.mark.slow
def test_a_loopback_server_goes_private_on_the_first_request_through_a_proxy(tmp_path, tiny_ckpt_path,
                                                                           tiny_style_dir):
    """Before: privacy was decided from the bind address alone, so a server on 127.0.0.1 behind a reverse
    proxy or tunnel was public but offered every local style to everyone, and saved theirs for all."""
    from gradio_client import Client
    from scribe.web import app
    from scribe.web.state import AppSettings
    from helpers import free_port
    user = tmp_path / "user"
    write_style(user, 3, "the owner's hand", synthetic_offsets(seed=3))         # made locally earlier, shared
    demo = app.build_demo(AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                      user_style_dir=str(user), max_steps=MAX_STEPS))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)

    def page_config(headers=None) -> str:
        with urllib.request.urlopen(urllib.request.Request(f"{url}config", headers=headers or {}), timeout=60) as r:
            return r.read().decode("utf-8")

    try:
        # The page as built never holds a visitor's style, whatever the privacy: each page load fills its
        # menus (tabs.wire_menus) from state.style_menu, which locally offers it.
        offered = lambda: " ".join(label for label, _ in demo.scribe_state.style_menu(None))   # noqa: E731
        assert "the owner" not in page_config() and "the owner" in offered()
        assert Client(url, verbose=False).predict(api_name="/info")["own_styles"].startswith("shared")
        assert "the owner" not in page_config({"X-Forwarded-For": "203.0.113.7"})   # that very request: private
        assert "the owner" not in offered()                         # and every later page's menus
        c = Client(url, verbose=False)
        assert c.predict(api_name="/info")["own_styles"] == "per session"
        sid, _, _, summary = c.predict(ink=canvas_json("my own hand"), text="my own hand", api_name="/make_style")
        assert "this session only" in summary
        assert sorted(p.name for p in user.iterdir()) == ["style-3-chars.npy", "style-3-strokes.npy"]
    finally:
        demo.close()


def private_state(tmp_path, ckpt, styles, **kw):
    from scribe.web.state import AppSettings, AppState
    return AppState(AppSettings(checkpoint=str(ckpt), style_dir=str(styles), user_style_dir=str(tmp_path / "user"),
                                private_styles=True, **kw).resolved())


def test_private_styles_stay_in_their_session_and_the_shared_hand_never_sees_them(tmp_path, tiny_ckpt_path,
                                                                                tiny_style_dir):
    from scribe.request import LineSpec
    from scribe.styles import StyleError
    st = private_state(tmp_path, tiny_ckpt_path, tiny_style_dir)
    sid, mine = st.keep_style("my own hand", synthetic_offsets(seed=5))
    again, same = st.keep_style("my own hand", synthetic_offsets(seed=5), mine)
    other, theirs = st.keep_style("their hand", synthetic_offsets(seed=6))
    assert sid == 3 and again == 3 and same is mine
    assert other == 3 and theirs is not mine                       # each session numbers its own
    assert mine.get(3).text == "my own hand" and theirs.get(3).text == "their hand"
    assert st.session_styles() == 2 and not (tmp_path / "user").exists()           # nothing on the server's disk
    doc = st.hand(None, mine).write([LineSpec("hi", 3)], seed=1, max_steps=MAX_STEPS)
    assert doc.specs[0].style == 3
    with pytest.raises(InputError, match="no style 3"):                            # the shared hand: unchanged
        st.hand(None).write([LineSpec("hi", 3)], seed=1, max_steps=MAX_STEPS)
    with pytest.raises(InputError, match="no style 4"):
        st.hand(None, theirs).write([LineSpec("hi", 4)], seed=1, max_steps=MAX_STEPS)
    assert [c for c in st.style_menu(mine) if c[1] == "3"] and not [c for c in st.style_opts if c[1] == "3"]
    del theirs                                                                     # a session that ends
    import gc
    gc.collect()
    assert st.session_styles() == 1
    with pytest.raises(StyleError):
        mine.get(99)


def test_own_styles_are_capped_per_session_and_shared_fairly_per_server(tmp_path, tiny_ckpt_path, tiny_style_dir,
                                                                       monkeypatch):
    """Before: once the server held max_user_styles, every visitor was refused, so a few sessions could
    lock everyone out. Now a new style takes the place of the oldest of whoever holds the most."""
    from scribe.styles import StyleError
    from scribe.web import state as state_mod
    monkeypatch.setattr(state_mod, "MAX_SESSION_STYLES", 2)
    st = private_state(tmp_path, tiny_ckpt_path, tiny_style_dir, max_user_styles=3)
    _, a = st.keep_style("one line a", synthetic_offsets(seed=1))
    st.keep_style("one line b", synthetic_offsets(seed=2), a)
    with pytest.raises(StyleError, match="you have 2 styles of your own, the most one visitor keeps"):
        st.keep_style("one line c", synthetic_offsets(seed=3), a)
    assert st.keep_style("one line a", synthetic_offsets(seed=1), a)[0] == 3      # the same style again: no new one
    _, b = st.keep_style("one line d", synthetic_offsets(seed=4))
    assert st.session_styles() == 3                                               # the server is full
    sid, b = st.keep_style("one line e", synthetic_offsets(seed=5), b)           # b holds fewer than a: not refused
    assert sid == 4 and [x.text for x in b.styles()] == ["one line d", "one line e"]
    assert [x.text for x in a.styles()] == ["one line b"]                        # a's oldest made room
    assert st.session_styles() == 3
    _, c = st.keep_style("one line f", synthetic_offsets(seed=6))                # a newcomer takes from b
    assert len(b) == 1 and len(a) == 1 and len(c) == 1
    with pytest.raises(StyleError, match="this server already holds 3 styles made by its visitors, its limit, "
                                         "and nobody holds more than you"):
        st.keep_style("one line g", synthetic_offsets(seed=7), c)
    # a batch (a document's styles, an uploaded zip) is kept whole or not at all
    with pytest.raises(StyleError, match="you have 1 styles of your own and this adds 2"):
        st.keep_styles([("one line h", synthetic_offsets(seed=8)), ("one line i", synthetic_offsets(seed=9))], c)
    assert len(c) == 1 and st.session_styles() == 3


def test_a_full_local_folder_keeps_new_styles_in_their_session(tmp_path, tiny_ckpt_path, tiny_style_dir):
    """Before: once user_styles/ held max_user_styles, every visitor's style (made, uploaded, or in a
    document) was refused. Now one client filling it stops nobody: what does not fit stays in the
    session of whoever made it, under an id no shared style has."""
    from scribe.request import LineSpec
    from scribe.styles import StyleError
    from scribe.web.state import AppSettings, AppState
    local = AppState(AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                 user_style_dir=str(tmp_path / "mine"), max_user_styles=2).resolved())
    ids = [local.keep_style(t, synthetic_offsets(seed=k))[0]
           for k, t in [(0, "aaa bbb"), (1, "ccc ddd"), (0, "aaa bbb")]]
    assert ids == [3, 4, 3] and local.bank.ids == [0, 1, 2, 3, 4]                # shared, and the same style once
    assert not local.in_session(3, None) and "4" in {v for _, v in local.style_opts}
    sid, own = local.keep_style("eee fff", synthetic_offsets(seed=9))           # another client, folder full
    assert sid == 5 and own.ids == [5] and local.in_session(5, own)
    assert local.bank.ids == [0, 1, 2, 3, 4] and "5" not in {v for _, v in local.style_opts}
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "style-3-chars.npy", "style-3-strokes.npy", "style-4-chars.npy", "style-4-strokes.npy"]
    assert local.hand(None, own).write([LineSpec("hi", 5)], seed=1, max_steps=MAX_STEPS).specs[0].style == 5
    assert local.own_style_ids(own) == [3, 4, 5]              # a saved document carries them all
    assert local.keep_style("aaa bbb", synthetic_offsets(seed=0), own)[0] == 3    # a shared one is found
    # a batch that fits neither the folder nor the session adds none of its styles
    with pytest.raises(StyleError, match="mine/ holds 2 of its 2 styles"):
        local.keep_styles([(f"line {c}{c}", synthetic_offsets(seed=20 + k))
                           for k, c in enumerate("ghijklmnopqrstuvwxyza")], own)
    assert own.ids == [5] and local.bank.ids == [0, 1, 2, 3, 4]


def test_styles_pack_into_a_zip_and_come_back(tmp_path):
    from scribe.styles import MemoryStyleBank, pack_styles, unpack_styles
    bank = MemoryStyleBank(13)
    bank.add("hello there", synthetic_offsets(seed=1))
    bank.add("quick fox", synthetic_offsets(seed=2))
    back = unpack_styles([("your-styles.zip", pack_styles(bank.styles()))])
    assert [(s.style_id, s.text) for s in back] == [(13, "hello there"), (14, "quick fox")]
    assert all((a.offsets == b.offsets).all() for a, b in zip(back, bank.styles()))


def _npy(arr) -> bytes:
    import io
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _zip(files: dict) -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("files, words", [
    (lambda np: [("notes.txt", b"hi")], "not a style file"),
    (lambda np: [("style-1-chars.npy", _npy(np.array(b"hello")))], "style-1-strokes.npy is missing"),
    (lambda np: [("style-1-chars.npy", _npy(np.array(b"hello"))),
                 ("style-1-strokes.npy", _npy(np.array([{"a": 1}], dtype=object)))], "not a readable numpy array"),
    (lambda np: [("style-1-chars.npy", _npy(np.array(b"hello"))),
                 ("style-1-strokes.npy", _npy(np.full((4, 3), np.nan, np.float32)))], "NaN or infinite"),
    (lambda np: [("style-1-chars.npy", _npy(np.array(b"hello"))),
                 ("style-1-strokes.npy", _npy(np.zeros((6000, 3), np.float32)))], "at most 5000"),
    (lambda np: [("s.zip", _zip({f"style-{i}-chars.npy": b"x" for i in range(300)}))], "more than 200 files"),
    (lambda np: [("s.zip", _zip({"style-1-strokes.npy": b"\0" * 300_000}))], "over the 262144 byte limit"),
    (lambda np: [("s.zip", b"PK\x03\x04" + b"\0" * 40)], "not"),
])
def test_uploaded_style_files_are_untrusted(files, words):
    import numpy as np
    from scribe.styles import StyleError, unpack_styles
    with pytest.raises(StyleError, match=words):
        unpack_styles(files(np))


def test_a_npy_header_claiming_a_huge_array_is_refused_before_allocating():
    import io
    import numpy as np
    from scribe.styles import StyleError, unpack_styles
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)})
    evil = np.lib.format.magic(1, 0) + head.getvalue()[0:] + b"\0" * 64
    with pytest.raises(StyleError, match="strokes.npy: not a readable numpy array"):
        unpack_styles([("style-1-chars.npy", _npy(np.array(b"hello"))), ("style-1-strokes.npy", evil)])


def test_the_command_line_keeps_styles_private_when_served_beyond_this_machine(monkeypatch):
    from scribe.web import app
    seen = []

    class FakeDemo:
        def launch(self, **kwargs):
            pass

    trimmed = []
    monkeypatch.setattr(app, "build_demo", lambda settings: seen.append(settings) or FakeDemo())
    monkeypatch.setattr(app, "use_sampling_threads", lambda: None)
    monkeypatch.setattr(app, "bound_server_memory", lambda: trimmed.append(1))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    for argv in (["--port", "7999"], ["--host", "0.0.0.0"], ["--share"],
                 ["--max_user_styles", "5", "--max_sessions", "9"], ["--private_styles"]):
        app.main(argv)
    assert [s.private_styles for s in seen] == [False, True, True, False, True]
    assert seen[3].max_user_styles == 5 and seen[3].max_sessions == 9 and seen[0].max_sessions == 128
    assert len(trimmed) == 5                  # every server bounds its native memory first


def test_the_server_bounds_its_native_memory(monkeypatch):
    import os
    import platform
    from scribe.web import app
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert app.bound_server_memory() is glibc
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == str(app.ONEDNN_CACHE)


def test_launching_a_local_demo_beyond_this_machine_makes_its_styles_private(tmp_path, tiny_ckpt_path,
                                                                           tiny_style_dir):
    from scribe.web import app
    from scribe.web.state import AppSettings, AppState
    st = AppState(AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                              user_style_dir=str(tmp_path / "user")).resolved())
    st.keep_style("the owner's hand", synthetic_offsets(seed=3))        # a style made locally earlier
    assert "3" in {v for _, v in st.style_opts}

    class FakeDemo:
        scribe_state = st

        def launch(self, **kwargs):
            self.kwargs = kwargs

    demo = FakeDemo()
    app.launch(demo, host="0.0.0.0")
    assert st.private and "3" not in {v for _, v in st.style_opts} and st.bank.ids == [0, 1, 2]
    assert demo.kwargs["state_session_capacity"] == 128          # the sessions held in memory are bounded


@pytest.mark.slow
def test_calls_without_a_session_do_not_pile_up_in_memory(tmp_path, tiny_ckpt_path, tiny_style_dir):
    """Every raw HTTP call starts a Gradio session holding ~0.4 MB (its copy of the page's settings);
    Gradio kept 10,000 of them, so a loop of calls grew the server by gigabytes. The app keeps
    --max_sessions (here 5), the least recently used dropped first."""
    from scribe.web import app
    from helpers import free_port
    demo = app.build_demo(app.AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                          max_steps=MAX_STEPS, max_sessions=5))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        for _ in range(20):
            event, data = call_raw(url, "info", '{"data": []}')
            assert event == "complete"
        held = len(demo.state_holder.session_data)
    finally:
        demo.close()
    assert held <= 5


@pytest.fixture()
def served(tmp_path_factory):
    """The app as served beyond this machine (its visitors' styles per session), at most 3 of them."""
    from scribe.web import app
    from helpers import free_port
    base = tmp_path_factory.mktemp("served")
    save_training_checkpoint(tiny_checkpoint(seed=0), base / "models" / "checkpoint-7.pt")
    for i, text in enumerate(["hello there", "quick fox", "a line of ink"]):
        write_style(base / "styles", i, text, synthetic_offsets(seed=i))
    demo = app.build_demo(app.AppSettings(checkpoint=str(base / "models" / "checkpoint-7.pt"),
                                          style_dir=str(base / "styles"), user_style_dir=str(base / "user"),
                                          max_steps=MAX_STEPS, private_styles=True, max_user_styles=3))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield {"url": url, "base": base}
    finally:
        demo.close()


@pytest.mark.slow
def test_a_visitors_style_is_theirs_alone_downloadable_and_capped(served, tmp_path):
    """Before: a style made by one visitor of a public link was in every visitor's menu and wrote for
    anyone (and was saved in the server's user_styles/)."""
    from gradio_client import Client, handle_file
    a, b = Client(served["url"], verbose=False), Client(served["url"], verbose=False)
    sid, files, _, summary = a.predict(ink=canvas_json("my own hand", as_dict=True), text="my own hand",
                                       api_name="/make_style")
    assert sid == 3 and "this session only" in summary
    assert sorted(Path(f).name for f in files) == ["style-3-chars.npy", "style-3-strokes.npy", "your-styles.zip"]
    assert a.predict(lines=[{"text": "hello", "style": 3}], seed=1, api_name="/write")[3].startswith("Wrote 1 line")
    assert 3 in a.predict(api_name="/info")["styles"]
    info_b = b.predict(api_name="/info")
    assert info_b["styles"] == [0, 1, 2] and info_b["own_styles"] == "per session"
    _, message = app_error(b, lines=[{"text": "hello", "style": 3}], api_name="/write")
    assert "no style 3" in message
    assert not (served["base"] / "user").exists()                  # nothing of theirs on the server's disk
    # the same visitor, later, with the zip they downloaded: the style is back, under its id
    zip_path = next(f for f in files if f.endswith("your-styles.zip"))
    ids, summary = b.predict(files=[handle_file(zip_path)], api_name="/load_styles")
    assert ids == [3] and "for this browser session" in summary
    svg_a = a.predict(lines=[{"text": "hello", "style": 3}], seed=5, api_name="/write")[0]
    svg_b = b.predict(lines=[{"text": "hello", "style": 3}], seed=5, api_name="/write")[0]
    assert Path(svg_a).read_bytes() == Path(svg_b).read_bytes()    # the same ink: it is the same style
    # the server keeps at most 3 visitors' styles: a and b hold 2, c makes the third; d, holding none, is
    # not refused (the oldest style of someone holding more makes room); d's second one is
    c, d = Client(served["url"], verbose=False), Client(served["url"], verbose=False)
    c.predict(ink=canvas_json("quick brown fox"), text="quick brown fox", api_name="/make_style")
    assert d.predict(ink=canvas_json("lazy dog naps"), text="lazy dog naps", api_name="/make_style")[0] == 3
    title, message = app_error(d, ink=canvas_json("lazy cat naps"), text="lazy cat naps", api_name="/make_style")
    assert "this server already holds 3 styles made by its visitors" in message and title == "Style problem"
    bad = tmp_path / "style-1-strokes.npy"
    bad.write_bytes(b"\x93NUMPY not really")
    _, message = app_error(a, files=[handle_file(str(bad))], api_name="/load_styles")
    assert "style-1" in message and "Traceback" not in message


@pytest.mark.slow
@needs_browser
def test_browser_a_style_made_in_one_tab_is_not_offered_in_another(served):

    def new_row_choices(page) -> list[str]:
        open_tab(page, "Lines")
        n = page.locator(".scribe-line-text textarea").count()
        page.locator("#scribe-add").click()
        page.wait_for_function(f"document.querySelectorAll('.scribe-line-text textarea').length === {n + 1}")
        page.locator(".scribe-line-style input").nth(n).click()
        page.get_by_role("option").first.wait_for(timeout=30_000)
        names = page.get_by_role("option").all_inner_texts()
        page.keyboard.press("Escape")
        return names

    with browser_page() as page:
        other = page.context.browser.new_page()              # another tab: another session
        page.goto(served["url"])
        page.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
        open_tab(page, "Your own hand")
        draw(page, "my own hand")
        msg = make_style(page, "my own hand")
        mine = new_row_choices(page)
        other.goto(served["url"])
        other.locator(".scribe-line-text textarea").first.wait_for(timeout=60_000)
        theirs = new_row_choices(other)
    assert "for this browser session only" in msg
    assert any("(yours)" in c for c in mine) and not any("(yours)" in c for c in theirs)
    assert not (served["base"] / "user").exists()


def test_paragraph_text_that_is_not_text_is_refused_by_name():
    """Found by the fuzz (/write_paragraph_pdf with "text": -1180591620717411303424): an AttributeError
    deep in the wrapping code, shown as "Unexpected error"."""
    from types import SimpleNamespace
    from scribe.web import api
    for bad in (-1180591620717411303424, 3.5, ["a"], {"t": 1}):
        with pytest.raises(InputError, match="text must be text"):
            api.paragraph_request(SimpleNamespace(max_steps=None), {"text": bad, "color": "navy"})


def test_result_folders_are_bounded_by_size_as_well_as_age(tmp_path):
    """Before: result folders were removed by age only, so an hour of 600-dpi writes could fill the disk.
    Real folders of real files, with their times set: the clock is `now`, never the machine's pace."""
    import os
    from scribe.web import outputs
    root, now, mb = tmp_path / "scribe-app", 1_000_000.0, 1024 * 1024
    ages = {"a": 7200, "b": 3000, "c": 2000, "d": 1000, "e": 60}          # seconds old; "a" is over the hour
    for name, age in ages.items():
        (root / name).mkdir(parents=True)
        (root / name / "handwriting-1.png").write_bytes(b"\0" * mb)
        (root / name / "handwriting-1.svg").write_bytes(b"<svg/>")
        os.utime(root / name, (now - age, now - age))
    (root / "stray.txt").write_bytes(b"x")                                # not a result folder: left alone
    left = outputs.prune_outputs(root, max_age_s=3600, max_bytes=int(2.5 * mb), now=now)
    assert sorted(p.name for p in root.iterdir()) == ["d", "e", "stray.txt"]   # "a" by age, then b, c: oldest first
    assert left == 2 * (mb + 6)
    # a folder younger than the grace period is kept whatever the bound: its request may still be answering
    left = outputs.prune_outputs(root, max_age_s=3600, max_bytes=1, now=now)
    assert sorted(p.name for p in root.iterdir()) == ["e", "stray.txt"] and left == mb + 6
    assert outputs.prune_outputs(tmp_path / "none") == 0


def test_the_servers_copies_of_results_are_bounded_with_the_result_folders(tmp_path, monkeypatch):
    """The server keeps its own copy of every file it hands out (one folder per file, in its cache):
    a new result prunes those by the same size bound, oldest first, never a fresh one."""
    import os
    import tempfile
    import time
    from scribe.web import outputs
    cache, mb = tmp_path / "gradio-cache", 1024 * 1024
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))           # result folders under tmp_path too
    monkeypatch.setattr(outputs.OutputLimits, "max_bytes", int(1.5 * mb))
    now = time.time()
    for name, age in {"old": 1800, "older": 2400, "fresh": 10}.items():   # all younger than the hour
        (cache / name).mkdir(parents=True)
        (cache / name / "page.png").write_bytes(b"\0" * mb)
        os.utime(cache / name, (now - age, now - age))
    assert outputs.server_cache_root() == cache
    folder = outputs.result_folder()
    assert folder.parent == tmp_path / "scribe-app"
    assert sorted(p.name for p in cache.iterdir()) == ["fresh"]           # 3 MB over a 1.5 MB bound


def test_the_servers_output_bound_comes_from_its_flag(tmp_path, tiny_ckpt_path, tiny_style_dir, monkeypatch):
    from scribe.web import app, outputs
    from scribe.web.flags import parse_args
    monkeypatch.setattr(outputs.OutputLimits, "max_bytes", outputs.OutputLimits.max_bytes)
    assert parse_args([]).max_output_mb == outputs.DEFAULT_OUTPUT_MAX_MB
    flag = parse_args(["--max_output_mb", "7"]).max_output_mb
    app.build_demo(app.AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                   user_style_dir=str(tmp_path / "u"), max_output_mb=flag))
    assert outputs.OutputLimits.max_bytes == 7 * 1024 * 1024


@pytest.mark.slow
def test_a_document_refused_at_the_session_cap_adds_none_of_its_styles(served):
    """Before: a document with 25 embedded styles was refused at the per-session cap of 20, but the
    first ones had been kept already."""
    from gradio_client import Client
    from scribe.document import Document, EmbeddedStyle
    from scribe.request import LineSpec

    def document(n: int) -> str:
        specs = [LineSpec(f"line {k}", None) for k in range(n)]
        embedded = {k: EmbeddedStyle(f"my hand {k}", synthetic_offsets(seed=100 + k)) for k in range(n)}
        return Document(specs, seed=3, embedded=embedded).dumps()

    c = Client(served["url"], verbose=False)
    title, message = app_error(c, document=document(25), api_name="/write_document")
    assert "the most one visitor keeps is 20" in message and "this adds 25" in message
    assert c.predict(api_name="/info")["styles"] == [0, 1, 2]                    # none of the 25
    c.predict(document=document(2), api_name="/write_document")
    assert c.predict(api_name="/info")["styles"] == [0, 1, 2, 3, 4]              # a document that fits: all
