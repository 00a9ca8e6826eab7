"""The bounded, seeded fuzz (benchmarks/fuzz_app.py --requests 200) against the real server."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fuzz_figures():
    r = subprocess.run([sys.executable, "benchmarks/fuzz_app.py", "--requests", "200", "--seed", "0"],
                       capture_output=True, text=True, cwd=ROOT, timeout=1500)
    figures = dict(re.findall(r"^(\w+): (-?[\d.]+)$", r.stdout, re.M))
    assert figures.get("requests") == "200", r.stdout[-2000:] + r.stderr[-2000:]
    return {k: float(v) for k, v in figures.items()}, r.stdout


@pytest.mark.slow
def test_fuzz_no_request_is_slow_and_memory_stays_bounded(fuzz_figures):
    figures, out = fuzz_figures
    assert figures["over_slow_s"] == 0, out[-3000:]
    assert figures["rss_growth_mb"] <= 200, out[-3000:]
    assert figures["ok"] > 0 and figures["refused"] > 0


@pytest.mark.slow
def test_fuzz_no_crash_no_unexpected_error_no_traceback(fuzz_figures):
    figures, out = fuzz_figures
    assert figures["crashes_in_gradio"] == 0 and figures["unexpected_error"] == 0, out[-3000:]
    assert figures["server_log_tracebacks"] == 0, out[-3000:]
    assert figures["messages_naming_server_paths"] == 0, out[-3000:]


@pytest.mark.slow
def test_fuzz_issue_28_scenarios_hold(fuzz_figures):
    """NaN seeds refused, a full style bank locks nobody out, a forwarded request makes styles private."""
    figures, out = fuzz_figures
    assert figures["scenario_requests"] > 0, out[-3000:]
    assert figures["nan_seeds_accepted"] == 0 and figures["lockouts"] == 0, out[-3000:]
    assert figures["proxy_not_private"] == 0, out[-3000:]
