"""Fixtures: tiny random models (fast) and the real IAM-OnDB data from ../shared (skips if absent).
Plain helpers live in helpers.py."""
from __future__ import annotations

import os
import subprocess
import sys

# One thread each for torch and OpenMP, before torch starts its pools: the machine is shared, and a
# busy machine made the default thread count up to 15x slower (the recogniser fixture: 297 s, not 20 s).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import IAM_DIR, LivePace, synthetic_offsets, tiny_checkpoint  # noqa: E402
from scribe.checkpoint import save_training_checkpoint  # noqa: E402
from scribe.styles import write_style  # noqa: E402

torch.set_num_threads(1)


def _have_iam() -> bool:
    return (IAM_DIR / "lineStrokes-all.tar.gz").exists() and (IAM_DIR / "ascii-all.tar.gz").exists()


@pytest.fixture(scope="session")
def iam_dir() -> Path:
    if not _have_iam():
        pytest.skip(f"IAM-OnDB archives not found in {IAM_DIR} (set SCRIBE_IAM_DIR); CI always has them")
    return IAM_DIR


@pytest.fixture()
def tiny_ckpt_path(tmp_path) -> Path:
    path = tmp_path / "checkpoint-7.pt"
    save_training_checkpoint(tiny_checkpoint(), path)
    return path


@pytest.fixture()
def tiny_style_dir(tmp_path) -> Path:
    folder = tmp_path / "styles"
    for i in range(3):
        write_style(folder, i, ["hello there", "quick fox", "a line of ink"][i], synthetic_offsets(seed=i))
    return folder


@pytest.fixture(autouse=True)
def live_pace(monkeypatch) -> LivePace:
    """The pace of live sampling in this test: none unless the test sets one (`live_pace.set(s)`), and
    each chunk's compute scaled by SCRIBE_TEST_SAMPLER_SPEED (helpers.LivePace)."""
    return LivePace().install(monkeypatch)


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    """A processed dataset made the real way: fake IAM-OnDB archives (8 forms) through
    train/prepare_data.py."""
    from helpers import ROOT
    from scribe.train.make_synthetic_iam import write_fake_iam
    tmp = tmp_path_factory.mktemp("synth")
    write_fake_iam(tmp / "iam", forms=8)
    r = subprocess.run([sys.executable, "train/prepare_data.py", "--data_dir", str(tmp / "iam"), "--out",
                        str(tmp / "data.npz")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    return tmp / "data.npz"


# ---- markers beyond `slow`, set from what a test uses, so a contributor can leave out a whole kind:
# `pytest -m "not slow"` (the fast loop), `-m "not browser"`, `-m "iam and not server"`, ...
# A marker follows the fixtures a test takes and the helpers its body calls, so a new test is marked
# without anyone remembering to (tests/test_layering.py-style: the rule is checked, not hoped for).
_USES = {
    "browser": ("browser_page", "launch_browser", "sync_playwright"),
    "server": ("serve_and_write", "start_app", "Client(", ".launch(", "browser_page"),
    "iam": ("IAM_DIR", "SCRIBE_IAM_DIR"),
}
_FIXTURES = {
    "browser": {"browser_app", "live_app"},
    "server": {"server", "served", "browser_app", "live_app", "fuzz_figures"},
    "iam": {"iam_dir"},
}


def pytest_collection_modifyitems(config, items):
    import inspect
    for item in items:
        try:
            source = inspect.getsource(item.function)
        except (OSError, TypeError, AttributeError):
            source = ""
        fixtures = set(getattr(item, "fixturenames", ()))
        for marker, needles in _USES.items():
            if fixtures & _FIXTURES[marker] or any(n in source for n in needles):
                item.add_marker(marker)
        module = item.module.__name__ if item.module else ""
        if module == "test_ddp":
            item.add_marker("ddp")
        if module == "test_notebook" and item.get_closest_marker("slow"):
            item.add_marker("notebook")       # the notebook executed headless (the fast ones read its JSON)
