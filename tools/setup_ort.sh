#!/usr/bin/env bash
# Install the ONNX Runtime shared library that `medfm-robust eval-seg` loads at run time.
#
# What: the CPU build of ONNX Runtime 1.31.1, taken from the PyPI wheel `onnxruntime==1.31.1`
# (file onnxruntime/capi/libonnxruntime.so.1.31.1), unpacked into the project-local folder
# .local/onnxruntime/ (git-ignored). The crate looks there after ORT_DYLIB_PATH
# (src/eval/seg/ort.rs). Idempotent: does nothing when the library is already in place.
#
# Usage: tools/setup_ort.sh            (PYTHON=... to choose the interpreter whose pip downloads)
# GPU: for the cuda/tensorrt providers install `onnxruntime-gpu==1.31.1` in a Python environment
# and point ORT_DYLIB_PATH at its onnxruntime/capi/libonnxruntime.so.1.31.1.
set -euo pipefail

VERSION=1.31.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.local/onnxruntime"
LIB="$DEST/libonnxruntime.so.$VERSION"

if [[ -f "$LIB" ]]; then
    echo "setup_ort: $LIB already present"
    exit 0
fi

case "$(uname -s)" in
    Linux) ;;
    *) echo "setup_ort: only Linux wheels are handled here; set ORT_DYLIB_PATH to your onnxruntime library" >&2; exit 1 ;;
esac

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    for cand in python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -m pip --version >/dev/null 2>&1; then PY="$cand"; break; fi
    done
fi
if [[ -z "$PY" ]]; then
    echo "setup_ort: needs a Python with pip to download the onnxruntime==$VERSION wheel" >&2
    exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# Only the wheel itself (no dependencies: the shared library needs none of them).
"$PY" -m pip download --quiet --no-deps --only-binary=:all: "onnxruntime==$VERSION" -d "$TMP"
WHEEL="$(ls "$TMP"/onnxruntime-"$VERSION"-*.whl | head -n1)"
"$PY" - "$WHEEL" "$DEST" "$VERSION" <<'PYEOF'
import sys, zipfile, os
wheel, dest, version = sys.argv[1], sys.argv[2], sys.argv[3]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    data = z.read(name)
tmp = os.path.join(dest, ".partial")
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, os.path.join(dest, os.path.basename(name)))
PYEOF
ln -sf "libonnxruntime.so.$VERSION" "$DEST/libonnxruntime.so"
echo "setup_ort: installed $LIB"
