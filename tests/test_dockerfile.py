"""The Dockerfile, checked without Docker (no daemon or registry here): what it copies exists, it runs as
a non-root user on the Spaces port, and the app starts and writes from the copied files alone, with
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT set as the image sets them: every module it imported to start
and write is found in the copy or in the Python installation, none in this checkout."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, free_port, serve_and_write

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, arguments) per line, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), shlex.split(rest)))
    return out


def copied() -> list[str]:
    """Every COPY source (flags such as --chown dropped)."""
    return [src for word, args in instructions() if word == "COPY"
            for src in [a for a in args if not a.startswith("--")][:-1]]


def test_the_dockerfile_copies_what_exists_runs_as_a_user_and_serves_on_the_spaces_port():
    sources = copied()
    assert sources and all((ROOT / s).exists() for s in sources), [s for s in sources if not (ROOT / s).exists()]
    assert {"app.py", "scribe/", "checkpoints/", "requirements.txt", "pyproject.toml"} <= set(sources)
    users = [args[0] for word, args in instructions() if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(" ".join(args) for word, args in instructions() if word == "ENV")
    assert "GRADIO_SERVER_NAME=0.0.0.0" in env and "GRADIO_SERVER_PORT=7860" in env
    cmd = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    assert cmd and json.loads(cmd[-1][4:]) == ["python", "app.py"]
    runs = " ".join(" ".join(args) for word, args in instructions() if word == "RUN")
    assert "download.pytorch.org/whl/cpu" in runs            # CPU torch, not the CUDA build


@pytest.mark.slow
def test_the_app_starts_and_writes_from_the_copied_files_alone(tmp_path):
    from gradio_client import Client
    image = tmp_path / "app"
    image.mkdir()
    for src in copied():
        path = ROOT / src
        if path.is_dir():
            shutil.copytree(path, image / src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, image / src)
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": str(image)}
    where = subprocess.run([sys.executable, "-c", "import scribe; print(scribe.__file__)"], cwd=image, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(image.resolve()), where    # the copy, not this checkout
    # -X importtime: the app names every module it imports (on stderr), to be found again below
    svg, png, log_text = serve_and_write([sys.executable, "-X", "importtime", "app.py"], image, env, port,
                                         tmp_path / "app.log", timeout_s=180)
    assert Path(svg).read_text().lstrip().startswith(("<?xml", "<svg")) and Path(png).stat().st_size > 1000
    imported = sorted({line.rsplit("|", 1)[1].strip().split(".")[0]
                       for line in log_text.splitlines() if line.startswith("import time:")}
                      - {"imported package"})
    assert {"scribe", "gradio", "torch"} <= set(imported)
    outside = json.loads(subprocess.run([sys.executable, "-c", FIND_OUTSIDE, str(image), json.dumps(imported)],
                                        cwd=image, env=env, capture_output=True, text=True, check=True).stdout)
    assert outside == {}, outside       # e.g. a package the image lacks, found in this checkout instead


# Where each top-level module the app imported is found with the image's PYTHONPATH: those neither in the
# image nor in the Python installation (the standard library, site-packages) come from somewhere the
# image would not have (this checkout, or the editable install's source folder).
FIND_OUTSIDE = """
import importlib.util, json, os, sys, sysconfig
roots = [os.path.realpath(sys.argv[1])] + sorted({os.path.realpath(p) for p in
         [sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()]})
out = {}
for name in json.loads(sys.argv[2]):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    where = [spec.origin] if spec and spec.origin not in (None, "built-in", "frozen") else []
    where += list(spec.submodule_search_locations or []) if spec else []
    bad = [w for w in where if not any(os.path.realpath(w).startswith(r + os.sep) for r in roots)]
    if bad:
        out[name] = bad
print(json.dumps(out))
"""
