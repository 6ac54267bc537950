#!/usr/bin/env bash
# GPU check of the CUDA engine (docs/gpu.md), in two halves so the GPU machine needs neither a
# Rust toolchain nor network access:
#
#   tools/gpu_check.sh build   # here (no GPU needed): toolkit, `cargo test --features cuda
#                              # --no-run`, packs the stripped GPU test binaries into
#                              # .local/gpu-check/bin.tar.xz (git-ignored; carry .local/gpu-check)
#   tools/gpu_check.sh run     # on the GPU machine, from the repository root: GPU tests,
#                              # compute-sanitizer (memcheck + racecheck) on the parity tests, GPU
#                              # benchmarks, tools/compare_torch.py, the demo (its benchmark is a
#                              # `run` with the config's device) on cuda and on the CPU; prints a
#                              # short table last. Carry .local/gpu-check (it also packs
#                              # .local/onnxruntime's library, for the demo's ONNX segmentation).
#                              # Every step runs under a share of one 450 s budget, so a run
#                              # always ends within 8 min.
#   tools/gpu_check.sh         # both, on a machine that has a GPU and the toolchain
#
# The GPU tests (tests/cuda_parity*.rs, cuda_ort_zero_copy.rs, gpu_bench.rs) are #[ignore]d, so a
# plain `cargo test` reports them as ignored, never as passed; this script runs them with
# --include-ignored.
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
    rm -rf "$out" && mkdir -p "$out/bin"
    local tests=()
    for f in tests/cuda_parity*.rs tests/cuda_ort_zero_copy.rs tests/gpu_bench.rs; do tests+=(--test "$(basename "$f" .rs)"); done
    cargo test --features cuda --no-run --lib "${tests[@]}" 2>&1 | tee "$out/build.log"
    # "Executable unittests src/lib.rs (target/debug/deps/medfm_robust-...)" and
    # "Executable tests/cuda_parity_us.rs (target/debug/deps/cuda_parity_us-...)" -> copy by role.
    grep -o 'Executable .*' "$out/build.log" | while read -r line; do
        path="${line##*(}"; path="${path%)}"
        case "$line" in
            *" src/lib.rs "*) name=lib ;;
            *" tests/cuda_parity"* | *" tests/cuda_ort_zero_copy.rs "* | *" tests/gpu_bench.rs "*) name="$(basename "$(echo "$line" | awk '{print $2}')" .rs)" ;;
            *) continue ;;
        esac
        cp "$path" "$out/bin/$name"
        strip "$out/bin/$name" 2>/dev/null || true
    done
    # The GPU machine's image has compute-sanitizer; GPU_CHECK_SANITIZER=1 also carries the
    # pinned one from its PyPI wheel (no install, no GPU needed to unpack) for machines without.
    if [ "${GPU_CHECK_SANITIZER:-0}" = 1 ]; then
        local venv=.local/cuda-venv tmp
        tmp="$(mktemp -d)"
        mkdir -p "$out/sanitizer"
        "$venv/bin/pip" download --quiet --no-deps -d "$tmp" "$sanitizer_wheel"
        "$venv/bin/python" -m zipfile -e "$tmp"/*.whl "$tmp/x"
        cp -r "$tmp/x/nvidia/cu13/bin" "$tmp/x/nvidia/cu13/lib" "$out/sanitizer/"
        chmod +x "$out/sanitizer/bin/compute-sanitizer"  # zip extraction drops the mode bits
        rm -rf "$tmp"
    fi
    # the CLI with the CUDA engine, for the demo runs (release: the demo's images/s are figures)
    cargo build --release --features cuda --bin medfm-robust 2>&1 | tail -n 2
    cp target/release/medfm-robust "$out/bin/medfm-robust"
    strip "$out/bin/medfm-robust" 2>/dev/null || true
    # the CPU onnxruntime library of tools/setup_ort.sh, for the demo's ONNX segmentation
    tools/setup_ort.sh >/dev/null
    cp .local/onnxruntime/libonnxruntime.so.1.31.1 "$out/bin/"
    ls -la "$out/bin"
    # The binaries embed the same fatbins: with a dictionary larger than the whole pack, xz
    # stores them once (about 180 MB into 20 MB; the default 8 MiB dictionary gave 26 MB without
    # the library), which keeps the carried folder inside the device tool's 64 MiB working-tree
    # limit next to the ~25 MB repository.
    XZ_OPT="--lzma2=preset=6,dict=256MiB" tar -C "$out" -cJf "$out/bin.tar.xz" bin && rm -rf "$out/bin"
    du -sh "$out"
    set +e
}

# One row of the final table: step, result, seconds. `step NAME LIMIT CMD...` runs CMD under
# `timeout`, capped by what is left of the whole run's 450 s budget (under 8 minutes in all).
# It succeeds on PASS, and on SKIPPED only with SKIP_OK=1 (a step whose skip is expected).
rows=()
deadline=0
step() {
    local name="$1" limit="$2"; shift 2
    local t0=$SECONDS left=$((deadline - SECONDS))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -le 0 ]; then
        rows+=("$(printf '%-28s %-14s %5ss' "$name" "FAIL(no time)" 0)")
        return 1
    fi
    echo "=== $name (limit ${limit}s): $*"
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$out/$name.log"
    local res=PASS
    [ $rc -ne 0 ] && res="FAIL(rc=$rc)"
    grep -q "SKIPPED" "$out/$name.log" && [ $rc -eq 0 ] && res=SKIPPED
    rows+=("$(printf '%-28s %-14s %5ss' "$name" "$res" "$((SECONDS - t0))")")
    [ "$res" = PASS ] || { [ "$res" = SKIPPED ] && [ "${SKIP_OK:-0}" = 1 ]; }
}

run() {
    deadline=$((SECONDS + 450))
    if [ ! -d "$out/bin" ] && [ -f "$out/bin.tar.xz" ]; then
        tar -C "$out" -xJf "$out/bin.tar.xz" 2>/dev/null \
            || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$out/bin.tar.xz" "$out"
    fi
    [ -x "$out/bin/cuda_parity" ] || { echo "run 'tools/gpu_check.sh build' first" >&2; exit 1; }
    local card="no GPU"
    if command -v nvidia-smi >/dev/null 2>&1; then
        card="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n1)"
    fi
    [ -n "$card" ] || card="no GPU"
    echo "device: $card"
    local ok=0 san="" b
    for cand in "$out/sanitizer/bin/compute-sanitizer" "$(command -v compute-sanitizer 2>/dev/null)" \
                /usr/local/cuda/bin/compute-sanitizer /opt/nvidia/compute-sanitizer/compute-sanitizer; do
        [ -n "$cand" ] && [ -x "$cand" ] && { san="$cand"; break; }
    done
    [ -d "$out/sanitizer/lib" ] && export LD_LIBRARY_PATH="$root/$out/sanitizer/lib:$root/$out/sanitizer/bin:${LD_LIBRARY_PATH:-}"
    local parity=()
    for b in "$out"/bin/cuda_parity* "$out"/bin/cuda_ort_zero_copy; do [ -x "$b" ] && parity+=("$b"); done
    step lib_backend_tests 30 "$out/bin/lib" --include-ignored backend:: || ok=1
    for b in "${parity[@]}"; do
        # cuda_ort_zero_copy also needs an onnxruntime with the CUDA provider (ORT_DYLIB_PATH):
        # without one its run test prints SKIPPED, which is expected and does not fail the check.
        local skip_ok=0
        [ "$(basename "$b")" = cuda_ort_zero_copy ] && skip_ok=1
        SKIP_OK=$skip_ok step "$(basename "$b")" 40 "$b" --include-ignored --nocapture --test-threads=1 || ok=1
    done
    if [ -n "$san" ]; then
        echo "compute-sanitizer: $san"
        step sanitizer_memcheck 150 bash -c 'for b in "$@"; do "$0" --tool memcheck --error-exitcode 9 "$b" --include-ignored --test-threads=1 || exit $?; done' "$san" "${parity[@]}" || ok=1
        step sanitizer_racecheck 45 "$san" --tool racecheck --error-exitcode 9 \
            "$out/bin/cuda_parity" --include-ignored --test-threads=1 ssim || ok=1
    else
        rows+=("$(printf '%-28s %-14s %5ss' sanitizer "FAIL(not found)" 0)"); ok=1
    fi
    step gpu_bench 90 "$out/bin/gpu_bench" --include-ignored --nocapture --test-threads=1 || ok=1
    # The demo, whose benchmark is `run` of the demo config with `device` = --device: on the GPU,
    # then on the CPU, each into a fresh folder (its last lines give the seconds of each part).
    if [ -x "$out/bin/medfm-robust" ]; then
        [ -f "$out/bin/libonnxruntime.so.1.31.1" ] && export ORT_DYLIB_PATH="$root/$out/bin/libonnxruntime.so.1.31.1"
        rm -rf "$out/demo-cuda" "$out/demo-cpu"
        step demo_cuda 60 "$out/bin/medfm-robust" demo --device cuda --out "$out/demo-cuda" || ok=1
        step demo_cpu 60 "$out/bin/medfm-robust" demo --device cpu --out "$out/demo-cpu" || ok=1
    else
        rows+=("$(printf '%-28s %-14s %5ss' demo "FAIL(no binary)" 0)"); ok=1
    fi
    if python3 -c "import torch, torchmetrics" 2>/dev/null; then
        step compare_torch 90 python3 tools/compare_torch.py || ok=1
    else
        rows+=("$(printf '%-28s %-14s %5ss' compare_torch "SKIPPED(no torch)" 0)")
    fi

    echo
    echo "================ GPU check: $card ================"
    printf '%s\n' "${rows[@]}"
    echo "---------------- figures (ours: BENCH, PyTorch on the same card: TORCH) ----------------"
    grep -h '^BENCH|' "$out/gpu_bench.log" 2>/dev/null | awk -F'|' '{ printf "ours   %-44s %12s %s\n", $2, $3, $4 }'
    grep -h '^TORCH|' "$out/compare_torch.log" 2>/dev/null | awk -F'|' '{ printf "torch  %-44s %12s %s\n", $2, $3, $4 }'
    echo "---------------- ours / PyTorch, same names, same card ----------------"
    awk -F'|' 'FNR == NR && /^TORCH\|/ { t[$2] = $3; next } /^BENCH\|/ && ($2 in t) && t[$2] > 0 { printf "%-44s %8.1fx\n", $2, $3 / t[$2] }' \
        "$out/compare_torch.log" "$out/gpu_bench.log" 2>/dev/null
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
