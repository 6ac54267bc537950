// A small host emulation of the CUDA execution model, so that tests can run the kernels' own
// source (kernels/*.cu, compiled by the host C++ compiler) on machines without a GPU. Include it
// before a .cu file; launch with `mfr_emu::launch(grid, block, [&] { kernel(args...); })`.
//
// What it models: every thread of a block is an OS thread; blocks run one after another (so a
// kernel's `__shared__` variables, which become function-local statics, belong to the running
// block); `__syncthreads()` is a barrier of the block's live threads and `__syncwarp()` /
// `__shfl_sync()` of the warp's, and a thread that returns leaves both, as on the device.
// threadIdx / blockIdx are per thread, blockDim / gridDim per launch.
//
// What it does not model: warp lockstep (code that relies on it without a sync would be a bug
// here too), memory ordering beyond what the barriers give, timing. A race on shared memory is
// not reported; it shows only if the OS interleaves the threads the wrong way. Floating point is
// the host's (glibc exp/sin/...), so results equal the device's wherever the kernels avoid the
// transcendental functions, and are within their ulp otherwise.
#pragma once
#include <stdint.h>
#include <string.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

struct MfrEmuDim3 {
    unsigned x, y, z;
};

namespace mfr_emu {

// A reusable barrier whose members can leave (arrive_and_drop), like std::barrier (C++20).
class Barrier {
  public:
    explicit Barrier(int n) : expected_(n) {}
    void arrive_and_wait() {
        std::unique_lock<std::mutex> l(m_);
        const uint64_t phase = phase_;
        if (++arrived_ >= expected_) {
            next_phase();
        } else {
            cv_.wait(l, [&] { return phase_ != phase; });
        }
    }
    void arrive_and_drop() {
        std::unique_lock<std::mutex> l(m_);
        --expected_;
        if (arrived_ > 0 && arrived_ >= expected_) next_phase();
    }

  private:
    void next_phase() {
        arrived_ = 0;
        ++phase_;
        cv_.notify_all();
    }
    std::mutex m_;
    std::condition_variable cv_;
    int expected_;
    int arrived_ = 0;
    uint64_t phase_ = 0;
};

// The running block's barriers and the warps' shuffle slots.
struct Block {
    explicit Block(unsigned threads) : sync(int(threads)) {
        const unsigned warps = (threads + 31) / 32;
        for (unsigned w = 0; w < warps; ++w) {
            const unsigned n = threads - 32 * w < 32 ? threads - 32 * w : 32;
            warp_sync.emplace_back(new Barrier(int(n)));
        }
        slots.assign(warps * 32, 0);
    }
    ~Block() {
        for (Barrier* b : warp_sync) delete b;
    }
    Barrier sync;
    std::vector<Barrier*> warp_sync;
    std::vector<uint64_t> slots;
};

// Per-thread and per-launch state (defined in kernels/host/cuda_emu.cpp).
extern thread_local MfrEmuDim3 thread_idx;
extern thread_local MfrEmuDim3 block_idx;
extern thread_local Block* block;
extern thread_local unsigned linear_tid;
extern MfrEmuDim3 block_dim;
extern MfrEmuDim3 grid_dim;

// Run `body` as the kernel of a (grid x block) launch: block after block, all threads of a block
// concurrently. Launches are serialised process-wide (a kernel's shared memory is one static).
void launch(MfrEmuDim3 grid, MfrEmuDim3 blk, const std::function<void()>& body);

template <class T>
T shfl(T v, int src_lane) {
    static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of at most 8 bytes");
    const unsigned warp = linear_tid / 32;
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    block->slots[linear_tid] = bits;
    block->warp_sync[warp]->arrive_and_wait();
    bits = block->slots[warp * 32 + (unsigned)src_lane % 32];
    block->warp_sync[warp]->arrive_and_wait();  // nobody overwrites a slot before all have read
    T out;
    memcpy(&out, &bits, sizeof(T));
    return out;
}

}  // namespace mfr_emu

// The CUDA names the kernels use.
#define threadIdx (mfr_emu::thread_idx)
#define blockIdx (mfr_emu::block_idx)
#define blockDim (mfr_emu::block_dim)
#define gridDim (mfr_emu::grid_dim)
#define __global__
#define __shared__ static
#define __launch_bounds__(...)
inline void __syncthreads() { mfr_emu::block->sync.arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { mfr_emu::block->warp_sync[mfr_emu::linear_tid / 32]->arrive_and_wait(); }
template <class T>
T __shfl_sync(unsigned, T v, int src_lane) {
    return mfr_emu::shfl(v, src_lane);
}
