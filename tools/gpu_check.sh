#!/usr/bin/env bash
# GPU check of the CUDA engine (docs/gpu.md), in two halves so the GPU machine needs neither a
# Rust toolchain nor network access:
#
#   tools/gpu_check.sh build   # here (no GPU needed): toolkit, `cargo test --features cuda
#                              # --no-run`, copies the stripped test binaries and compute-sanitizer
#                              # into .local/gpu-check/ (git-ignored; carry it to the GPU machine)
#   tools/gpu_check.sh run     # on the GPU machine, from the repository root: GPU tests,
#                              # compute-sanitizer (memcheck + racecheck) on the parity tests, GPU
#                              # benchmarks; prints a short table last. Step timeouts add up to
#                              # 465 s, so a run always ends within 8 min.
#   tools/gpu_check.sh         # both, on a machine that has a GPU and the toolchain
#
# Exit status of `run`: 0 only if every step passed. A machine without a GPU makes the tests
# print SKIPPED and `run` reports "no GPU" and exits 2 (a check that checked nothing must not pass).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=.local/gpu-check
sanitizer_wheel="nvidia-cuda-sanitizer-api==13.0.*"

build() {
    set -e
    tools/install_cuda_toolkit.sh >/dev/null
    rm -rf "$out" && mkdir -p "$out/bin" "$out/sanitizer"
    cargo test --features cuda --no-run --lib --test cuda_parity 2>&1 | tee "$out/build.log"
    # "Executable unittests src/lib.rs (target/debug/deps/medfm_robust-...)" and
    # "Executable tests/cuda_parity.rs (target/debug/deps/cuda_parity-...)" -> copy by role.
    grep -o 'Executable .*' "$out/build.log" | while read -r line; do
        path="${line##*(}"; path="${path%)}"
        case "$line" in
            *" src/lib.rs "*) name=lib ;;
            *" tests/cuda_parity.rs "*) name=cuda_parity ;;
            *) continue ;;
        esac
        cp "$path" "$out/bin/$name"
        strip "$out/bin/$name" 2>/dev/null || true
    done
    # compute-sanitizer from its PyPI wheel (no install, no GPU needed to unpack).
    local venv=.local/cuda-venv tmp
    tmp="$(mktemp -d)"
    "$venv/bin/pip" download --quiet --no-deps -d "$tmp" "$sanitizer_wheel"
    "$venv/bin/python" -m zipfile -e "$tmp"/*.whl "$tmp/x"
    cp -r "$tmp/x/nvidia/cu13/bin" "$tmp/x/nvidia/cu13/lib" "$out/sanitizer/"
    chmod +x "$out/sanitizer/bin/compute-sanitizer"  # zip extraction drops the mode bits
    rm -rf "$tmp"
    ls -la "$out/bin"
    du -sh "$out"
    set +e
}

# One row of the final table: step, result, seconds.
rows=()
step() {
    local name="$1"; shift
    local t0=$SECONDS
    echo "=== $name: $*"
    "$@" > "$out/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$out/$name.log"
    local res=PASS
    [ $rc -ne 0 ] && res="FAIL(rc=$rc)"
    grep -q "SKIPPED" "$out/$name.log" && [ $rc -eq 0 ] && res=SKIPPED
    rows+=("$(printf '%-28s %-14s %5ss' "$name" "$res" "$((SECONDS - t0))")")
    [ "$res" = PASS ]
}

run() {
    [ -x "$out/bin/cuda_parity" ] || { echo "run 'tools/gpu_check.sh build' first" >&2; exit 1; }
    local card="no GPU"
    if command -v nvidia-smi >/dev/null 2>&1; then
        card="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n1)"
    fi
    echo "device: $card"
    local ok=0 san="$out/sanitizer/bin/compute-sanitizer"
    export LD_LIBRARY_PATH="$root/$out/sanitizer/lib:$root/$out/sanitizer/bin:${LD_LIBRARY_PATH:-}"
    step lib_backend_tests timeout 45 "$out/bin/lib" backend:: || ok=1
    step gpu_parity_tests timeout 90 "$out/bin/cuda_parity" --nocapture --test-threads=1 || ok=1
    step sanitizer_memcheck timeout 120 "$san" --tool memcheck --error-exitcode 9 \
        "$out/bin/cuda_parity" --test-threads=1 || ok=1
    step sanitizer_racecheck timeout 120 "$san" --tool racecheck --error-exitcode 9 \
        "$out/bin/cuda_parity" --test-threads=1 ssim || ok=1
    step gpu_bench timeout 90 "$out/bin/cuda_parity" --ignored --nocapture --test-threads=1 gpu_bench_report || ok=1

    echo
    echo "================ GPU check: $card ================"
    printf '%s\n' "${rows[@]}"
    grep -h '^BENCH|' "$out/gpu_bench.log" 2>/dev/null | awk -F'|' '{ printf "%-28s %14s %s\n", $2, $3, $4 }'
    if [ "$card" = "no GPU" ]; then
        echo "no GPU on this machine: nothing was checked"
        exit 2
    fi
    exit $ok
}

case "${1:-all}" in
    build) build ;;
    run) run ;;
    all) build && run ;;
    *) echo "usage: $0 [build|run|all]" >&2; exit 1 ;;
esac
