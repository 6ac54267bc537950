//! IoU and Dice against independent references on hand-made and random masks, empty ones
//! included (fixtures: tools/gen_seg_fixtures.py, numpy counts and medpy 0.5.2 `jc`/`dc`).
//! Tolerance 1e-12 (both sides are ratios of the same integer counts).

use medfm_robust::image::Mask;
use medfm_robust::metrics::seg::{dice, iou};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    width: usize,
    height: usize,
    pred_hex: String,
    truth_hex: String,
    iou: f64,
    dice: f64,
    medpy_jc: Option<f64>,
    medpy_dc: Option<f64>,
    both_empty: bool,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn mask(w: usize, h: usize, s: &str) -> Mask {
    let data: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(data.len(), w * h);
    Mask {
        width: w,
        height: h,
        data,
    }
}

#[test]
fn iou_and_dice_match_numpy_and_medpy() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seg_metrics.json"
    ))
    .unwrap();
    let f: Fixture = serde_json::from_str(&text).unwrap();
    assert!(f.cases.len() >= 18);
    assert!(
        f.cases.iter().any(|c| c.both_empty),
        "fixture must include empty vs empty"
    );
    for c in &f.cases {
        let (p, t) = (
            mask(c.width, c.height, &c.pred_hex),
            mask(c.width, c.height, &c.truth_hex),
        );
        let (i, d) = (iou(&p, &t).unwrap(), dice(&p, &t).unwrap());
        assert!(
            (i - c.iou).abs() < 1e-12,
            "{}: IoU {i} vs numpy {}",
            c.name,
            c.iou
        );
        assert!(
            (d - c.dice).abs() < 1e-12,
            "{}: Dice {d} vs numpy {}",
            c.name,
            c.dice
        );
        if c.both_empty {
            // Documented rule: empty vs empty = 1 (medpy differs here on purpose).
            assert_eq!((i, d), (1.0, 1.0), "{}", c.name);
        } else {
            assert!(
                (i - c.medpy_jc.unwrap()).abs() < 1e-12,
                "{}: IoU {i} vs medpy {:?}",
                c.name,
                c.medpy_jc
            );
            assert!(
                (d - c.medpy_dc.unwrap()).abs() < 1e-12,
                "{}: Dice {d} vs medpy {:?}",
                c.name,
                c.medpy_dc
            );
        }
    }
}
