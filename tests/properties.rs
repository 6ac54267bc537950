//! Registry-wide properties of every perturbation (`medfm_robust::perturb::all()`), so each new
//! perturbation is covered by adding it to the registry:
//! - identity at strength 0 (bit-exact; `jpeg` allowed a small round-trip error);
//! - determinism: the same bytes from two `prepare` calls, and inside 1- and 2-thread pools;
//! - output shape and range [0, 1] on grey and RGB inputs of odd size (or `Error::NotApplicable`);
//! - SSIM (wang) non-increasing over a 50-point sweep of the full strength range on >= 3 phantom
//!   images, allowed up-step `info.monotone_tolerance + 1e-9`, and a visible effect at s_max;
//! - masks: geometric perturbations move a mask like the image (nearest vs bilinear: < 3% of
//!   pixels disagree); all others return the mask unchanged.
//!
//! Images are small (37-96 px; 192 px for the integer-strength sweeps) to keep this file fast in
//! the test profile.

use medfm_robust::error::Error;
use medfm_robust::image::{Image, Mask};
use medfm_robust::perturb::common::filter::gaussian_blur_plane;
use medfm_robust::perturb::{all, Ctx, Modality, Perturbation, StrengthKind};
use medfm_robust::phantom::phantom;
use medfm_robust::ssim::{SsimReference, SsimVariant};

const CTX: Ctx = Ctx {
    seed: 20_261_128,
    image_id: 3,
};

fn colour_modality(m: Modality) -> bool {
    matches!(
        m,
        Modality::Pathology | Modality::Endoscopy | Modality::Dermoscopy
    )
}

/// Test images for a perturbation: base ones see grey and colour phantoms of several modalities,
/// medical ones three phantoms (seeds) of their own modality in its natural channel count.
fn images(p: &dyn Perturbation, w: usize, h: usize) -> Vec<(String, Image)> {
    let specs: Vec<(Modality, usize, u64)> = match p.info().modality {
        None => vec![
            (Modality::Ct, 1, 1),
            (Modality::Xray, 1, 2),
            (Modality::Pathology, 3, 3),
            (Modality::Dermoscopy, 3, 4),
        ],
        Some(m) => {
            let c = if colour_modality(m) { 3 } else { 1 };
            vec![(m, c, 1), (m, c, 2), (m, c, 3)]
        }
    };
    specs
        .into_iter()
        .map(|(m, c, seed)| {
            (
                format!("{m}/c{c}/seed{seed}"),
                phantom(m, w, h, c, seed).image,
            )
        })
        .collect()
}

/// Prepare, falling back to the RGB version of a grey image when the perturbation needs colour.
fn prepare_any<'a>(p: &dyn Perturbation, img: &'a Image, rgb: &'a mut Option<Image>) -> &'a Image {
    match p.prepare(img, &CTX) {
        Err(Error::NotApplicable { .. }) if img.channels == 1 => {
            *rgb = Some(img.to_rgb());
            rgb.as_ref().unwrap()
        }
        _ => img,
    }
}

fn strengths(p: &dyn Perturbation, n: usize) -> Vec<f32> {
    let (lo, hi) = p.info().strength_range;
    (0..n)
        .map(|k| {
            if k + 1 == n {
                hi
            } else {
                lo + (hi - lo) * k as f32 / (n - 1) as f32
            }
        })
        .collect()
}

fn bits(img: &Image) -> Vec<u32> {
    img.data.iter().map(|v| v.to_bits()).collect()
}

fn finish(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn registry_ids_are_unique_and_ranges_valid() {
    let mut ids: Vec<&str> = all().iter().map(|p| p.id()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate ids");
    for p in all() {
        let i = p.info();
        let (lo, hi) = i.strength_range;
        assert!(
            lo.is_finite() && hi.is_finite() && lo < hi,
            "{}: range {lo}..{hi}",
            i.id
        );
        // Up-steps are allowed only for integer and warp strengths (catalogue rule 2), small except
        // jpeg's documented codec non-monotonicity on flat black backgrounds (src/perturb/base/jpeg/mod.rs).
        let cap = match (i.kind, i.id) {
            (StrengthKind::Continuous, _) => 1e-4,
            (_, "jpeg") => 0.2,
            _ => 0.03,
        };
        assert!(
            (0.0..=cap).contains(&i.monotone_tolerance),
            "{}: tolerance {} above {cap}",
            i.id,
            i.monotone_tolerance
        );
        assert!(
            !i.id.is_empty()
                && i.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            i.id
        );
    }
}

#[test]
fn identity_at_strength_zero() {
    let mut failures = Vec::new();
    for p in all() {
        let p = p.as_ref();
        let lo = p.info().strength_range.0;
        for (name, img) in images(p, 45, 37).into_iter().take(3) {
            let mut rgb = None;
            let img = prepare_any(p, &img, &mut rgb);
            let out = match p.apply(img, lo, &CTX) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{}: {name}: {e}", p.id()));
                    continue;
                }
            };
            if p.id() == "jpeg" {
                // quality 100 round trip (4:2:0 chroma on RGB): small but non-zero error
                let mae = out
                    .data
                    .iter()
                    .zip(&img.data)
                    .map(|(a, b)| (a - b).abs() as f64)
                    .sum::<f64>()
                    / img.data.len() as f64;
                if mae > 0.01 {
                    failures.push(format!("jpeg: {name}: mean abs error {mae} at quality 100"));
                }
            } else if bits(&out) != bits(img) {
                failures.push(format!(
                    "{}: {name}: apply({lo}) is not the identity",
                    p.id()
                ));
            }
        }
    }
    finish(failures);
}

#[test]
fn deterministic_across_prepares_and_thread_counts() {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool")
    };
    let (one, two) = (pool(1), pool(2));
    let mut failures = Vec::new();
    for p in all() {
        let p = p.as_ref();
        let (name, img) = images(p, 53, 41).swap_remove(0);
        let mut rgb = None;
        let img = prepare_any(p, &img, &mut rgb);
        let ss = strengths(p, 5);
        let run = || -> Vec<Vec<u32>> {
            let prepared = p.prepare(img, &CTX).expect("prepare");
            ss.iter().map(|&s| bits(&prepared.apply(s))).collect()
        };
        let a = one.install(run);
        let b = two.install(run);
        let c = run();
        if a != b || a != c {
            failures.push(format!(
                "{}: {name}: output differs between runs / thread counts",
                p.id()
            ));
        }
    }
    finish(failures);
}

#[test]
fn shapes_and_range_on_grey_and_rgb() {
    let mut failures = Vec::new();
    for p in all() {
        let p = p.as_ref();
        let m = p.info().modality.unwrap_or(Modality::Ct);
        let mut worked = 0;
        for c in [1, 3] {
            let img = phantom(m, 37, 29, c, 5).image;
            let prepared = match p.prepare(&img, &CTX) {
                Ok(pr) => pr,
                Err(Error::NotApplicable { .. }) => continue,
                Err(e) => {
                    failures.push(format!("{}: c{c}: {e}", p.id()));
                    continue;
                }
            };
            worked += 1;
            for s in strengths(p, 4) {
                let out = prepared.apply(s);
                if !out.same_shape(&img) {
                    failures.push(format!(
                        "{}: c{c} s {s}: shape {} vs {}",
                        p.id(),
                        out.shape_str(),
                        img.shape_str()
                    ));
                } else if let Some(v) = out.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                    failures.push(format!("{}: c{c} s {s}: value {v} outside [0,1]", p.id()));
                }
            }
        }
        if worked == 0 {
            failures.push(format!("{}: neither grey nor RGB input works", p.id()));
        }
    }
    finish(failures);
}

#[test]
fn ssim_non_increasing_over_the_strength_range() {
    let mut failures = Vec::new();
    for p in all() {
        let p = p.as_ref();
        let tol = p.info().monotone_tolerance as f64 + 1e-9;
        let ss = strengths(p, 50);
        let mut min_at_max = 1.0f64;
        let mut report = Vec::new();
        // integer strengths (block px, quality) have discretisation up-steps that grow with
        // block size relative to the image: swept at 192 px, where the catalogue's absolute
        // pixel ranges are meaningful; all others at 96 px
        let side = if p.info().kind == StrengthKind::Integer {
            192
        } else {
            96
        };
        for (name, img) in images(p, side, side) {
            let mut rgb = None;
            let img = prepare_any(p, &img, &mut rgb);
            let prepared = p.prepare(img, &CTX).expect("prepare");
            let reference = SsimReference::new(img, SsimVariant::Wang).expect("ssim reference");
            let curve: Vec<f64> = ss
                .iter()
                .map(|&s| reference.ssim(&prepared.apply(s)).expect("ssim"))
                .collect();
            let (mut worst, mut at) = (0.0f64, 0.0f32);
            for k in 1..curve.len() {
                if curve[k] - curve[k - 1] > worst {
                    worst = curve[k] - curve[k - 1];
                    at = ss[k];
                }
            }
            if worst > tol {
                failures.push(format!(
                    "{}: {name}: SSIM rises by {worst:.5} at s = {at} (allowed {tol:.5})",
                    p.id()
                ));
            }
            let last = *curve.last().unwrap();
            min_at_max = min_at_max.min(last);
            report.push(format!("{name} {last:.3} (up {worst:.4})"));
        }
        eprintln!("ssim at s_max  {:<24} {}", p.id(), report.join(", "));
        if min_at_max > 0.98 {
            failures.push(format!(
                "{}: SSIM at s_max is {min_at_max:.4} on every image: no visible effect",
                p.id()
            ));
        }
    }
    finish(failures);
}

/// An asymmetric two-object mask (ellipse + rectangle) and a smooth grey image made from it,
/// whose 0.5 threshold is the mask.
fn mask_and_image(w: usize, h: usize) -> (Mask, Image) {
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let ellipse = ((fx - 0.35) / 0.2).powi(2) + ((fy - 0.4) / 0.12).powi(2) < 1.0;
            let rect = (0.6..0.8).contains(&fx) && (0.55..0.9).contains(&fy);
            mask.data[y * w + x] = (ellipse || rect) as u8;
        }
    }
    let plane: Vec<f32> = mask.data.iter().map(|&m| m as f32).collect();
    let soft = gaussian_blur_plane(&plane, w, h, 1.0, 4.0);
    let data = soft.iter().map(|v| 0.15 + 0.7 * v).collect();
    (mask, Image::from_planes(w, h, 1, data))
}

#[test]
fn masks_follow_geometric_warps_and_nothing_else() {
    let (w, h) = (90, 70);
    let (mask, grey) = mask_and_image(w, h);
    let mut failures = Vec::new();
    for p in all() {
        let p = p.as_ref();
        let mut rgb = None;
        let img = prepare_any(p, &grey, &mut rgb);
        let prepared = p.prepare(img, &CTX).expect("prepare");
        let mut moved = false;
        for s in strengths(p, 5).into_iter().skip(1) {
            let warped = prepared.warp_mask(&mask, s);
            if (warped.width, warped.height) != (w, h) {
                failures.push(format!("{}: s {s}: mask shape changed", p.id()));
                continue;
            }
            if !p.info().geometric {
                if warped != mask {
                    failures.push(format!(
                        "{}: s {s}: non-geometric perturbation changed the mask",
                        p.id()
                    ));
                }
                continue;
            }
            moved |= warped != mask;
            let out = prepared.apply(s);
            let lum = out.luminance();
            let disagree = lum
                .iter()
                .zip(&warped.data)
                .filter(|(&v, &m)| (v > 0.5) != (m != 0))
                .count();
            let frac = disagree as f64 / (w * h) as f64;
            if frac > 0.03 {
                failures.push(format!(
                    "{}: s {s}: warped mask disagrees with the warped image on {:.1}% of pixels",
                    p.id(),
                    100.0 * frac
                ));
            }
        }
        if p.info().geometric && !moved {
            failures.push(format!("{}: geometric, but the mask never moved", p.id()));
        }
    }
    finish(failures);
}
