//! SSIM against scikit-image 0.26.0: the fixtures of tools/gen_ssim_fixtures.py
//! (tests/fixtures/ssim_cases.json) and the known values of spec/ssim-calibration.md.
//! Tolerance: max |ours - skimage| <= 1e-6 per case, variant and channel (ours filters in f64 on
//! the same f32 inputs; the observed error is ~1e-15).

use medfm_robust::ssim::{ssim, ssim_per_channel, SsimReference, SsimVariant};
use medfm_robust::{Error, Image};
use serde_json::Value;

const TOL: f64 = 1e-6;
const VARIANTS: [SsimVariant; 3] = [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat];

struct Case {
    name: String,
    a: Image,
    b: Image,
    doc: Value,
}

/// Interleaved (h, w, c) integer codes -> planar f32 image `q / denom` (computed in f32, as the
/// fixture script and the crate's readers do).
fn image_from_codes(q: &[Value], h: usize, w: usize, c: usize, denom: f32) -> Image {
    assert_eq!(q.len(), h * w * c);
    let mut img = Image::new(w, h, c);
    for (i, v) in q.iter().enumerate() {
        let code = v.as_u64().expect("integer code") as f32;
        let (pix, ch) = (i / c, i % c);
        img.data[ch * h * w + pix] = code / denom;
    }
    img
}

fn load_cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ssim_cases.json"
    );
    let text = std::fs::read_to_string(path).expect("read ssim_cases.json");
    let doc: Value = serde_json::from_str(&text).expect("parse ssim_cases.json");
    assert_eq!(doc["versions"]["scikit-image"], "0.26.0");
    let cases = doc["cases"].as_array().expect("cases").clone();
    assert!(cases.len() >= 15);
    cases
        .into_iter()
        .map(|c| {
            let shape: Vec<usize> = c["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let (h, w, ch) = (shape[0], shape[1], shape[2]);
            let denom = c["denom"].as_f64().unwrap() as f32;
            let a = image_from_codes(c["qa"].as_array().unwrap(), h, w, ch, denom);
            let b = image_from_codes(c["qb"].as_array().unwrap(), h, w, ch, denom);
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                a,
                b,
                doc: c,
            }
        })
        .collect()
}

#[test]
fn fixtures_match_skimage_within_1e6() {
    let mut max_diff = 0.0f64;
    let mut checked = 0;
    for case in load_cases() {
        for v in VARIANTS {
            let key = v.as_str();
            match case.doc[key].as_f64() {
                None => {
                    // skimage raises: the image is smaller than this variant's window.
                    let got = ssim(&case.a, &case.b, v);
                    assert!(
                        matches!(got, Err(Error::TooSmall { .. })),
                        "{} {key}: expected TooSmall, got {got:?}",
                        case.name
                    );
                }
                Some(want) => {
                    let got = ssim(&case.a, &case.b, v).unwrap();
                    let d = (got - want).abs();
                    assert!(
                        d <= TOL,
                        "{} {key}: ours {got} skimage {want} diff {d:e}",
                        case.name
                    );
                    max_diff = max_diff.max(d);
                    let per = ssim_per_channel(&case.a, &case.b, v).unwrap();
                    let want_per = case.doc[format!("{key}_per_channel")].as_array().unwrap();
                    assert_eq!(per.len(), want_per.len());
                    for (c, (g, w)) in per.iter().zip(want_per).enumerate() {
                        let d = (g - w.as_f64().unwrap()).abs();
                        assert!(
                            d <= TOL,
                            "{} {key} channel {c}: ours {g} skimage {w} diff {d:e}",
                            case.name
                        );
                        max_diff = max_diff.max(d);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 50,
        "only {checked} (case, variant) pairs checked"
    );
    eprintln!("max |ours - skimage| over {checked} (case, variant) pairs: {max_diff:e}");
}

#[test]
fn identical_images_give_exactly_one() {
    let case = load_cases()
        .into_iter()
        .find(|c| c.name == "identical_u8_20x24x3")
        .unwrap();
    for v in VARIANTS {
        assert_eq!(ssim(&case.a, &case.b, v).unwrap(), 1.0, "{}", v.as_str());
    }
}

/// spec/ssim-calibration.md: a = ((7i + 3j) mod 17) / 16, b = 0.5 a + 0.5 ((5i + 11j) mod 13) / 12.
fn spec_vectors(h: usize, w: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..h {
        for j in 0..w {
            let av = ((7 * i + 3 * j) % 17) as f64 / 16.0;
            a.push(av);
            b.push(0.5 * av + 0.5 * ((5 * i + 11 * j) % 13) as f64 / 12.0);
        }
    }
    (a, b)
}

fn to_image(w: usize, h: usize, planes: &[Vec<f64>]) -> Image {
    let data = planes.iter().flatten().map(|&v| v as f32).collect();
    Image::from_planes(w, h, planes.len(), data)
}

#[test]
fn known_values_from_spec() {
    // Values are skimage's on float64 inputs; ours runs on the f32 rounding of b (|db| < 3e-8).
    let table = [
        (16, 16, 0.660658563447, 0.640767970884),
        (20, 24, 0.657896501477, 0.650133426496),
    ];
    for (h, w, want_sk, want_wang) in table {
        let (a, b) = spec_vectors(h, w);
        let (a, b) = (to_image(w, h, &[a]), to_image(w, h, &[b]));
        let sk = ssim(&a, &b, SsimVariant::Skimage).unwrap();
        let wang = ssim(&a, &b, SsimVariant::Wang).unwrap();
        assert!(
            (sk - want_sk).abs() <= TOL,
            "{h}x{w} skimage {sk} vs {want_sk}"
        );
        assert!(
            (wang - want_wang).abs() <= TOL,
            "{h}x{w} wang {wang} vs {want_wang}"
        );
    }

    // RGB: A = (a, a[::-1, :], a[:, ::-1]), B = (b, 1 - b, b^2), 20x24, skimage variant.
    let (h, w) = (20, 24);
    let (a, b) = spec_vectors(h, w);
    let flip_v: Vec<f64> = (0..h)
        .flat_map(|i| (0..w).map(move |j| (h - 1 - i, j)))
        .map(|(i, j)| a[i * w + j])
        .collect();
    let flip_h: Vec<f64> = (0..h)
        .flat_map(|i| (0..w).map(move |j| (i, w - 1 - j)))
        .map(|(i, j)| a[i * w + j])
        .collect();
    let inv: Vec<f64> = b.iter().map(|v| 1.0 - v).collect();
    let sq: Vec<f64> = b.iter().map(|v| v * v).collect();
    let big_a = to_image(w, h, &[a.clone(), flip_v, flip_h]);
    let big_b = to_image(w, h, &[b.clone(), inv, sq]);
    let got = ssim(&big_a, &big_b, SsimVariant::Skimage).unwrap();
    assert!((got - 0.338617739503).abs() <= TOL, "RGB skimage {got}");
    let per = ssim_per_channel(&big_a, &big_b, SsimVariant::Skimage).unwrap();
    for (g, want) in per
        .iter()
        .zip([0.657896501477, 0.178760510197, 0.179196206835])
    {
        assert!((g - want).abs() <= TOL, "RGB channel {g} vs {want}");
    }
}

#[test]
fn too_small_is_an_error_not_nan() {
    for (w, h, v) in [
        (10, 30, SsimVariant::Wang),
        (30, 10, SsimVariant::Wang),
        (6, 7, SsimVariant::Skimage),
        (7, 6, SsimVariant::Compat),
    ] {
        let img = Image::new(w, h, 3);
        match ssim(&img, &img, v) {
            Err(Error::TooSmall {
                width, height, win, ..
            }) => {
                assert_eq!((width, height, win), (w, h, v.window_size()));
            }
            other => panic!("{w}x{h} {}: expected TooSmall, got {other:?}", v.as_str()),
        }
        assert!(SsimReference::new(&img, v).is_err());
    }
    // Exactly the window size is allowed (a 1x1 interior).
    let img = Image::new(11, 11, 1);
    assert_eq!(ssim(&img, &img, SsimVariant::Wang).unwrap(), 1.0);
}

#[test]
fn shape_mismatch_names_both_shapes() {
    let a = Image::new(32, 24, 3);
    for b in [
        Image::new(24, 32, 3),
        Image::new(32, 24, 1),
        Image::new(33, 24, 3),
    ] {
        let e = ssim(&a, &b, SsimVariant::Wang).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains(&a.shape_str()) && msg.contains(&b.shape_str()),
            "{msg}"
        );
    }
}

#[test]
fn reference_gives_identical_results_to_ssim() {
    let cases = load_cases();
    for v in VARIANTS {
        for case in cases.iter().filter(|c| c.a.width >= 11 && c.a.height >= 11) {
            let r = SsimReference::new(&case.a, v).unwrap();
            assert_eq!(r.variant(), v);
            let direct = ssim(&case.a, &case.b, v).unwrap();
            // Reused reference: same bits, also after comparing against other images.
            assert_eq!(
                r.ssim(&case.b).unwrap().to_bits(),
                direct.to_bits(),
                "{}",
                case.name
            );
            assert_eq!(r.ssim(&case.a).unwrap(), 1.0);
            assert_eq!(
                r.ssim(&case.b).unwrap().to_bits(),
                direct.to_bits(),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let case = load_cases()
        .into_iter()
        .find(|c| c.name == "camera_like_u8_256x256x1")
        .unwrap();
    let rgb = load_cases()
        .into_iter()
        .find(|c| c.name == "rgb_u16_96x112x3")
        .unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut bits = Vec::new();
            for c in [&case, &rgb] {
                for v in VARIANTS {
                    bits.push(ssim(&c.a, &c.b, v).unwrap().to_bits());
                    bits.extend(
                        ssim_per_channel(&c.a, &c.b, v)
                            .unwrap()
                            .iter()
                            .map(|x| x.to_bits()),
                    );
                }
            }
            bits
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}
