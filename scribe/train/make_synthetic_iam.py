"""Write a small fake IAM-OnDB (both archives + split lists) of synthetic ink, for smoke tests.

    python train/make_synthetic_iam.py --out /tmp/fake-iam --forms 12

The layout and XML are those of the real download, so the whole pipeline (prepare_data -> train ->
sample) runs on it without the licensed data. Letters are drawn as simple loops, one per character.
"""
from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

from scribe import cli
import numpy as np

WORDS = "the quick brown fox jumps over a lazy dog and writes some lines of text".split()


def synthetic_line(text: str, rng: np.random.Generator) -> list[np.ndarray]:
    """One stroke per word; one loop per letter, in whiteboard units (y down)."""
    strokes, x = [], 1000.0
    for word in text.split(" "):
        pts = []
        for ch in word:
            size = 60 + (ord(ch) % 7) * 10
            for t in np.linspace(0, 2 * np.pi, 8, endpoint=False):
                pts.append((x + 30 * t + size * 0.3 * np.cos(t), 2400 - size * np.sin(t)))
            x += 30 * 2 * np.pi
        strokes.append(np.round(np.array(pts) + rng.normal(0, 1.5, (len(pts), 2))).astype(int))
        x += 120
    return strokes


def stroke_xml(strokes: list[np.ndarray]) -> bytes:
    parts = ['<?xml version="1.0" encoding="ISO-8859-1"?>\n<WhiteboardCaptureSession>\n  <StrokeSet>\n']
    t = 1000.0
    for s in strokes:
        parts.append(f'    <Stroke colour="black" start_time="{t:.2f}" end_time="{t + 1:.2f}">\n')
        for x, y in s:
            parts.append(f'      <Point x="{x}" y="{y}" time="{t:.2f}"/>\n')
            t += 0.01
        parts.append("    </Stroke>\n")
    parts.append("  </StrokeSet>\n</WhiteboardCaptureSession>\n")
    return "".join(parts).encode("latin-1")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_fake_iam(out: Path, forms: int = 12, lines_per_form: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    form_ids = [f"z{f // 10:02d}-{f:03d}" for f in range(forms)]
    with tarfile.open(out / "lineStrokes-all.tar.gz", "w:gz") as ls, \
            tarfile.open(out / "ascii-all.tar.gz", "w:gz") as asc:
        for form in form_ids:
            texts = [" ".join(rng.choice(WORDS, size=rng.integers(2, 5))) for _ in range(lines_per_form)]
            group = form.split("-")[0]
            body = "OCR:\n\n" + "\n".join(texts) + "\n\nCSR:\n\n" + "\n".join(texts) + "\n"
            _add(asc, f"ascii/{group}/{form}/{form}.txt", body.encode("latin-1"))
            for n, text in enumerate(texts, start=1):
                _add(ls, f"lineStrokes/{group}/{form}/{form}-{n:02d}.xml", stroke_xml(synthetic_line(text, rng)))
    splits = out / "splits"
    splits.mkdir(exist_ok=True)
    n_valid = max(1, forms // 4)
    (splits / "trainset.txt").write_text("\n".join(form_ids[n_valid:]) + "\n")
    (splits / "testset_v.txt").write_text("\n".join(form_ids[:n_valid]) + "\n")
    (splits / "testset_t.txt").write_text("")
    (splits / "testset_f.txt").write_text("")
    return out


@cli.command
def main(argv=None) -> int:
    p = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=cli.folder_to_write)
    p.add_argument("--forms", type=cli.whole(1, 10_000), default=12)
    p.add_argument("--seed", type=cli.whole(0, 2**32 - 1), default=0)
    args = p.parse_args(argv)
    print(f"Wrote a synthetic IAM-OnDB to {write_fake_iam(Path(args.out), args.forms, seed=args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
