"""Learn my hand in the app (scribe/web/learn.py): the session's lines -> an adapted model in the
Checkpoint menu, selected, and a style; private to its session when the app is served beyond this
machine; Stop ends the training; bad input gets a message. Tiny random models."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from scribe.adapt import AdaptError, PROMPT_SENTENCES
from scribe.checkpoint import CheckpointError, load_checkpoint
from scribe.errors import InputError
from scribe.web import learn
from scribe.web.state import AppSettings, AppState

from helpers import MAX_STEPS, browser_page, draw, needs_browser, open_tab, start_app, synthetic_offsets

TEXTS = ["hello there", "quick fox", "a line of ink", "more words", "the end", "pen up"]


def drawn(n=6):
    return [{"text": TEXTS[i], "offsets": synthetic_offsets(n_strokes=5, points=12, seed=200 + i).tolist()}
            for i in range(n)]


def app_state(tmp_path, ckpt, styles, private=False):
    return AppState(AppSettings(checkpoint=str(ckpt), style_dir=str(styles), user_style_dir=str(tmp_path / "user"),
                                private_styles=private).resolved())


def run(state, lines, minutes=0.05, own=None):
    seen = []
    updates = list(learn.learn_updates(state, None, lines, None, minutes, own,
                                       lambda *a, **k: seen.append((a, k))))
    return updates, seen


def test_local_learning_saves_a_listed_model_and_a_style(tmp_path, tiny_ckpt_path, tiny_style_dir):
    torch.set_num_threads(1)
    state = app_state(tmp_path, tiny_ckpt_path, tiny_style_dir)
    updates, seen = run(state, drawn())
    *progress, (msg, menu, own) = updates
    assert progress and all("Learning your hand: step" in p[0] for p in progress) and seen
    label = menu.value
    path = tmp_path / "user_models" / "my-hand-1.safetensors"
    assert path.is_file() and label.startswith("my-hand-1.safetensors")
    assert any(v == label for _, v in state.checkpoint_menu())             # listed for everyone, locally
    assert state.resolve(label) == str(path)
    ck = load_checkpoint(path)
    assert ck.train_config["adaptation"]["texts"] == TEXTS
    assert own is None and "style 3" in msg and state.bank.get(3).text == TEXTS[0]
    assert "/" + str(tmp_path) not in msg and str(tmp_path) not in msg        # no server folder shown
    # a second run makes a second file, and writes with the learned hand work
    run(state, drawn())
    assert (tmp_path / "user_models" / "my-hand-2.safetensors").is_file()
    hand = state.hand(label)
    from scribe.request import LineSpec
    assert hand.write([LineSpec("hello", style=3)], seed=1, max_steps=MAX_STEPS).lines[0] is not None


def test_private_learning_stays_in_its_session(tmp_path, tiny_ckpt_path, tiny_style_dir):
    state = app_state(tmp_path, tiny_ckpt_path, tiny_style_dir, private=True)
    *_, (msg, menu, own) = run(state, drawn())[0]
    label = menu.value
    path = state.resolve(label)
    assert not str(path).startswith(str(tmp_path)) and path.endswith(".safetensors")   # a temporary folder
    assert all(v != label for _, v in state.checkpoint_menu())             # not offered to other visitors
    assert any(v == label for _, v in menu.choices)                       # but in this session's menu
    assert own is not None and own.get(own.ids[0]).text == TEXTS[0]       # the style is the session's own
    assert not (tmp_path / "user_models").exists() and not (tmp_path / "user").exists()
    with pytest.raises(CheckpointError, match="unknown checkpoint"):
        state.resolve(label.replace("my-hand-", "my-hand-0"))


def test_bad_input_gets_a_message(tmp_path, tiny_ckpt_path, tiny_style_dir):
    state = app_state(tmp_path, tiny_ckpt_path, tiny_style_dir)
    with pytest.raises(AdaptError, match="2 lines given; learning a hand needs at least 5"):
        run(state, drawn(2))
    with pytest.raises(AdaptError, match="minutes must be a number from 0.05"):
        run(state, drawn(), minutes=100)
    with pytest.raises(InputError, match="must be a number of minutes"):
        run(state, drawn(), minutes="soon")
    with pytest.raises(InputError, match="damaged"):
        run(state, [{"text": "x"}] * 5)
    notext = tmp_path / "line.inkml"
    notext.write_text('<ink xmlns="http://www.w3.org/2003/InkML"><trace>0 0, 10 10, 20 0, 30 10</trace></ink>')
    with pytest.raises(InputError, match="line.inkml has no transcription"):
        list(learn.learn_updates(state, None, drawn(), [str(notext)], 0.05, None, lambda *a, **k: None))
    assert not (tmp_path / "user_models").exists() or not list((tmp_path / "user_models").iterdir())


def test_closing_the_run_stops_the_training(tmp_path, tiny_ckpt_path, tiny_style_dir, monkeypatch):
    # The training loop asks stop() before every step: record its answers and the steps it ran, so the
    # test sees where the run ended in steps, not seconds (a fast or a slow machine alike).
    seen = {}
    real_adapt = learn.adapt

    def watched(*args, stop, **kwargs):
        answers = seen.setdefault("answers", [])

        def asked() -> bool:
            answers.append(stop())
            return answers[-1]
        seen["result"] = real_adapt(*args, stop=asked, **kwargs)
        return seen["result"]

    monkeypatch.setattr(learn, "adapt", watched)
    state = app_state(tmp_path, tiny_ckpt_path, tiny_style_dir)
    updates = learn.learn_updates(state, None, drawn(), None, 10, None, lambda *a, **k: None)
    first = next(updates)                      # the check before any step
    assert "step 0" in first[0]
    updates.close()                            # what Stop (or a closed page) does to the handler
    assert not [t for t in threading.enumerate() if t.name == "scribe-learn"]
    answers, steps = seen["answers"], seen["result"].record["steps"]
    # it ended at the first check after Stop: every earlier check let one step run, none ran after
    assert answers[-1] is True and answers.count(True) == 1 and steps == len(answers) - 1
    assert not list((tmp_path / "user_models").glob("*.safetensors"))    # nothing half-learned is offered


@needs_browser
def test_browser_learn_panel_adds_a_written_line_and_refuses_too_few(tiny_ckpt_path, tiny_style_dir, tmp_path):
    demo, url = start_app(tiny_ckpt_path, tiny_style_dir, MAX_STEPS, user_dir=tmp_path / "user")
    try:
        with browser_page() as page:
            page.goto(url)
            page.locator("#scribe-preview").wait_for(timeout=60_000)
            open_tab(page, "Your own hand")
            draw(page, PROMPT_SENTENCES[0], height=30.0)
            page.locator("#scribe-learn").get_by_text("Learn my hand: adapt").click()
            prompt = page.locator("#scribe-learn-prompt")
            assert PROMPT_SENTENCES[0] in prompt.inner_text()
            page.locator("#scribe-learn-add").click()
            page.wait_for_function("document.querySelector('#scribe-learn-prompt')?.innerText.includes('1 line written')",
                                   timeout=120_000)
            after_add = prompt.inner_text()
            page.locator("#scribe-learn-go").click()
            toast = page.get_by_text("learning a hand needs at least 5").first
            toast.wait_for(timeout=120_000)
            refusal = toast.inner_text()
    finally:
        demo.close()
    assert PROMPT_SENTENCES[1] in after_add
    assert "1 line given" in refusal and "Traceback" not in refusal
