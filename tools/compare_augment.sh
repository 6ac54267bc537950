#!/usr/bin/env bash
# Runs tools/compare_augment.py in .local/py-bench (the wheel from tools/test_python.sh or
# `make wheel`, plus tools/requirements-augment.txt from PyPI). Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.local/py-bench
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/requirements-augment.txt
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/medfm_robust-*.whl
"$VENV/bin/python" tools/compare_augment.py
