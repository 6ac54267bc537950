//! `Prepared::apply_quantised(s, depth)` is `apply(s).quantised(depth)` bit for bit, for every
//! registered perturbation (the fused paths of the base ops included), grey and RGB, odd sizes,
//! both depths, strengths across the range; `Prepared::apply_u8` (the 8-bit path) writes exactly
//! the codes of `apply_quantised(s, U8)`, on 8-bit sources (its lookup tables) and on others (its
//! fallbacks); and the result does not depend on the thread count.

use medfm_robust::image::BitDepth;
use medfm_robust::perturb::{all, Ctx, Modality};
use medfm_robust::phantom::phantom;

#[test]
fn apply_quantised_is_apply_then_quantise_for_every_perturbation() {
    for (w, h, c) in [(37usize, 29usize, 3usize), (40, 33, 1)] {
        for p in all() {
            let info = p.info();
            let img = phantom(info.modality.unwrap_or(Modality::Ct), w, h, c, 3).image;
            // 8-bit samples, as read from an 8-bit file
            let img = img.quantised(BitDepth::U8);
            let ctx = Ctx::new(5, 77);
            let Ok(prepared) = p.prepare(&img, &ctx) else {
                continue;
            };
            let (lo, hi) = info.strength_range;
            for f in [0.0f32, 0.07, 0.31, 0.5, 0.77, 1.0] {
                let s = lo + (hi - lo) * f;
                let full = prepared.apply(s);
                for d in [BitDepth::U8, BitDepth::U16] {
                    let want = full.quantised(d);
                    let got = prepared.apply_quantised(s, d);
                    assert!(got.same_shape(&want), "{} {w}x{h}x{c} s {s}", info.id);
                    let same = want
                        .data
                        .iter()
                        .zip(&got.data)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{} {w}x{h}x{c} s {s} {d:?}", info.id);
                }
            }
        }
    }
}

#[test]
fn apply_u8_is_the_codes_of_apply_quantised_for_every_perturbation() {
    for (w, h, c) in [(37usize, 29usize, 3usize), (40, 33, 1)] {
        for p in all() {
            let info = p.info();
            let raw = phantom(info.modality.unwrap_or(Modality::Ct), w, h, c, 3).image;
            // an 8-bit source (the lookup tables) and a 16-bit one (the fallbacks)
            for img in [raw.quantised(BitDepth::U8), raw.quantised(BitDepth::U16)] {
                let ctx = Ctx::new(5, 77);
                let Ok(prepared) = p.prepare(&img, &ctx) else {
                    continue;
                };
                let (lo, hi) = info.strength_range;
                let mut got = vec![7u8; img.data.len()];
                for f in [0.0f32, 0.07, 0.31, 0.5, 0.77, 1.0] {
                    let s = lo + (hi - lo) * f;
                    let want = prepared.apply_quantised(s, BitDepth::U8).to_u8();
                    prepared.apply_u8(s, &mut got);
                    assert!(want == got, "{} {w}x{h}x{c} s {s}", info.id);
                }
            }
        }
    }
}

#[test]
fn base_ops_are_thread_count_independent() {
    let img = phantom(Modality::Pathology, 67, 45, 3, 9)
        .image
        .quantised(BitDepth::U8);
    let ctx = Ctx::new(2, 3);
    let run = |threads: usize| -> Vec<Vec<u32>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            all()
                .iter()
                .filter(|p| p.info().category == medfm_robust::perturb::Category::Base)
                .flat_map(|p| {
                    let info = p.info();
                    let prepared = p.prepare(&img, &ctx).unwrap();
                    [0.2f32, 0.6, 1.0]
                        .into_iter()
                        .map(|f| {
                            let s = info.strength_range.0
                                + (info.strength_range.1 - info.strength_range.0) * f;
                            let mut codes = vec![0u8; img.data.len()];
                            prepared.apply_u8(s, &mut codes);
                            prepared
                                .apply_quantised(s, BitDepth::U8)
                                .data
                                .iter()
                                .map(|v| v.to_bits())
                                .chain(codes.into_iter().map(u32::from))
                                .collect::<Vec<u32>>()
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        })
    };
    assert_eq!(run(1), run(2));
    assert_eq!(run(1), run(3));
}
