// kernels/noise.cu, kernels/reduce.cu and kernels/search.cu run by the host CUDA emulation
// (kernels/host/cuda_emu.h) with the launch shapes of src/backend/cuda/{noise,ssim,search}.rs:
// the base noise/intensity kernels, the per-image reductions, and the on-GPU calibration's device
// side (with the fused SSIM of kernels/ssim.cu, emu_ssim.cpp), for tests/cuda_emulated.rs.
#include "cuda_emu.h"
#include "../noise.cu"
#include "../reduce.cu"
#include "../search.cu"

#include <vector>

extern "C" void mfr_emu_ssim_batch(const float* a, const float* b, const MfrImageDesc* descs, uint32_t n,
                                   const uint32_t* tile_start, const float* minmax_a, const float* minmax_b,
                                   const MfrSsimParams* p, double* partials, double* out);

// Calibrate gaussian_noise for every image of `clean` (n images, `total` samples, already
// quantised): search_init, then per iteration gaussian_noise(strength) -> quantise_batch(max_v)
// -> fused SSIM (tile table `tile_start`, params `sp`) -> search_update, until no state is
// active. Returns the number of iterations, or -1 if `max_iters` did not suffice; `states`
// receives the n final search states.
extern "C" int mfr_emu_calibrate_gaussian_noise(const float* clean, const MfrImageDesc* descs, uint32_t n,
                                                uint64_t total, MfrRngKey key, const MfrSearchConfig* cfg,
                                                const MfrSsimParams* sp, const uint32_t* tile_start, float max_v,
                                                uint32_t max_iters, MfrSearchState* states) {
    std::vector<float> strength(n), perturbed(total), quantised(total);
    std::vector<uint32_t> active(n);
    std::vector<double> partials(tile_start[n] > 0 ? tile_start[n] : 1), ssim(n);
    uint64_t plane = 0;
    for (uint32_t i = 0; i < n; ++i) plane = descs[i].width * (uint64_t)descs[i].height > plane ? descs[i].width * (uint64_t)descs[i].height : plane;
    const MfrEmuDim3 search_grid = {(n + SEARCH_THREADS - 1) / SEARCH_THREADS, 1, 1};
    mfr_emu::launch(search_grid, {SEARCH_THREADS, 1, 1},
                    [&] { search_init(states, strength.data(), active.data(), cfg, n); });
    for (uint32_t it = 0; it < max_iters; ++it) {
        mfr_emu::launch({(uint32_t)((plane + NOISE_THREADS - 1) / NOISE_THREADS), n, 1}, {NOISE_THREADS, 1, 1},
                        [&] { gaussian_noise(clean, perturbed.data(), descs, strength.data(), key, n); });
        mfr_emu::launch({(uint32_t)((total + QUANT_THREADS - 1) / QUANT_THREADS), 1, 1}, {QUANT_THREADS, 1, 1},
                        [&] { quantise_batch(perturbed.data(), quantised.data(), total, max_v); });
        mfr_emu_ssim_batch(clean, quantised.data(), descs, n, tile_start, nullptr, nullptr, sp, partials.data(), ssim.data());
        mfr_emu::launch(search_grid, {SEARCH_THREADS, 1, 1},
                        [&] { search_update(states, strength.data(), active.data(), ssim.data(), cfg, n); });
        bool any = false;
        for (uint32_t a : active) any = any || a != 0;
        if (!any) return (int)it + 1;
    }
    return -1;
}

// Per-image (min, max) (`minmax_per_image`, n blocks of RED_THREADS) into out[2n], and channel
// means (`channel_mean_per_image`, (n, max_c) blocks) into means[n max_c].
extern "C" void mfr_emu_reductions(const float* x, const MfrImageDesc* descs, uint32_t n, uint32_t max_c, float* minmax,
                                   double* means) {
    mfr_emu::launch({n, 1, 1}, {RED_THREADS, 1, 1}, [&] { minmax_per_image(x, descs, n, minmax); });
    mfr_emu::launch({n, max_c, 1}, {RED_THREADS, 1, 1}, [&] { channel_mean_per_image(x, descs, n, max_c, means); });
}

// One base kernel of kernels/noise.cu over (ceil(largest plane / 256), n) blocks: 0
// gaussian_noise, 1 speckle_noise, 2 salt_pepper, 3 brightness, 4 contrast (which takes the
// channel means, n max_c values, from `channel_mean_per_image`).
extern "C" void mfr_emu_noise(uint32_t which, const float* in, float* out, const MfrImageDesc* descs,
                              const float* strength, MfrRngKey key, const double* means, uint32_t max_c, uint32_t n,
                              uint32_t blocks_x) {
    mfr_emu::launch({blocks_x, n, 1}, {NOISE_THREADS, 1, 1}, [&] {
        switch (which) {
            case 0: gaussian_noise(in, out, descs, strength, key, n); break;
            case 1: speckle_noise(in, out, descs, strength, key, n); break;
            case 2: salt_pepper(in, out, descs, strength, key, n); break;
            case 3: brightness(in, out, descs, strength, n); break;
            default: contrast(in, out, descs, strength, means, max_c, n); break;
        }
    });
}
