"""Split a training checkpoint into size-capped parts, and join them back, byte for byte.

    python train/checkpoint_parts.py split runs/full --out transfer/ --part_mib 15
    python train/checkpoint_parts.py join transfer/ --out runs/full

Why: the full model's training checkpoint (3.77M weights plus Adam's two moments, about 45 MB) is
larger than what some channels move in one file (a lent GPU machine returns files of at most 16 MiB,
e-mail and chat attachments have caps too). Splitting keeps the optimizer state exact, so a run that
goes on elsewhere resumes exactly where it stopped (train.py: `Restored from checkpoint-N`).

`split` takes a checkpoint file, or a run folder (its newest readable checkpoint). It writes
NAME.part00, NAME.part01, ... and NAME.parts.json (sizes and SHA-256 of the parts and of the whole).
`join` rebuilds every checkpoint whose manifest it finds, checks the hashes, and writes it atomically:
a missing, truncated or altered part is named and nothing is written.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


from scribe.checkpoint import CheckpointError, newest_readable
from scribe.files import atomic_write, atomic_write_bytes
from scribe.errors import ScribeError

MANIFEST_SUFFIX = ".parts.json"


class PartsError(ScribeError):
    title = "Checkpoint parts problem"
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def newest_checkpoint(run_dir: Path) -> Path:
    """The newest checkpoint-N.pt that loads (a half-written or damaged newer one is passed over)."""
    found = newest_readable(run_dir, log=lambda *a, **k: None)
    if found is None:
        raise PartsError(f"no readable checkpoint-N.pt in {run_dir}")
    return found[0]


def split(source: Path, out_dir: Path, part_bytes: int) -> list[Path]:
    """Write source's parts and manifest into out_dir; returns the files written (manifest last)."""
    if part_bytes < 1:
        raise PartsError("the part size must be positive")
    data = source.read_bytes()
    name = source.name
    written, parts = [], []
    for i, start in enumerate(range(0, max(len(data), 1), part_bytes)):
        chunk = data[start:start + part_bytes]
        path = atomic_write_bytes(out_dir / f"{name}.part{i:02d}", chunk)
        parts.append({"file": path.name, "bytes": len(chunk), "sha256": _sha256(chunk)})
        written.append(path)
    manifest = {"name": name, "bytes": len(data), "sha256": _sha256(data), "parts": parts}
    written.append(atomic_write_bytes(out_dir / (name + MANIFEST_SUFFIX),
                                      json.dumps(manifest, indent=1).encode()))
    return written


def join_one(manifest_path: Path, out_dir: Path) -> Path:
    try:
        manifest = json.loads(manifest_path.read_text())
        name, parts = manifest["name"], manifest["parts"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PartsError(f"{manifest_path} is not a readable parts manifest ({e})") from e
    if Path(name).name != name:
        raise PartsError(f"{manifest_path} names an unsafe file: {name!r}")
    chunks = []
    for part in parts:
        path = manifest_path.parent / Path(part["file"]).name
        if not path.is_file():
            raise PartsError(f"part {path.name} of {name} is missing from {manifest_path.parent}")
        chunk = path.read_bytes()
        if len(chunk) != part["bytes"] or _sha256(chunk) != part["sha256"]:
            raise PartsError(f"part {path.name} of {name} is damaged: {len(chunk)} bytes, expected "
                             f"{part['bytes']}, or its SHA-256 differs")
        chunks.append(chunk)
    data = b"".join(chunks)
    if len(data) != manifest["bytes"] or _sha256(data) != manifest["sha256"]:
        raise PartsError(f"the parts of {name} do not add up to the file that was split")
    return atomic_write(out_dir / name, lambda f: f.write(data))


def join(in_dir: Path, out_dir: Path) -> list[Path]:
    manifests = sorted(in_dir.glob("*" + MANIFEST_SUFFIX))
    if not manifests:
        raise PartsError(f"no *{MANIFEST_SUFFIX} in {in_dir}: nothing to join")
    return [join_one(m, out_dir) for m in manifests]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split", help="checkpoint file or run folder -> parts + manifest")
    s.add_argument("source", help="a checkpoint-N.pt, or a run folder (its newest readable checkpoint)")
    s.add_argument("--out", required=True, help="folder for the parts")
    s.add_argument("--part_mib", type=float, default=15.0, help="largest part, in MiB (default 15)")
    j = sub.add_parser("join", help="parts + manifest -> checkpoint, verified")
    j.add_argument("source", help="folder holding NAME.partNN files and NAME.parts.json")
    j.add_argument("--out", required=True, help="folder to write the rebuilt checkpoint(s) into")
    args = p.parse_args(argv)
    try:
        if args.command == "split":
            source = Path(args.source)
            if source.is_dir():
                source = newest_checkpoint(source)
            if not source.is_file():
                raise PartsError(f"{source} not found")
            files = split(source, Path(args.out), int(args.part_mib * 2**20))
            print(f"Split {source} ({source.stat().st_size / 2**20:.1f} MiB) into {len(files) - 1} parts "
                  f"in {args.out}")
        else:
            for path in join(Path(args.source), Path(args.out)):
                print(f"Joined {path} ({path.stat().st_size / 2**20:.1f} MiB), SHA-256 verified")
    except (PartsError, CheckpointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
