//! Runtime CPU dispatch for the f32 tap loops of the filters (`filter`, `psf`) and warps, and
//! for any function defined through [`multiversion`] (the 8-bit path's pointwise loops).
//!
//! The loops are written once (`#[inline(always)]` bodies) and compiled three times: for AVX-512,
//! for AVX2 and for the baseline; [`level`] picks one at run time. Every lane computes the same
//! scalar sequence of separate multiplies and adds (Rust never contracts them into FMAs), so the
//! three builds give the same bits, and the CUDA kernels' host math stays the reference.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Avx512,
    Avx2,
    Base,
}

/// The widest instruction set this CPU has (cached).
#[inline]
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::env::var_os("MEDFM_SIMD").is_some_and(|v| v == "base") {
                return Level::Base;
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
        }
        Level::Base
    })
}

/// `out[i] = 0 + w_0 * buf[s_0 + i] + w_1 * buf[s_1 + i] + ...` in f32, taps `(s_k, w_k)` in
/// order: the accumulation of every tap loop of `filter` and `psf`, bit for bit, computed in
/// chunks of the output that stay in registers (one load, multiply and add per tap and vector,
/// instead of a load and store of the output per tap).
#[inline]
pub fn tap_sums(out: &mut [f32], buf: &[f32], taps: &[(usize, f32)]) {
    match level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` found AVX-512F on this CPU.
        Level::Avx512 => unsafe { tap_sums_avx512(out, buf, taps) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` found AVX2 on this CPU.
        Level::Avx2 => unsafe { tap_sums_avx2(out, buf, taps) },
        _ => tap_sums_body::<32>(out, buf, taps),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tap_sums_avx512(out: &mut [f32], buf: &[f32], taps: &[(usize, f32)]) {
    tap_sums_body::<128>(out, buf, taps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tap_sums_avx2(out: &mut [f32], buf: &[f32], taps: &[(usize, f32)]) {
    tap_sums_body::<64>(out, buf, taps)
}

/// `v0 + fx[k] (v1 - v0)` with `v0 = window[idx[k]]`, `v1 = window[idx[k] + 1]` (`idx[k]` <=
/// 30), for the 16 lanes: a separable warp's row lerp of 16 columns whose taps lie in one
/// 32-sample window, by two permutes of the window instead of 32 scalar loads. The same f32
/// subtract, multiply and add per lane as the scalar lerp (never fused), so the same bits.
///
/// # Safety
/// The CPU must have AVX-512F ([`level`] is [`Level::Avx512`]); the memory accesses are
/// bounded by the argument types.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub fn lerp16_avx512(window: &[f32; 32], idx: &[u32; 16], fx: &[f32; 16]) -> [f32; 16] {
    use std::arch::x86_64::*;
    // SAFETY: the loads read 16 f32 / u32 from arrays that hold at least that many, and the
    // store writes 16 f32 into one that holds 16; unaligned accesses are allowed.
    unsafe {
        let lo = _mm512_loadu_ps(window.as_ptr());
        let hi = _mm512_loadu_ps(window.as_ptr().add(16));
        let i0 = _mm512_loadu_si512(idx.as_ptr().cast());
        let i1 = _mm512_add_epi32(i0, _mm512_set1_epi32(1));
        let v0 = _mm512_permutex2var_ps(lo, i0, hi);
        let v1 = _mm512_permutex2var_ps(lo, i1, hi);
        let f = _mm512_loadu_ps(fx.as_ptr());
        let r = _mm512_add_ps(v0, _mm512_mul_ps(f, _mm512_sub_ps(v1, v0)));
        let mut out = [0.0f32; 16];
        _mm512_storeu_ps(out.as_mut_ptr(), r);
        out
    }
}

/// `multiversion! { fn name(a: A, b: B) { body } }` defines `fn name(a: A, b: B)` whose body
/// is compiled three times, for AVX-512F, AVX2 and the baseline, and picks one by [`level`] at
/// each call: the body is an `#[inline(always)]` function, so LLVM always inlines it into each
/// `#[target_feature]` wrapper and vectorises its loops for that set (a closure handed to a
/// wrapper is inlined or not at LLVM's whim, and when not it runs as baseline or scalar code).
/// Every build runs the same scalar operations per lane, so the same bits. The body must not
/// call closures in its loops (they may stay out of line); use `#[inline(always)]` functions.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) {
            #[inline(always)]
            fn body($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512($($a: $t),*) {
                body($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn avx2($($a: $t),*) {
                body($($a),*)
            }
            match $crate::perturb::common::simd::level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `level` found AVX-512F on this CPU.
                $crate::perturb::common::simd::Level::Avx512 => unsafe { avx512($($a),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `level` found AVX2 on this CPU.
                $crate::perturb::common::simd::Level::Avx2 => unsafe { avx2($($a),*) },
                _ => body($($a),*),
            }
        }
    };
}
pub(crate) use multiversion;

/// The vertical pass of a separable filter for `R` consecutive output rows at once: output row
/// `j` of `out` (`rows` rows of `w` samples, `rows` <= [`ROWS`]) is
/// `0 + wts_0 * buf[(first + j) w + i] + wts_1 * buf[(first + j + 1) w + i] + ...`, taps in order:
/// bit for bit [`tap_sums`] of each row with taps `((first + j + k) w, wts_k)`. The input rows
/// are read once per block of rows instead of once per output row (each loaded vector feeds up to
/// `R` accumulators, in the order its rows need it: tap k of row j is input row `j + k`, so input
/// rows ascending give every output its taps ascending).
#[inline]
pub fn column_sums(out: &mut [f32], buf: &[f32], w: usize, first: usize, wts: &[f32]) {
    assert!(
        w > 0 && out.len().is_multiple_of(w) && out.len() / w <= ROWS,
        "column_sums rows"
    );
    assert!(buf.len() >= (first + out.len() / w + wts.len()).saturating_sub(1) * w);
    match level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` found AVX-512F on this CPU.
        Level::Avx512 => unsafe { column_sums_avx512(out, buf, w, first, wts) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` found AVX2 on this CPU.
        Level::Avx2 => unsafe { column_sums_avx2(out, buf, w, first, wts) },
        _ => column_sums_body::<8>(out, buf, w, first, wts),
    }
}

/// Output rows per block of [`column_sums`].
pub const ROWS: usize = 6; // the six accumulators of `column_sums_body`

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn column_sums_avx512(out: &mut [f32], buf: &[f32], w: usize, first: usize, wts: &[f32]) {
    column_sums_body::<32>(out, buf, w, first, wts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn column_sums_avx2(out: &mut [f32], buf: &[f32], w: usize, first: usize, wts: &[f32]) {
    column_sums_body::<16>(out, buf, w, first, wts)
}

#[inline(always)]
fn column_sums_body<const C: usize>(
    out: &mut [f32],
    buf: &[f32],
    w: usize,
    first: usize,
    wts: &[f32],
) {
    let rows = out.len() / w;
    if rows < ROWS || wts.len() < ROWS {
        // a short block: the plain loop, row by row (the same sums)
        return column_sums_by_row::<C>(out, buf, w, first, wts, 0);
    }
    let len = wts.len();
    let row = |i: usize, c0: usize| -> &[f32; C] {
        let s = (first + i) * w + c0;
        buf[s..s + C].try_into().expect("chunk")
    };
    let mut c0 = 0;
    while c0 + C <= w {
        // one accumulator per output row, each its own array (so each stays in registers)
        let (mut a0, mut a1, mut a2) = ([0.0f32; C], [0.0f32; C], [0.0f32; C]);
        let (mut a3, mut a4, mut a5) = ([0.0f32; C], [0.0f32; C], [0.0f32; C]);
        // input row i feeds output row j with tap i - j: first the rows whose taps start ...
        for i in 0..ROWS - 1 {
            let v = row(i, c0);
            axpy(&mut a0, wts[i], v);
            if i >= 1 {
                axpy(&mut a1, wts[i - 1], v);
            }
            if i >= 2 {
                axpy(&mut a2, wts[i - 2], v);
            }
            if i >= 3 {
                axpy(&mut a3, wts[i - 3], v);
            }
            if i >= 4 {
                axpy(&mut a4, wts[i - 4], v);
            }
        }
        // ... then every row takes a tap from every input row ...
        for i in ROWS - 1..len {
            let v = row(i, c0);
            let ws: &[f32; ROWS] = wts[i + 1 - ROWS..i + 1].try_into().expect("taps");
            axpy(&mut a0, ws[5], v);
            axpy(&mut a1, ws[4], v);
            axpy(&mut a2, ws[3], v);
            axpy(&mut a3, ws[2], v);
            axpy(&mut a4, ws[1], v);
            axpy(&mut a5, ws[0], v);
        }
        // ... then the rows whose taps end
        for i in len..len + ROWS - 1 {
            let v = row(i, c0);
            if i < len + 1 {
                axpy(&mut a1, wts[i - 1], v);
            }
            if i < len + 2 {
                axpy(&mut a2, wts[i - 2], v);
            }
            if i < len + 3 {
                axpy(&mut a3, wts[i - 3], v);
            }
            if i < len + 4 {
                axpy(&mut a4, wts[i - 4], v);
            }
            axpy(&mut a5, wts[i - 5], v);
        }
        for (j, a) in [a0, a1, a2, a3, a4, a5].iter().enumerate() {
            out[j * w + c0..j * w + c0 + C].copy_from_slice(a);
        }
        c0 += C;
    }
    // the last columns, row by row
    column_sums_by_row::<C>(out, buf, w, first, wts, c0)
}

/// Columns `c0..w` of every output row of [`column_sums`] by the plain tap loop.
#[inline(always)]
fn column_sums_by_row<const C: usize>(
    out: &mut [f32],
    buf: &[f32],
    w: usize,
    first: usize,
    wts: &[f32],
    c0: usize,
) {
    if c0 >= w {
        return;
    }
    for (j, o) in out.chunks_mut(w).enumerate() {
        let taps: Vec<(usize, f32)> = wts
            .iter()
            .enumerate()
            .map(|(k, &wk)| ((first + j + k) * w + c0, wk))
            .collect();
        tap_sums_body::<C>(&mut o[c0..], buf, &taps);
    }
}

/// `a += wk v`, lane by lane (a separate multiply and add).
#[inline(always)]
fn axpy<const C: usize>(a: &mut [f32; C], wk: f32, v: &[f32; C]) {
    for l in 0..C {
        a[l] += wk * v[l];
    }
}

#[inline(always)]
fn tap_sums_body<const C: usize>(out: &mut [f32], buf: &[f32], taps: &[(usize, f32)]) {
    let n = out.len();
    let mut c0 = 0;
    while c0 + C <= n {
        let mut acc = [0.0f32; C];
        for &(start, wk) in taps {
            let s: &[f32; C] = buf[start + c0..start + c0 + C].try_into().expect("chunk");
            for i in 0..C {
                acc[i] += wk * s[i];
            }
        }
        out[c0..c0 + C].copy_from_slice(&acc);
        c0 += C;
    }
    let len = n - c0;
    if len > 0 {
        let mut acc = [0.0f32; C];
        for &(start, wk) in taps {
            let s = &buf[start + c0..start + c0 + len];
            for (a, &v) in acc[..len].iter_mut().zip(s) {
                *a += wk * v;
            }
        }
        out[c0..].copy_from_slice(&acc[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_build_is_the_plain_tap_loop() {
        let buf: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.731).sin()).collect();
        let taps: Vec<(usize, f32)> = (0..37)
            .map(|k| ((k * 7) % 300, 0.01 + (k as f32 * 0.37).cos().abs() * 0.05))
            .collect();
        for n in [0usize, 1, 31, 64, 65, 127, 128, 300, 513] {
            let mut want = vec![0.0f32; n];
            for &(s, wk) in &taps {
                for (i, o) in want.iter_mut().enumerate() {
                    *o += wk * buf[s + i];
                }
            }
            let mut got = vec![1.0f32; n];
            tap_sums(&mut got, &buf, &taps);
            assert_eq!(got, want, "n {n}");
            tap_sums_body::<32>(&mut got, &buf, &taps);
            assert_eq!(got, want, "n {n} base");
        }
    }

    #[test]
    fn column_sums_is_the_tap_loop_of_each_row() {
        let buf: Vec<f32> = (0..40_000)
            .map(|i| ((i as f32) * 0.377).sin().abs())
            .collect();
        for w in [1usize, 7, 16, 33, 100] {
            for len in [1usize, 3, 5, 6, 7, 25, 41] {
                let wts: Vec<f32> = (0..len)
                    .map(|k| 0.02 + (k as f32 * 0.91).cos().abs())
                    .collect();
                for rows in 1..=ROWS {
                    for first in [0usize, 3] {
                        let mut want = vec![0.0f32; rows * w];
                        for (j, o) in want.chunks_mut(w).enumerate() {
                            let taps: Vec<(usize, f32)> = wts
                                .iter()
                                .enumerate()
                                .map(|(k, &wk)| ((first + j + k) * w, wk))
                                .collect();
                            for &(s, wk) in &taps {
                                for (i, v) in o.iter_mut().enumerate() {
                                    *v += wk * buf[s + i];
                                }
                            }
                        }
                        let mut got = vec![1.0f32; rows * w];
                        column_sums(&mut got, &buf, w, first, &wts);
                        assert_eq!(got, want, "w {w} len {len} rows {rows}");
                        column_sums_body::<8>(&mut got, &buf, w, first, &wts);
                        assert_eq!(got, want, "w {w} len {len} rows {rows} base");
                    }
                }
            }
        }
    }
}
