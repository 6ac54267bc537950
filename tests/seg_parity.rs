//! Preprocessing and post-processing parity of the SAM presets against a Python reference of the
//! same published steps (Pillow resampling, PyTorch bilinear), fixtures from
//! tools/gen_seg_fixtures.py. No ONNX Runtime needed.
//!
//! Tolerances: encoder tensor samples 2e-5 absolute on [0,1] presets and 2e-4 on the ImageNet-
//! normalised one (values up to ~2.6; the reference normalises before resizing, we after: equal
//! in exact arithmetic since the weights sum to 1); sums 1e-6 relative; prompt coordinates 1e-4;
//! final logits 1e-4; final mask exact except where the reference logit is within 1e-4 of 0.

use medfm_robust::eval::seg::sam::{BoxPrompt, Preset};
use medfm_robust::image::{Image, Mask};
use serde::Deserialize;

#[derive(Deserialize)]
struct Prompt {
    point_coords: [[f64; 2]; 2],
    point_labels: [f64; 2],
    has_mask_input: f64,
    orig_im_size: [f64; 2],
}

#[derive(Deserialize)]
struct Case {
    image: String,
    width: usize,
    height: usize,
    channels: usize,
    pixels_hex: String,
    preset: String,
    mask_hex: String,
    #[serde(rename = "box")]
    bbox: [usize; 4],
    tensor_len: usize,
    tensor_sum: f64,
    tensor_sumsq: f64,
    tensor_stride: usize,
    tensor_samples: Vec<f64>,
    prompt: Prompt,
    low_res: Vec<f32>,
    low_side: usize,
    iou_predictions: Vec<f32>,
    best_iou_index: usize,
    final_logits_stride: usize,
    final_logits: Vec<f64>,
    final_mask_hex: String,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seg_parity.json"
    ))
    .unwrap();
    let f: Fixture = serde_json::from_str(&text).unwrap();
    assert_eq!(f.cases.len(), 9, "3 images x 3 presets");
    f.cases
}

fn image_of(c: &Case) -> Image {
    let px = hex(&c.pixels_hex);
    assert_eq!(px.len(), c.width * c.height * c.channels);
    // Fixture pixels are planar [C, H, W] u8, as the crate's Image.
    Image::from_planes(
        c.width,
        c.height,
        c.channels,
        px.iter().map(|&v| v as f32 / 255.0).collect(),
    )
}

#[test]
fn encoder_input_matches_reference() {
    for c in cases() {
        let p = Preset::parse(&c.preset).unwrap();
        let t = p.preprocess(&image_of(&c)).unwrap();
        let what = format!("{} on {}", c.preset, c.image);
        assert_eq!(t.len(), c.tensor_len, "{what}");
        let tol = if c.preset == "sam-med2d" { 2e-4 } else { 2e-5 };
        for (k, want) in c.tensor_samples.iter().enumerate() {
            let got = t[k * c.tensor_stride] as f64;
            assert!(
                (got - want).abs() <= tol,
                "{what}: element {} = {got}, reference {want}",
                k * c.tensor_stride
            );
        }
        let sum: f64 = t.iter().map(|&v| v as f64).sum();
        let sumsq: f64 = t.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!(
            (sum - c.tensor_sum).abs() <= 1e-6 * c.tensor_sumsq.max(1.0),
            "{what}: sum {sum} vs {}",
            c.tensor_sum
        );
        assert!(
            (sumsq - c.tensor_sumsq).abs() <= 1e-6 * c.tensor_sumsq.max(1.0),
            "{what}: sumsq {sumsq} vs {}",
            c.tensor_sumsq
        );
    }
}

#[test]
fn prompt_inputs_match_reference() {
    for c in cases() {
        let p = Preset::parse(&c.preset).unwrap();
        let m = Mask {
            width: c.width,
            height: c.height,
            data: hex(&c.mask_hex),
        };
        let b = BoxPrompt::from_mask(&m).unwrap();
        assert_eq!([b.x0, b.y0, b.x1, b.y1], c.bbox, "{} box", c.image);
        let embed = p.input_size() / 16;
        let got = p.prompt(b, c.width, c.height, embed);
        for i in 0..2 {
            for j in 0..2 {
                assert!(
                    (got.point_coords[i][j] as f64 - c.prompt.point_coords[i][j]).abs() < 1e-4,
                    "{} {}: coords {:?} vs {:?}",
                    c.preset,
                    c.image,
                    got.point_coords,
                    c.prompt.point_coords
                );
            }
        }
        assert_eq!(got.point_labels.map(|v| v as f64), c.prompt.point_labels);
        assert_eq!(got.has_mask_input as f64, c.prompt.has_mask_input);
        assert_eq!(got.orig_im_size.map(|v| v as f64), c.prompt.orig_im_size);
        assert_eq!(got.mask_input_side, 4 * embed);
    }
}

#[test]
fn final_mask_matches_reference_postprocessing() {
    for c in cases() {
        let what = format!("{} on {}", c.preset, c.image);
        let p = Preset::parse(&c.preset).unwrap();
        let n = c.low_side * c.low_side;
        let logits =
            p.logits_to_original(&c.low_res[..n], c.low_side, c.low_side, c.width, c.height);
        assert_eq!(logits.len(), c.width * c.height);
        for (k, want) in c.final_logits.iter().enumerate() {
            let got = logits[k * c.final_logits_stride] as f64;
            assert!(
                (got - want).abs() < 1e-4,
                "{what}: logit {} = {got}, reference {want}",
                k * c.final_logits_stride
            );
        }
        let want_mask = hex(&c.final_mask_hex);
        let mut mismatched = 0;
        for (i, (&g, &w)) in logits.iter().zip(&want_mask).enumerate() {
            if ((g > 0.0) as u8) != w {
                // Only tolerated where the logit is within 1e-4 of the threshold.
                assert!(g.abs() < 1e-4, "{what}: mask differs at {i} with logit {g}");
                mismatched += 1;
            }
        }
        assert!(
            mismatched <= 2,
            "{what}: {mismatched} near-threshold mismatches"
        );
        // Mask choice.
        let best = Preset::parse(&format!("{}:best-iou", c.preset)).unwrap();
        assert_eq!(
            best.choose(&c.iou_predictions).unwrap(),
            c.best_iou_index,
            "{what}"
        );
        assert_eq!(p.choose(&c.iou_predictions).unwrap(), 0);
    }
}
