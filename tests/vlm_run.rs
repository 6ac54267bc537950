//! `eval-vlm` end to end against a loopback server: one record per (sample, variant) through
//! injected failures, reruns answered from the cache, perturbed images sent exactly as produced,
//! grounding and captioning summaries, and the API key absent from every output file.

mod vlm_support;

use medfm_robust::eval::vlm::levels::{self, Strengths};
use medfm_robust::eval::vlm::{self, images, Compat, ModelConfig, RunOptions, Task};
use medfm_robust::image::{Image, Mask};
use medfm_robust::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};
use std::path::Path;
use std::time::Duration;
use vlm_support::{image_of, prompt_of, Action, Server};

/// Test perturbation: adds 0.2 * s to every sample (clipped).
struct Brighten;
static BRIGHTEN: Info = Info {
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
};
struct BrightenP<'a>(&'a Image);
impl Prepared for BrightenP<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut o = self.0.clone();
        o.data.iter_mut().for_each(|v| *v += 0.2 * s);
        o.clip();
        o
    }
}
impl Perturbation for Brighten {
    fn info(&self) -> &Info {
        &BRIGHTEN
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(BrightenP(img)))
    }
}

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
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
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

fn model_toml(dir: &Path, base_url: &str, key_env: &str, box_format: &str) -> ModelConfig {
    model_toml_t(dir, base_url, key_env, box_format, 20.0)
}

/// `timeout_s` below a stall injected by the server turns the stall into a timeout.
fn model_toml_t(dir: &Path, base_url: &str, key_env: &str, box_format: &str, timeout_s: f64) -> ModelConfig {
    let text = format!(
        "name = \"mock-vlm\"\nbase_url = \"{base_url}\"\nmodel = \"mock/vlm\"\napi_key_env = \"{key_env}\"\n\
         max_tokens = 32\nbox_format = \"{box_format}\"\nconcurrency = 3\ntimeout_s = {timeout_s}\nmax_retries = 3\nretry_base_ms = 1\n"
    );
    std::fs::write(dir.join("model.toml"), &text).unwrap();
    ModelConfig::load(&dir.join("model.toml")).unwrap()
}

fn records(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn opts<'a>(task: Task, data: &Path, out: &Path, perts: Vec<&'a dyn Perturbation>) -> RunOptions<'a> {
    RunOptions {
        task,
        data: data.to_path_buf(),
        image_root: None,
        dataset: None,
        modality: None,
        perturbations: perts,
        levels: vec![1, 3],
        limit: None,
        seed: 42,
        perturb_seed: 7,
        strengths: Strengths::Fixed,
        compat: Compat::default(),
        judge: None,
        out: out.to_path_buf(),
        cache_dir: None,
        concurrency: None,
        progress: false,
    }
}

fn no_key_anywhere(dir: &Path, key: &str) {
    for e in walkdir::WalkDir::new(dir).into_iter().filter_map(|e| e.ok()).filter(|e| e.file_type().is_file()) {
        let bytes = std::fs::read(e.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(key), "API key found in {}", e.path().display());
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
    let o = opts(Task::Vqa, &data, &out, vec![&Brighten]);
    let s = vlm::run(&model, &o).unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 6 * 3, "clean + 2 levels per item");
    assert_eq!(s.records, 18);
    for r in &recs {
        assert_eq!(r["reply"].is_null(), !r["error"].is_null(), "{r}");
        assert!(r["correct"].is_boolean());
        assert_eq!(r["prompt_hash"].as_str().map(str::len), Some(16));
    }
    let failed: Vec<_> = recs.iter().filter(|r| !r["error"].is_null()).collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|r| r["sample"] == "q5" && r["correct"] == false));
    assert!(s.retries > 0);
    // Item 0 and 2 and 4 are right (B); 1 is right (Mass = D); 3 says pneumonia but is D; 5 failed.
    assert!((s.clean.metrics["accuracy"] - 4.0 / 6.0).abs() < 1e-12);
    let r0 = recs.iter().find(|r| r["sample"] == "q0" && r["perturbation"] == "clean").unwrap();
    assert_eq!((r0["parsed"].as_str(), r0["parse_rule"].as_str()), (Some("B"), Some("letter")));
    let r2 = recs.iter().find(|r| r["sample"] == "q2" && r["perturbation"] == "clean").unwrap();
    assert_eq!((r2["parsed"].as_str(), r2["parse_rule"].as_str()), (Some("B"), Some("text")));
    assert!(recs.iter().filter(|r| r["sample"] == "q3").all(|r| r["modality"] == "ct"));
    // Options were shown (default profile).
    assert!(server.log.lock().unwrap().iter().all(|s| prompt_of(s).contains("B. Pneumonia")));

    // Rerun: only the always-failing item goes to the server again.
    let before = server.requests();
    let s2 = vlm::run(&model, &o).unwrap();
    let after = server.requests();
    assert_eq!(after - before, 3 * 4, "only q5's three variants, 4 attempts each");
    assert_eq!(s2.cache_hits, 15);
    let recs2 = records(&out);
    assert_eq!(recs2.len(), recs.len());
    for (a, b) in recs.iter().zip(&recs2) {
        assert_eq!(a["unit"], b["unit"]);
        assert_eq!(a["reply"], b["reply"]);
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
    let mut o = opts(Task::Grounding, &data, &out, vec![&Brighten, &Shift]);
    o.levels = vec![5];
    vlm::run(&model, &o).unwrap();
    let (img, depth) = images::read_image(&dir.path().join("a.png")).unwrap();
    let ctx = Ctx::new(7, medfm_robust::io::image_id(Path::new("a.png")));
    let want = levels::variants(&Brighten, &img, None, depth, &ctx, &[5], &Strengths::Fixed).unwrap();
    let want_png = images::encode_png(&want[0].image).unwrap();
    let sent: Vec<Vec<u8>> = server.log.lock().unwrap().iter().filter_map(image_of).collect();
    assert_eq!(sent.len(), 3);
    let decode = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgb8().into_raw();
    assert!(sent.iter().any(|s| decode(s) == decode(&want_png)));
    let clean = decode(&images::encode_png(&img).unwrap());
    assert_eq!(clean, image::open(dir.path().join("a.png")).unwrap().to_rgb8().into_raw());
    assert!(sent.iter().any(|s| decode(s) == clean));

    // Grounding: the box is right on clean and brighten; under the shift (10 px) the truth moved.
    let recs = records(&out);
    let by = |p: &str| recs.iter().find(|r| r["perturbation"] == p).unwrap().clone();
    assert_eq!(by("clean")["correct"], true);
    assert_eq!(by("test_brighten")["correct"], true);
    let sh = by("test_shift");
    assert_eq!(sh["truth"], serde_json::json!([14.0, 2.0, 30.0, 12.0]));
    assert_eq!(sh["correct"], false); // IoU of [4,20] vs [14,30] = 6/26
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
    let server = Server::start(Box::new(|_| Action::Reply("{\"box_2d\": [100, 100, 500, 500]}".into())));
    let model = model_toml(dir.path(), &server.base_url, VAR, "gemini");
    let out = dir.path().join("out");
    let s = vlm::run(&model, &opts(Task::Grounding, &data, &out, vec![])).unwrap();
    assert_eq!(s.clean.metrics["acc_iou50"], 1.0);
    assert!(prompt_of(&server.log.lock().unwrap()[0]).starts_with("Please locate the liver."));
    let mut o = opts(Task::Grounding, &data, &dir.path().join("out_compat"), vec![]);
    o.compat = Compat::all();
    let s = vlm::run(&model, &o).unwrap();
    assert_eq!(s.clean.metrics["acc_iou50"], 0.0);
    assert_eq!(prompt_of(server.log.lock().unwrap().last().unwrap()), "Please locate the liver.");
}

#[test]
fn captions_are_scored_per_group_over_the_same_samples() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_CAP";
    std::env::set_var(VAR, "k");
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("ID,Caption\n");
    for i in 0..4 {
        write_png(&dir.path().join(format!("ROCOv2_2023_test_{i:06}.jpg")), 16, 16, i);
        csv.push_str(&format!("ROCOv2_2023_test_{i:06},\"Axial CT, item {i}, showing a mass.\"\n"));
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
    let s = vlm::run(&model, &opts(Task::Caption, &data, &out, vec![&Brighten])).unwrap();
    assert_eq!(s.records, 12);
    let recs = records(&out);
    assert!(recs.iter().all(|r| r["references"].as_array().map(Vec::len) == Some(1) && r["prediction"].is_string()));
    assert!(s.clean.metrics.contains_key("cider") && s.groups.len() == 2);
    assert!(s.categories.iter().all(|c| c.drop.contains_key("bleu4")));
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
        Action::Reply(if p.len().is_multiple_of(2) { "A".into() } else { "Beta".into() })
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let mut texts = Vec::new();
    for (k, workers) in [1usize, 5].into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}"));
        let mut o = opts(Task::Vqa, &data, &out, vec![&Brighten, &Shift]);
        o.concurrency = Some(workers);
        o.cache_dir = Some(dir.path().join(format!("cache{k}")));
        vlm::run(&model, &o).unwrap();
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
            let truth = p.split("Correct answer: ").nth(1).unwrap().lines().next().unwrap().to_string();
            let answer = p.split("Model answer: ").nth(1).unwrap().lines().next().unwrap().to_string();
            let t = truth.split(". ").nth(1).unwrap().to_string();
            Action::Reply(if answer.contains(&t) { "1".into() } else if answer.contains("maybe") { "0.5".into() } else { "0".into() })
        } else if p.starts_with("item0") {
            Action::Reply("It is Alpha".into())
        } else if p.starts_with("item1") {
            Action::Reply("maybe Alpha".into())
        } else {
            Action::Reply("Alpha".into())
        }
    }));
    let model = model_toml(dir.path(), &server.base_url, VAR, "xyxy-pixel");
    let mut judge = model.clone();
    judge.name = "judge".into();
    let out = dir.path().join("out");
    let mut o = opts(Task::Vqa, &data, &out, vec![]);
    o.compat = Compat::all();
    o.judge = Some(judge);
    let s = vlm::run(&model, &o).unwrap();
    let recs = records(&out);
    let score = |i: usize| recs[i]["judge_score"].as_f64().unwrap();
    assert_eq!((score(0), score(1), score(2)), (1.0, 0.5, 0.0));
    assert_eq!(recs.iter().map(|r| r["correct"] == true).collect::<Vec<_>>(), vec![true, true, false]);
    assert!(recs.iter().all(|r| r["parse_rule"] == "judge"));
    assert!((s.clean.metrics["accuracy"] - 2.0 / 3.0).abs() < 1e-12);
    let log = server.log.lock().unwrap();
    let model_prompts: Vec<String> = log.iter().map(prompt_of).filter(|p| p.starts_with("item")).collect();
    assert_eq!(model_prompts.len(), 3);
    assert!(model_prompts.iter().all(|p| !p.contains("Alpha") && p.ends_with("Please select the correct answer.")));
}

/// A perturbation that panics: its variants still get records (with the error), the rest runs.
struct Panics;
static PANICS: Info = Info { id: "test_panics", ..BRIGHTEN };
impl Perturbation for Panics {
    fn info(&self) -> &Info {
        &PANICS
    }
    fn prepare<'a>(&self, _img: &'a Image, _ctx: &Ctx) -> medfm_robust::Result<Box<dyn Prepared + 'a>> {
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
    let s = vlm::run(&model, &opts(Task::Vqa, &data, &out, vec![&Panics, &Brighten])).unwrap();
    let recs = records(&out);
    assert_eq!(recs.len(), 2 * 5);
    let bad: Vec<_> = recs.iter().filter(|r| r["perturbation"] == "test_panics").collect();
    assert_eq!(bad.len(), 4);
    assert!(bad.iter().all(|r| r["error"].as_str().unwrap().contains("boom in prepare") && r["correct"] == false));
    assert_eq!(s.errors, 4);
}
