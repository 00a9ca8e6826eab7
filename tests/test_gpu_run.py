"""scripts/gpu_run.py in its CPU dry-run mode: every phase, on a tiny model, with what the GPU machine
lacks (gradio, svgwrite, cairosvg) made unimportable, for the script and for the train.py it starts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import synthetic_offsets
from scribe.checkpoint import load_checkpoint
from scribe.dataset import NormStats, ProcessedData

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ["Report due by 09:00 on March 15th, 1985.", "Can't believe it - met him at 3:00pm!",
         "Got your message (thanks!) - call me."]


def _data(path: Path) -> Path:
    n = 48
    offsets = [np.round(synthetic_offsets(n_strokes=3 + i % 5, seed=i)).astype(np.int16) for i in range(n)]
    starts = np.concatenate([[0], np.cumsum([len(o) for o in offsets])])
    ProcessedData(np.concatenate(offsets), starts, np.array([GUIDE[i % 3] for i in range(n)]),
                  np.array([f"l{i}" for i in range(n)]), np.array(["train"] * 36 + ["valid"] * 12),
                  NormStats((10.0, 0.0), (40.0, 40.0), 300.0, 25.0)).save(path)
    return path


@pytest.mark.slow
def test_dry_run_runs_every_phase_and_returns_its_files(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    for name in ("gradio", "svgwrite", "cairosvg"):
        (blocked / f"{name}.py").write_text(f"raise ImportError('{name} is not on the GPU machine')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OUT": str(tmp_path / "out"), "SCRIBE_GPU_RUN_DIR": str(tmp_path / "run")}
    r = subprocess.run([sys.executable, "scripts/gpu_run.py", "--dry_run", "--data", str(_data(tmp_path / "d.npz"))],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["gpu_results.json", "gpu_run.log", "scribe-gpu.safetensors",
                                                    "training_speed.json"]
    log = (out / "gpu_run.log").read_text()
    assert log.strip() == r.stdout.strip()   # the log file is the run's own output, line by line
    for phase in ("0. environment", "1. self-check", "2. batch-size probe", "3. training", "4. benchmarks", "done"):
        assert f"== {phase}" in log
    assert "the compiled path matches the eager model" in log and "steps/s, ETA" in log
    results = json.loads((out / "gpu_results.json").read_text())
    assert results["self_check"]["ok"] and results["environment"]["precision"] == "fp32"
    assert results["probe"]["chosen_batch"] in (4, 8)
    training = results["training"]
    assert training["exit_code"] == 0 and training["steps"] > 0 and training["seconds_per_step"] > 0
    assert training["exports"] and training["exports"][-1]["step"] == training["steps"]
    assert len(training["exports"]) >= 2   # exported during training, not only at the end
    for bench in ("bench_training", "bench_sampling"):
        assert results[bench]["naive eager"] and results[bench]["scribe.fast"] and results[bench]["ratio"] > 0
    assert results["bench_sampling"]["batch"] == 8
    model = load_checkpoint(out / "scribe-gpu.safetensors")
    assert model.step == training["steps"] and model.config.rnn_size == 16
    speed = json.loads((out / "training_speed.json").read_text())
    assert speed["cpu"]["seconds_per_step"][str(training["batch"])] == pytest.approx(training["seconds_per_step"], abs=1e-4)


def test_a_failing_phase_is_logged_and_recorded_and_the_run_goes_on(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_run", ROOT / "scripts" / "gpu_run.py")
    gpu_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_run)
    run = gpu_run.Run(tmp_path, total_seconds=60)

    def probe():
        raise RuntimeError("CUDA error: device-side assert triggered")

    assert run.guarded("probe", probe, default=(32, {32: 0.5})) == (32, {32: 0.5})
    assert run.guarded("sum", sum, [1, 2]) == 3
    assert "probe FAILED: RuntimeError: CUDA error" in (tmp_path / "gpu_run.log").read_text()
    assert json.loads((tmp_path / "gpu_results.json").read_text()) == {
        "probe_error": "RuntimeError: CUDA error: device-side assert triggered"}
