"""Every request's cost bounded before sampling, through the real server (scribe.cost, issue 27): the
4,990-character paragraph with 16 candidates and the 40-line live write are lowered (or, over a small
budget, refused) before the sampler runs; a page too large for its PNG is refused before it too.
The sampler's calls are counted (rows per batch), never timed."""
from __future__ import annotations

import pytest

from helpers import free_port, tiny_checkpoint
from scribe.checkpoint import save_training_checkpoint
from scribe.sampling import Sampler
from scribe.web import app

PARAGRAPH = ("The quick brown fox jumps over the lazy dog, and then it runs far into the woods. " * 70)[:4990]
LINES = [{"text": ("Every line of this long request has ninety characters, written live to see what it costs " * 2)[:90]}] * 40


@pytest.fixture()
def rows(monkeypatch) -> list[int]:
    """Rows of every sampler batch the server runs (the server runs in this process)."""
    seen = []
    sample, live = Sampler.sample, Sampler.sample_live

    def counted(fn):
        def run(self, requests, *a, **k):
            seen.append(len(requests))
            return fn(self, requests, *a, **k)
        return run
    monkeypatch.setattr(Sampler, "sample", counted(sample))
    monkeypatch.setattr(Sampler, "sample_live", counted(live))
    return seen


def serve(tmp_path, budget):
    from gradio_client import Client
    path = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(), path)
    demo = app.build_demo(app.AppSettings(checkpoint=str(path), max_steps=30, concurrency=1,
                                          max_request_cost=budget))
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    return demo, Client(url, verbose=False)


@pytest.mark.slow
def test_the_costly_requests_are_lowered_before_sampling(tmp_path, rows):
    demo, server = serve(tmp_path, 20.0)        # the app's default budget
    try:
        *_, summary, check = server.predict(text=PARAGRAPH, page="a5", seed=1, candidates=16,
                                            api_name="/write_paragraph")
        n = check["candidates"]
        assert 1 <= n < 16 and f"lowered from 16 to {n} candidate" in summary
        assert rows and max(rows) <= 40 * n           # no batch ever held 16 candidates
        rows.clear()
        job = server.submit(LINES, 1, 96, None, None, None, None, None, None, None, 16, "strokes",
                            api_name="/write_live")
        *_, summary, check = job.result()
        n = check["candidates"]
        assert 1 <= n < 16 and f"lowered from 16 to {n} candidate" in summary
        assert rows == [40 * n]                       # one batch, already lowered
    finally:
        demo.close()


@pytest.mark.slow
def test_over_a_small_budget_and_over_the_pixel_cap_the_server_refuses_before_sampling(tmp_path, rows):
    demo, server = serve(tmp_path, 2.0)
    try:
        with pytest.raises(Exception, match=r"limit of 2 s per request \(--max_request_cost\)"):
            server.predict(text=PARAGRAPH, page="a5", seed=1, candidates=16, api_name="/write_paragraph")
        with pytest.raises(Exception, match=r"limit of 2 s per request"):
            server.submit(LINES, 1, 96, None, None, None, None, None, None, None, 16, "strokes",
                          api_name="/write_live").result()
        with pytest.raises(Exception, match="megapixels"):      # one page as tall as the text, at 600 dpi
            server.predict(text=PARAGRAPH, page="none", seed=1, png_dpi=600, candidates=1,
                           api_name="/write_paragraph")
        assert rows == []
    finally:
        demo.close()
