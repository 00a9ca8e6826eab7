"""The package's shape: modules import downward only (no cycles, counting imports inside functions
too), Gradio only in scribe/web/ and app.py, every error under ScribeError, and a training import
that loads neither rendering nor the UI. The training code is scribe/train/ (in the package); the
checkout's train/*.py are thin scripts that import it, scanned here too."""
from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

from helpers import ROOT
from scribe.errors import ScribeError

SOURCES = sorted((ROOT / "scribe").rglob("*.py")) + sorted((ROOT / "train").glob("*.py"))


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SOURCES}


def imports_of(name: str) -> set[str]:
    """Every scribe (or train/ script) module that `name` imports, anywhere in its file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name}
    return found


def test_no_import_cycles():
    graph = {m: imports_of(m) for m in MODULES}
    # a package's __init__ runs before its modules; an __init__ that imports nothing cannot close a cycle
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == [], f"import cycles: {cycles}"
    assert {"scribe.render.page", "scribe.render.export", "scribe.web.forms"} <= set(graph)   # the walk saw them


def test_render_and_the_library_never_import_upward():
    for m in MODULES:
        deps = imports_of(m)
        if m.startswith("scribe.render."):
            assert not {d for d in deps if d.startswith(("scribe.hand", "scribe.web", "scribe.sample"))}, m
        if not m.startswith("scribe.web"):
            assert not {d for d in deps if d.startswith("scribe.web")}, m
        if m.startswith("scribe.") and not m.startswith("scribe.train"):
            # the library never reaches up into the training code (the notebook's helpers run it as scripts)
            assert not {d for d in deps if d.startswith(("train", "scribe.train", "scribe.colab"))} \
                or m == "scribe.colab", m
        if m.startswith("train."):      # the train/ scripts: thin, each runs its own scribe.train module
            assert deps == {f"scribe.{m}"}, (m, deps)
        if m in ("scribe.request", "scribe.result", "scribe.priming"):   # below every writer and front end
            assert not {d for d in deps if d.startswith(("scribe.hand", "scribe.paragraph", "scribe.document",
                                                         "scribe.batch", "scribe.sample", "scribe.candidates"))}, m
    assert {"scribe.request", "scribe.result", "scribe.priming", "scribe.paragraph"} <= set(MODULES)


def test_gradio_is_imported_only_under_scribe_web_and_in_app_py():
    offenders = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(m.split(".")[0] == "gradio" for m in mods) and "web" not in path.relative_to(ROOT).parts:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert "gradio" in (ROOT / "scribe" / "web" / "api.py").read_text()    # the scan reads real imports


def test_every_error_class_is_a_scribe_error_with_its_own_title():
    classes = []
    for m in MODULES:
        if m.startswith("train.") or m.endswith("__main__"):    # train/*.py: scripts, run by path
            continue
        module = importlib.import_module(m)
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, Exception) and c.__module__ == m]
    assert len(classes) >= 13
    assert all(issubclass(c, ScribeError) for c in classes), [c for c in classes if not issubclass(c, ScribeError)]
    assert all(isinstance(c.title, str) and c.title for c in classes)


def test_the_training_path_loads_no_rendering_and_no_ui():
    code = ("import sys, scribe.train.train, scribe.hand; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gradio' or m.startswith('scribe.web')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    code = "import sys, scribe.train.train; print(sorted(m for m in sys.modules if m.startswith('scribe.render')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
