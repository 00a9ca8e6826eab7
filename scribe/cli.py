"""What every command does with bad input: one line on stderr that names the problem, exit code 2, and
never a traceback. Every entry point (`scribe-write`, `scribe-evaluate`, `scribe-adapt`, `scribe-train`
and the other train/*.py scripts, `scribe-app`) builds its parser with `ArgumentParser` and wraps its
`main(argv)` in `@command`:

- a flag argparse cannot take (unknown, missing, or refused by a `type=` check below) raises UsageError
  instead of printing the usage text and exiting, so it is reported like any other mistake;
- a ScribeError (any error the user can cause, scribe.errors) prints `error: <message>`, exit 2;
- an OSError (a path that cannot be read or written, a full disk, a port in use) prints
  `error: <what>: <path>`, exit 2;
- Ctrl-C prints `interrupted`, exit 130;
- anything else is a bug in Scribe, not the user's mistake: `internal error: <type>: <message>`, exit 1,
  still without a traceback; SCRIBE_TRACEBACK=1 prints the full traceback for a bug report.

The `type=` checks (whole, number, port, device, file_to_read, file_to_write, folder_to_write) refuse a
value when argparse reads it, before any model or data is loaded. Each also takes a number, so a config
file's values go through the same check (train/train.py).
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable

from .errors import ScribeError

EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
TRACEBACK_ENV = "SCRIBE_TRACEBACK"


class UsageError(ScribeError, ValueError):
    """A flag, environment variable or path on the command line that cannot be used."""
    title = "Cannot run this command"


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, except that a mistake raises UsageError (one line, exit 2 under `command`)
    rather than printing the whole usage text; --help is unchanged."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


def command(main: Callable) -> Callable:
    """Wrap a command's `main(argv=None) -> int | None`: the returned function gives main's exit code,
    or reports an exception in one line and gives 2 (the user's mistake), 1 (a bug) or 130 (Ctrl-C).
    SystemExit (--help) passes through."""

    @functools.wraps(main)
    def run(argv=None) -> int:
        try:
            code = main(argv)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except Exception as e:   # noqa: BLE001  (the one place that turns every exception into a line)
            return report(e)
        return 0 if code is None else int(code)
    return run


def report(e: BaseException) -> int:
    """Print one line for `e` on stderr and return its exit code (see the module's docstring)."""
    message = user_message(e)
    if message is not None:
        print(f"error: {message}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    if os.environ.get(TRACEBACK_ENV):
        traceback.print_exception(e)
    else:
        print(f"internal error: {type(e).__name__}: {one_line(str(e))} (a bug in Scribe, not in what you "
              f"asked; run again with {TRACEBACK_ENV}=1 to see where)", file=sys.stderr, flush=True)
    return EXIT_INTERNAL


def user_message(e: BaseException) -> str | None:
    """The one-line message for an error the user can cause or fix; None for a bug."""
    if isinstance(e, ScribeError):
        return one_line(str(e))
    if isinstance(e, OSError):
        what = e.strerror or one_line(str(e)) or type(e).__name__
        return f"{what}: {e.filename}" if e.filename else what
    return None


def one_line(text: str, limit: int = 2000) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


# ---- type= checks: each refuses with argparse.ArgumentTypeError, which argparse prefixes with the flag ----
def _shown(value) -> str:
    return repr(value)[:40] if isinstance(value, str) else str(value)[:40]


def whole(lo: int | None = None, hi: int | None = None) -> Callable[[object], int]:
    """A whole number from lo to hi (either end open when None), from text or a number."""
    span = (f"from {lo} to {hi}" if lo is not None and hi is not None else f"of {lo} or more" if lo is not None
            else f"of {hi} or less" if hi is not None else "")

    def check(value) -> int:
        n = None
        if isinstance(value, str):
            try:
                n = int(value.strip())
            except ValueError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            n = value
        elif isinstance(value, float) and value.is_integer():
            n = int(value)
        if n is None or (lo is not None and n < lo) or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(
                f"must be a whole number{' ' + span if span else ''}, not {_shown(value)}")
        return n
    check.__name__ = "whole number"
    return check


def number(lo: float | None = None, hi: float | None = None, *,
           above: float | None = None) -> Callable[[object], float]:
    """A finite number from lo to hi (either end open when None); `above`: strictly greater than it."""
    if above is not None:
        span = f"above {above:g}" + (f" and at most {hi:g}" if hi is not None else "")
    elif lo is not None and hi is not None:
        span = f"from {lo:g} to {hi:g}"
    else:
        span = f"of {lo:g} or more" if lo is not None else f"of {hi:g} or less" if hi is not None else ""

    def check(value) -> float:
        f = None
        if isinstance(value, str):
            try:
                f = float(value.strip())
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            f = float(value)
        if f is None or not math.isfinite(f) or (lo is not None and f < lo) or (hi is not None and f > hi) \
                or (above is not None and not f > above):
            raise argparse.ArgumentTypeError(
                f"must be a finite number{' ' + span if span else ''}, not {_shown(value)}")
        return f
    check.__name__ = "number"
    return check


port = whole(1, 65535)


def device(value) -> str:
    """cpu, cuda, cuda:N or mps, and present on this machine."""
    import torch   # every command that takes --device runs torch anyway
    text = str(value).strip()
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a device: use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{text}: this machine has no CUDA GPU that torch can use")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{text}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise argparse.ArgumentTypeError(f"{text}: this machine has no MPS device")
    elif dev.type != "cpu":
        raise argparse.ArgumentTypeError(f"{text}: Scribe runs on cpu, cuda or mps")
    return text


def file_to_read(value) -> str:
    """An existing file (not a folder)."""
    path = Path(str(value))
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no file at {value}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder, not a file")
    return str(value)


def folder_to_write(value) -> str:
    """A folder that exists and can be written, or one that can be made: checked without leaving
    anything behind (a probe folder is made where the first missing one would go, and removed)."""
    check_writable(Path(str(value)))
    return str(value)


def file_to_write(value) -> str:
    """A file that can be written: not a folder, in a folder that exists and can be written or that
    can be made."""
    path = Path(str(value))
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; give a file name (e.g. {path / 'name'})")
    check_writable(path.parent)
    return str(value)


def check_writable(path: Path) -> None:
    """Refuse (ArgumentTypeError) a folder that cannot be written or made."""
    path = Path(os.path.abspath(path))
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder: cannot write in {path}")
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):   # no statvfs (Windows): the access check and the probe still run
        read_only = False
    if read_only or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {existing} (read-only or no permission)")
    if existing != path:
        # make (and remove) a uniquely named folder where the first missing one would go: whether folders
        # can be made there, without racing another process that checks or makes the same path
        try:
            probe = tempfile.mkdtemp(prefix=".scribe-check-", dir=existing)
        except OSError as e:
            raise argparse.ArgumentTypeError(f"cannot make the folder {path}: {e.strerror or e}") from None
        os.rmdir(probe)


def checked(value, check: Callable, name: str):
    """`check(value)` for a value that did not come through argparse (a config file, an environment
    variable): a refusal becomes a UsageError naming `name`."""
    try:
        return check(value)
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"{name}: {e}") from None


def env_value(name: str, check: Callable | None = None):
    """An environment variable's value (None when unset or blank), checked like the flag it stands for."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value if check is None else checked(value, check, f"environment variable {name}")
