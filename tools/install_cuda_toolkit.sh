#!/usr/bin/env bash
# Install the pinned CUDA 13.0 compiler toolchain (nvcc, ptxas, cicc/NVVM, crt headers, runtime
# headers, CCCL) from PyPI into a project-local venv, WITHOUT a GPU or a system CUDA install.
# Idempotent: re-running with the toolkit present only prints the nvcc path.
#
#   tools/install_cuda_toolkit.sh            # -> .local/cuda-venv (git-ignored)
#   CUDA_VENV=/some/dir tools/install_cuda_toolkit.sh
#
# build.rs finds nvcc here automatically (after $NVCC, $CUDA_HOME, $CUDA_PATH and PATH).
# CUDA 13.0 is pinned on purpose: PTX from a newer nvcc than the driver cannot be loaded, and
# 13.0 matches driver 580 (spec/gpu.md). x86-64 Linux only (the wheels' platform).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CUDA_VENV:-$root/.local/cuda-venv}"
python="${PYTHON:-python3}"

find_nvcc() {
    local n
    n="$(ls "$venv"/lib/python3*/site-packages/nvidia/cu13/bin/nvcc 2>/dev/null | head -n1 || true)"
    [ -n "$n" ] && [ -x "$n" ] && echo "$n"
}

if nvcc="$(find_nvcc)" && "$nvcc" --version >/dev/null 2>&1; then
    echo "CUDA toolkit already installed" >&2
    echo "$nvcc"
    exit 0
fi

if [ ! -x "$venv/bin/pip" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --disable-pip-version-check --quiet \
    "nvidia-cuda-nvcc==13.0.*" \
    "nvidia-cuda-runtime==13.0.*" \
    "nvidia-cuda-crt==13.0.*" \
    "nvidia-cuda-cccl==13.0.*" \
    "nvidia-nvvm==13.0.*"

nvcc="$(find_nvcc)" || { echo "install_cuda_toolkit: nvcc not found under $venv after install" >&2; exit 1; }
"$nvcc" --version >&2
echo "$nvcc"
