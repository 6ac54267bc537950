#!/usr/bin/env bash
# The test suite, as `make test` and CI run it (after the setup steps of the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# each stage header says how long the suite has run so far (CI has a 40-minute budget)
TEST_START="${TEST_START:-$(date +%s)}"
stage() { local t=$(($(date +%s) - TEST_START)); echo "== [$((t / 60))m$((t % 60))s] $*"; }
export TEST_START
export -f stage
stage "cargo fmt --check (the tree is rustfmt-clean; run cargo fmt)"
cargo fmt --all --check
# CharLS (DICOM JPEG-LS, the jpeg-ls feature) is built by cmake, from PyPI into .local/.
CMAKE="$(tools/setup_cmake.sh)"
export CMAKE
stage "cargo clippy (default features; warnings are errors)"
cargo clippy --all-targets -- -D warnings
stage "cargo test (CPU engine, with DICOM JPEG-LS; needs .local/onnxruntime from tools/setup_ort.sh)"
cargo test --features jpeg-ls --all-targets --no-fail-fast
stage "the Python package: clippy, wheel, pytest (tools/test_python.sh)"
cargo clippy -p medfm-robust-python -- -D warnings
tools/test_python.sh
if [ -x tools/install_cuda_toolkit.sh ]; then
  NVCC="$(tools/install_cuda_toolkit.sh)"
  stage "cargo clippy --all-features (every target compiled with the CUDA engine; warnings are errors)"
  NVCC="$NVCC" cargo clippy --all-targets --all-features -- -D warnings
  # The tests whose code changes with the feature: the library's and the CLI's unit tests and
  # every integration test that mentions the feature or the probe (the GPU parity tests, which
  # are #[ignore]d without a GPU, and the device-selection CLI tests). The other integration
  # tests ran above on the same CPU code; clippy just compiled them with the feature.
  CUDA_TESTS=()
  for f in $(grep -lE 'feature = "cuda"|cuda_available' tests/*.rs); do
    CUDA_TESTS+=(--test "$(basename "$f" .rs)")
  done
  stage "cargo test --features cuda (kernels compiled by nvcc; $((${#CUDA_TESTS[@]} / 2)) test targets)"
  NVCC="$NVCC" cargo test --features cuda,jpeg-ls --no-fail-fast --lib --bins "${CUDA_TESTS[@]}"
fi
