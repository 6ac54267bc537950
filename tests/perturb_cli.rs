//! End-to-end: `medfm-robust perturb` on a folder of mixed 8/16-bit grey/RGB PNG/TIFF/JPEG images
//! with bad inputs mixed in. Checks the manifest contract of spec/product.md: every
//! (image, perturbation, level) has a record; every in-band record's `ssim` lies in its band and
//! equals the SSIM recomputed from the written file against the source; every other record says
//! why; bad inputs are named, the rest is processed, and the exit code is non-zero.

use medfm_robust::image::{BitDepth, Image, Mask};
use medfm_robust::io::{self, Format};
use medfm_robust::perturb::Modality;
use medfm_robust::phantom::phantom;
use medfm_robust::ssim::{ssim, SsimVariant};
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
}

const PERTS: &str = "gaussian_noise,gaussian_blur,contrast,rotation";

fn make_inputs(dir: &Path) {
    let grey = phantom(Modality::Ct, 72, 64, 1, 1);
    let rgb = phantom(Modality::Dermoscopy, 64, 72, 3, 2);
    io::write_image(
        &dir.join("in/a_grey8.png"),
        &grey.image,
        BitDepth::U8,
        Format::Png,
    )
    .unwrap();
    io::write_image(
        &dir.join("in/sub/b_rgb16.png"),
        &rgb.image,
        BitDepth::U16,
        Format::Png,
    )
    .unwrap();
    io::write_image(
        &dir.join("in/c_grey16.tif"),
        &grey.image,
        BitDepth::U16,
        Format::Tiff,
    )
    .unwrap();
    io::write_image(
        &dir.join("in/d_rgb8.jpg"),
        &rgb.image,
        BitDepth::U8,
        Format::Jpeg,
    )
    .unwrap();
    io::write_mask(&dir.join("masks/a_grey8.png"), &grey.mask).unwrap();
    io::write_mask(&dir.join("masks/sub/b_rgb16.png"), &rgb.mask).unwrap();
    // Bad inputs: truncated PNG, a text file with an image extension, too small, wrong-size mask.
    let good = std::fs::read(dir.join("in/a_grey8.png")).unwrap();
    std::fs::write(dir.join("in/e_truncated.png"), &good[..good.len() / 3]).unwrap();
    std::fs::write(dir.join("in/f_not_an_image.png"), b"hello").unwrap();
    io::write_image(
        &dir.join("in/g_tiny.png"),
        &Image::new(5, 5, 1),
        BitDepth::U8,
        Format::Png,
    )
    .unwrap();
    io::write_image(
        &dir.join("in/h_badmask.png"),
        &grey.image,
        BitDepth::U8,
        Format::Png,
    )
    .unwrap();
    io::write_mask(&dir.join("masks/h_badmask.png"), &Mask::new(10, 10)).unwrap();
}

#[test]
fn perturb_writes_every_record_and_names_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_inputs(d);
    let out = d.join("out");
    let o = bin()
        .args(["--quiet", "perturb", "--input"])
        .arg(d.join("in"))
        .arg("--out")
        .arg(&out)
        .arg("--masks")
        .arg(d.join("masks"))
        .args(["--perturbations", PERTS, "--levels", "1-5", "--seed", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "bad inputs: the run finished with failed items (exit 2); stderr:\n{stderr}"
    );
    for bad in [
        "e_truncated.png",
        "f_not_an_image.png",
        "g_tiny.png",
        "h_badmask.png",
    ] {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(bad)).collect();
        assert_eq!(
            lines.len(),
            1,
            "one error line naming {bad}; stderr:\n{stderr}"
        );
        assert!(lines[0].starts_with("error:"), "{}", lines[0]);
    }

    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = manifest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let good = [
        "a_grey8.png",
        "sub/b_rgb16.png",
        "c_grey16.tif",
        "d_rgb8.jpg",
    ];
    assert_eq!(
        recs.len(),
        good.len() * 4 * 5,
        "every (image, perturbation, level) has a record"
    );
    for r in &recs {
        let src = r["source"].as_str().unwrap();
        assert!(good.iter().any(|g| src.ends_with(g)), "{src}");
        for key in [
            "output",
            "perturbation",
            "category",
            "modality",
            "level",
            "strength",
            "ssim",
            "target",
            "in_band",
            "seed",
            "ssim_variant",
        ] {
            assert!(r.get(key).is_some(), "record lacks {key}: {r}");
        }
        let lo = r["target"][0].as_f64().unwrap();
        let hi = r["target"][1].as_f64().unwrap();
        let s = r["ssim"].as_f64().unwrap();
        if r["in_band"].as_bool().unwrap() {
            assert!(s >= lo && s <= hi, "in-band record outside its band: {r}");
            let written = io::read_image(&out.join(r["output"].as_str().unwrap())).unwrap();
            let source = io::read_image(Path::new(src)).unwrap();
            assert_eq!(written.depth, source.depth, "bit depth kept");
            assert_eq!(written.format, source.format, "format kept");
            let again = ssim(&source.image, &written.image, SsimVariant::Wang).unwrap();
            assert!(
                (again - s).abs() < 1e-12,
                "manifest ssim {s} != recomputed {again}"
            );
        } else {
            assert!(
                r["reason"].as_str().is_some_and(|x| !x.is_empty()),
                "out-of-band record without reason: {r}"
            );
        }
        if r["perturbation"] == "rotation"
            && r["output"].is_string()
            && (src.ends_with("a_grey8.png") || src.ends_with("b_rgb16.png"))
        {
            let m = r["mask_output"]
                .as_str()
                .expect("geometric perturbation with a mask writes the warped mask");
            assert!(out.join(m).is_file());
        }
    }
    // Most levels of these perturbations are reachable on the phantoms.
    let in_band = recs
        .iter()
        .filter(|r| r["in_band"].as_bool().unwrap())
        .count();
    assert!(
        in_band >= recs.len() * 3 / 4,
        "only {in_band} of {} in band",
        recs.len()
    );
    assert!(out.join("errors.jsonl").is_file());
}

#[test]
fn per_dataset_calibration_reuses_cached_strengths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, seed) in [5u64, 6, 7].iter().enumerate() {
        let p = phantom(Modality::Mri, 64, 64, 1, *seed);
        io::write_image(
            &d.join(format!("in/{i}.png")),
            &p.image,
            BitDepth::U8,
            Format::Png,
        )
        .unwrap();
    }
    let run = |out: &Path| {
        let o = bin()
            .args(["--quiet", "perturb", "--input"])
            .arg(d.join("in"))
            .arg("--out")
            .arg(out)
            .args([
                "--perturbations",
                "gaussian_blur",
                "--levels",
                "2,4",
                "--calibration",
                "per-dataset",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out.join("manifest.jsonl")).unwrap()
    };
    let m1 = run(&d.join("o1"));
    let recs: Vec<serde_json::Value> = m1
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 6);
    for lv in [2, 4] {
        let s: Vec<f64> = recs
            .iter()
            .filter(|r| r["level"] == lv)
            .map(|r| r["strength"].as_f64().unwrap())
            .collect();
        assert!(
            s.windows(2).all(|w| w[0] == w[1]),
            "one strength per level in per-dataset mode: {s:?}"
        );
    }
    let cache = std::fs::read_to_string(d.join("o1/strengths.json")).unwrap();
    // One table per (dataset, perturbation): perturb's dataset is the inputs' modality group
    // (here none: "any"), keyed "<dataset>:<modality>".
    assert!(cache.contains("gaussian_blur|any:any|L2|wang|v"), "{cache}");
    // Determinism: same inputs and seed give the same bytes, whatever the thread count.
    let o = bin()
        .args(["--quiet", "-j", "1", "perturb", "--input"])
        .arg(d.join("in"))
        .arg("--out")
        .arg(d.join("o2"))
        .args([
            "--perturbations",
            "gaussian_blur",
            "--levels",
            "2,4",
            "--calibration",
            "per-dataset",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(d.join("o2/manifest.jsonl"))
            .unwrap()
            .replace("o2", "o1"),
        m1
    );
    assert_eq!(
        std::fs::read(d.join("o1/gaussian_blur/L2/0.png")).unwrap(),
        std::fs::read(d.join("o2/gaussian_blur/L2/0.png")).unwrap()
    );
}

/// perturb's selection rule on the pipeline: every id named is applied as asked (a medical id
/// too, with or without a modality); a group (`medical`) is resolved per image's modality in a
/// manifest of mixed modalities; `report` on the written folder says it holds no evaluations.
#[test]
fn selection_follows_each_images_modality_group() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ct = phantom(Modality::Ct, 64, 64, 1, 1);
    let mri = phantom(Modality::Mri, 64, 64, 1, 2);
    io::write_image(&d.join("in/ct.png"), &ct.image, BitDepth::U8, Format::Png).unwrap();
    io::write_image(&d.join("in/mri.png"), &mri.image, BitDepth::U8, Format::Png).unwrap();
    let run = |input: &Path, out: &str, perts: &str| {
        let o = bin()
            .args(["--quiet", "perturb", "--input"])
            .arg(input)
            .arg("--out")
            .arg(d.join(out))
            .args(["--perturbations", perts, "--levels", "2"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(d.join(out).join("manifest.jsonl")).unwrap();
        let mut pairs: Vec<(String, String)> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|r| {
                let src = r["source"].as_str().unwrap();
                let name = Path::new(src).file_name().unwrap().to_string_lossy();
                (
                    name.into_owned(),
                    r["perturbation"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        run(&d.join("in"), "o1", "gaussian_noise,ct_beam_hardening"),
        vec![
            p("ct.png", "ct_beam_hardening"),
            p("ct.png", "gaussian_noise"),
            p("mri.png", "ct_beam_hardening"),
            p("mri.png", "gaussian_noise"),
        ]
    );
    std::fs::write(
        d.join("m.csv"),
        "image,modality\nin/ct.png,ct\nin/mri.png,mri\n",
    )
    .unwrap();
    // `medical` is resolved per modality group; a named id is applied as asked.
    let got = run(&d.join("m.csv"), "o2", "medical,gaussian_noise");
    for (img, want) in [("ct.png", "ct_"), ("mri.png", "mri_")] {
        let mine: Vec<&String> = got
            .iter()
            .filter(|(i, _)| i == img)
            .map(|(_, q)| q)
            .collect();
        assert!(mine.len() >= 3, "{img}: {mine:?}");
        assert!(
            mine.iter()
                .all(|q| q.starts_with(want) || *q == "gaussian_noise"),
            "{img}: {mine:?}"
        );
    }
    let o = bin().arg("report").arg(d.join("o2")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("written by `perturb`") && err.contains("eval-seg"),
        "{err}"
    );
}
