"""train/export.py: a training checkpoint becomes the shipped file and a training-curve plot."""
import xml.etree.ElementTree as ET

import torch

from helpers import check_png, tiny_checkpoint
from scribe.checkpoint import load_checkpoint, save_training_checkpoint
from scribe.train import export

SVG_NS = "{http://www.w3.org/2000/svg}"


def history(n=30, every=10):
    out = []
    for i in range(1, n + 1):
        entry = {"step": 20 * i, "loss": 2.0 - 0.05 * i, "valid_loss": 2.1 - 0.05 * i, "seconds": 3.0 * i}
        if i % every == 0:
            entry["valid_nll"] = 100.0 - 10 * i
        out.append(entry)
    return out


def test_export_writes_a_loadable_half_precision_model_and_both_curves(tmp_path, capsys):
    ck = tiny_checkpoint()
    ck.step, ck.metrics = 600, {"history": history(), "valid_nll": -200.0}
    ck.optimizer_state = {"state": {}, "param_groups": []}
    save_training_checkpoint(ck, tmp_path / "run" / "checkpoint-600.pt")
    out, curve = tmp_path / "model.safetensors", tmp_path / "curve.png"
    assert export.main(["--checkpoint", str(tmp_path / "run"), "--out", str(out), "--curve", str(curve)]) == 0
    back = load_checkpoint(out, with_optimizer=True)
    assert back.step == 600 and back.optimizer_state is None and back.metrics["valid_nll"] == -200.0
    assert all(v.dtype == torch.float16 for v in back.model_state.values())
    check_png(curve)
    svg = ET.fromstring(export.curve_svg(history()))
    titles = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert "Training loss, nats per pen point" in titles
    assert "Validation NLL at each checkpoint, nats per line" in titles
    assert len(list(svg.iter(f"{SVG_NS}circle"))) == 3          # one marker per validated checkpoint
    assert "from step 600" in capsys.readouterr().out


def test_export_without_a_checkpoint_says_so(tmp_path, capsys):
    assert export.main(["--checkpoint", str(tmp_path), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "no readable checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "m.safetensors").exists()
