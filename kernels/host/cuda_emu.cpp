// State and launcher of the host CUDA emulation (kernels/host/cuda_emu.h).
#include "cuda_emu.h"

namespace mfr_emu {

thread_local MfrEmuDim3 thread_idx = {0, 0, 0};
thread_local MfrEmuDim3 block_idx = {0, 0, 0};
thread_local Block* block = nullptr;
thread_local unsigned linear_tid = 0;
MfrEmuDim3 block_dim = {1, 1, 1};
MfrEmuDim3 grid_dim = {1, 1, 1};

namespace {
std::mutex launch_lock;
}

void launch(MfrEmuDim3 grid, MfrEmuDim3 blk, const std::function<void()>& body) {
    std::lock_guard<std::mutex> guard(launch_lock);
    grid_dim = grid;
    block_dim = blk;
    const unsigned threads = blk.x * blk.y * blk.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                Block b(threads);
                std::vector<std::thread> ts;
                ts.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) {
                    ts.emplace_back([&b, &body, &blk, t, bx, by, bz] {
                        thread_idx = {t % blk.x, (t / blk.x) % blk.y, t / (blk.x * blk.y)};
                        block_idx = {bx, by, bz};
                        block = &b;
                        linear_tid = t;
                        body();
                        // returned: this thread no longer takes part in any barrier
                        b.warp_sync[t / 32]->arrive_and_drop();
                        b.sync.arrive_and_drop();
                    });
                }
                for (std::thread& t : ts) t.join();
            }
}

}  // namespace mfr_emu
