import os

import pytest
import torch

from scribe.checkpoint import (CheckpointError, latest_readable, load_checkpoint, save_shipped,
                               save_training_checkpoint)
from helpers import tiny_checkpoint


def test_training_checkpoint_round_trip_carries_everything(tmp_path):
    ck = tiny_checkpoint()
    save_training_checkpoint(ck, tmp_path / "checkpoint-7.pt")
    back = load_checkpoint(tmp_path / "checkpoint-7.pt")
    assert back.alphabet == ck.alphabet and back.config == ck.config and back.step == 7
    assert back.stats == ck.stats and back.metrics["valid_nll"] == -1.0
    m1, m2 = ck.build_model(), back.build_model()
    x, t = torch.randn(1, 4, 3), torch.randint(1, 10, (1, 3))
    torch.testing.assert_close(m1(x, t), m2(x, t))


def test_shipped_safetensors_is_half_precision_and_loads(tmp_path):
    ck = tiny_checkpoint()
    save_shipped(ck, tmp_path / "m.safetensors")
    back = load_checkpoint(tmp_path / "m.safetensors")
    assert all(v.dtype == torch.float16 for v in back.model_state.values())
    assert back.build_model().cell1.weight_ih.dtype == torch.float32
    assert back.alphabet == ck.alphabet


def test_truncated_and_missing_files_give_clear_errors(tmp_path):
    save_training_checkpoint(tiny_checkpoint(), tmp_path / "checkpoint-1.pt")
    data = (tmp_path / "checkpoint-1.pt").read_bytes()
    (tmp_path / "checkpoint-2.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "checkpoint-2.pt")
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "bad.safetensors")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "meta": "{}", "x": _Evil()}, path)
    with pytest.raises(CheckpointError, match="refusing"):
        load_checkpoint(path)


def test_resume_passes_over_unreadable_newest(tmp_path):
    for step in (5, 10):
        ck = tiny_checkpoint()
        ck.step = step
        save_training_checkpoint(ck, tmp_path / f"checkpoint-{step}.pt")
    (tmp_path / "checkpoint-15.pt").write_bytes(b"garbage")
    said = []
    got = latest_readable(tmp_path, log=said.append)
    assert got.step == 10
    assert any("checkpoint-15.pt" in s for s in said)


def test_atomic_save_leaves_no_temp_files_and_keeps_old_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint-1.pt"
    save_training_checkpoint(tiny_checkpoint(), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        save_training_checkpoint(tiny_checkpoint(seed=1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1.pt"]
