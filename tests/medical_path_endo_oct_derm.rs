//! Pathology, endoscopy, OCT and dermoscopy perturbations and phantoms: identity at s = 0,
//! value range, determinism, effectiveness, monotone SSIM over a 50-point sweep, L5 reach on the
//! modality's phantom, closed forms (derm_vignette), the oct_motion mask warp, colour handling,
//! and the phantoms themselves.

use medfm_robust::image::Image;
use medfm_robust::perturb::{self, Ctx, Modality, Perturbation};
use medfm_robust::phantom::phantom;
use medfm_robust::ssim::SsimVariant;

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
        .filter(|p| {
            matches!(
                p.info().modality,
                Some(
                    Modality::Pathology
                        | Modality::Endoscopy
                        | Modality::Oct
                        | Modality::Dermoscopy
                )
            )
        })
        .map(|p| p.id())
        .collect();
    assert_eq!(got, IDS);
    for id in IDS {
        let info = get(id).info();
        assert_eq!(info.geometric, id == "oct_motion", "{id}");
        assert!(
            info.strength_range.0 == 0.0 && info.strength_range.1 > 0.0,
            "{id}"
        );
        assert!(
            !info.model.is_empty() && !info.source.is_empty() && !info.strength_name.is_empty()
        );
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
            assert_eq!(
                prep.apply(0.0),
                img,
                "{id} ch{ch}: s = 0 must be the identity"
            );
            let smax = p.info().strength_range.1;
            for s in [0.3 * smax, smax] {
                let out = prep.apply(s);
                assert!(out.same_shape(&img), "{id}");
                assert!(
                    out.data.iter().all(|v| (0.0..=1.0).contains(v)),
                    "{id} ch{ch}: out of [0,1]"
                );
                let again = p.prepare(&img, &ctx()).unwrap().apply(s);
                assert_eq!(out, again, "{id}: not deterministic");
            }
            // every strength is effective: the maximal strength changes the image, and more than half of it does
            let full = prep.apply(smax);
            let half = prep.apply(0.5 * smax);
            assert_ne!(full, img, "{id} ch{ch}: s_max has no effect");
            assert_ne!(
                full, half,
                "{id} ch{ch}: strength above s_max/2 has no effect"
            );
        }
    }
}

#[test]
fn monotone_ssim_over_50_point_sweep() {
    // several images: the modality phantom in its native channels and in the other channel count,
    // two phantom seeds, two RNG keys
    for id in IDS {
        let p = get(id);
        let m = p.info().modality.unwrap();
        let smax = p.info().strength_range.1;
        let tol = p.info().monotone_tolerance as f64 + 1e-6;
        let mut worst_up = 0.0f64;
        for (ch, phantom_seed, key) in [
            (3usize, 7u64, (42u64, 1234u32)),
            (1, 8, (7, 99)),
            (3, 9, (7, 99)),
        ] {
            let ch = if m == Modality::Oct { 1 } else { ch };
            let img = phantom(m, 96, 96, ch, phantom_seed).image;
            let prep = p.prepare(&img, &Ctx::new(key.0, key.1)).unwrap();
            let mut prev = 1.0f64;
            for k in 0..=50 {
                let s = smax * k as f32 / 50.0;
                let v = ssim(&img, &prep.apply(s));
                worst_up = worst_up.max(v - prev);
                assert!(
                    v <= prev + tol,
                    "{id} ch{ch}: SSIM rises from {prev} to {v} at s = {s}"
                );
                prev = prev.min(v);
            }
        }
        eprintln!("{id}: largest SSIM up-step {worst_up:.2e}");
    }
}

/// Bisection for a strength with SSIM in the L5 band [0.50, 0.59] on the modality's phantom
/// (the calibration module's search is not used here so this test stands on its own).
fn find_l5(p: &dyn Perturbation, img: &Image, key: &Ctx) -> Option<(f32, f64)> {
    let prep = p.prepare(img, key).unwrap();
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
        for key in [ctx(), Ctx::new(7, 99), Ctx::new(3, 4)] {
            let at_max = ssim(
                &img,
                &p.apply(&img, p.info().strength_range.1, &key).unwrap(),
            );
            let found = find_l5(p, &img, &key);
            report.push((id, at_max, found));
        }
    }
    for (id, at_max, found) in &report {
        eprintln!("{id}: ssim(s_max) = {at_max:.3}, L5 at {found:?}");
    }
    for (id, at_max, found) in &report {
        assert!(
            found.is_some(),
            "{id}: L5 unreachable, SSIM at s_max = {at_max}"
        );
    }
}

#[test]
fn derm_vignette_matches_closed_form() {
    // out = x * clip(1 - s * (r/R)^2, 0, 1), r the distance of the pixel centre (x, y) from
    // ((W-1)/2, (H-1)/2), R = sqrt(W^2 + H^2)/2 the half-diagonal (module doc of derm_vignette).
    let p = get("derm_vignette");
    for (w, h, ch) in [(40usize, 33usize, 1usize), (48, 48, 3)] {
        let img = phantom(Modality::Dermoscopy, w, h, ch, 5).image;
        let prep = p.prepare(&img, &ctx()).unwrap();
        for s in [0.25f32, 1.0, 2.0, 3.7] {
            let out = prep.apply(s);
            let big_r = ((w * w + h * h) as f64).sqrt() / 2.0;
            for c in 0..ch {
                for y in 0..h {
                    for x in 0..w {
                        let r = ((x as f64 - (w as f64 - 1.0) / 2.0).powi(2)
                            + (y as f64 - (h as f64 - 1.0) / 2.0).powi(2))
                        .sqrt();
                        let g = (1.0 - s as f64 * (r / big_r).powi(2)).clamp(0.0, 1.0);
                        let want = img.get(c, y, x) as f64 * g;
                        assert!(
                            (out.get(c, y, x) as f64 - want).abs() < 1e-6,
                            "({x},{y}) s={s}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn oct_motion_shifts_mask_rows_like_the_image() {
    let p = get("oct_motion");
    let ph = phantom(Modality::Oct, 64, 48, 1, 2);
    // the mask as an image: the image path interpolates linearly, so thresholding it at 0.5 is
    // nearest-neighbour sampling of the same shifted rows (ties at exactly 0.5 excluded)
    let mut mask = ph.mask.clone();
    // add a vertical bar so every row has edges to move
    for y in 0..48 {
        for x in 20..28 {
            mask.data[y * 64 + x] = 1;
        }
    }
    let as_img = Image::from_planes(64, 48, 1, mask.data.iter().map(|&v| v as f32).collect());
    let prep = p.prepare(&as_img, &ctx()).unwrap();
    let mut moved_rows = 0;
    for s in [0.013f32, 0.05, 0.11, 0.25] {
        let img_out = prep.apply(s);
        let mask_out = prep.warp_mask(&mask, s);
        for y in 0..48 {
            for x in 0..64 {
                let v = img_out.data[y * 64 + x];
                if (v - 0.5).abs() > 1e-4 {
                    assert_eq!(
                        mask_out.data[y * 64 + x],
                        (v > 0.5) as u8,
                        "s={s} ({x},{y})"
                    );
                }
            }
            if mask_out.data[y * 64..(y + 1) * 64] != mask.data[y * 64..(y + 1) * 64] {
                moved_rows += 1;
            }
        }
    }
    assert!(moved_rows > 0, "no row moved");
    // each output row is its input row shifted by a whole number of pixels (reflect border), and
    // rows of one band share the shift: at most 6 distinct shifts (one per band)
    let reflect = |i: isize, n: isize| -> usize {
        let m = i.rem_euclid(2 * n);
        (if m >= n { 2 * n - 1 - m } else { m }) as usize
    };
    let out = prep.warp_mask(&mask, 0.2);
    let mut shifts: Vec<isize> = (0..48)
        .map(|y| {
            (-14isize..=14)
                .find(|&d| {
                    (0..64).all(|x| {
                        out.data[y * 64 + x] == mask.data[y * 64 + reflect(x as isize - d, 64)]
                    })
                })
                .expect("row is not a shifted copy")
        })
        .collect();
    shifts.sort();
    shifts.dedup();
    assert!(shifts.len() > 1 && shifts.len() <= 6, "{shifts:?}");
    // identity at 0
    assert_eq!(prep.warp_mask(&mask, 0.0), mask);
}

#[test]
fn non_geometric_ones_leave_the_mask_alone() {
    for id in IDS.iter().filter(|&&id| id != "oct_motion") {
        let p = get(id);
        let ph = phantom(p.info().modality.unwrap(), 40, 40, 3, 1);
        let prep = p.prepare(&ph.image, &ctx()).unwrap();
        assert_eq!(
            prep.warp_mask(&ph.mask, p.info().strength_range.1),
            ph.mask,
            "{id}"
        );
    }
}

#[test]
fn endo_blood_follows_beer_lambert_in_rgb_and_luminance() {
    // T = (0.70, 0.12, 0.16): out_c / in_c = T_c^m, so ln(ratio_G) / ln(ratio_R) = ln 0.12 / ln 0.70
    // at every covered pixel (independent of the thickness m); grey uses T_Y = BT.601 mix of T.
    let t = [0.70f64, 0.12, 0.16];
    let ty = 0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2];
    let p = get("endo_blood");
    let rgb = phantom(Modality::Endoscopy, 64, 64, 3, 4).image;
    let grey = phantom(Modality::Endoscopy, 64, 64, 1, 4).image;
    let (out_rgb, out_grey) = (
        p.apply(&rgb, 0.8, &ctx()).unwrap(),
        p.apply(&grey, 0.8, &ctx()).unwrap(),
    );
    let mut covered = 0;
    for i in 0..64 * 64 {
        let r_in = rgb.data[i] as f64;
        let ratio_r = out_rgb.data[i] as f64 / r_in;
        if r_in < 0.05 || ratio_r > 0.99 {
            continue;
        }
        covered += 1;
        let m = ratio_r.ln() / t[0].ln();
        for (c, tc) in t.iter().enumerate().skip(1) {
            let cin = rgb.data[c * 4096 + i] as f64;
            if cin < 0.05 {
                continue;
            }
            let want = tc.powf(m);
            let got = out_rgb.data[c * 4096 + i] as f64 / cin;
            assert!(
                (got - want).abs() < 2e-3,
                "channel {c} pixel {i}: {got} vs {want}"
            );
            assert!(got < ratio_r, "G, B must be attenuated more than R");
        }
        let gin = grey.data[i] as f64;
        if gin > 0.05 {
            let got = out_grey.data[i] as f64 / gin;
            assert!(
                (got - ty.powf(m)).abs() < 2e-3,
                "grey pixel {i}: {got} vs {}",
                ty.powf(m)
            );
        }
    }
    assert!(covered > 100, "too few blood pixels: {covered}");
}

#[test]
fn path_stain_turns_hue_uniformly_and_works_on_grey() {
    use medfm_robust::perturb::common::hsv::rgb_to_hsv;
    let p = get("path_stain_hsv");
    let rgb = phantom(Modality::Pathology, 64, 64, 3, 9).image;
    let out = p.apply(&rgb, 1.0, &ctx()).unwrap();
    // the hue turn is the same at every pixel (the field acts on S only): 20*s*u_h OpenCV units,
    // |u_h| in [0.75, 1] -> between 30 and 40 degrees of hue at s = 1
    let mut shifts = Vec::new();
    for i in 0..4096 {
        let (h0, s0, _) = rgb_to_hsv(rgb.data[i], rgb.data[4096 + i], rgb.data[8192 + i]);
        let (h1, s1, v1) = rgb_to_hsv(out.data[i], out.data[4096 + i], out.data[8192 + i]);
        if s0 > 0.2 && s1 > 0.2 && v1 < 0.999 {
            shifts.push(((h1 - h0).rem_euclid(1.0) * 360.0) as f64);
        }
    }
    assert!(shifts.len() > 1000);
    let first = shifts[0];
    for d in &shifts {
        assert!((d - first).abs() < 0.5, "{d} vs {first}");
    }
    let turn = if first > 180.0 { 360.0 - first } else { first };
    assert!((29.5..=40.5).contains(&turn), "hue turn {turn}");
    // grey: luminance model, changes the image, stays in range
    let grey = phantom(Modality::Pathology, 64, 64, 1, 9).image;
    let g = p.apply(&grey, 1.0, &ctx()).unwrap();
    assert_ne!(g, grey);
}

#[test]
fn artefacts_look_like_what_they_claim() {
    // specular spots saturate to white
    let endo = phantom(Modality::Endoscopy, 96, 96, 3, 1).image;
    let spec = get("endo_specular").apply(&endo, 1.0, &ctx()).unwrap();
    let white = (0..96 * 96)
        .filter(|&i| (0..3).all(|c| spec.data[c * 9216 + i] == 1.0))
        .count();
    assert!(white > 5, "no saturated specular pixel");
    // overexposure and glare only brighten
    for (id, m) in [
        ("endo_overexposure", Modality::Endoscopy),
        ("derm_light_reflection", Modality::Dermoscopy),
    ] {
        let img = phantom(m, 64, 64, 3, 1).image;
        let out = get(id).apply(&img, 1.0, &ctx()).unwrap();
        assert!(out.data.iter().zip(&img.data).all(|(o, i)| o >= i), "{id}");
    }
    // OCT shadow: full-depth columns, the same gain on every row of a column
    let oct = phantom(Modality::Oct, 80, 64, 1, 1).image;
    let sh = get("oct_shadow").apply(&oct, 0.3, &ctx()).unwrap();
    let mut shadowed = 0;
    for x in 0..80 {
        let gains: Vec<f32> = (0..64)
            .filter(|&y| oct.get(0, y, x) > 0.02)
            .map(|y| sh.get(0, y, x) / oct.get(0, y, x))
            .collect();
        let (lo, hi) = gains
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &g| (l.min(g), h.max(g)));
        assert!(hi - lo < 1e-4, "column {x} not uniform");
        if hi < 0.06 {
            shadowed += 1;
        }
    }
    assert!(shadowed >= 15, "shadowed columns {shadowed}");
    // OCT blink: full-width black rows
    let bl = get("oct_blink").apply(&oct, 0.3, &ctx()).unwrap();
    let black_rows = (0..64)
        .filter(|&y| (0..80).all(|x| bl.get(0, y, x) == 0.0))
        .count();
    assert!(black_rows >= 15, "black rows {black_rows}");
    // hairs darken: the mean falls
    let derm = phantom(Modality::Dermoscopy, 64, 64, 3, 1).image;
    let hair = get("derm_hair").apply(&derm, 1.0, &ctx()).unwrap();
    let mean = |v: &Image| v.data.iter().sum::<f32>() / v.data.len() as f32;
    assert!(mean(&hair) < mean(&derm) - 0.02);
}

#[test]
fn phantoms_are_deterministic_sized_and_masked() {
    for m in [
        Modality::Pathology,
        Modality::Endoscopy,
        Modality::Oct,
        Modality::Dermoscopy,
    ] {
        for (w, h) in [(32usize, 32usize), (47, 33), (96, 64)] {
            let a = phantom(m, w, h, 3, 11);
            let b = phantom(m, w, h, 3, 11);
            assert_eq!(a.image, b.image, "{m}");
            assert_eq!((a.image.width, a.image.height, a.image.channels), (w, h, 3));
            assert!(a.image.data.iter().all(|v| (0.0..=1.0).contains(v)));
            let n = a.mask.count();
            assert!(n > 0 && n < w * h / 2, "{m} {w}x{h}: mask {n}");
            let g = phantom(m, w, h, 1, 11);
            assert_eq!(g.image.channels, 1);
            assert_eq!(g.mask, a.mask);
            // grey = BT.601 luminance of the RGB phantom (OCT: the grey plane repeated)
            let lum = a.image.luminance();
            for (x, y) in g.image.data.iter().zip(&lum) {
                assert!((x - y).abs() < 1e-5, "{m}");
            }
            assert_ne!(phantom(m, w, h, 3, 12).image, a.image, "{m}: seed ignored");
        }
    }
    // colour modalities are coloured, OCT is grey
    let colourful = |m| {
        let p = phantom(m, 64, 64, 3, 1).image;
        (0..4096)
            .map(|i| (p.data[i] - p.data[4096 + i]).abs())
            .sum::<f32>()
            / 4096.0
    };
    assert!(
        colourful(Modality::Pathology) > 0.1
            && colourful(Modality::Endoscopy) > 0.1
            && colourful(Modality::Dermoscopy) > 0.1
    );
    assert_eq!(colourful(Modality::Oct), 0.0);
}

#[test]
fn disk_psf_matches_scipy_convolve() {
    // fixture: tools/gen_disk_psf_fixtures.py (scipy 1.17.1 ndimage.convolve, mode='reflect');
    // tolerance 2e-6: f32 output of an f64 prefix-sum accumulation vs scipy's f64
    use medfm_robust::perturb::common::psf::convolve_disk;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/disk_psf_cases.json"
    ))
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let (w, h) = (
            case["w"].as_u64().unwrap() as usize,
            case["h"].as_u64().unwrap() as usize,
        );
        let r = case["radius"].as_f64().unwrap() as f32;
        let plane: Vec<f32> = case["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q.as_u64().unwrap() as f32 / 255.0)
            .collect();
        let want: Vec<f64> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = convolve_disk(&plane, w, h, r);
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - e).abs() < 2e-6,
                "r={r} {w}x{h} pixel {i}: {g} vs {e}"
            );
        }
        // and oct_defocus applies exactly this to every channel
        let img = Image::from_planes(w, h, 1, plane);
        let out = get("oct_defocus").apply(&img, r, &ctx()).unwrap();
        assert_eq!(
            out.data,
            got.iter().map(|v| v.clamp(0.0, 1.0)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn oct_speckle_is_mean_one_log_normal_of_one_fixed_field() {
    // out = x * exp(s N - s^2/2): from the output at s1 recover N, predict the output at s2, and
    // check N is standard normal (mean 0, variance 1 within sampling error on 64 x 64 pixels)
    let p = get("oct_speckle");
    let img = Image::from_planes(64, 64, 1, vec![0.2; 64 * 64]);
    let prep = p.prepare(&img, &ctx()).unwrap();
    let (s1, s2) = (0.3f64, 0.7f64);
    let (o1, o2) = (prep.apply(s1 as f32), prep.apply(s2 as f32));
    let mut n_sum = 0.0;
    let mut n2_sum = 0.0;
    for i in 0..64 * 64 {
        let n = ((o1.data[i] as f64 / 0.2).ln() + s1 * s1 / 2.0) / s1;
        n_sum += n;
        n2_sum += n * n;
        let want = (0.2 * (s2 * n - s2 * s2 / 2.0).exp()).min(1.0);
        assert!((o2.data[i] as f64 - want).abs() < 1e-4, "pixel {i}");
    }
    let mean = n_sum / 4096.0;
    let var = n2_sum / 4096.0 - mean * mean;
    assert!(
        mean.abs() < 0.06 && (var - 1.0).abs() < 0.08,
        "mean {mean} var {var}"
    );
}

#[test]
fn oct_shadow_and_blink_cover_the_nominal_width_and_height() {
    // at small s the columns / bands cannot overlap or leave the image (stratified centres, see
    // the module docs), so the summed coverage is exactly s * W (shadow, depth 0.95) / s * H (blink)
    let img = Image::from_planes(120, 90, 1, vec![0.5; 120 * 90]);
    let sh = get("oct_shadow").apply(&img, 0.2, &ctx()).unwrap();
    let covered: f64 = (0..120)
        .map(|x| (1.0 - sh.get(0, 0, x) as f64 / 0.5) / 0.95)
        .sum();
    assert!(
        (covered - 0.2 * 120.0).abs() < 1e-3,
        "shadow width {covered}"
    );
    let bl = get("oct_blink").apply(&img, 0.1, &ctx()).unwrap();
    let covered: f64 = (0..90).map(|y| 1.0 - bl.get(0, y, 0) as f64 / 0.5).sum();
    assert!(
        (covered - 0.1 * 90.0).abs() < 1e-3,
        "blink height {covered}"
    );
}

#[test]
fn tiny_images_do_not_panic() {
    for id in IDS {
        let p = get(id);
        for (w, h, ch) in [(1usize, 1usize, 1usize), (3, 2, 3), (2, 5, 1)] {
            let img = Image::from_planes(
                w,
                h,
                ch,
                (0..w * h * ch).map(|i| (i % 7) as f32 / 7.0).collect(),
            );
            let prep = p.prepare(&img, &ctx()).unwrap();
            let out = prep.apply(p.info().strength_range.1);
            assert!(
                out.same_shape(&img) && out.data.iter().all(|v| (0.0..=1.0).contains(v)),
                "{id} {w}x{h}x{ch}"
            );
            assert_eq!(prep.apply(0.0), img, "{id}");
        }
    }
}
