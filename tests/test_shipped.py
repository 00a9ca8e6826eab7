"""Where the shipped files are found (scribe/shipped.py), what pyproject.toml packages, and the licence
statements: fast checks; tests/test_package.py builds and installs the real wheel (slow)."""
from __future__ import annotations

import subprocess
import sys
import tomllib

from helpers import ROOT
from scribe import shipped
from scribe.checkpoint import SHIPPED_DIR
from scribe.recognizer import SHIPPED_RECOGNIZER
from scribe.styles import SHIPPED_STYLE_DIR

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_a_checkout_reads_its_own_checkpoints_folder():
    assert shipped.in_checkout() and shipped.shipped_dir() == ROOT / "checkpoints"
    assert SHIPPED_DIR == ROOT / "checkpoints" and SHIPPED_STYLE_DIR == ROOT / "checkpoints" / "styles"
    assert SHIPPED_RECOGNIZER.is_file()


def test_a_copy_of_the_package_without_the_checkout_reads_its_data_folder(tmp_path):
    """As installed (site-packages) or in the Space: no pyproject.toml beside the package, so scribe/_data."""
    import shutil
    shutil.copytree(ROOT / "scribe", tmp_path / "scribe", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-c", "import scribe.shipped as s; print(s.shipped_dir())"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str((tmp_path / "scribe" / "_data").resolve())


def test_every_package_under_scribe_is_in_the_wheel_and_the_data_comes_from_checkpoints():
    tool = PYPROJECT["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "scribe").rglob("__init__.py")}
    assert on_disk <= set(tool["packages"]), sorted(on_disk - set(tool["packages"]))
    assert tool["package-dir"] == {"scribe._data": "checkpoints"}
    assert "train" not in tool["packages"], "a top-level `train` package would clash with other projects"


def test_console_scripts_and_the_vpype_plugin_point_at_real_functions():
    import importlib
    project = PYPROJECT["project"]
    scripts = project["scripts"]
    assert {"scribe-write", "scribe-app", "scribe-train", "scribe-evaluate", "scribe-adapt"} <= set(scripts)
    for target in [*scripts.values(), *project["entry-points"]["vpype.plugins"].values()]:
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), target


def test_the_licence_and_the_weights_terms_are_stated_everywhere_a_user_looks():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    project = PYPROJECT["project"]
    assert project["name"] == "scribe-handwriting"
    assert project["license"].startswith("MIT AND LicenseRef-")
    assert set(project["license-files"]) == {"LICENSE", "LICENSE-WEIGHTS.md"}
    assert "non-commercial research only" in project["description"]
    for doc in ("README.md", "checkpoints/README.md", "LICENSE-WEIGHTS.md"):
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert "non-commercial research only" in text, doc
        assert "register" in text, doc


def test_the_installed_copy_is_labelled_as_in_a_checkout():
    from scribe.web.state import checkpoint_label
    assert checkpoint_label(shipped.INSTALLED_DIR / "scribe-standin.safetensors") == \
        "scribe-standin.safetensors  (checkpoints)"
