#!/usr/bin/env bash
# The test suite, as `make test` and CI run it (after the setup steps of the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check (the tree is rustfmt-clean; run cargo fmt)"
cargo fmt --all --check
# CharLS (DICOM JPEG-LS, the jpeg-ls feature) is built by cmake, from PyPI into .local/.
CMAKE="$(tools/setup_cmake.sh)"
export CMAKE
echo "== cargo clippy (default features; warnings are errors)"
cargo clippy --all-targets -- -D warnings
echo "== cargo test (CPU engine, with DICOM JPEG-LS; needs .local/onnxruntime from tools/setup_ort.sh)"
cargo test --features jpeg-ls --all-targets --no-fail-fast
echo "== the Python package: clippy, wheel, pytest (tools/test_python.sh)"
cargo clippy -p medfm-robust-python -- -D warnings
tools/test_python.sh
if [ -x tools/install_cuda_toolkit.sh ]; then
  echo "== cargo test --features cuda (kernels compiled by nvcc; GPU tests skip without a GPU)"
  NVCC="$(tools/install_cuda_toolkit.sh)"
  echo "== cargo clippy --all-features (the CUDA launch layer too; warnings are errors)"
  NVCC="$NVCC" cargo clippy --all-targets --all-features -- -D warnings
  NVCC="$NVCC" cargo test --features cuda,jpeg-ls --no-fail-fast
fi
