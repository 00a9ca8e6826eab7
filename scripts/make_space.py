"""Assemble the Hugging Face Space's files into an empty folder, ready to push as a Gradio Space.

    python scripts/make_space.py build/space            # then: cd build/space && git init && ... push

What goes in (nothing else of the checkout):
- `README.md`: the Space's settings as front matter (title, sdk: gradio, sdk_version: the Gradio this
  checkout runs and tests, app_file, python_version, license), then a short description and the terms;
- `app.py` (the checkout's own) and the `scribe/` package, with the shipped files copied into
  `scribe/_data/` exactly as the wheel has them (pyproject.toml's package-data list is read, so the
  Space and the wheel cannot drift apart); `scribe/shipped.py` finds them there, since a Space has no
  checkpoints/ folder;
- `requirements.txt`: PyPI's CPU wheels of torch (PyTorch's CPU index on the first line: the CUDA
  build is several times larger and a CPU Space cannot use it) and the runtime dependencies of
  pyproject.toml, the same list the wheel declares;
- `packages.txt`: the Debian packages (libcairo2, which cairosvg needs for PNG export);
- `LICENSE`, `LICENSE-WEIGHTS.md`, and `.gitattributes` sending the binary files (weights, style
  lines) through Git LFS, which the Hub requires for binary files.

tests/test_space.py builds it into a temporary folder and serves `/write` from it in a fresh virtual
environment.
"""
from __future__ import annotations

import argparse
import fnmatch
import shutil
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:   # Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11"           # the Dockerfile's Python, and the one CI runs
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
PACKAGES = ["libcairo2"]
LFS = ["*.safetensors", "*.npy", "*.png", "*.whl"]


def pyproject(root: Path = ROOT) -> dict:
    if tomllib is None:
        raise SystemExit("error: make_space.py needs Python 3.11+ (tomllib) to read pyproject.toml")
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def shipped_files(root: Path = ROOT) -> dict[str, Path]:
    """{path inside the package (scribe/_data/...): source file} for every shipped file the wheel holds:
    pyproject's package-dir maps scribe._data* onto checkpoints/, its package-data says which files."""
    tool = pyproject(root)["tool"]["setuptools"]
    out = {}
    for package, patterns in tool["package-data"].items():
        if not package.startswith("scribe._data"):
            continue
        tail = package[len("scribe._data"):].lstrip(".").replace(".", "/")
        src = root / tool["package-dir"]["scribe._data"] / tail
        for path in sorted(src.iterdir()) if src.is_dir() else []:
            if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                out["/".join(filter(None, ["scribe/_data", tail, path.name]))] = path
    return out


def front_matter(gradio_version: str) -> str:
    return "\n".join([
        "---",
        "title: Scribe",
        "emoji: ✍️",
        "colorFrom: gray",
        "colorTo: blue",
        "sdk: gradio",
        f"sdk_version: {gradio_version}",
        f"python_version: \"{PYTHON_VERSION}\"",
        "app_file: app.py",
        "license: other",
        "license_name: mit-code-iam-ondb-weights",
        "license_link: LICENSE-WEIGHTS.md",
        "short_description: Handwriting synthesis (Graves 2013), multi-style",
        "pinned: false",
        "---",
    ]) + "\n"


README_BODY = """
# Scribe

Handwriting synthesis with the Graves (2013) network: type lines, pick a style (0-12) and a neatness
per line, and download the page as SVG (ready for a pen plotter) or PNG. The `/write` API takes the
same through `gradio_client` (see *Use via API* at the foot of the page).

The model here is a small CPU-trained stand-in (see `scribe/_data/README.md`, its model card).

## Terms

- The code is MIT (`LICENSE`).
- The weights and the 39 style lines (`scribe/_data/`) come from the IAM On-Line Handwriting Database
  (IAM-OnDB), which is free for **non-commercial research only**, and whose owners ask every user to
  register with them. Use them, and what you write with them, for non-commercial research only, and
  register for IAM-OnDB yourself (`LICENSE-WEIGHTS.md`). This is not legal advice.
"""


def requirements(root: Path = ROOT) -> str:
    deps = pyproject(root)["project"]["dependencies"]
    lines = ["# PyTorch's CPU wheels: a CPU Space cannot use the CUDA build, which is several times larger.",
             CPU_INDEX, *deps]
    return "\n".join(lines) + "\n"


def gradio_version() -> str:
    from importlib.metadata import version
    return version("gradio")


def make_space(out: Path, root: Path = ROOT, sdk_version: str | None = None) -> list[Path]:
    """Write the Space's files into `out` (made if missing; refused if it holds anything)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SystemExit(f"error: {out} is not an empty folder; give a new or empty one")
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(rel: str, text: str | None = None, src: Path | None = None) -> None:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src is not None:
            shutil.copy2(src, dest)
        else:
            dest.write_text(text, encoding="utf-8")
        written.append(dest)

    put("README.md", front_matter(sdk_version or gradio_version()) + README_BODY)
    put("requirements.txt", requirements(root))
    put("packages.txt", "\n".join(PACKAGES) + "\n")
    put(".gitattributes", "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS))
    for name in ("app.py", "LICENSE", "LICENSE-WEIGHTS.md"):
        put(name, src=root / name)
    for path in sorted((root / "scribe").rglob("*.py")):
        put(path.relative_to(root).as_posix(), src=path)
    for rel, src in shipped_files(root).items():
        put(rel, src=src)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="an empty (or new) folder for the Space's files")
    p.add_argument("--sdk_version", default=None,
                   help="the Space's Gradio version (default: the one installed here, which the tests ran)")
    args = p.parse_args(argv)
    written = make_space(Path(args.out), sdk_version=args.sdk_version)
    size = sum(f.stat().st_size for f in written)
    print(f"wrote {len(written)} files ({size / 1e6:.1f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
