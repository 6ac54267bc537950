// The joint band search of src/calibrate/search.rs `search_bands` as a resumable per-image state
// machine, so the on-GPU search (kernels/search.cu) can run one update thread per image between
// "perturb at strength[i]" and "fused SSIM" launches with no host round trip. Shared with the
// host-math shim (kernels/host/shim_search.cpp), which drives it with the CPU's f(s) and checks
// every outcome (band found, strength, SSIM, evaluation count, reason class) against
// `search_bands` bit for bit (tests/cuda_host_math_search.rs).
//
// Protocol: `mfr_search_init`, then repeatedly: the state's `pending` strength is evaluated
// (f = SSIM(clean, perturb(pending))) and fed to `mfr_search_feed`, which records it and
// advances until it needs a new strength (returns 1) or all bands are decided (returns 0).
// Cached strengths are answered from the state's point list without an evaluation, as the
// CPU's `Evaluations::eval` does. Same f32/f64 operations in the same order as the Rust.
#pragma once
#include "common.cuh"

#define MFR_SEARCH_MAX_BANDS 5
// s_max, s_min, 5 bands x (max_evals <= 24 + local scan 8) fit.
#define MFR_SEARCH_MAX_POINTS 168
#define MFR_SEARCH_LOCAL_SCAN 8
#define MFR_SEARCH_TARGET_TOL 0.01

// Outcome status per band (host builds the reason text from it).
#define MFR_BAND_IN 0
#define MFR_BAND_UNREACHABLE_HIGH 1  // SSIM at s_max above the band
#define MFR_BAND_UNREACHABLE_LOW 2   // SSIM at s_min below the band
#define MFR_BAND_SKIPPED 3           // the curve jumps over the band
#define MFR_BAND_NOT_FOUND 4         // budget spent, closest reported

// Phases of the machine.
#define MFR_PH_MAX 0
#define MFR_PH_MIN 1
#define MFR_PH_BISECT 2
#define MFR_PH_SCAN 3
#define MFR_PH_DONE 4

struct MfrBandSpec {
    double lo, hi;
};

struct MfrSearchConfig {
    MfrBandSpec bands[MFR_SEARCH_MAX_BANDS];
    uint32_t n_bands;
    uint32_t max_evals;  // per band
    uint32_t continuous; // 1: StrengthKind::Continuous (no local scan)
    float s_min, s_max;
};

struct MfrSearchState {
    float s[MFR_SEARCH_MAX_POINTS];   // evaluated strengths, ascending
    double f[MFR_SEARCH_MAX_POINTS];  // their SSIM
    uint32_t n_points, count;         // stored points; evaluations (Evaluations::count)
    uint32_t phase, band, band_start, scan_i;
    float scan_a, scan_b, pending;
    double f_max, f_min;
    float out_s[MFR_SEARCH_MAX_BANDS];
    double out_f[MFR_SEARCH_MAX_BANDS];
    uint32_t out_status[MFR_SEARCH_MAX_BANDS], out_n[MFR_SEARCH_MAX_BANDS];
    // bracket of a skipped band (for the reason text): (a, fa), (b, fb)
    float skip_a[MFR_SEARCH_MAX_BANDS], skip_b[MFR_SEARCH_MAX_BANDS];
    double skip_fa[MFR_SEARCH_MAX_BANDS], skip_fb[MFR_SEARCH_MAX_BANDS];
    uint32_t overflow;  // 1 if the point list was full (never with the documented limits)
};

MFR_HD double mfr_band_target(MfrBandSpec b) { return 0.5 * (b.lo + b.hi); }
MFR_HD bool mfr_band_contains(MfrBandSpec b, double v) { return v >= b.lo && v <= b.hi; }
MFR_HD double mfr_absd(double v) { return v < 0.0 ? -v : v; }

// Index of strength s in the list, or -1.
MFR_HD int mfr_search_find(const MfrSearchState* st, float s) {
    for (uint32_t i = 0; i < st->n_points; ++i)
        if (st->s[i] == s) return (int)i;
    return -1;
}

MFR_HD void mfr_search_insert(MfrSearchState* st, float s, double v) {
    if (st->n_points >= MFR_SEARCH_MAX_POINTS) {
        st->overflow = 1;
        return;
    }
    uint32_t pos = 0;
    while (pos < st->n_points && st->s[pos] < s) ++pos;  // partition_point(x < s)
    for (uint32_t i = st->n_points; i > pos; --i) {
        st->s[i] = st->s[i - 1];
        st->f[i] = st->f[i - 1];
    }
    st->s[pos] = s;
    st->f[pos] = v;
    st->n_points++;
    st->count++;
}

// Evaluations::bracket: false when there is none.
MFR_HD bool mfr_search_bracket(const MfrSearchState* st, double target, int* lo, int* hi) {
    int lo_idx = -1;
    for (int i = (int)st->n_points - 1; i >= 0; --i)
        if (st->f[i] >= target) { lo_idx = i; break; }
    if (lo_idx < 0) return false;
    int h = -1;
    for (int i = lo_idx + 1; i < (int)st->n_points; ++i)
        if (st->f[i] < target) { h = i; break; }
    if (h < 0) return false;
    int l = -1;
    for (int i = lo_idx; i >= 0; --i)
        if (st->f[i] >= target && st->s[i] < st->s[h]) { l = i; break; }
    if (l < 0) return false;
    *lo = l;
    *hi = h;
    return true;
}

// Evaluations::best_in: the in-band point closest to the target (ties: smaller s), or -1.
MFR_HD int mfr_search_best_in(const MfrSearchState* st, MfrBandSpec b) {
    double t = mfr_band_target(b);
    int best = -1;
    for (uint32_t i = 0; i < st->n_points; ++i) {
        if (!mfr_band_contains(b, st->f[i])) continue;
        if (best < 0 || mfr_absd(st->f[i] - t) < mfr_absd(st->f[best] - t)) best = (int)i;
    }
    return best;
}

// Evaluations::closest: the point closest to the target overall (first of equals).
MFR_HD int mfr_search_closest(const MfrSearchState* st, MfrBandSpec b) {
    double t = mfr_band_target(b);
    int best = 0;
    for (uint32_t i = 1; i < st->n_points; ++i)
        if (mfr_absd(st->f[i] - t) < mfr_absd(st->f[best] - t)) best = (int)i;
    return best;
}

MFR_HD void mfr_search_record(MfrSearchState* st, float s, double v, uint32_t status, uint32_t n) {
    st->out_s[st->band] = s;
    st->out_f[st->band] = v;
    st->out_status[st->band] = status;
    st->out_n[st->band] = n;
}

// Finish the current band (after bisection / scan) and move to the next one.
MFR_HD void mfr_search_finish_band(MfrSearchState* st, const MfrSearchConfig* c) {
    MfrBandSpec b = c->bands[st->band];
    uint32_t n = st->count - st->band_start;
    int best = mfr_search_best_in(st, b);
    if (best >= 0) {
        mfr_search_record(st, st->s[best], st->f[best], MFR_BAND_IN, n);
    } else {
        int k = mfr_search_closest(st, b);
        int lo, hi;
        uint32_t status = MFR_BAND_NOT_FOUND;
        if (mfr_search_bracket(st, mfr_band_target(b), &lo, &hi) && st->f[lo] > b.hi && st->f[hi] < b.lo) {
            status = MFR_BAND_SKIPPED;
            st->skip_a[st->band] = st->s[lo];
            st->skip_fa[st->band] = st->f[lo];
            st->skip_b[st->band] = st->s[hi];
            st->skip_fb[st->band] = st->f[hi];
        }
        mfr_search_record(st, st->s[k], st->f[k], status, n);
    }
    st->band++;
    st->phase = MFR_PH_BISECT;
    st->band_start = st->count;
    st->scan_i = 0;
}

// Advance until a strength not yet evaluated is needed (sets `pending`, returns 1) or every band
// is decided (returns 0). Cached strengths are consumed in place.
MFR_HD int mfr_search_advance(MfrSearchState* st, const MfrSearchConfig* c) {
    // Guard against a non-terminating loop (cached requests only); the CPU cannot loop either.
    for (uint32_t guard = 0; guard < 4096; ++guard) {
        if (st->overflow) { st->phase = MFR_PH_DONE; return 0; }
        if (st->phase == MFR_PH_MAX) {
            st->pending = c->s_max;
            return 1;
        }
        if (st->phase == MFR_PH_MIN) {
            int i = mfr_search_find(st, c->s_min);
            if (i < 0) { st->pending = c->s_min; return 1; }
            st->f_min = st->f[i];
            st->phase = MFR_PH_BISECT;
            st->band = 0;
            st->band_start = st->count;
            st->scan_i = 0;
            continue;
        }
        if (st->phase == MFR_PH_DONE || st->band >= c->n_bands) {
            st->phase = MFR_PH_DONE;
            return 0;
        }
        MfrBandSpec b = c->bands[st->band];
        double target = mfr_band_target(b);
        if (st->phase == MFR_PH_BISECT) {
            if (st->count == st->band_start && st->scan_i == 0) {
                // band start: unreachable checks (only before any evaluation of this band)
                if (st->f_max > b.hi) {
                    mfr_search_record(st, c->s_max, st->f_max, MFR_BAND_UNREACHABLE_HIGH, 0);
                    st->band++;
                    st->band_start = st->count;
                    continue;
                }
                if (st->f_min < b.lo) {
                    mfr_search_record(st, c->s_min, st->f_min, MFR_BAND_UNREACHABLE_LOW, 0);
                    st->band++;
                    st->band_start = st->count;
                    continue;
                }
            }
            bool stop = st->count - st->band_start >= c->max_evals;
            int lo = 0, hi = 0;
            if (!stop) {
                int bi = mfr_search_best_in(st, b);
                if (bi >= 0 && mfr_absd(st->f[bi] - target) <= MFR_SEARCH_TARGET_TOL) stop = true;
            }
            if (!stop && !mfr_search_bracket(st, target, &lo, &hi)) stop = true;
            float a = 0.0f, bb = 0.0f;
            if (!stop) {
                a = st->s[lo];
                bb = st->s[hi];
                if (bb - a <= (c->s_max - c->s_min) * 1e-6f) stop = true;
            }
            if (!stop) {
                double fa = st->f[lo], fb = st->f[hi];
                double t = 0.5;
                if (fa > fb) {
                    t = (fa - target) / (fa - fb);
                    t = t < 0.1 ? 0.1 : (t > 0.9 ? 0.9 : t);
                }
                float s = a + (bb - a) * (float)t;
                if (mfr_search_find(st, s) >= 0) continue;  // cached: the CPU loops on
                st->pending = s;
                return 1;
            }
            // bisection over: local scan for integer / warp strengths with nothing in band
            if (!c->continuous && mfr_search_best_in(st, b) < 0 && mfr_search_bracket(st, target, &lo, &hi)) {
                st->phase = MFR_PH_SCAN;
                st->scan_a = st->s[lo];
                st->scan_b = st->s[hi];
                st->scan_i = 1;
                continue;
            }
            mfr_search_finish_band(st, c);
            continue;
        }
        if (st->phase == MFR_PH_SCAN) {
            while (st->scan_i <= MFR_SEARCH_LOCAL_SCAN) {
                float s = st->scan_a + (st->scan_b - st->scan_a) * (float)st->scan_i / (float)(MFR_SEARCH_LOCAL_SCAN + 1);
                st->scan_i++;
                if (mfr_search_find(st, s) < 0) {
                    st->pending = s;
                    return 1;
                }
            }
            mfr_search_finish_band(st, c);
            continue;
        }
    }
    st->phase = MFR_PH_DONE;
    return 0;
}

MFR_HD int mfr_search_init(MfrSearchState* st, const MfrSearchConfig* c) {
    st->n_points = 0;
    st->count = 0;
    st->phase = MFR_PH_MAX;
    st->band = 0;
    st->band_start = 0;
    st->scan_i = 0;
    st->overflow = 0;
    st->f_max = 0.0;
    st->f_min = 0.0;
    for (uint32_t i = 0; i < MFR_SEARCH_MAX_BANDS; ++i) {
        st->out_s[i] = 0.0f;
        st->out_f[i] = 0.0;
        st->out_status[i] = MFR_BAND_NOT_FOUND;
        st->out_n[i] = 0;
    }
    return mfr_search_advance(st, c);
}

// Record f(pending) = v and advance; returns 1 while a new strength is pending.
MFR_HD int mfr_search_feed(MfrSearchState* st, const MfrSearchConfig* c, double v) {
    if (st->phase == MFR_PH_DONE) return 0;
    if (mfr_search_find(st, st->pending) < 0) mfr_search_insert(st, st->pending, v);
    if (st->phase == MFR_PH_MAX) {
        st->f_max = v;
        st->phase = MFR_PH_MIN;
    }
    return mfr_search_advance(st, c);
}
