#!/usr/bin/env bash
# cmake from PyPI into .local/cmake-venv (CharLS, the DICOM JPEG-LS codec of the `jpeg-ls`
# feature, is C++ built from source by cmake through the charls-sys crate). Prints cmake's path.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN="cmake==4.4.5"
venv=.local/cmake-venv
if [ ! -x "$venv/bin/cmake" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet "$PIN" >&2
fi
echo "$PWD/$venv/bin/cmake"
