"""Moving a training checkpoint in size-capped parts (train/checkpoint_parts.py, scripts/gpu_chunk.sh)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import ROOT, tiny_checkpoint
from scribe.checkpoint import load_checkpoint, save_training_checkpoint
from train import checkpoint_parts as parts


def training_checkpoint(path, step=7, rnn_size=16):
    ck = tiny_checkpoint(rnn_size=rnn_size)
    ck.step = step
    model = ck.build_model()
    opt = torch.optim.Adam(model.parameters())
    sum(p.square().sum() for p in model.parameters()).backward()
    opt.step()
    ck.optimizer_state = opt.state_dict()
    save_training_checkpoint(ck, path)
    return path


def test_split_then_join_gives_back_the_same_bytes_and_a_resumable_checkpoint(tmp_path):
    src = training_checkpoint(tmp_path / "run" / "checkpoint-7.pt", rnn_size=32)
    size = src.stat().st_size
    cap = size // 3 + 1
    written = parts.split(src, tmp_path / "parts", cap)
    names = [p.name for p in written]
    assert names == ["checkpoint-7.pt.part00", "checkpoint-7.pt.part01", "checkpoint-7.pt.part02",
                     "checkpoint-7.pt.parts.json"]
    assert all(p.stat().st_size <= cap for p in written[:-1])
    assert sum(p.stat().st_size for p in written[:-1]) == size
    (joined,) = parts.join(tmp_path / "parts", tmp_path / "elsewhere")
    assert joined.read_bytes() == src.read_bytes()
    back = load_checkpoint(joined, with_optimizer=True)
    assert back.step == 7 and back.optimizer_state["state"]          # Adam's moments came along


def test_a_damaged_or_missing_part_is_named_and_nothing_is_written(tmp_path):
    src = training_checkpoint(tmp_path / "checkpoint-3.pt")
    parts.split(src, tmp_path / "parts", src.stat().st_size // 2 + 1)
    part1 = tmp_path / "parts" / "checkpoint-3.pt.part01"
    data = bytearray(part1.read_bytes())
    data[10] ^= 0xFF
    part1.write_bytes(bytes(data))
    with pytest.raises(parts.PartsError, match="part01 .* is damaged"):
        parts.join(tmp_path / "parts", tmp_path / "out")
    part1.unlink()
    with pytest.raises(parts.PartsError, match="part01 .* is missing"):
        parts.join(tmp_path / "parts", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(parts.PartsError, match="nothing to join"):
        parts.join(tmp_path / "out", tmp_path / "x")


def test_a_manifest_cannot_write_outside_the_target_folder(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.parts.json").write_text(json.dumps(
        {"name": "../escape.pt", "bytes": 0, "sha256": "", "parts": []}))
    with pytest.raises(parts.PartsError, match="unsafe"):
        parts.join(tmp_path / "in", tmp_path / "out")
    assert not (tmp_path / "escape.pt").exists()


def test_cli_splits_a_run_folders_newest_readable_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    training_checkpoint(run / "checkpoint-5.pt", step=5)
    (run / "checkpoint-9.pt").write_bytes(b"half a file")             # a crash mid-save
    assert parts.main(["split", str(run), "--out", str(tmp_path / "p"), "--part_mib", "0.01"]) == 0
    assert "Split" in capsys.readouterr().out
    assert {p.name.split(".pt")[0] for p in (tmp_path / "p").iterdir()} == {"checkpoint-5"}
    assert parts.main(["join", str(tmp_path / "p"), "--out", str(tmp_path / "back")]) == 0
    assert (tmp_path / "back" / "checkpoint-5.pt").read_bytes() == (run / "checkpoint-5.pt").read_bytes()
    assert parts.main(["split", str(tmp_path / "empty"), "--out", str(tmp_path / "q")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_gpu_chunk_script_resumes_across_machines_through_parts_alone(tmp_path):
    """Two chunks as on the lent GPU: only the returned parts and the data travel between them."""
    from helpers import tiny_run_args, write_train_data
    write_train_data(tmp_path / "data.npz")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"out_dir": str(tmp_path / "machine1" / "run")}))
    flags = tiny_run_args(tmp_path / "data.npz", tmp_path / "unused")[1:]
    flags = flags[:flags.index("--out_dir")] + flags[flags.index("--out_dir") + 2:]

    def chunk(machine: str, out: str, max_steps: int) -> str:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "OUT": str(tmp_path / out), "TRANSFER": str(tmp_path / "transfer"),
               "RUN_DIR": str(tmp_path / machine / "run"), "OMP_NUM_THREADS": "1"}
        (tmp_path / out).mkdir()
        r = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_chunk.sh"), str(config), "5", *flags,
                            "--max_steps", str(max_steps), "--save_every", "2"],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return r.stdout

    first = chunk("machine1", "out1", 4)
    assert "Restored" not in first and "Split" in first
    shutil.copytree(tmp_path / "out1", tmp_path / "transfer")        # what comes back, carried next time
    assert [p.name for p in (tmp_path / "out1").glob("*.log")]
    second = chunk("machine2", "out2", 6)                               # a bare machine: no run folder
    assert "Joined" in second and "Restored from checkpoint-4" in second
    (tmp_path / "final").mkdir()
    for f in (tmp_path / "out2").glob("checkpoint-*"):
        shutil.copy(f, tmp_path / "final")
    (ckpt,) = parts.join(tmp_path / "final", tmp_path / "final_run")
    assert load_checkpoint(ckpt, with_optimizer=True).step == 6
