//! VLM tasks through the pipeline (the units `eval-vlm` and `run` schedule) against a loopback
//! server: one record per (sample, variant) through injected failures, reruns that resume and
//! answer from the cache, perturbed images sent exactly as produced, grounding and captioning
//! scored from the records, and the API key absent from every output file.

mod vlm_support;

use medfm_robust::calibrate::policy::{self, Policy};
use medfm_robust::eval::vlm::{images, ModelConfig};
use medfm_robust::image::{Image, Mask};
use medfm_robust::perturb::device::Device;
use medfm_robust::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};
use medfm_robust::report::tasks;
use medfm_robust::run::config::{
    Calibration, Config, DatasetConfig, ModelConfig as RunModel, Profile,
};
use medfm_robust::run::{exec, records, Record, Shard};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vlm_support::{image_of, prompt_of, Action, Server};
/// Test perturbation `f(sample, s)` on every sample (clipped): the brightening and whiteout below.
struct Pointwise {
    info: &'static Info,
    f: fn(f32, f32) -> f32,
}
struct PointwiseP<'a>(&'a Image, fn(f32, f32) -> f32);
impl Prepared for PointwiseP<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut o = self.0.clone();
        o.data.iter_mut().for_each(|v| *v = (self.1)(*v, s));
        o.clip();
        o
    }
}
impl Perturbation for Pointwise {
    fn info(&self) -> &Info {
        self.info
    }
    fn prepare<'a>(
        &self,
        img: &'a Image,
        _ctx: &Ctx,
    ) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(PointwiseP(img, self.f)))
    }
}

/// Adds 0.2 * s to every sample.
static BRIGHTEN: Pointwise = Pointwise {
    info: &BRIGHTEN_INFO,
    f: |v, s| v + 0.2 * s,
};
const BRIGHTEN_INFO: Info = Info {
    id: "test_brighten",
    category: Category::Base,
    modality: None,
    model: "x + 0.2 s",
    strength_name: "s",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "test",
    monotone_tolerance: 0.0,
    device: Device::CpuOnly("a test op"),
};

/// Test geometric perturbation: shifts right by round(10 s) pixels (mask alike).
struct Shift;
static SHIFT: Info = Info {
    id: "test_shift",
    category: Category::Medical,
    modality: None,
    model: "shift right",
    strength_name: "s",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Warp,
    geometric: true,
    colour: Colour::Any,
    source: "test",
    monotone_tolerance: 0.0,
    device: Device::CpuOnly("a test op"),
};
struct ShiftP<'a>(&'a Image);
fn shift_px(s: f32) -> usize {
    (10.0 * s).round() as usize
}
impl Prepared for ShiftP<'_> {
    fn apply(&self, s: f32) -> Image {
        let d = shift_px(s);
        let (w, h) = (self.0.width, self.0.height);
        let mut o = Image::new(w, h, self.0.channels);
        for c in 0..self.0.channels {
            for y in 0..h {
                for x in d..w {
                    o.data[c * w * h + y * w + x] = self.0.get(c, y, x - d);
                }
            }
        }
        o
    }
    fn warp_mask(&self, m: &Mask, s: f32) -> Mask {
        let d = shift_px(s);
        let mut o = Mask::new(m.width, m.height);
        for y in 0..m.height {
            for x in d..m.width {
                o.data[y * m.width + x] = m.data[y * m.width + x - d];
            }
        }
        o
    }
}
impl Perturbation for Shift {
    fn info(&self) -> &Info {
        &SHIFT
    }
    fn prepare<'a>(
        &self,
        img: &'a Image,
        _ctx: &Ctx,
    ) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(ShiftP(img)))
    }
}

fn write_png(path: &Path, w: u32, h: u32, seed: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 7 + y * 13 + seed * 31) % 200;
        image::Rgb([v as u8, (v / 2) as u8, (255 - v) as u8])
    });
    img.save(path).unwrap();
}

fn model_toml(dir: &Path, base_url: &str, key_env: &str, box_format: &str) -> PathBuf {
    model_toml_t(dir, base_url, key_env, box_format, 20.0)
}

/// `timeout_s` below a stall injected by the server turns the stall into a timeout.
fn model_toml_t(
    dir: &Path,
    base_url: &str,
    key_env: &str,
    box_format: &str,
    timeout_s: f64,
) -> PathBuf {
    let text = format!(
        "name = \"mock-vlm\"\nbase_url = \"{base_url}\"\nmodel = \"mock/vlm\"\napi_key_env = \"{key_env}\"\n\
         max_tokens = 32\nbox_format = \"{box_format}\"\nconcurrency = 3\ntimeout_s = {timeout_s}\nmax_retries = 3\nretry_base_ms = 1\n"
    );
    std::fs::write(dir.join("model.toml"), &text).unwrap();
    ModelConfig::load(&dir.join("model.toml")).unwrap();
    dir.join("model.toml")
}

fn records(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What one VLM evaluation is: a task file, the model, test perturbations, levels 1 and 3 at
/// fixed strengths, perturbation seed 7.
struct Job {
    task: &'static str,
    data: PathBuf,
    model: PathBuf,
    out: PathBuf,
    perts: Vec<&'static dyn Perturbation>,
    levels: Vec<u8>,
    compat: Vec<String>,
    judge: Option<PathBuf>,
    concurrency: Option<usize>,
}

fn job(
    task: &'static str,
    data: &Path,
    model: &Path,
    out: &Path,
    perts: Vec<&'static dyn Perturbation>,
) -> Job {
    Job {
        task,
        data: data.into(),
        model: model.into(),
        out: out.into(),
        perts,
        levels: vec![1, 3],
        compat: vec![],
        judge: None,
        concurrency: None,
    }
}

/// Run a job through the pipeline; returns its latest record per unit, in file order of the
/// units' first records.
fn run(j: &Job) -> Vec<Record> {
    let config = Config {
        name: "vlm-test".into(),
        seed: 7,
        profile: Profile::Default,
        device: "cpu".into(),
        levels: j.levels.clone(),
        perturbations: vec!["none".into()],
        max_evals_per_band: 20,
        calibration: Calibration::Fixed,
        calibration_images: 1,
        ssim_variant: None,
        datasets: vec![DatasetConfig {
            name: "data".into(),
            path: j.data.clone(),
            reader: j.task.into(),
            modality: None,
            limit: None,
            masks: None,
            perturbations: None,
            slices: None,
            sample_seed: 42,
            image_root: None,
        }],
        models: vec![RunModel {
            name: "mock-vlm".into(),
            strategy: "full".into(),
            preset: String::new(),
            graphs: Default::default(),
            task: j.task.into(),
            model: Some(j.model.clone()),
            judge: j.judge.clone(),
            concurrency: j.concurrency,
            jitter: 0,
            replay: None,
            threads: 0,
            vlm_compat: j.compat.clone(),
            tensorrt: None,
        }],
    };
    let (mut plan, mut evaluators) = exec::validate(&config, &j.out).unwrap();
    plan.datasets[0].perturbations = j.perts.clone();
    let opts = exec::RunOptions {
        out: j.out.clone(),
        shard: Shard::ALL,
        restart: false,
        batch: 4,
        strength_cache: None,
    };
    exec::execute(&plan, &mut evaluators, &opts, &|_, _| {}).unwrap();
    let latest = records::load_dir(&j.out).unwrap();
    let mut order: Vec<String> = Vec::new();
    for r in records::read_records(&j.out.join("records.jsonl")).unwrap() {
        if !order.contains(&r.unit) {
            order.push(r.unit);
        }
    }
    order.iter().map(|u| latest[u].clone()).collect()
}

fn correct(r: &serde_json::Value) -> Option<bool> {
    r["metrics"]["correct"].as_f64().map(|c| c == 1.0)
}

fn no_key_anywhere(dir: &Path, key: &str) {
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        let bytes = std::fs::read(e.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(key),
            "API key found in {}",
            e.path().display()
        );
    }
}

/// VQA: six items; the server answers by the option text "Pneumonia" = B for most, injects
/// failures by item, and always fails item q5.
#[test]
fn vqa_every_item_gets_a_record_and_reruns_cost_nothing() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_RUN";
    const KEY: &str = "sk-run-7f3e-very-secret";
    std::env::set_var(VAR, KEY);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("Images/CT")).unwrap();
    let mut qa = Vec::new();
    for i in 0..6 {
        write_png(&dir.path().join(format!("Images/CT/{i}.png")), 24, 20, i);
        let mut item = serde_json::json!({
            "question_id": format!("q{i}"), "question": format!("item{i}: what is shown?"),
            "option_A": "Normal", "option_B": "Pneumonia", "option_C": "Effusion", "option_D": "Mass",
            "gt_answer": if i % 2 == 0 { "Pneumonia" } else { "Mass" },
            "image_path": format!("Images/CT/{i}.png"), "modality_type": "CT(Computed Tomography)"
        });
        if i == 3 {
            // The known key variant of one OmniMedVQA file.
            let m = item.as_object_mut().unwrap();
            let v = m.remove("modality_type").unwrap();
            m.insert("modality".into(), v);
        }
        qa.push(item);
    }
    let data = dir.path().join("QA_information/Open-access/Test.json");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, serde_json::to_string(&qa).unwrap()).unwrap();

    let server = Server::start(Box::new(|seen| {
        let p = prompt_of(seen);
        let item: usize = p[4..5].parse().unwrap_or(0);
        match (item, seen.repeat) {
            (5, _) => Action::Status(500, "always down".into()),
            (1, 0) => Action::Status(429, "slow".into()),
            (2, 0) => Action::Stall(Duration::from_secs(6)),
            (4, 0) => Action::Garbage,
            (0, _) => Action::Reply("The answer is B.".into()),
            (1, _) => Action::Reply("Mass".into()),
            _ => Action::Reply("I think it is pneumonia.".into()),
        }
    }));
    let out = dir.path().join("out");
    let model = model_toml_t(dir.path(), &server.base_url, VAR, "xyxy-pixel", 1.5);
    let j = job("vqa", &data, &model, &out, vec![&BRIGHTEN]);
    let latest = run(&j);
    let recs = records(&out);
    assert_eq!(recs.len(), 6 * 3, "clean + 2 levels per item");
    for r in &recs {
        assert_eq!(r["reply"].is_null(), !r["error"].is_null(), "{r}");
        assert_eq!(
            correct(r).is_some(),
            r["error"].is_null(),
            "a failed unit is not scored: {r}"
        );
        assert_eq!(r["prompt_hash"].as_str().map(str::len), Some(16));
    }
    let failed: Vec<_> = recs.iter().filter(|r| !r["error"].is_null()).collect();
    assert_eq!(failed.len(), 3);
    assert!(failed
        .iter()
        .all(|r| r["sample"] == "q5" && r["metrics"].as_object().unwrap().is_empty()));
    assert!(
        server.requests() > 18,
        "429, stall and garbage were retried"
    );
    // Items 0, 2 and 4 are right (B); 1 is right (Mass = D); 3 says pneumonia but is D; 5 failed
    // and is left out of the accuracy (not counted as wrong).
    let agg = tasks::aggregate(&latest, "vqa", "correct");
    let clean = agg.clean.values().next().unwrap();
    assert_eq!(clean.1, 5);
    assert!((clean.0 - 4.0 / 5.0).abs() < 1e-12, "{clean:?}");
    let r0 = recs
        .iter()
        .find(|r| r["sample"] == "q0" && r["perturbation"] == "clean")
        .unwrap();
    assert_eq!(
        (r0["parsed"].as_str(), r0["parse_rule"].as_str()),
        (Some("B"), Some("letter"))
    );
    let r2 = recs
        .iter()
        .find(|r| r["sample"] == "q2" && r["perturbation"] == "clean")
        .unwrap();
    assert_eq!(
        (r2["parsed"].as_str(), r2["parse_rule"].as_str()),
        (Some("B"), Some("text"))
    );
    assert!(recs
        .iter()
        .filter(|r| r["sample"] == "q3")
        .all(|r| r["modality"] == "ct"));
    // Options were shown (default profile).
    assert!(server
        .log
        .lock()
        .unwrap()
        .iter()
        .all(|s| prompt_of(s).contains("B. Pneumonia")));

    // Rerun: it resumes; only the always-failing item goes to the server again.
    let before = server.requests();
    let latest2 = run(&j);
    let after = server.requests();
    assert_eq!(
        after - before,
        3 * 4,
        "only q5's three variants, 4 attempts each"
    );
    assert_eq!(
        records(&out).len(),
        recs.len() + 3,
        "the retried units are appended"
    );
    assert_eq!(latest2.len(), latest.len());
    for (a, b) in latest.iter().zip(&latest2) {
        assert_eq!(a.unit, b.unit);
        assert_eq!(a.fields.get("reply"), b.fields.get("reply"));
    }
    no_key_anywhere(dir.path(), KEY);
}

#[test]
fn the_perturbed_image_sent_is_the_perturbed_output() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_IMG";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"), 33, 17, 1);
    let data = dir.path().join("g.jsonl");
    std::fs::write(&data, "{\"id\": \"g0\", \"image\": \"a.png\", \"question\": \"Where is the lesion?\", \"box\": [4, 2, 20, 12]}\n").unwrap();
    let server = Server::start(Box::new(|_| Action::Reply("[4, 2, 20, 12]".into())));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let out = dir.path().join("out");
    let mut j = job("grounding", &data, &model, &out, vec![&BRIGHTEN, &Shift]);
    j.levels = vec![5];
    run(&j);
    let (img, depth) = images::read_image(&dir.path().join("a.png")).unwrap();
    let ctx = Ctx::new(7, medfm_robust::io::image_id(Path::new("a.png")));
    let reference =
        medfm_robust::ssim::SsimReference::new(&img, medfm_robust::ssim::SsimVariant::Wang)
            .unwrap();
    let want = policy::produce(
        &Policy::Fixed,
        &BRIGHTEN,
        &img,
        &reference,
        None,
        depth,
        &ctx,
        &[5],
    )
    .unwrap();
    let want_png = images::encode_png(&want[0].image).unwrap();
    let sent: Vec<Vec<u8>> = server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter_map(image_of)
        .collect();
    assert_eq!(sent.len(), 3);
    let decode = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgb8().into_raw();
    assert!(sent.iter().any(|s| decode(s) == decode(&want_png)));
    let clean = decode(&images::encode_png(&img).unwrap());
    assert_eq!(
        clean,
        image::open(dir.path().join("a.png"))
            .unwrap()
            .to_rgb8()
            .into_raw()
    );
    assert!(sent.iter().any(|s| decode(s) == clean));

    // Grounding: the box is right on clean and brighten; under the shift (10 px) the truth moved.
    let recs = records(&out);
    let by = |p: &str| {
        recs.iter()
            .find(|r| r["perturbation"] == p)
            .unwrap()
            .clone()
    };
    assert_eq!(correct(&by("clean")), Some(true));
    assert_eq!(correct(&by("test_brighten")), Some(true));
    let sh = by("test_shift");
    assert_eq!(sh["truth"], serde_json::json!([14.0, 2.0, 30.0, 12.0]));
    assert_eq!(correct(&sh), Some(false)); // IoU of [4,20] vs [14,30] = 6/26
}

#[test]
fn grounding_conventions_and_the_authors_first_four_numbers() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_GRD";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("b.png"), 200, 100, 2);
    let data = dir.path().join("g.json");
    // MeCoVQA-G form with a mask.
    let mut m = image::GrayImage::new(200, 100);
    for y in 10..50 {
        for x in 20..100 {
            m.put_pixel(x, y, image::Luma([255]));
        }
    }
    m.save(dir.path().join("m.png")).unwrap();
    std::fs::write(
        &data,
        serde_json::json!([{"id": "m0", "image": "b.png", "conversations": [
            {"from": "human", "value": "<image>\nPlease locate the liver."},
            {"from": "gpt", "value": "Sure, it is <SEG>. <mask>m.png</mask>"}]}])
        .to_string(),
    )
    .unwrap();
    // A Gemini-style answer: yxyx on 0-1000.
    let server = Server::start(Box::new(|_| {
        Action::Reply("{\"box_2d\": [100, 100, 500, 500]}".into())
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "gemini");
    let out = dir.path().join("out");
    let recs = run(&job("grounding", &data, &model, &out, vec![]));
    assert_eq!(recs[0].metrics["correct"], 1.0);
    assert!(prompt_of(&server.log.lock().unwrap()[0]).starts_with("Please locate the liver."));
    let mut j = job(
        "grounding",
        &data,
        &model,
        &dir.path().join("out_compat"),
        vec![],
    );
    j.compat = vec!["all".into()];
    let recs = run(&j);
    assert_eq!(recs[0].metrics["correct"], 0.0);
    assert_eq!(
        prompt_of(server.log.lock().unwrap().last().unwrap()),
        "Please locate the liver."
    );
}

#[test]
fn captions_are_scored_per_group_over_the_same_samples() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_CAP";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("ID,Caption\n");
    for i in 0..4 {
        write_png(
            &dir.path().join(format!("ROCOv2_2023_test_{i:06}.jpg")),
            16,
            16,
            i,
        );
        csv.push_str(&format!(
            "ROCOv2_2023_test_{i:06},\"Axial CT, item {i}, showing a mass.\"\n"
        ));
    }
    let data = dir.path().join("test_captions.csv");
    std::fs::write(&data, csv).unwrap();
    // Clean replies repeat the caption; perturbed ones (brighter images) lose the end.
    let server = Server::start(Box::new(|seen| {
        let png = image_of(seen).unwrap();
        let px = image::load_from_memory(&png).unwrap().to_rgb8();
        let i = px.get_pixel(15, 15)[0];
        Action::Reply(format!("axial ct item {i}"))
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let out = dir.path().join("out");
    let latest = run(&job("caption", &data, &model, &out, vec![&BRIGHTEN]));
    assert_eq!(latest.len(), 12);
    let recs = records(&out);
    assert!(recs.iter().all(
        |r| r["references"].as_array().map(Vec::len) == Some(1) && r["prediction"].is_string()
    ));
    for metric in ["cider", "bleu4"] {
        let agg = tasks::aggregate(&latest, "caption", metric);
        assert_eq!(agg.clean.values().next().unwrap().1, 4, "{metric}");
        assert_eq!(
            agg.per_perturbation.len(),
            2,
            "{metric}: one cell per level"
        );
        assert!(agg.delta.keys().all(|(_, c, _)| c == "base"));
    }
}

fn small_vqa(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut qa = Vec::new();
    for i in 0..n {
        write_png(&dir.join(format!("{i}.png")), 12, 12, i as u32);
        qa.push(serde_json::json!({
            "question_id": format!("q{i}"), "question": format!("item{i}: which?"),
            "option_A": "Alpha", "option_B": "Beta", "gt_answer": if i % 3 == 0 { "Alpha" } else { "Beta" },
            "image_path": format!("{i}.png"), "modality_type": "X-Ray"
        }));
    }
    let data = dir.join("qa.json");
    std::fs::write(&data, serde_json::to_string(&qa).unwrap()).unwrap();
    data
}

/// Records must not depend on the number of workers (the writer reorders).
#[test]
fn records_are_identical_whatever_the_concurrency() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_CONC";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let data = small_vqa(dir.path(), 7);
    let server = Server::start(Box::new(|seen| {
        let p = prompt_of(seen);
        // Uneven latency so completions arrive out of order.
        if p.starts_with("item1") || p.starts_with("item4") {
            std::thread::sleep(Duration::from_millis(30));
        }
        Action::Reply(if p.len().is_multiple_of(2) {
            "A".into()
        } else {
            "Beta".into()
        })
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let mut texts = Vec::new();
    for (k, workers) in [1usize, 5].into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}"));
        let mut j = job("vqa", &data, &model, &out, vec![&BRIGHTEN, &Shift]);
        j.concurrency = Some(workers);
        run(&j);
        texts.push(std::fs::read_to_string(out.join("records.jsonl")).unwrap());
    }
    assert_eq!(texts[0].lines().count(), 7 * 5);
    assert_eq!(texts[0], texts[1]);
}

/// The authors' VQA prompt (no options) and the optional LLM judge deciding correctness.
#[test]
fn compat_prompt_and_llm_judge() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_JUDGE";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let data = small_vqa(dir.path(), 3);
    let server = Server::start(Box::new(|seen| {
        let p = prompt_of(seen);
        if p.starts_with("You grade answers") {
            // The judge: full marks when the model answer names the correct option's text.
            let truth = p
                .split("Correct answer: ")
                .nth(1)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string();
            let answer = p
                .split("Model answer: ")
                .nth(1)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string();
            let t = truth.split(". ").nth(1).unwrap().to_string();
            Action::Reply(if answer.contains(&t) {
                "1".into()
            } else if answer.contains("maybe") {
                "0.5".into()
            } else {
                "0".into()
            })
        } else if p.starts_with("item0") {
            Action::Reply("It is Alpha".into())
        } else if p.starts_with("item1") {
            Action::Reply("maybe Alpha".into())
        } else {
            Action::Reply("Alpha".into())
        }
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let jdir = dir.path().join("judge");
    std::fs::create_dir_all(&jdir).unwrap();
    let judge = model_toml(&jdir, &server.base_url, VAR, "xyxy-pixel");
    let out = dir.path().join("out");
    let mut j = job("vqa", &data, &model, &out, vec![]);
    j.compat = vec!["all".into()];
    j.judge = Some(judge);
    let latest = run(&j);
    let recs = records(&out);
    let score = |i: usize| recs[i]["judge_score"].as_f64().unwrap();
    assert_eq!((score(0), score(1), score(2)), (1.0, 0.5, 0.0));
    assert_eq!(
        recs.iter()
            .map(|r| correct(r) == Some(true))
            .collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert!(recs.iter().all(|r| r["parse_rule"] == "judge"));
    let agg = tasks::aggregate(&latest, "vqa", "correct");
    assert!((agg.clean.values().next().unwrap().0 - 2.0 / 3.0).abs() < 1e-12);
    let log = server.log.lock().unwrap();
    let model_prompts: Vec<String> = log
        .iter()
        .map(prompt_of)
        .filter(|p| p.starts_with("item"))
        .collect();
    assert_eq!(model_prompts.len(), 3);
    assert!(model_prompts
        .iter()
        .all(|p| !p.contains("Alpha") && p.ends_with("Please select the correct answer.")));
}

/// A perturbation that panics: its variants still get records (with the error), the rest runs.
struct Panics;
static PANICS: Info = Info {
    id: "test_panics",
    ..BRIGHTEN_INFO
};
impl Perturbation for Panics {
    fn info(&self) -> &Info {
        &PANICS
    }
    fn prepare<'a>(
        &self,
        _img: &'a Image,
        _ctx: &Ctx,
    ) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
        panic!("boom in prepare")
    }
}

#[test]
fn a_panicking_perturbation_still_leaves_records() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_PANIC";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let data = small_vqa(dir.path(), 2);
    let server = Server::start(Box::new(|_| Action::Reply("B".into())));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let out = dir.path().join("out");
    run(&job("vqa", &data, &model, &out, vec![&Panics, &BRIGHTEN]));
    let recs = records(&out);
    assert_eq!(recs.len(), 2 * 5);
    let bad: Vec<_> = recs
        .iter()
        .filter(|r| r["perturbation"] == "test_panics")
        .collect();
    assert_eq!(bad.len(), 4);
    assert!(bad
        .iter()
        .all(|r| r["error"].as_str().unwrap().contains("boom in prepare") && correct(r).is_none()));
    assert_eq!(recs.iter().filter(|r| !r["error"].is_null()).count(), 4);
}

/// Sets every sample to 1 for any s > 0: the image does not depend on the strength, so all
/// levels send the same image and a batch holds repeated requests.
static WHITEOUT: Pointwise = Pointwise {
    info: &WHITEOUT_INFO,
    f: |v, s| if s > 0.0 { 1.0 } else { v },
};
const WHITEOUT_INFO: Info = Info {
    id: "test_whiteout",
    model: "1 everywhere",
    ..BRIGHTEN_INFO
};

/// Repeated requests in one batch (the same sample and image at several levels) are sent after
/// the first one and read its cached reply, whatever the number of workers: `cached` and
/// `attempts` do not depend on which worker ran first.
#[test]
fn repeated_requests_read_the_cache_whatever_the_concurrency() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_REPEAT";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let data = small_vqa(dir.path(), 3);
    let server = Server::start(Box::new(|_seen| {
        // slow enough that concurrent repeats would overlap the first request
        std::thread::sleep(Duration::from_millis(40));
        Action::Reply("A".into())
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let mut texts = Vec::new();
    for (k, workers) in [1usize, 6].into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}"));
        let mut j = job("vqa", &data, &model, &out, vec![&WHITEOUT]);
        j.concurrency = Some(workers);
        run(&j);
        texts.push(std::fs::read_to_string(out.join("records.jsonl")).unwrap());
    }
    let cached = texts[1].matches("\"cached\":true").count();
    // per sample: clean and the job's two levels
    assert_eq!(texts[0].lines().count(), 3 * 3);
    // per sample: clean and the first white level asked, the second level from the cache
    assert_eq!(cached, 3, "{}", texts[1]);
    assert_eq!(texts[0], texts[1]);
}
