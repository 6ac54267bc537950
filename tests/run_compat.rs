//! The compat profile's search against the authors' algorithm re-implemented in Python
//! (tools/gen_compat_fixtures.py -> tests/fixtures/compat_search.json): same image, same
//! perturbation formulas, same search. Chosen parameters must be equal (the bisection takes the
//! same branches) and SSIMs equal within 1e-6 (scikit-image 0.26 SSIM vs ours, compat variant).

use medfm_robust::calibrate::band;
use medfm_robust::calibrate::compat::{find_adaptive_param, MAX_ITER};
use medfm_robust::perturb::common::filter::gaussian_blur_plane;
use medfm_robust::ssim::{SsimReference, SsimVariant};
use medfm_robust::Image;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn compat_search_matches_the_reference_algorithm() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/compat_search.json"
    ))
    .unwrap();
    let fx: Value = serde_json::from_str(&text).unwrap();
    let (w, h) = (
        fx["width"].as_u64().unwrap() as usize,
        fx["height"].as_u64().unwrap() as usize,
    );
    let x = floats(&fx["image"]);
    let noise = floats(&fx["noise"]);
    let mu = fx["mean"].as_f64().unwrap();
    let clean = Image::from_planes(w, h, 1, x.clone());
    let reference = SsimReference::new(&clean, SsimVariant::Compat).unwrap();
    let apply = |name: &str, s: f64| -> Image {
        let data: Vec<f32> = match name {
            "gaussian_noise" => x
                .iter()
                .zip(&noise)
                .map(|(&a, &n)| (a as f64 + s * n as f64).clamp(0.0, 1.0) as f32)
                .collect(),
            "gaussian_blur" => gaussian_blur_plane(&x, w, h, s, 4.0),
            "contrast" => x
                .iter()
                .map(|&a| (mu + (a as f64 - mu) * (1.0 + s)).clamp(0.0, 1.0) as f32)
                .collect(),
            other => panic!("unknown fixture perturbation {other}"),
        };
        Image::from_planes(w, h, 1, data)
    };
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for c in cases {
        let name = c["perturbation"].as_str().unwrap();
        let level = c["level"].as_u64().unwrap() as u8;
        let range = (
            c["range"][0].as_f64().unwrap(),
            c["range"][1].as_f64().unwrap(),
        );
        let b = band(level).unwrap();
        let got =
            find_adaptive_param(|s| reference.ssim(&apply(name, s)), range, false, &b).unwrap();
        let want_param = c["param"].as_f64().unwrap();
        let want_ssim = c["ssim"].as_f64().unwrap();
        let probes = c["probes"].as_array().unwrap().len() as u32;
        assert_eq!(got.param, want_param, "{name} L{level}: parameter");
        assert!(
            (got.ssim - want_ssim).abs() <= 1e-6,
            "{name} L{level}: SSIM {} vs reference {want_ssim}",
            got.ssim
        );
        assert_eq!(
            got.accepted,
            c["accepted"].as_bool().unwrap(),
            "{name} L{level}"
        );
        assert_eq!(got.probes, probes, "{name} L{level}: probes");
    }
    // The fixture exercises both exits: an accepted probe outside the strict band (blur L1,
    // SSIM 0.987 <= 0.98 + 0.02) and the silent closest-probe return (contrast L5).
    assert!(cases
        .iter()
        .any(|c| c["accepted"] == true
            && c["ssim"].as_f64().unwrap() > c["band"][1].as_f64().unwrap()));
    assert!(cases.iter().any(
        |c| c["accepted"] == false && c["probes"].as_array().unwrap().len() as u32 == MAX_ITER
    ));
}

/// The compat SSIM's blind spot named in docs/compat.md: a positive affine intensity change
/// (contrast reduction without clipping) scores 1 after min-max normalisation.
#[test]
fn compat_ssim_ignores_affine_intensity_changes() {
    let (w, h) = (32, 32);
    let x: Vec<f32> = (0..w * h)
        .map(|i| (((i * 7) % 23) as f32 / 22.0) * 0.8 + 0.1)
        .collect();
    let clean = Image::from_planes(w, h, 1, x.clone());
    let dim = Image::from_planes(w, h, 1, x.iter().map(|v| 0.5 + (v - 0.5) * 0.3).collect());
    let s = medfm_robust::ssim::ssim(&clean, &dim, SsimVariant::Compat).unwrap();
    assert!(s > 1.0 - 1e-5, "compat SSIM {s}");
    let w_ssim = medfm_robust::ssim::ssim(&clean, &dim, SsimVariant::Wang).unwrap();
    assert!(w_ssim < 0.9, "wang SSIM sees it: {w_ssim}");
}

mod run_support;

/// The compat profile end to end: levels 1, 3, 5 by default; images squashed to 256x256 (box
/// prompts on the 256-px mask); one first-image parameter per (dataset, perturbation, level)
/// shared by every sample, cached in compat_params.json; SSIM of each image still recorded.
#[test]
fn compat_profile_runs_the_reference_protocol() {
    let dir = tempfile::tempdir().unwrap();
    run_support::write_data(&dir.path().join("data"));
    let text = run_support::config_text("[]", r#"["gaussian_noise", "rotation"]"#)
        .replace("seed = 3", "seed = 3\nprofile = \"medfm-robust-compat\"");
    let cfg = dir.path().join("bench.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    run_support::run_ok(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let recs = run_support::records_of(&out);
    assert!(
        recs.values().all(|r| r.ok()),
        "{:?}",
        recs.values().find(|r| !r.ok())
    );
    let mut levels: Vec<u8> = recs.values().map(|r| r.level).collect();
    levels.sort();
    levels.dedup();
    assert_eq!(levels, [0, 1, 3, 5]);
    assert!(
        recs.values().any(|r| r.prompt.is_some_and(|p| p[2] > 47)),
        "boxes live on the 256-px squash"
    );
    assert!(recs
        .values()
        .all(|r| r.prompt.is_some_and(|p| p[2] < 256 && p[3] < 256)));
    let mut by: std::collections::BTreeMap<(String, String, u8), std::collections::BTreeSet<u32>> =
        Default::default();
    for r in recs.values().filter(|r| r.level > 0) {
        by.entry((r.dataset.clone(), r.perturbation.clone(), r.level))
            .or_default()
            .insert(r.strength.unwrap().to_bits());
        assert!(r.ssim.is_some() && r.in_band.is_some());
    }
    assert!(
        by.values().all(|s| s.len() == 1),
        "one first-image strength per dataset, perturbation and level: {by:?}"
    );
    // Rotation: the mask is not warped, so the clean prompt is used at every level.
    let clean_prompt = |sample: &str, strategy: &str| {
        recs.values()
            .find(|r| {
                r.level == 0 && r.sample == sample && r.strategy == strategy && r.dataset == "ct"
            })
            .unwrap()
            .prompt
    };
    for r in recs
        .values()
        .filter(|r| r.perturbation == "rotation" && r.dataset == "ct")
    {
        assert_eq!(r.prompt, clean_prompt(&r.sample, &r.strategy));
    }
    assert!(out.join("compat_params.json").is_file());
}
