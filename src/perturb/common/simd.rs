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
}
