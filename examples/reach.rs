//! Reach on real images: for every medical perturbation and every real image of its modality
//! (assets/real/manifest.json, made by tools/gen_real_images.py), the strongest SSIM band the
//! default calibration reaches in band (L1..L5, `wang` SSIM, seed 0, the image quantised to its
//! own bit depth as `perturb` writes it), the SSIM at the top of the strength range, and the
//! lowest SSIM of a 41-point sweep over the range (the saturation level) and the largest SSIM
//! rise between neighbouring sweep points (after quantisation to the image's depth). Writes
//! assets/real/reach.json, which `medfm-robust list --markdown` renders into docs/perturbations.md.
//!
//!     cargo run --release --example reach            # rewrite assets/real/reach.json
//!     cargo run --release --example reach -- --check # exit 1 if the committed file differs
//!     cargo run --release --example reach -- --sweep mri_motion  # SSIM at 11 strengths per image

use medfm_robust::calibrate::{perturb_image_with, SearchOptions};
use medfm_robust::perturb::{all, Category, Ctx, Modality};
use medfm_robust::rng::fnv1a32;
use medfm_robust::ssim::SsimReference;
use rayon::prelude::*;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let check = args.iter().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/real");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest json");
    let opts = SearchOptions::default();
    if let Some(i) = args.iter().position(|a| a == "--sweep") {
        sweep(&root, &manifest, args.get(i + 1).expect("--sweep ID"));
        return;
    }
    let mut jobs = Vec::new();
    for e in manifest["images"].as_array().expect("images") {
        let file = e["file"].as_str().expect("file").to_string();
        let m = Modality::parse(e["modality"].as_str().expect("modality")).expect("modality");
        for p in all()
            .iter()
            .filter(|p| p.info().category == Category::Medical)
        {
            if p.info().modality == Some(m) {
                jobs.push((p.id(), file.clone(), m));
            }
        }
    }
    let rows: Vec<serde_json::Value> = jobs
        .par_iter()
        .map(|(id, file, m)| {
            let l = medfm_robust::io::read_image(&root.join(file)).expect("read");
            let p = medfm_robust::perturb::by_id(id).expect("id");
            let reference = SsimReference::new(&l.image, opts.variant).expect("ssim");
            let ctx = Ctx::new(0, fnv1a32(file));
            let outs = perturb_image_with(
                p,
                &l.image,
                &reference,
                None,
                l.depth,
                &ctx,
                &[1, 2, 3, 4, 5],
                &opts,
            )
            .expect("calibrate");
            let max_level = outs
                .iter()
                .filter(|o| o.outcome.in_band)
                .map(|o| o.outcome.level)
                .max();
            let (lo, hi) = p.info().strength_range;
            let prepared = p.prepare(&l.image, &ctx).expect("prepare");
            let (mut min_ssim, mut at_max, mut prev, mut up) = (1.0f64, 1.0f64, 1.0f64, 0.0f64);
            for k in 0..=40 {
                let s = lo + (hi - lo) * k as f32 / 40.0;
                let out = prepared.apply(s).quantised(l.depth);
                let v = reference.ssim(&out).expect("ssim");
                min_ssim = min_ssim.min(v);
                up = up.max(v - prev);
                prev = v;
                if k == 40 {
                    at_max = v;
                }
            }
            let round = |v: f64| (v * 1000.0).round() / 1000.0;
            serde_json::json!({
                "id": id, "image": file, "modality": m.as_str(),
                "max_level": max_level, "ssim_at_max": round(at_max), "min_ssim": round(min_ssim),
                "max_upstep": round(up),
                "range": [lo, hi],
            })
        })
        .collect();
    let out = serde_json::json!({
        "generator": "cargo run --release --example reach",
        "ssim": opts.variant.as_str(), "seed": 0,
        "missing": manifest["missing"],
        "rows": rows,
    });
    let text = serde_json::to_string_pretty(&out).expect("json") + "\n";
    let path = root.join("reach.json");
    if check {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != text {
            eprintln!("assets/real/reach.json is stale: run cargo run --release --example reach");
            std::process::exit(1);
        }
        return;
    }
    std::fs::write(&path, text).expect("write reach.json");
    for r in out["rows"].as_array().unwrap() {
        println!(
            "{:<24} {:<22} L{} at_max {} min {}",
            r["id"].as_str().unwrap(),
            r["image"].as_str().unwrap(),
            r["max_level"],
            r["ssim_at_max"],
            r["min_ssim"]
        );
    }
}

/// SSIM (wang) of perturbation `id` at 11 strengths over its range on each real image of its
/// modality: the curve behind a reach entry.
fn sweep(root: &Path, manifest: &serde_json::Value, id: &str) {
    let p = medfm_robust::perturb::by_id(id).expect("id");
    let (lo, hi) = p.info().strength_range;
    for e in manifest["images"].as_array().expect("images") {
        let file = e["file"].as_str().expect("file");
        if Modality::parse(e["modality"].as_str().expect("modality")).ok() != p.info().modality {
            continue;
        }
        let l = medfm_robust::io::read_image(&root.join(file)).expect("read");
        let reference =
            SsimReference::new(&l.image, SearchOptions::default().variant).expect("ssim");
        let prepared = p
            .prepare(&l.image, &Ctx::new(0, fnv1a32(file)))
            .expect("prepare");
        let v: Vec<String> = (0..=10)
            .map(|k| {
                let s = lo + (hi - lo) * k as f32 / 10.0;
                let out = prepared.apply(s).quantised(l.depth);
                format!("{s}:{:.3}", reference.ssim(&out).expect("ssim"))
            })
            .collect();
        println!("{id} {file}: {}", v.join(" "));
    }
}
