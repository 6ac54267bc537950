//! End to end through ONNX Runtime on the built-in demo model (models/demo), through the
//! pipeline that `eval-seg` and `run` share: records complete, scores in [0, 1], bad inputs become
//! named, recorded errors, prompts replay exactly.
//!
//! Needs the ONNX Runtime library: run `tools/setup_ort.sh` first (CI does). Without it these
//! tests fail with that instruction rather than skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use medfm_robust::eval::seg::ort::find_library;
use medfm_robust::eval::seg::{Model, ModelSpec};
use medfm_robust::image::{Image, Mask};
use medfm_robust::perturb::device::Device;
use medfm_robust::perturb::Modality;
use medfm_robust::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};
use medfm_robust::phantom::phantom;
use medfm_robust::run::config::{Calibration, Config, DatasetConfig, ModelConfig, Profile};
use medfm_robust::run::{exec, Record, Shard};

fn require_ort() {
    if let Err(e) = find_library() {
        panic!("these tests need the ONNX Runtime library; run tools/setup_ort.sh first ({e})");
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_spec(preset: &str) -> ModelSpec {
    ModelSpec {
        name: "demo".into(),
        strategy: "none".into(),
        preset: preset.into(),
        encoder: Some(repo().join("models/demo/encoder.onnx")),
        decoder: Some(repo().join("models/demo/decoder.onnx")),
        graph: None,
        generic: None,
        tensorrt: Default::default(),
    }
}

fn save_rgb(img: &Image, path: &Path) {
    let rgb = img.to_rgb();
    let buf = image::RgbImage::from_raw(
        img.width as u32,
        img.height as u32,
        Image::to_interleaved(&rgb)
            .iter()
            .map(|v| (v * 255.0).round() as u8)
            .collect(),
    )
    .unwrap();
    buf.save(path).unwrap();
}

fn save_mask(m: &Mask, path: &Path) {
    let buf = image::GrayImage::from_raw(
        m.width as u32,
        m.height as u32,
        m.data.iter().map(|&v| v * 255).collect(),
    )
    .unwrap();
    buf.save(path).unwrap();
}

fn read_records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A tiny dataset of phantoms plus two bad items.
fn dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let (images, masks) = (dir.join("images"), dir.join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    // Phantoms with solid lesions (the demo segmenter compares mean intensity inside and around the
    // box, so MRI's ring-enhancing tumour is its documented weak case).
    for (i, m) in [Modality::Endoscopy, Modality::Dermoscopy, Modality::Ct]
        .into_iter()
        .enumerate()
    {
        let p = phantom(m, 96 + 8 * i, 80, 3, i as u64);
        save_rgb(&p.image, &images.join(format!("ok{i}.png")));
        save_mask(&p.mask, &masks.join(format!("ok{i}_mask.png")));
    }
    let p = phantom(Modality::Us, 64, 64, 3, 9);
    save_rgb(&p.image, &images.join("no_mask.png"));
    save_rgb(&p.image, &images.join("wrong_size.png"));
    save_mask(&Mask::new(32, 40), &masks.join("wrong_size.png"));
    (images, masks)
}

#[test]
fn eval_seg_cli_on_demo_model() {
    require_ort();
    let tmp = tempfile::tempdir().unwrap();
    let (images, masks) = dataset(tmp.path());
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_medfm-robust"));
        c.args(["eval-seg", "--encoder"])
            .arg(repo().join("models/demo/encoder.onnx"))
            .arg("--decoder")
            .arg(repo().join("models/demo/decoder.onnx"));
        c.args([
            "--preset",
            "litemedsam",
            "--perturbations",
            "none",
            "--images",
        ])
        .arg(&images)
        .arg("--masks")
        .arg(&masks)
        .arg("--out")
        .arg(&out);
        c.args(extra);
        c.output().unwrap()
    };
    let o = run(&["--jitter", "3", "--seed", "5"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    // Some items failed (recorded): exit code 2, and the run still went through all items.
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("segmentation demo/full on ") && stdout.contains("clean IoU"),
        "{stdout}"
    );
    assert!(stdout.contains("failed: 2"), "{stdout}");
    let recs = read_records(&out.join("records.jsonl"));
    assert_eq!(recs.len(), 5, "one clean record per image");
    for r in &recs {
        assert_eq!(r.perturbation, "clean");
        assert_eq!(r.level, 0);
        assert_eq!(r.preset, "litemedsam");
        if r.sample.contains("ok") {
            assert!(r.error.is_none(), "{r:?}");
            let (i, d) = (r.metrics["iou"], r.metrics["dice"]);
            assert!((0.0..=1.0).contains(&i) && (0.0..=1.0).contains(&d));
            assert!(
                i > 0.5,
                "demo model should find a phantom lesion from its box: {r:?}"
            );
            assert!(r.prompt.is_some());
        }
    }
    let err = |s: &str| {
        recs.iter()
            .find(|r| r.sample.contains(s))
            .unwrap()
            .error
            .clone()
            .unwrap()
    };
    assert!(
        err("no_mask").contains("no_mask.png") && err("no_mask").contains("no mask"),
        "{}",
        err("no_mask")
    );
    let ws = err("wrong_size");
    assert!(
        ws.contains("wrong_size.png") && ws.contains("32x40") && ws.contains("64x64"),
        "{ws}"
    );

    // Replay: the recorded (jittered) boxes are used as-is and give identical records.
    let first = recs.clone();
    std::fs::copy(out.join("records.jsonl"), tmp.path().join("prev.jsonl")).unwrap();
    let prev = tmp.path().join("prev.jsonl");
    let out2 = tmp.path().join("out2");
    let mut c = Command::new(env!("CARGO_BIN_EXE_medfm-robust"));
    c.args(["eval-seg", "--encoder"])
        .arg(repo().join("models/demo/encoder.onnx"))
        .arg("--decoder")
        .arg(repo().join("models/demo/decoder.onnx"));
    c.args([
        "--preset",
        "litemedsam",
        "--perturbations",
        "none",
        "--images",
    ])
    .arg(&images)
    .arg("--masks")
    .arg(&masks)
    .arg("--out")
    .arg(&out2);
    c.args(["--replay", prev.to_str().unwrap()]);
    assert_eq!(c.output().unwrap().status.code(), Some(2));
    let again = read_records(&out2.join("records.jsonl"));
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(
            (&a.unit, &a.prompt, &a.metrics),
            (&b.unit, &b.prompt, &b.metrics),
            "replayed boxes give identical results"
        );
    }
    // The same command again resumes: the two failed units are retried, nothing else.
    let o = run(&["--jitter", "3", "--seed", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(read_records(&out.join("records.jsonl")).len(), 5 + 2);
}

#[test]
fn interface_mismatch_is_a_named_error() {
    require_ort();
    // The demo encoder takes 256 px; medsam expects 1024.
    let e = Model::load(&demo_spec("medsam"), Default::default(), 1)
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        e.contains("encoder.onnx")
            && e.contains("medsam")
            && e.contains("1024")
            && e.contains("256"),
        "{e}"
    );
    // A decoder given as encoder: names the missing/unexpected ports.
    let mut s = demo_spec("litemedsam");
    s.encoder = s.decoder.clone();
    let e = Model::load(&s, Default::default(), 1)
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        e.contains("decoder.onnx") && e.contains("point_coords") && e.contains("expected"),
        "{e}"
    );
}

#[test]
fn missing_model_file_is_a_named_error() {
    require_ort();
    let mut s = demo_spec("litemedsam");
    s.encoder = Some(repo().join("models/demo/absent.onnx"));
    let e = Model::load(&s, Default::default(), 1)
        .err()
        .expect("must fail")
        .to_string();
    assert!(e.contains("absent.onnx"), "{e}");
}

/// A geometric test perturbation: shifts image and mask right by round(s) pixels (zero fill).
struct Shift(Info);

struct ShiftPrepared<'a>(&'a Image);

impl Perturbation for Shift {
    fn info(&self) -> &Info {
        &self.0
    }
    fn prepare<'a>(
        &self,
        img: &'a Image,
        _ctx: &Ctx,
    ) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(ShiftPrepared(img)))
    }
}

impl Prepared for ShiftPrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        let (w, h, k) = (self.0.width, self.0.height, s.round() as usize);
        let mut out = Image::new(w, h, self.0.channels);
        for c in 0..self.0.channels {
            for y in 0..h {
                for x in k..w {
                    out.data[c * w * h + y * w + x] = self.0.get(c, y, x - k);
                }
            }
        }
        out
    }
    fn warp_mask(&self, m: &Mask, s: f32) -> Mask {
        let k = s.round() as usize;
        let mut out = Mask::new(m.width, m.height);
        for y in 0..m.height {
            for x in k..m.width {
                out.data[y * m.width + x] = m.data[y * m.width + x - k];
            }
        }
        out
    }
}

#[test]
fn perturbed_levels_use_the_warped_mask_and_fill_every_unit() {
    require_ort();
    let shift: &'static Shift = Box::leak(Box::new(Shift(Info {
        id: "test_shift",
        category: Category::Base,
        modality: None,
        model: "shift right",
        strength_name: "pixels",
        strength_range: (0.0, 40.0),
        kind: StrengthKind::Warp,
        geometric: true,
        colour: Colour::Any,
        source: "test",
        monotone_tolerance: 0.0,
        device: Device::CpuOnly("a test op"),
    })));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let p = phantom(Modality::Ct, 128, 128, 3, 1);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("masks")).unwrap();
    save_rgb(&p.image, &dir.join("images/ct-1.png"));
    save_mask(&p.mask, &dir.join("masks/ct-1.png"));
    let config = Config {
        name: "t".into(),
        seed: 0,
        profile: Profile::Default,
        device: "cpu".into(),
        levels: vec![1, 3, 5],
        perturbations: vec!["none".into()],
        max_evals_per_band: 20,
        calibration: Calibration::Fixed,
        calibration_images: 1,
        ssim_variant: None,
        datasets: vec![DatasetConfig {
            name: "phantoms".into(),
            path: dir.clone(),
            reader: "generic".into(),
            modality: Some("ct".into()),
            limit: None,
            masks: None,
            perturbations: None,
            slices: None,
            sample_seed: 42,
            image_root: None,
        }],
        models: vec![ModelConfig {
            name: "demo".into(),
            strategy: "none".into(),
            preset: "litemedsam".into(),
            graphs: [
                (
                    "encoder".to_string(),
                    repo().join("models/demo/encoder.onnx"),
                ),
                (
                    "decoder".to_string(),
                    repo().join("models/demo/decoder.onnx"),
                ),
            ]
            .into(),
            task: "segmentation".into(),
            model: None,
            judge: None,
            concurrency: None,
            jitter: 0,
            replay: None,
            threads: 1,
            vlm_compat: vec![],
            tensorrt: None,
        }],
    };
    let out = tmp.path().join("out");
    let (mut plan, mut evaluators) = exec::validate(&config, &out).unwrap();
    plan.datasets[0].perturbations = vec![shift];
    let opts = exec::RunOptions {
        out: out.clone(),
        shard: Shard::ALL,
        restart: false,
        batch: 2,
        strength_cache: None,
    };
    exec::execute(&plan, &mut evaluators, &opts, &|_, _| {}).unwrap();
    let recs = read_records(&out.join("records.jsonl"));
    let unit = |p: &str, l: u8| {
        medfm_robust::run::Unit {
            model: "demo".into(),
            strategy: "none".into(),
            dataset: "phantoms".into(),
            task: "segmentation".into(),
            perturbation: p.into(),
            level: l,
            sample: "ct-1.png".into(),
        }
        .id()
    };
    let units: Vec<&str> = recs.iter().map(|r| r.unit.as_str()).collect();
    assert_eq!(
        units,
        [
            unit("clean", 0),
            unit("test_shift", 1),
            unit("test_shift", 3),
            unit("test_shift", 5)
        ]
    );
    let clean_box = recs[0].prompt.unwrap();
    for r in &recs[1..] {
        let k = (40.0 * r.level as f32 / 5.0).round() as usize;
        let b = r.prompt.unwrap();
        // The box follows the warped mask (clipped at the right border).
        assert_eq!(b[0], (clean_box[0] + k).min(127), "{r:?}");
        assert!(r.metrics["iou"] > 0.5, "{r:?}");
        assert_eq!(r.strength, Some(40.0 * r.level as f32 / 5.0));
        let ssim = r.ssim.unwrap();
        assert!(ssim < 1.0 && ssim > -1.0, "{r:?}");
    }
    let agg = medfm_robust::report::tasks::aggregate(&recs, "segmentation", "iou");
    assert_eq!(agg.clean.values().next().unwrap().1, 1);
    assert_eq!(agg.levels(), vec![1, 3, 5]);
    assert_eq!(agg.delta.len(), 3, "one base cell per level");
}

#[test]
fn demo_on_phantoms_reports_clean_scores() {
    require_ort();
    // The ONNX demo model through the pipeline on 8 modalities x 2 phantoms (128 px), clean only.
    let tmp = tempfile::tempdir().unwrap();
    let mut manifest = String::new();
    for m in Modality::ALL {
        for seed in 0..2u64 {
            let ph = phantom(m, 128, 128, 3, seed);
            save_rgb(&ph.image, &tmp.path().join(format!("{m}-{seed}.png")));
            save_mask(&ph.mask, &tmp.path().join(format!("{m}-{seed}_mask.png")));
            manifest.push_str(&format!("{}\n", serde_json::json!({"image": format!("{m}-{seed}.png"), "mask": format!("{m}-{seed}_mask.png")})));
        }
    }
    std::fs::write(tmp.path().join("m.jsonl"), manifest).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args([
            "eval-seg",
            "--preset",
            "litemedsam",
            "--perturbations",
            "none",
            "--encoder",
        ])
        .arg(repo().join("models/demo/encoder.onnx"))
        .arg("--decoder")
        .arg(repo().join("models/demo/decoder.onnx"))
        .arg("--manifest")
        .arg(tmp.path().join("m.jsonl"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let recs = read_records(&tmp.path().join("out/records.jsonl"));
    assert_eq!(
        recs.len(),
        16,
        "every phantom has a non-empty mask and must be scored"
    );
    let agg = medfm_robust::report::tasks::aggregate(&recs, "segmentation", "iou");
    let dice = medfm_robust::report::tasks::aggregate(&recs, "segmentation", "dice");
    let (i, d) = (
        agg.clean.values().next().unwrap().0,
        dice.clean.values().next().unwrap().0,
    );
    println!(
        "demo model, clean on phantoms (128 px, 8 modalities x 2 seeds): IoU {i:.3} Dice {d:.3}"
    );
    assert!((0.0..=1.0).contains(&i) && (0.0..=1.0).contains(&d));
    assert!(d >= i, "Dice >= IoU per image, so also on average");
    assert!(
        i > 0.5,
        "the demo segmenter should find phantom lesions from their boxes: IoU {i}"
    );
}

#[test]
fn missing_or_bad_ort_library_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, masks) = dataset(tmp.path());
    let bad_lib = tmp.path().join("not_a_library.so");
    std::fs::write(&bad_lib, b"not an ELF file").unwrap();
    for (lib, expect) in [
        (tmp.path().join("absent/libonnxruntime.so"), "no such file"),
        (bad_lib, "cannot load ONNX Runtime"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
            .env("ORT_DYLIB_PATH", &lib)
            .args([
                "eval-seg",
                "--preset",
                "litemedsam",
                "--perturbations",
                "none",
                "--encoder",
            ])
            .arg(repo().join("models/demo/encoder.onnx"))
            .arg("--decoder")
            .arg(repo().join("models/demo/decoder.onnx"))
            .arg("--images")
            .arg(&images)
            .arg("--masks")
            .arg(&masks)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&*lib.to_string_lossy())
                && err.contains(expect)
                && err.contains("tools/setup_ort.sh"),
            "{err}"
        );
    }
}

#[test]
fn unavailable_execution_provider_is_an_error_not_a_cpu_fallback() {
    require_ort();
    // The CPU build of ONNX Runtime (tools/setup_ort.sh) has neither CUDA nor TensorRT; with the
    // GPU build on a GPU machine this test has nothing to check and says so.
    for dev in ["cuda", "tensorrt"] {
        let device = medfm_robust::eval::seg::ort::Device::parse(dev).unwrap();
        match Model::load(&demo_spec("litemedsam"), device, 1) {
            Ok(_) => eprintln!(
                "{dev}: provider registered (GPU build of ONNX Runtime); nothing to check here"
            ),
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains(&format!("execution provider '{dev}'"))
                        && e.contains("no silent CPU fallback"),
                    "{e}"
                );
            }
        }
    }
}
