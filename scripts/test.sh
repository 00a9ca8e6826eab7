#!/usr/bin/env bash
# Install everything the tests need (apt and pip), then run the whole suite, slow tests included.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || ! ldconfig -p | grep -q libcairo.so.2; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libcairo2 >/dev/null
fi
python -m pip install -q torch==2.13.0 -e ".[dev]"
# The suite includes the package as users get it (tests/test_package.py, slow): it builds the sdist and
# the wheel, runs `twine check`, installs the wheel into a fresh virtual environment and runs scribe-write,
# scribe-app and `vpype scribe` (write, gwrite) from a folder outside this checkout; tests/test_space.py
# serves /write from the assembled Hugging Face Space in another fresh one.
python -m pytest -q -rs "$@"
