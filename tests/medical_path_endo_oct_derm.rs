//! Pathology, endoscopy, OCT and dermoscopy perturbations and phantoms: identity at s = 0,
//! value range, determinism, effectiveness, monotone SSIM over a 50-point sweep, L5 reach on the
//! modality's phantom, closed forms (derm_vignette), the oct_motion mask warp, colour handling,
//! and the phantoms themselves.

use medfm_robust::image::{Image, Mask};
use medfm_robust::ssim::SsimVariant;
use std::path::PathBuf;
use medfm_robust::perturb::{self, Ctx, Modality, Perturbation};
use medfm_robust::phantom::phantom;

/// wang SSIM (Gaussian window sigma 1.5, fixed data range 1), the calibration's default.
fn ssim(a: &Image, b: &Image) -> f64 {
    medfm_robust::ssim::ssim(a, b, SsimVariant::Wang).unwrap()
}

const IDS: [&str; 14] = [
    "path_stain_hsv",
    "path_bubbles",
    "endo_specular",
    "endo_bubbles",
    "endo_blood",
    "endo_overexposure",
    "oct_shadow",
    "oct_blink",
    "oct_defocus",
    "oct_motion",
    "oct_speckle",
    "derm_vignette",
    "derm_light_reflection",
    "derm_hair",
];

fn get(id: &str) -> &'static dyn Perturbation {
    perturb::by_id(id).unwrap()
}

/// The modality's phantom, RGB for colour modalities, grey for OCT.
fn phantom_for(p: &dyn Perturbation, size: usize) -> Image {
    let m = p.info().modality.unwrap();
    let ch = if m == Modality::Oct { 1 } else { 3 };
    phantom(m, size, size, ch, 7).image
}

fn ctx() -> Ctx {
    Ctx::new(42, 1234)
}

#[test]
fn registry_lists_the_fourteen_in_catalogue_order() {
    let got: Vec<&str> = perturb::all()
        .iter()
        .filter(|p| matches!(p.info().modality, Some(Modality::Pathology | Modality::Endoscopy | Modality::Oct | Modality::Dermoscopy)))
        .map(|p| p.id())
        .collect();
    assert_eq!(got, IDS);
    for id in IDS {
        let info = get(id).info();
        assert_eq!(info.geometric, id == "oct_motion", "{id}");
        assert!(info.strength_range.0 == 0.0 && info.strength_range.1 > 0.0, "{id}");
        assert!(!info.model.is_empty() && !info.source.is_empty() && !info.strength_name.is_empty());
    }
}

#[test]
fn identity_range_shape_and_determinism_grey_and_rgb() {
    for id in IDS {
        let p = get(id);
        let m = p.info().modality.unwrap();
        for ch in [1, 3] {
            // odd size on purpose
            let img = phantom(m, 45, 37, ch, 3).image;
            let prep = p.prepare(&img, &ctx()).unwrap();
            assert_eq!(prep.apply(0.0), img, "{id} ch{ch}: s = 0 must be the identity");
            let smax = p.info().strength_range.1;
            for s in [0.3 * smax, smax] {
                let out = prep.apply(s);
                assert!(out.same_shape(&img), "{id}");
                assert!(out.data.iter().all(|v| (0.0..=1.0).contains(v)), "{id} ch{ch}: out of [0,1]");
                let again = p.prepare(&img, &ctx()).unwrap().apply(s);
                assert_eq!(out, again, "{id}: not deterministic");
            }
            // every strength is effective: the maximal strength changes the image, and more than half of it does
            let full = prep.apply(smax);
            let half = prep.apply(0.5 * smax);
            assert_ne!(full, img, "{id} ch{ch}: s_max has no effect");
            assert_ne!(full, half, "{id} ch{ch}: strength above s_max/2 has no effect");
        }
    }
}

#[test]
fn monotone_ssim_over_50_point_sweep() {
    for id in IDS {
        let p = get(id);
        let img = phantom_for(p, 96);
        let prep = p.prepare(&img, &ctx()).unwrap();
        let smax = p.info().strength_range.1;
        let tol = p.info().monotone_tolerance as f64 + 1e-6;
        let mut prev = 1.0f64;
        for k in 0..=50 {
            let s = smax * k as f32 / 50.0;
            let v = ssim(&img, &prep.apply(s));
            assert!(v <= prev + tol, "{id}: SSIM rises from {prev} to {v} at s = {s}");
            prev = prev.min(v);
        }
    }
}

/// Bisection for a strength with SSIM in the L5 band [0.50, 0.59] on the modality's phantom.
fn find_l5(p: &dyn Perturbation, img: &Image) -> Option<(f32, f64)> {
    let prep = p.prepare(img, &ctx()).unwrap();
    let (mut lo, mut hi) = (0.0f32, p.info().strength_range.1);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        let v = ssim(img, &prep.apply(mid));
        if (0.50..=0.59).contains(&v) {
            return Some((mid, v));
        }
        if v > 0.59 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    None
}

#[test]
fn l5_reachable_on_the_modality_phantom() {
    let mut report = Vec::new();
    for id in IDS {
        let p = get(id);
        let img = phantom_for(p, 128);
        let at_max = ssim(&img, &p.apply(&img, p.info().strength_range.1, &ctx()).unwrap());
        let found = find_l5(p, &img);
        report.push((id, at_max, found));
    }
    for (id, at_max, found) in &report {
        eprintln!("{id}: ssim(s_max) = {at_max:.3}, L5 at {found:?}");
    }
    for (id, at_max, found) in &report {
        assert!(found.is_some(), "{id}: L5 unreachable, SSIM at s_max = {at_max}");
    }
}

fn save_png(img: &Image, path: &PathBuf) {
    let rgb = img.to_rgb();
    let hwc = rgb.to_interleaved();
    let bytes: Vec<u8> = hwc.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    image::RgbImage::from_raw(img.width as u32, img.height as u32, bytes).unwrap().save(path).unwrap();
}

/// Visual check (not run by default): writes each phantom and each perturbation at s_max/3,
/// 2*s_max/3 and s_max to the temp directory, as one strip per perturbation.
#[test]
#[ignore]
fn dump_pngs() {
    let dir = std::env::temp_dir().join("medB_pngs");
    std::fs::create_dir_all(&dir).unwrap();
    for id in IDS {
        let p = get(id);
        let img = phantom_for(p, 160);
        let prep = p.prepare(&img, &ctx()).unwrap();
        let smax = p.info().strength_range.1;
        let frames: Vec<Image> = [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0].iter().map(|f| prep.apply(f * smax).to_rgb()).collect();
        let (w, h) = (img.width, img.height);
        let mut strip = Image::new(w * 4, h, 3);
        for (k, f) in frames.iter().enumerate() {
            for c in 0..3 {
                for y in 0..h {
                    for x in 0..w {
                        strip.data[c * 4 * w * h + y * 4 * w + k * w + x] = f.get(c, y, x);
                    }
                }
            }
        }
        save_png(&strip, &dir.join(format!("{id}.png")));
    }
    for m in [Modality::Pathology, Modality::Endoscopy, Modality::Oct, Modality::Dermoscopy] {
        let ph = phantom(m, 256, 256, 3, 7);
        save_png(&ph.image, &dir.join(format!("phantom_{m}.png")));
        let mask = Image::from_planes(256, 256, 1, ph.mask.data.iter().map(|&v| v as f32).collect());
        save_png(&mask, &dir.join(format!("phantom_{m}_mask.png")));
    }
}

#[test]
#[ignore]
fn explore_seeds() {
    for id in IDS {
        let p = get(id);
        let img = phantom_for(p, 128);
        let v: Vec<String> = (0..8u64)
            .map(|seed| format!("{:.3}", ssim(&img, &p.apply(&img, p.info().strength_range.1, &Ctx::new(seed, 99)).unwrap())))
            .collect();
        eprintln!("{id}: {}", v.join(" "));
    }
}
