"""The Hugging Face Space as pushed: `scripts/make_space.py` assembles its files into an empty folder (the
front matter, packages.txt, requirements that install CPU torch, the app and the package with its shipped
files); slow: a fresh virtual environment installs those requirements and serves `/write` from the folder."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from helpers import ROOT, check_png, check_svg, free_port, fresh_venv, outside_env, serve_and_write, torch_requirement

CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def make_space(out: Path) -> Path:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_space.py"), str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    block = text.split("---\n")[1]
    return {k.strip(): v.strip().strip('"') for k, v in (ln.split(":", 1) for ln in block.splitlines() if ln)}


def test_the_space_folder_holds_what_a_gradio_space_needs_and_nothing_of_the_checkout(tmp_path):
    space = make_space(tmp_path / "space")
    meta = front_matter(space / "README.md")
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == version("gradio")
    assert (space / meta["app_file"]).is_file() and meta["app_file"] == "app.py"
    assert meta["title"] and meta["python_version"].startswith("3.") and meta["license"]
    assert (space / meta["license_link"]).is_file()
    assert "non-commercial research only" in (space / "README.md").read_text(encoding="utf-8")
    assert (space / "packages.txt").read_text().split() == ["libcairo2"]
    reqs = [ln.strip() for ln in (space / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert reqs[0] == CPU_INDEX and any(r.startswith("torch") for r in reqs)
    import tomllib
    assert set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]) <= set(reqs)
    shipped = sorted(p.relative_to(space).as_posix() for p in (space / "scribe" / "_data").rglob("*") if p.is_file())
    assert "scribe/_data/recognizer.safetensors" in shipped and "scribe/_data/README.md" in shipped
    assert {s.rsplit("/", 1)[1] for s in shipped if s.startswith("scribe/_data/styles/")} == \
        {p.name for p in (ROOT / "checkpoints" / "styles").glob("*")
         if p.suffix == ".npy" or p.name in ("bank.json", "adapters.safetensors")}
    assert not (space / "pyproject.toml").exists() and not (space / "checkpoints").exists()  # the _data copy is used
    assert "*.safetensors filter=lfs" in (space / ".gitattributes").read_text()
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_space.py"), str(space)], capture_output=True,
                           text=True, timeout=120)
    assert again.returncode != 0 and "not an empty folder" in again.stderr


@pytest.mark.slow
def test_the_space_serves_write_from_a_fresh_virtual_environment(tmp_path):
    space = make_space(tmp_path / "space")
    bin_dir = fresh_venv(tmp_path / "venv")
    # The Space's requirements as they are, but for PyTorch's CPU index, which CI cannot reach: the torch
    # this test runs (pip's cache) stands in for the Space's CPU wheel.
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("".join(ln + "\n" for ln in (space / "requirements.txt").read_text().splitlines()
                            if ln.strip() != CPU_INDEX))
    done = subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", torch_requirement(), "-r", reqs],
                          capture_output=True, text=True, timeout=900, env=outside_env())
    assert done.returncode == 0, done.stderr[-3000:]
    env = outside_env()
    where = subprocess.run([bin_dir / "python", "-c", "import scribe, scribe.shipped as s; print(scribe.__file__); "
                            "print(s.shipped_dir())"], cwd=space, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert all(Path(w).resolve().is_relative_to(space.resolve()) for w in where.stdout.split()), where.stdout
    port = free_port()
    env = outside_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    svg, png, log = serve_and_write([bin_dir / "python", "app.py"], space, env, port,
                                    tmp_path / "space.log")
    check_svg(svg, 1)
    check_png(png)
