// Scheduler of the host CUDA emulation (kernels/host/cuda_emu.h): the threads of a block are
// ucontext fibers on the calling OS thread.
#include "cuda_emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include <mutex>
#include <vector>

namespace mfr_emu {

MfrEmuDim3 thread_idx = {0, 0, 0};
MfrEmuDim3 block_idx = {0, 0, 0};
MfrEmuDim3 block_dim = {1, 1, 1};
MfrEmuDim3 grid_dim = {1, 1, 1};

namespace {

enum class Wait { Running, Block, Warp, Done };

struct Fiber {
    ucontext_t ctx;
    Wait wait;
};

const size_t STACK = 256 * 1024;  // per thread; kernels keep a few hundred bytes of locals
std::mutex launch_lock;
ucontext_t scheduler;
std::vector<Fiber> fibers;
std::vector<char> stacks;
std::vector<uint64_t> slots;
unsigned current = 0;
bool reverse_order = false;
const std::function<void()>* kernel_body = nullptr;

void trampoline() {
    (*kernel_body)();
    fibers[current].wait = Wait::Done;
    swapcontext(&fibers[current].ctx, &scheduler);  // never resumed
}

void yield_as(Wait w) {
    fibers[current].wait = w;
    swapcontext(&fibers[current].ctx, &scheduler);
}

// One block: run every runnable fiber in index order (or reverse index order) until it waits or
// ends, then open the barriers all live members wait at; repeat until every fiber has ended.
void run_block(unsigned threads) {
    const MfrEmuDim3 b = block_dim;
    fibers.assign(threads, Fiber());
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks.data() + (size_t)t * STACK;
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, trampoline, 0);
        f.wait = Wait::Running;
    }
    for (;;) {
        for (unsigned i = 0; i < threads; ++i) {
            const unsigned t = reverse_order ? threads - 1 - i : i;
            if (fibers[t].wait != Wait::Running) continue;
            current = t;
            thread_idx = {t % b.x, (t / b.x) % b.y, t / (b.x * b.y)};
            swapcontext(&scheduler, &fibers[t].ctx);
        }
        unsigned live = 0, at_block = 0;
        bool opened = false;
        for (unsigned w0 = 0; w0 < threads; w0 += 32) {
            const unsigned w1 = w0 + 32 < threads ? w0 + 32 : threads;
            unsigned wl = 0, ww = 0;
            for (unsigned t = w0; t < w1; ++t) {
                wl += fibers[t].wait != Wait::Done;
                ww += fibers[t].wait == Wait::Warp;
                at_block += fibers[t].wait == Wait::Block;
            }
            live += wl;
            if (wl > 0 && ww == wl) {
                for (unsigned t = w0; t < w1; ++t) fibers[t].wait = Wait::Running;
                opened = true;
            }
        }
        if (live == 0) return;
        if (opened) continue;
        if (at_block == live) {
            for (Fiber& f : fibers)
                if (f.wait == Wait::Block) f.wait = Wait::Running;
            continue;
        }
        fprintf(stderr, "cuda_emu: block (%u, %u, %u) cannot finish: its live threads wait at different barriers\n",
                block_idx.x, block_idx.y, block_idx.z);
        abort();
    }
}

}  // namespace

void launch(MfrEmuDim3 grid, MfrEmuDim3 blk, const std::function<void()>& body) {
    std::lock_guard<std::mutex> guard(launch_lock);
    grid_dim = grid;
    block_dim = blk;
    kernel_body = &body;
    const unsigned threads = blk.x * blk.y * blk.z;
    if (stacks.size() < (size_t)threads * STACK) stacks.assign((size_t)threads * STACK, 0);
    slots.assign(((threads + 31) / 32) * 32, 0);
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                block_idx = {bx, by, bz};
                run_block(threads);
            }
    kernel_body = nullptr;
}

void sync_block() { yield_as(Wait::Block); }
void sync_warp() { yield_as(Wait::Warp); }
uint64_t* shuffle_slot() { return &slots[current]; }
uint64_t shuffle_read(unsigned src_lane) { return slots[(current / 32) * 32 + src_lane]; }

}  // namespace mfr_emu

// Schedule threads in ascending (0) or descending (1) index order between barriers. A missing
// barrier between a write and a read shows in one order or the other: tests run both.
extern "C" void mfr_emu_set_reverse_order(int reverse) {
    std::lock_guard<std::mutex> guard(mfr_emu::launch_lock);
    mfr_emu::reverse_order = reverse != 0;
}
