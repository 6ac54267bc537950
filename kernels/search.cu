// The on-GPU search's update step (kernels/search.cuh): one thread per image records the SSIM of
// its pending strength and advances its search state, writing the next strength into
// `strength[i]` (read by the perturb kernel of the next iteration) and `active[i]` (0 once every
// band of image i is decided; inactive images keep their last strength and are ignored).
// The loop  perturb(strength) -> fused SSIM -> search_update  runs with no host round trip.
#include "common.cuh"
#include "search.cuh"

#define SEARCH_THREADS 64  // (.., 1): without the min-blocks hint ptxas spills 16 bytes on sm_89

// Initialise n_images states and write the first strengths. `cfg`: one MfrSearchConfig in device
// memory (shared by the batch: one perturbation, one band set).
extern "C" __global__ void __launch_bounds__(SEARCH_THREADS, 1)
search_init(MfrSearchState* __restrict__ states, float* __restrict__ strength, uint32_t* __restrict__ active,
            const MfrSearchConfig* __restrict__ cfg, uint32_t n_images) {
    uint32_t i = blockIdx.x * SEARCH_THREADS + threadIdx.x;
    if (i >= n_images) return;
    active[i] = (uint32_t)mfr_search_init(&states[i], cfg);
    strength[i] = states[i].pending;
}

// Feed ssim[i] (of the image perturbed at strength[i]) to each active state.
extern "C" __global__ void __launch_bounds__(SEARCH_THREADS, 1)
search_update(MfrSearchState* __restrict__ states, float* __restrict__ strength, uint32_t* __restrict__ active,
              const double* __restrict__ ssim, const MfrSearchConfig* __restrict__ cfg, uint32_t n_images) {
    uint32_t i = blockIdx.x * SEARCH_THREADS + threadIdx.x;
    if (i >= n_images || !active[i]) return;
    active[i] = (uint32_t)mfr_search_feed(&states[i], cfg, ssim[i]);
    strength[i] = states[i].pending;
}

#define QUANT_THREADS 256

// out = Image::quantised(in) for every sample of a packed batch (`total` samples, layout-free:
// quantisation is per sample). `max` = 255 or 65535, the source's bit depth.
extern "C" __global__ void __launch_bounds__(QUANT_THREADS)
quantise_batch(const float* __restrict__ in, float* __restrict__ out, uint64_t total, float max) {
    uint64_t i = (uint64_t)blockIdx.x * QUANT_THREADS + threadIdx.x;
    if (i >= total) return;
    out[i] = mfr_quantise(in[i], max);
}
