// A small host emulation of the CUDA execution model, so that tests can run the kernels' own
// source (kernels/*.cu, compiled by the host C++ compiler) on machines without a GPU. Include it
// before a .cu file; launch with `mfr_emu::launch(grid, block, [&] { kernel(args...); })`.
//
// Model: blocks run one after another, so a kernel's `__shared__` variables (function-local
// statics here) belong to the running block. The threads of a block are fibers on one OS thread,
// each run in index order until it reaches a barrier (`__syncthreads()`, or `__syncwarp()` /
// `__shfl_sync()` for its warp) or returns; a barrier opens when every live thread of its block
// (warp) waits at it, and a returned thread leaves all barriers, as on the device. Because every
// thread runs as far as it can before the next one starts, a missing barrier shows up
// deterministically: a thread reads what a later thread has not yet written, or overwrites what a
// later thread has not yet read. "Later" is in index order, or in reverse index order after
// `mfr_emu_set_reverse_order(1)`; tests run both, which covers hazards in either direction. A block that can never finish (threads waiting at different
// barriers) aborts with a message.
//
// Not modelled: warp lockstep (code relying on it without a sync is a bug here too), timing, and
// the device's transcendental functions (the host's glibc versions are used).
#pragma once
#include <stdint.h>
#include <string.h>

#include <functional>

struct MfrEmuDim3 {
    unsigned x, y, z;
};

namespace mfr_emu {

// The running thread's indices and the launch's shape (set by the scheduler).
extern MfrEmuDim3 thread_idx;
extern MfrEmuDim3 block_idx;
extern MfrEmuDim3 block_dim;
extern MfrEmuDim3 grid_dim;

// Run `body` as the kernel of a (grid x block) launch. Launches are serialised process-wide.
void launch(MfrEmuDim3 grid, MfrEmuDim3 blk, const std::function<void()>& body);

// Barriers of the running thread: its block's, its warp's.
void sync_block();
void sync_warp();

// The running thread's slot for warp shuffles, and lane `src`'s slot of its warp.
uint64_t* shuffle_slot();
uint64_t shuffle_read(unsigned src_lane);

template <class T>
T shfl(T v, int src_lane) {
    static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of at most 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    *shuffle_slot() = bits;
    sync_warp();
    bits = shuffle_read((unsigned)src_lane % 32u);
    sync_warp();  // nobody overwrites a slot before the whole warp has read
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
#define __constant__
#define __launch_bounds__(...)
inline void __syncthreads() { mfr_emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { mfr_emu::sync_warp(); }
template <class T>
T __shfl_sync(unsigned, T v, int src_lane) {
    return mfr_emu::shfl(v, src_lane);
}
