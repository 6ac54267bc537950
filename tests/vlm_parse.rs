//! Answer handling: multiple-choice parsing on the reply shapes models are known to produce,
//! boxes in each coordinate convention, difflib's ratio and Python's random.sample against
//! CPython (tests/fixtures/vlm_parse.json from tools/gen_vlm_fixtures.py; exact equality for
//! samples, 1e-12 for ratios).

use medfm_robust::eval::vlm::parse::{self, BoxFormat, ChoiceRule};
use medfm_robust::eval::vlm::tasks::sample::python_sample;

fn opts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn check(reply: &str, options: &[String], want: Option<usize>, rule: ChoiceRule) {
    let c = parse::parse_choice(reply, options);
    assert_eq!((c.index, c.rule), (want, rule), "reply {reply:?}");
}

#[test]
fn letters_in_the_shapes_models_write() {
    let o = opts(&["Pneumonia", "Pleural effusion", "Cardiomegaly", "Normal"]);
    for (reply, want) in [
        ("B", 1),
        ("b", 1),
        ("(C)", 2),
        ("D.", 3),
        ("**B**", 1),
        ("B. Pleural effusion", 1),
        ("(A) Pneumonia", 0),
        ("C) Cardiomegaly", 2),
        ("The answer is C.", 2),
        ("Answer: (D)", 3),
        (
            "The correct option is B, because the costophrenic angle is blunted.",
            1,
        ),
        ("Based on the image, I would choose D", 3),
    ] {
        check(reply, &o, Some(want), ChoiceRule::Letter);
    }
}

#[test]
fn the_article_a_is_not_an_answer() {
    let o = opts(&["Pneumonia", "Pleural effusion", "Cardiomegaly", "Normal"]);
    // "A" is the article here; the option text decides.
    check(
        "A large pleural effusion is visible on the right.",
        &o,
        Some(1),
        ChoiceRule::Text,
    );
}

#[test]
fn option_text_and_verbose_answers() {
    let o = opts(&["Glioma", "Meningioma", "Pituitary tumor", "No tumor"]);
    check("meningioma", &o, Some(1), ChoiceRule::Text);
    check(
        "The MRI shows a pituitary tumor in the sella turcica.",
        &o,
        Some(2),
        ChoiceRule::Text,
    );
    // "no tumor" contains "tumor"-free text; "No pneumonia" style covering:
    let o2 = opts(&["Pneumonia", "No pneumonia"]);
    check("There is no pneumonia.", &o2, Some(1), ChoiceRule::Text);
    // Two unrelated options named: falls back to similarity, never a letter.
    let c = parse::parse_choice("Either glioma or meningioma, hard to tell", &o);
    assert_eq!(c.rule, ChoiceRule::Similarity);
}

#[test]
fn similarity_picks_the_closest_option() {
    let o = opts(&["Glioma", "Meningioma", "Pituitary tumor", "No tumor"]);
    check("menigioma", &o, Some(1), ChoiceRule::Similarity); // misspelt
    check("", &o, None, ChoiceRule::None);
}

#[test]
fn two_letters_are_ambiguous_not_guessed() {
    let o = opts(&["Pneumonia", "Pleural effusion", "Cardiomegaly", "Normal"]);
    let c = parse::parse_choice("It is either B or C.", &o);
    assert_ne!(c.rule, ChoiceRule::Letter);
}

#[test]
fn letters_beyond_the_options_are_ignored() {
    let o = opts(&["Yes", "No"]);
    let c = parse::parse_choice("C", &o);
    assert_ne!(c.rule, ChoiceRule::Letter);
}

fn close(a: [f64; 4], b: [f64; 4]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

#[test]
fn boxes_in_each_convention() {
    let (w, h) = (200, 100);
    let want = [20.0, 10.0, 100.0, 50.0];
    let cases = [
        ("xyxy-pixel", "[20, 10, 100, 50]"),
        ("xyxy-pixel", "The lesion is at (20,10),(100,50)."),
        ("xyxy-0-1", "[0.1, 0.1, 0.5, 0.5]"),
        ("xyxy-0-1000", "<|box_start|>(100,100),(500,500)<|box_end|>"),
        (
            "gemini",
            "```json\n[{\"box_2d\": [100, 100, 500, 500], \"label\": \"tumor\"}]\n```",
        ),
        ("yxyx-0-1000", "[100, 100, 500, 500]"),
        ("paligemma", "<loc0102><loc0102><loc0512><loc0512> tumor"),
        (
            "xyxy-pixel",
            "In this T2 image the box is [20, 10, 100, 50]",
        ),
        ("xyxy-pixel", "x1=20 y1=10 x2=100 y2=50"),
        ("xyxy-pixel", "[100, 50, 20, 10]"), // corners swapped
    ];
    for (fmt, reply) in cases {
        let f = BoxFormat::parse(fmt).unwrap();
        let b = parse::parse_box(reply, f, w, h).unwrap_or_else(|| panic!("no box in {reply:?}"));
        let want = if fmt == "paligemma" {
            [102.0 * 200.0 / 1024.0, 102.0 * 100.0 / 1024.0, 100.0, 50.0]
        } else {
            want
        };
        assert!(close(b, want), "{fmt} {reply:?}: {b:?}");
    }
    assert!(parse::parse_box("I cannot locate it.", BoxFormat::default(), w, h).is_none());
    assert!(BoxFormat::parse("zxzx-0-1").is_err());
}

#[test]
fn gemini_boxes_read_as_xyxy_score_badly_as_the_authors_found() {
    // The authors' rule on a perfect Gemini answer: first four numbers vs a 0-1 truth box.
    let truth01 = [0.1, 0.1, 0.5, 0.5];
    let reply = "[{\"box_2d\": [100, 100, 500, 500]}]";
    let raw = parse::compat_box(reply).unwrap();
    assert!(parse::iou(raw, truth01) < 0.01);
    let ok = parse::parse_box(reply, BoxFormat::parse("gemini").unwrap(), 200, 100).unwrap();
    assert!((parse::iou(ok, [20.0, 10.0, 100.0, 50.0]) - 1.0).abs() < 1e-12);
}

#[test]
fn iou_closed_form() {
    assert_eq!(
        parse::iou([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]),
        1.0 / 7.0
    );
    assert_eq!(parse::iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
    assert_eq!(parse::iou([0.0; 4], [0.0; 4]), 0.0);
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vlm_parse.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn difflib_ratio_equals_cpython() {
    let f = fixture();
    let triples = f["difflib"].as_array().unwrap();
    assert!(triples.len() > 200);
    for t in triples {
        let (a, b, want) = (
            t[0].as_str().unwrap(),
            t[1].as_str().unwrap(),
            t[2].as_f64().unwrap(),
        );
        let got = parse::difflib_ratio(a, b);
        assert!(
            (got - want).abs() < 1e-12,
            "ratio({a:?}, {b:?}) = {got}, CPython {want}"
        );
    }
}

#[test]
fn sampling_equals_python_random_sample() {
    let f = fixture();
    for s in f["sample"].as_array().unwrap() {
        let (n, k, seed) = (
            s[0].as_u64().unwrap() as usize,
            s[1].as_u64().unwrap() as usize,
            s[2].as_u64().unwrap(),
        );
        let want: Vec<usize> = s[3]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(python_sample(n, k, seed), want, "n={n} k={k} seed={seed}");
    }
}
