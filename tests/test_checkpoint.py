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


# ---- hostile and broken files (issue 14, items 4 and 7) -------------------------------------------------
import json
import math

from scribe.checkpoint import (CheckpointMetadataError, NoReadableCheckpointError, remove_partial_saves,
                               resume_point, rotate_checkpoints, training_checkpoints)


def _save_with_meta(path, edit=None, weights=None):
    """A tiny training checkpoint whose metadata JSON (or weights) were edited after saving."""
    ck = tiny_checkpoint()
    meta = ck.meta()
    if edit:
        meta = edit(meta)
    torch.save({"model": weights if weights is not None else ck.model_state, "meta": json.dumps(meta)}, path)
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda m: [m], "JSON list"),
    (lambda m: {**m, "config": [1, 2]}, "'config'"),
    (lambda m: {**m, "config": {**m["config"], "rnn_size": 30000}}, "rnn_size 30000 is outside"),
    (lambda m: {**m, "config": {**m["config"], "mixtures": 1e7}}, "mixtures"),
    (lambda m: {**m, "config": {**m["config"], "steps_per_char": 1e9}}, "steps_per_char"),
    (lambda m: {**m, "config": {**m["config"], "num_layers": "3"}}, "num_layers must be a number"),
    (lambda m: {**m, "config": {**m["config"], "rnn_size": 16.5}}, "whole number"),
    (lambda m: {**m, "stats": {**m["stats"], "ink_height": float("nan")}}, "ink_height"),
    (lambda m: {**m, "stats": {**m["stats"], "std": [0.0, 1.0]}}, "stats std"),
    (lambda m: {**m, "alphabet": 12}, "alphabet"),
    (lambda m: {**m, "alphabet": m["alphabet"] + "~"}, "alphabet_size"),
    (lambda m: {**m, "step": -4}, "step"),
])
def test_metadata_types_and_ranges_are_checked_before_any_allocation(tmp_path, edit, match, monkeypatch):
    path = _save_with_meta(tmp_path / "checkpoint-1.pt", edit)
    import scribe.model
    built = []
    monkeypatch.setattr(scribe.model.SynthesisNetwork, "__init__",
                        lambda self, *a, **k: built.append(1) or (_ for _ in ()).throw(AssertionError("built")))
    with pytest.raises(CheckpointMetadataError, match=match) as info:
        load_checkpoint(path)
    assert not built                      # refused before a model (or its shape check) was made
    assert str(tmp_path) not in str(info.value) and "checkpoint-1.pt" in str(info.value)


def test_nan_weights_and_wrong_shapes_are_refused_with_a_message(tmp_path):
    ck = tiny_checkpoint()
    bad = {k: v.clone() for k, v in ck.model_state.items()}
    name = next(iter(bad))
    bad[name].view(-1)[0] = math.nan
    with pytest.raises(CheckpointMetadataError, match="NaN or infinite"):
        load_checkpoint(_save_with_meta(tmp_path / "a.pt", weights=bad))
    bad = {k: v.clone() for k, v in ck.model_state.items()}
    bad[name] = torch.zeros(3, 3)
    with pytest.raises(CheckpointMetadataError, match="shape"):
        load_checkpoint(_save_with_meta(tmp_path / "b.pt", weights=bad))
    save_shipped(ck, tmp_path / "ok.safetensors")       # the safetensors path is checked the same way
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(tmp_path / "ok.safetensors"))
    tensors[name] = torch.full_like(tensors[name], math.inf)
    meta = json.dumps(ck.meta())
    save_file(tensors, str(tmp_path / "inf.safetensors"), metadata={"scribe": meta})
    with pytest.raises(CheckpointMetadataError, match="NaN or infinite"):
        load_checkpoint(tmp_path / "inf.safetensors")


def test_deep_json_metadata_and_nul_paths_get_clear_errors(tmp_path):
    path = tmp_path / "deep.pt"
    torch.save({"model": tiny_checkpoint().model_state, "meta": "[" * 100_000 + "]" * 100_000}, path)
    with pytest.raises(CheckpointMetadataError, match="not valid JSON"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="NUL"):
        load_checkpoint(str(tmp_path / "a\x00b.pt"))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "missing.pt")
    assert str(tmp_path) not in str(info.value)           # a server folder is never named


def test_a_corrupt_file_is_called_corrupt_not_unsafe(tmp_path):
    for i, data in enumerate([os.urandom(2000), b"\x80\x04\x95" + os.urandom(50), b"half a file"]):
        (tmp_path / f"checkpoint-{i}.pt").write_bytes(data)
        with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
            load_checkpoint(tmp_path / f"checkpoint-{i}.pt")
        assert "pickled" not in str(info.value)


def _run_folder(tmp_path, steps):
    for step in steps:
        ck = tiny_checkpoint()
        ck.step = step
        save_training_checkpoint(ck, tmp_path / f"checkpoint-{step}.pt")


def test_a_run_whose_checkpoints_are_all_corrupt_stops_instead_of_starting_over(tmp_path):
    _run_folder(tmp_path, (6, 8))
    for p in training_checkpoints(tmp_path):
        p.write_bytes(b"damaged")
    with pytest.raises(NoReadableCheckpointError, match="cannot resume"):
        resume_point(tmp_path, log=lambda *a: None)
    assert [p.name for p in training_checkpoints(tmp_path)] == ["checkpoint-6.pt", "checkpoint-8.pt"]
    assert resume_point(tmp_path / "fresh", log=lambda *a: None) is None     # an empty run starts at 0


def test_unreadable_newer_checkpoints_are_set_aside_not_overwritten(tmp_path):
    _run_folder(tmp_path, (4, 6))
    (tmp_path / "checkpoint-8.pt").write_bytes(b"damaged")
    said = []
    path, ck = resume_point(tmp_path, log=said.append)
    assert ck.step == 6 and path.name == "checkpoint-6.pt"
    assert (tmp_path / "checkpoint-8.pt.corrupt").read_bytes() == b"damaged"
    assert any("checkpoint-8.pt.corrupt" in s for s in said)


def test_rotation_never_deletes_the_checkpoint_just_saved(tmp_path):
    _run_folder(tmp_path, (2, 4, 6, 8, 10))
    (tmp_path / "checkpoint-90.pt").write_bytes(b"from another run, higher step")
    _run_folder(tmp_path, (12,))
    gone = rotate_checkpoints(tmp_path, 3, tmp_path / "checkpoint-12.pt")
    assert sorted(p.name for p in gone) == ["checkpoint-2.pt", "checkpoint-4.pt", "checkpoint-6.pt"]
    assert [p.name for p in training_checkpoints(tmp_path)] == \
        ["checkpoint-8.pt", "checkpoint-10.pt", "checkpoint-12.pt", "checkpoint-90.pt"]
    assert rotate_checkpoints(tmp_path, 0, tmp_path / "checkpoint-12.pt")     # keep 0 still keeps the newest
    assert (tmp_path / "checkpoint-12.pt").exists()


def test_leftover_temp_files_of_an_interrupted_save_are_removed(tmp_path):
    _run_folder(tmp_path, (2,))
    (tmp_path / ".checkpoint-4.pt.abc123.tmp").write_bytes(b"half")
    (tmp_path / "notes.tmp").write_text("not ours")
    gone = remove_partial_saves(tmp_path, log=lambda *a: None)
    assert [p.name for p in gone] == [".checkpoint-4.pt.abc123.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2.pt", "notes.tmp"]
