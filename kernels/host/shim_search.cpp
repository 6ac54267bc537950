// Host-math shim of kernels/search.cuh (see kernels/host/shim.cpp for the scheme): the on-GPU
// search's update logic behind an opaque handle, driven by tests/cuda_host_math_search.rs with
// the CPU's f(s). Nothing in the library calls these functions.
#include <stddef.h>
#include "../common.cuh"
#include "../search.cuh"

namespace {
struct HostSearch {
    MfrSearchConfig cfg;
    MfrSearchState st;
};
}  // namespace

extern "C" {

// New search over bands (lo[i], hi[i]); returns the handle, or null for bad sizes. `*pending`
// is the first strength to evaluate; `*active` 0 when nothing is to be evaluated.
void* mfr_host_search_new(const double* lo, const double* hi, uint32_t n_bands, uint32_t max_evals,
                          uint32_t continuous, float s_min, float s_max, float* pending, int* active) {
    if (n_bands > MFR_SEARCH_MAX_BANDS) return nullptr;
    HostSearch* h = new HostSearch();
    for (uint32_t i = 0; i < n_bands; ++i) h->cfg.bands[i] = MfrBandSpec{lo[i], hi[i]};
    h->cfg.n_bands = n_bands;
    h->cfg.max_evals = max_evals;
    h->cfg.continuous = continuous;
    h->cfg.s_min = s_min;
    h->cfg.s_max = s_max;
    *active = mfr_search_init(&h->st, &h->cfg);
    *pending = h->st.pending;
    return h;
}

int mfr_host_search_feed(void* handle, double v, float* pending) {
    HostSearch* h = static_cast<HostSearch*>(handle);
    int active = mfr_search_feed(&h->st, &h->cfg, v);
    *pending = h->st.pending;
    return active;
}

// Band i's outcome; `*count` the total evaluations, `*overflow` the overflow flag.
void mfr_host_search_result(const void* handle, uint32_t i, float* s, double* f, uint32_t* status, uint32_t* n,
                            uint32_t* count, uint32_t* overflow) {
    const HostSearch* h = static_cast<const HostSearch*>(handle);
    *s = h->st.out_s[i];
    *f = h->st.out_f[i];
    *status = h->st.out_status[i];
    *n = h->st.out_n[i];
    *count = h->st.count;
    *overflow = h->st.overflow;
}

void mfr_host_search_free(void* handle) { delete static_cast<HostSearch*>(handle); }

// sizeof / offsetof of MfrSearchConfig and MfrSearchState for the layout test against the
// #[repr(C)] mirrors in src/backend/params.rs (order: tests/cuda_host_math_search.rs).
void mfr_host_search_layout(uint64_t out[16]) {
    out[0] = sizeof(MfrSearchConfig);
    out[1] = offsetof(MfrSearchConfig, n_bands);
    out[2] = offsetof(MfrSearchConfig, s_min);
    out[3] = sizeof(MfrSearchState);
    out[4] = offsetof(MfrSearchState, f);
    out[5] = offsetof(MfrSearchState, n_points);
    out[6] = offsetof(MfrSearchState, pending);
    out[7] = offsetof(MfrSearchState, f_max);
    out[8] = offsetof(MfrSearchState, out_s);
    out[9] = offsetof(MfrSearchState, out_f);
    out[10] = offsetof(MfrSearchState, out_status);
    out[11] = offsetof(MfrSearchState, out_n);
    out[12] = offsetof(MfrSearchState, skip_a);
    out[13] = offsetof(MfrSearchState, skip_fa);
    out[14] = offsetof(MfrSearchState, overflow);
    out[15] = alignof(MfrSearchState);
}

// mfr_quantise over n values (Image::quantised twin).
void mfr_host_quantise(const float* in, float* out, uint64_t n, float max) {
    for (uint64_t i = 0; i < n; ++i) out[i] = mfr_quantise(in[i], max);
}

}
