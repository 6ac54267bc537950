//! Per-op timing for tools/compare_opencv.py: one 8-bit image in, each perturbation's quantised
//! 8-bit output out, at mid strength (the middle of the strength range), as an augmentation user
//! calls it and as calibration evaluates it: `prepare` once (outside the timing, as in
//! calibration, where one prepare serves every evaluation), then the 8-bit path timed:
//! `apply_u8(s, out)`, the codes of `apply_quantised(s, U8)` written into a reused buffer (the
//! uint8 array an augmentation user gets; `--f32` times `apply_quantised(s, U8)` instead, the f32
//! image of those codes).
//! Prints one JSON object per op: id, strength, median and min milliseconds over `--repeat` runs
//! (after 3 warm-up runs), and the time of `prepare` (one run).
//!
//!     cargo run --release --example op_times -- IMAGE.png [--repeat 30] [--ids a,b,c]

use medfm_robust::image::BitDepth;
use medfm_robust::perturb::{all, Ctx};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut repeat = 30usize;
    let mut ids: Option<Vec<String>> = None;
    let mut f32_path = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--repeat N")
            }
            "--ids" => {
                ids = Some(
                    args.next()
                        .expect("--ids a,b")
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            "--f32" => f32_path = true,
            _ => path = Some(a),
        }
    }
    let path = path.expect("usage: op_times IMAGE.png [--repeat N] [--ids a,b]");
    let loaded = medfm_robust::io::read_image(std::path::Path::new(&path)).expect("read image");
    let img = loaded.image;
    assert_eq!(loaded.depth, BitDepth::U8, "an 8-bit image");
    let ctx = Ctx::new(1, 1);
    for p in all() {
        let info = p.info();
        if let Some(ids) = &ids {
            if !ids.iter().any(|i| i == info.id) {
                continue;
            }
        }
        let t0 = Instant::now();
        let prepared = match p.prepare(&img, &ctx) {
            Ok(pr) => pr,
            Err(e) => {
                eprintln!("{}: skipped: {e}", info.id);
                continue;
            }
        };
        let t_prepare = t0.elapsed().as_secs_f64() * 1e3;
        let s = 0.5 * (info.strength_range.0 + info.strength_range.1);
        let mut out = vec![0u8; img.data.len()];
        let mut once = || {
            if f32_path {
                std::hint::black_box(prepared.apply_quantised(s, BitDepth::U8));
            } else {
                prepared.apply_u8(s, &mut out);
                std::hint::black_box(&out);
            }
        };
        for _ in 0..3 {
            once();
        }
        let mut t: Vec<f64> = (0..repeat.max(1))
            .map(|_| {
                let t0 = Instant::now();
                once();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!(
            "{{\"id\":\"{}\",\"category\":\"{}\",\"strength\":{},\"median_ms\":{:.4},\"min_ms\":{:.4},\"prepare_ms\":{:.4}}}",
            info.id,
            info.category.as_str(),
            s,
            t[t.len() / 2],
            t[0],
            t_prepare
        );
    }
}
