#!/usr/bin/env bash
# The Python package's tests, as `make test` runs them (README): build the wheel with maturin,
# install it into the test environment under .local/, run python/tests against the CLI binary,
# then install the same wheel into a brand-new environment that has only numpy and use it.
# Everything comes from PyPI (tools/requirements-python.txt) into .local/; nothing by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# run alone, it has no stage clock of tools/test.sh
declare -F stage >/dev/null || stage() { echo "== $*"; }
PY="${PYTHON:-python3}"
REQ=tools/requirements-python.txt
VENV=.local/py-test
STAMP="$VENV/.requirements"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$STAMP"; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$STAMP"
fi
stage "maturin build --release (python/ -> target/wheels)"
rm -f target/wheels/medfm_robust-*.whl
"$VENV/bin/maturin" build --release --quiet -m python/Cargo.toml --out target/wheels \
  --strip --interpreter "$VENV/bin/python"
WHEEL="$(ls target/wheels/medfm_robust-*.whl)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"
stage "pytest python/tests (against the CLI: target/debug/medfm-robust)"
# The CLI as `cargo test --features jpeg-ls` of tools/test.sh built it for the integration tests:
# building one integration test target gives the same features (dev-dependencies included) and
# profile, so after tools/test.sh's test stage nothing compiles (`cargo build --bin` would
# resolve features without the dev-dependencies and rebuild the crate); alone, this builds it.
CMAKE="${CMAKE:-$(tools/setup_cmake.sh)}" cargo test --quiet --features jpeg-ls --no-run \
  --test device_cli 2>/dev/null
MEDFM_ROBUST_BIN="$PWD/target/debug/medfm-robust" "$VENV/bin/python" -m pytest -q python/tests \
  -p no:cacheprovider
stage "the wheel in a fresh environment with numpy only"
CLEAN="$(mktemp -d)"
trap 'rm -rf "$CLEAN"' EXIT
"$PY" -m venv "$CLEAN/env"
"$CLEAN/env/bin/pip" install --quiet --disable-pip-version-check "numpy==$(grep '^numpy==' "$REQ" | cut -d= -f3)" "$WHEEL"
"$CLEAN/env/bin/python" - <<'PY'
import numpy as np
import medfm_robust as mr
img = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) % 251).astype(np.uint8)
levels = mr.calibrate(img, "gaussian_noise", levels=[1, 3])
assert [l["level"] for l in levels] == [1, 3] and all(l["in_band"] for l in levels), levels
out = mr.apply(img, "gaussian_noise", levels[0]["strength"])
assert out.dtype == np.uint8 and out.shape == img.shape
print(f"medfm_robust {mr.__version__}: {len(mr.perturbations())} perturbations, calibrate and apply work with numpy only")
PY
