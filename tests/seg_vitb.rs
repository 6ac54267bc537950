//! A real SAM ViT-B architecture through `eval-seg --preset medsam`: a randomly initialised
//! segment-anything ViT-B exported by tools/export_sam_onnx.py (~375 MB, not committed), run on
//! one image written to PNG. Random weights give a meaningless mask; what is checked is that the
//! graphs pass the medsam interface checks, the encoder runs at 1024 px, the decoder's 4 masks
//! are post-processed, and a complete record with IoU/Dice in [0, 1] comes out.
//!
//!   python tools/export_sam_onnx.py --preset medsam --random-init --out /tmp/vitb
//!   MEDFM_SAM_VITB_DIR=/tmp/vitb cargo test --test seg_vitb -- --ignored

use std::path::PathBuf;
use std::process::Command;

use medfm_robust::image::Image;
use medfm_robust::perturb::Modality;
use medfm_robust::phantom::phantom;
use medfm_robust::run::Record;

#[test]
#[ignore = "needs a ViT-B exported by tools/export_sam_onnx.py in MEDFM_SAM_VITB_DIR (~375 MB) and the ONNX Runtime library"]
fn random_vit_b_runs_through_eval_seg_medsam() {
    let dir = PathBuf::from(
        std::env::var("MEDFM_SAM_VITB_DIR").expect("set MEDFM_SAM_VITB_DIR to the export folder"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let (images, masks) = (tmp.path().join("images"), tmp.path().join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    let p = phantom(Modality::Dermoscopy, 200, 150, 3, 3);
    let hwc: Vec<u8> = Image::to_interleaved(&p.image)
        .iter()
        .map(|v| (v * 255.0).round() as u8)
        .collect();
    image::RgbImage::from_raw(200, 150, hwc)
        .unwrap()
        .save(images.join("lesion.png"))
        .unwrap();
    image::GrayImage::from_raw(200, 150, p.mask.data.iter().map(|v| v * 255).collect())
        .unwrap()
        .save(masks.join("lesion.png"))
        .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args([
            "eval-seg",
            "--preset",
            "medsam",
            "--perturbations",
            "none",
            "--encoder",
        ])
        .arg(dir.join("encoder.onnx"))
        .arg("--decoder")
        .arg(dir.join("decoder.onnx"))
        .arg("--images")
        .arg(&images)
        .arg("--masks")
        .arg(&masks)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("records.jsonl")).unwrap();
    let recs: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.preset, "medsam");
    assert!((0.0..=1.0).contains(&r.metrics["iou"]) && (0.0..=1.0).contains(&r.metrics["dice"]));
    println!("{stdout}");
}
