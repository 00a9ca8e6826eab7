"""How scribe/web is wired: handlers read their inputs by name, never by position; no function takes ten
or more parameters; a result reaches the page through one function; cached models are never changed."""
import ast
import inspect
from pathlib import Path

import pytest

from helpers import MAX_STEPS, synthetic_offsets

WEB = Path(__file__).resolve().parent.parent / "scribe" / "web"
MAX_PARAMETERS = 9
CRYPTIC = {"sd", "dp", "al", "ck", "cn"}


def functions():
    for path in sorted(WEB.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield path.name, getattr(node, "name", "<lambda>"), node


def parameters(node) -> list[str]:
    a = node.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]]


def test_no_function_in_web_takes_ten_or_more_parameters_or_cryptic_ones():
    """Before: the four write functions of outputs.py took the write's parts one by one (12-14
    parameters); now they take a scribe.request request and the output options."""
    many = [(f, name, len(parameters(node))) for f, name, node in functions() if len(parameters(node)) > MAX_PARAMETERS]
    cryptic = [(f, name, sorted(CRYPTIC & set(parameters(node)))) for f, name, node in functions()
               if CRYPTIC & set(parameters(node))]
    assert many == [] and cryptic == []


def test_no_function_slices_or_indexes_its_star_args():
    """Before: tabs.py recovered settings with args[-8:-4] and args[-10:-8] of a handler's *args."""
    by_position = [(f, name, node.lineno) for f, name, node in functions() if node.args.vararg
                   for sub in ast.walk(node) if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name)
                   and sub.value.id == node.args.vararg.arg]
    assert by_position == []


def test_by_name_hands_the_values_over_by_name_each_optional():
    import gradio as gr
    from scribe.web.fields import Values, by_name

    seen = []
    handler = by_name(lambda v: seen.append(v) or v.seed, ["seed", "png_dpi"])
    params = inspect.signature(handler).parameters
    assert [p for p in params] == ["request", "seed", "png_dpi"]
    assert params["request"].annotation is gr.Request
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY and params[n].default is None
               for n in ("seed", "png_dpi"))
    assert handler(None, seed=7, png_dpi=96) == 7
    v = seen[0]
    assert isinstance(v, Values) and v.png_dpi == 96 and v.align is None and v.request is None

    def stream(v):
        yield v.seed
        yield v.seed + 1
    assert list(by_name(stream, ["seed"])(None, seed=1)) == [1, 2]


@pytest.mark.slow
def test_every_event_of_the_app_with_several_inputs_takes_them_by_name(tiny_ckpt_path, tiny_style_dir, tmp_path):
    """Every handler of scribe.web with more than one input gets them as keywords, by field name; the
    named endpoints' parameters are those names, in order."""
    from scribe.web import app
    demo = app.build_demo(app.AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                                          user_style_dir=str(tmp_path / "user"), max_steps=MAX_STEPS))
    ours = [fn for fn in demo.fns.values()
            if fn.fn is not None and getattr(fn.fn, "__module__", "").startswith("scribe.web")]
    positional = [fn.name for fn in ours if len(fn.inputs) > 1 and len(fn.input_keyword_names) != len(fn.inputs)]
    assert ours and positional == []
    endpoint = {fn.api_name: fn for fn in ours}["write_paragraph_pdf"]
    assert endpoint.input_keyword_names == ["text", "style", "bias", "color", "width", "page", "margin_mm",
                                            "width_mm", "size_mm", "line_spacing", "align", "variation", "seed",
                                            "checkpoint", "paper", "rule_pitch", "rule_color", "likeness", "own"]


def test_notes_are_shown_by_their_level(monkeypatch):
    """Before: the web told information from warnings by matching the note's text (api.is_information)."""
    import gradio as gr
    from scribe.result import INFO, WARNING, Note
    from scribe.web import api
    shown = []
    monkeypatch.setattr(gr, "Info", lambda text: shown.append(("info", text)))
    monkeypatch.setattr(gr, "Warning", lambda text: shown.append(("warning", text)))
    api.show_notes([Note("legibility check: 3 lines checked", INFO), Note("line 1 hit the step cap", WARNING),
                    Note("legibility check not run: no reader")], folders=())
    assert shown == [("info", "legibility check: 3 lines checked"), ("warning", "line 1 hit the step cap"),
                     ("warning", "legibility check not run: no reader")]
    assert not hasattr(api, "is_information")


def test_a_style_made_locally_reaches_new_views_and_the_cached_hand_is_never_changed(tmp_path, tiny_ckpt_path,
                                                                                  tiny_style_dir):
    """Before: refresh_styles added user_styles/ to every cached Hand in place, while other sessions'
    writes were reading it."""
    from scribe.hand import LineSpec
    from scribe.web.state import AppSettings, AppState
    st = AppState(AppSettings(checkpoint=str(tiny_ckpt_path), style_dir=str(tiny_style_dir),
                              user_style_dir=str(tmp_path / "user")).resolved())
    cached = st.cache.get(st.default)
    styles_before, view_before = cached.styles, st.hand(None)
    assert view_before is cached                              # no user style yet: the cached hand itself
    sid, own = st.keep_style("aaa bbb", synthetic_offsets(seed=4))
    assert own is None and sid == 3                           # locally: in user_styles/, for everyone
    assert cached.styles is styles_before and 3 not in cached.style_ids
    view = st.hand(None)
    assert view is not cached and 3 in view.style_ids and st.hand(None) is view     # one view per version
    assert view.write([LineSpec("hi", 3)], seed=1, max_steps=MAX_STEPS).specs[0].style == 3
    st.keep_style("ccc ddd", synthetic_offsets(seed=5))
    assert st.hand(None) is not view and 4 in st.hand(None).style_ids and 4 not in view.style_ids
    st.make_private()
    assert st.hand(None) is cached and st.style_opts == st.shipped_style_menu()


def test_rows_get_ids_that_are_never_reused():
    from scribe.web.state import AppSettings, AppState
    st = AppState(AppSettings(private_styles=True).resolved())
    ids = {st.new_row()["id"] for _ in range(200)}
    assert len(ids) == 200 and all(f"text_{i}".isidentifier() for i in ids)    # they name the rows' fields


def test_one_function_turns_a_result_of_either_mode_into_every_output(tiny_ckpt_path, tiny_style_dir, tmp_path,
                                                                     monkeypatch):
    """Before: two functions returned 8-tuples, and the live updates repeated `keep` in their own."""
    from types import SimpleNamespace
    from scribe.hand import Hand, LineSpec
    from scribe.request import ParagraphRequest, WriteRequest
    from scribe.web import forms, outputs, tabs
    hand = Hand.load(tiny_ckpt_path, tiny_style_dir)
    out = tabs.Outputs(*[object() for _ in range(8)])                 # stand-ins for the result column
    state = SimpleNamespace(shown=lambda text: f"<{text}>")
    r = outputs.write_files(hand, WriteRequest([LineSpec("hello", 1)], 5, max_steps=MAX_STEPS), 96, tmp_path)
    shown = tabs.page_updates(state, out, r)
    assert set(shown) == set(out.all()) and shown[out.seed_used] == 5 and shown[out.pages] == r.pages
    assert shown[out.document].endswith(".scribe.json") and shown[out.status] == f"<{r.summary()}>"
    monkeypatch.setattr(outputs, "output_root", lambda: tmp_path / "para")
    layout, _ = forms.paragraph_look({"page": "a5"})
    pr = outputs.write_files(hand, ParagraphRequest("hello there", 1, 1.0, layout=layout, seed=3, max_steps=MAX_STEPS),
                             96)
    shown = tabs.page_updates(state, out, pr)
    assert set(shown) == set(out.all()) and shown[out.seed_used] == 3 and shown[out.document] is None
    assert shown[out.pdf].endswith(".pdf") and shown[out.preview] == tabs.result_preview(pr)
