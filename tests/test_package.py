"""The package as users get it (slow; CI runs it): the sdist and the wheel are built from this checkout and
pass `twine check`; the wheel holds the code, the shipped model, its card, the reader and the style bank
and nothing else of IAM-OnDB; installed into a fresh virtual environment and run from a folder outside
the checkout, its commands work: `scribe-write` (SVG and PNG), `scribe-app` (a `/write` through
gradio_client), and the vpype plug-in (`vpype scribe ... write out.svg` and `... gwrite out.gcode`),
each output read back (vpype reads the SVG, the G-code is parsed)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import (ROOT, check_png, check_svg, free_port, fresh_venv, outside_env, serve_and_write,
                     torch_requirement)

pytestmark = pytest.mark.slow
DIST = "scribe-handwriting"
SHIPPED = re.compile(r"scribe/_data/(README\.md|[\w.-]+\.safetensors|styles/style-\d+(-extra-\d+)?-(chars|strokes)\.npy"
                     r"|styles/bank\.json|styles/adapters\.safetensors)")
MAX_WHEEL_MB = 15        # the models and the bank are about 6 MB: more means something was shipped by mistake


def run(cmd, **kw):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    pytest.importorskip("build", reason="`build` is in the dev extras (scripts/test.sh installs them)")
    pytest.importorskip("twine", reason="`twine` is in the dev extras (scripts/test.sh installs them)")
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT])     # the sdist, then the wheel from the sdist
    (wheel,), (sdist,) = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist])
    return wheel, sdist


@pytest.fixture(scope="module")
def installed(dists, tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's bin folder, a work folder outside the checkout) with the wheel and its vpype extra installed."""
    wheel, _ = dists
    bin_dir = fresh_venv(tmp_path_factory.mktemp("venv") / "v")
    run([bin_dir / "python", "-m", "pip", "install", "-q", torch_requirement(), f"{wheel}[vpype]"], env=outside_env())
    work = tmp_path_factory.mktemp("work")
    assert not work.resolve().is_relative_to(ROOT.resolve())
    return bin_dir, work


def test_the_wheel_holds_the_code_the_shipped_files_and_no_other_data(dists):
    wheel, sdist = dists
    names = zipfile.ZipFile(wheel).namelist()
    size_mb = wheel.stat().st_size / 1e6
    print(f"\n{wheel.name}: {size_mb:.2f} MB, {len(names)} files")
    assert size_mb < MAX_WHEEL_MB
    code = {p.relative_to(ROOT).as_posix() for p in (ROOT / "scribe").rglob("*.py")}
    assert code <= set(names), sorted(code - set(names))
    shipped = [n for n in names if n.startswith("scribe/_data/")]
    assert all(SHIPPED.fullmatch(n) for n in shipped), [n for n in shipped if not SHIPPED.fullmatch(n)]
    bank = {f"scribe/_data/styles/{p.name}" for p in (ROOT / "checkpoints" / "styles").glob("*")
            if p.suffix == ".npy" or p.name in ("bank.json", "adapters.safetensors")}
    from scribe.checkpoint import default_checkpoint
    assert {f"scribe/_data/{default_checkpoint().name}", "scribe/_data/recognizer.safetensors",
            "scribe/_data/README.md"} | bank <= set(shipped)
    others = [n for n in names if n not in shipped and not n.endswith(".py") and ".dist-info/" not in n]
    assert others == [], others        # no IAM-OnDB lines, processed data or checkpoints besides the above
    meta = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/METADATA")
    meta = meta.decode()
    assert f"Name: {DIST}" in meta and "non-commercial research only" in meta
    assert re.search(r"^License-Expression: MIT AND LicenseRef-", meta, re.M)
    assert "License-File: LICENSE-WEIGHTS.md" in meta
    members = tarfile.open(sdist).getnames()
    top = members[0].split("/")[0]
    assert f"{top}/checkpoints/{default_checkpoint().name}" in members    # the wheel is built from these
    assert not [m for m in members if m.split("/")[1:2] in (["data"], ["runs"], ["samples"])]


def test_the_wheel_installs_only_the_scribe_package_at_the_top_level(dists):
    names = zipfile.ZipFile(dists[0]).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"scribe"}   # no `train` package


def test_the_installed_commands_write_from_outside_the_checkout(installed):
    bin_dir, work = installed
    env = outside_env()
    where = run([bin_dir / "python", "-c", "import scribe, scribe.shipped as s; print(scribe.__file__); "
                 "print(s.shipped_dir())"], cwd=work, env=env).stdout.split()
    site = run([bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=work, env=env).stdout.strip()
    assert all(Path(w).resolve().is_relative_to(Path(site).resolve()) for w in where), where
    assert Path(where[1]).name == "_data"
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"scribe-write", "scribe-app", "scribe-train", "scribe-evaluate", "scribe-adapt"} <= set(scripts)
    assert [s for s in scripts if not (bin_dir / s).is_file()] == []
    run([bin_dir / "scribe-write", "--text", "Hello from the wheel", "--style", "3", "--seed", "3",
         "--candidates", "2", "--out", "hello.svg"], cwd=work, env=env)
    check_svg(work / "hello.svg", 1)
    run([bin_dir / "scribe-write", "--text", "Hello from the wheel", "--seed", "3", "--candidates", "1",
         "--format", "png", "--dpi", "96", "--out", "hello.png"], cwd=work, env=env)
    check_png(work / "hello.png")
    for script in ("scribe-train", "scribe-prepare-data"):       # the training code is in the wheel
        assert "usage:" in run([bin_dir / script, "--help"], cwd=work, env=env).stdout


def test_the_installed_app_serves_write(installed, tmp_path):
    bin_dir, work = installed
    port = free_port()
    env = outside_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    svg, png, log = serve_and_write([bin_dir / "scribe-app"], work, env, port,
                                    tmp_path / "app.log")
    check_svg(svg, 1)
    check_png(png)


def test_vpype_scribe_writes_an_svg_and_gcode_that_read_back(installed):
    bin_dir, work = installed
    env = outside_env()
    common = ["scribe", "Dear Ada", "--style", "3", "--bias", "1", "--seed", "4", "--candidates", "2",
              "--size", "8mm", "-p", "10mm", "10mm", "linesort"]
    run([bin_dir / "vpype", *common, "write", "ada.svg"], cwd=work, env=env)
    run([bin_dir / "vpype", *common, "gwrite", "-p", "gcodemm", "ada.gcode"], cwd=work, env=env)
    read = run([bin_dir / "python", "-c", "import json, vpype; lc, w, h = vpype.read_svg('ada.svg', 0.05); "
                "print(json.dumps({'paths': len(lc), 'bounds': lc.bounds(), 'w': w, 'h': h}))"],
               cwd=work, env=env)
    svg = json.loads(read.stdout)
    assert svg["paths"] > 5
    gcode = parse_gcode_mm((work / "ada.gcode").read_text())
    assert len(gcode) == svg["paths"], "one G-code path per SVG path"
    pts = np.concatenate(gcode)
    assert np.isfinite(pts).all()
    mm = 25.4 / 96
    x0, y0, x1, y1 = (v * mm for v in svg["bounds"])
    page_h = svg["h"] * mm
    # the gcodemm profile flips y over the page (origin bottom-left): the same ink, within the SVG's rounding
    assert pts[:, 0].min() == pytest.approx(x0, abs=0.2) and pts[:, 0].max() == pytest.approx(x1, abs=0.2)
    assert pts[:, 1].min() == pytest.approx(page_h - y1, abs=0.2)
    assert pts[:, 1].max() == pytest.approx(page_h - y0, abs=0.2)
    assert x0 == pytest.approx(10, abs=1.0), "--position 10mm: the ink starts 10 mm from the left edge"


def parse_gcode_mm(text: str) -> list[np.ndarray]:
    """vpype-gcode's gcodemm output: G21 (mm), absolute; G00 starts a path, G01 draws."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert lines[0] == "G21" and "G90" in lines[:4], lines[:4]
    paths: list[list[tuple[float, float]]] = []
    for ln in lines:
        m = re.fullmatch(r"(G00|G01) X(-?[\d.]+) Y(-?[\d.]+)", ln)
        if m is None:
            assert ln in ("G21", "G17", "G90", "M2"), f"unexpected G-code line {ln!r}"
            continue
        if m.group(1) == "G00":
            paths.append([])
        else:
            assert paths, "a G01 before any G00"
        paths[-1].append((float(m.group(2)), float(m.group(3))))
    return [np.array(p) for p in paths]
