//! Calibration counters for docs/performance.md: for each base perturbation on the benchmark
//! images (512x512 RGB phantoms, one per modality, 8-bit), the SSIM evaluations and in-band
//! levels of the search calibration uses now (`calibrate::calibrate_prepared`: the integer-step
//! search for pixelate and jpeg) next to the previous search (`search_bands` bisecting s, still
//! the on-GPU search's logic), on the same f(s); and where one image's calibration time goes
//! (prepare, apply + quantise, SSIM), single-threaded timing of every evaluation.
//!
//!     cargo run --release --example calib_counts [-- --size 512 --modalities pathology,ct]

use medfm_robust::calibrate::search::{search_bands, Evaluations};
use medfm_robust::calibrate::{calibrate_prepared, SearchOptions, BANDS};
use medfm_robust::image::BitDepth;
use medfm_robust::perturb::{all, Category, Ctx, Modality};
use medfm_robust::phantom::phantom;
use medfm_robust::ssim::SsimReference;
use std::cell::Cell;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut size = 512usize;
    let mut mods: Vec<Modality> = Modality::ALL.to_vec();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => size = args.next().and_then(|v| v.parse().ok()).expect("--size N"),
            "--modalities" => {
                mods = args
                    .next()
                    .expect("list")
                    .split(',')
                    .map(|m| Modality::parse(m).expect("modality"))
                    .collect()
            }
            _ => panic!("unknown argument {a}"),
        }
    }
    let opts = SearchOptions::default();
    let levels = [1u8, 2, 3, 4, 5];
    let mut tot = std::collections::BTreeMap::<&str, [u64; 4]>::new();
    let (mut t_prep, mut t_apply, mut t_ssim, mut n_eval) = (0.0f64, 0.0f64, 0.0f64, 0u64);
    for (mi, &m) in mods.iter().enumerate() {
        let img = phantom(m, size, size, 3, 1).image.quantised(BitDepth::U8);
        let reference = SsimReference::new(&img, opts.variant).unwrap();
        let ctx = Ctx::new(1, 100 + mi as u32);
        for p in all().iter().filter(|p| p.info().category == Category::Base) {
            let info = p.info();
            let t0 = Instant::now();
            let prepared = p.prepare(&img, &ctx).unwrap();
            t_prep += t0.elapsed().as_secs_f64();
            // now: the search calibration runs, with its evaluations timed
            let (ta, ts, ne) = (Cell::new(0.0), Cell::new(0.0), Cell::new(0u64));
            let now = calibrate_prepared(
                prepared.as_ref(),
                p.as_ref(),
                &reference,
                BitDepth::U8,
                &levels,
                &opts,
            )
            .unwrap();
            let mut timed = Evaluations::new(|s| {
                let t0 = Instant::now();
                let q = prepared.apply_quantised(s, BitDepth::U8);
                let t1 = Instant::now();
                let v = reference.ssim(&q);
                ta.set(ta.get() + (t1 - t0).as_secs_f64());
                ts.set(ts.get() + t1.elapsed().as_secs_f64());
                ne.set(ne.get() + 1);
                v
            });
            match p.integer_steps() {
                Some(st) => medfm_robust::calibrate::search::search_bands_steps(
                    &mut timed,
                    &BANDS,
                    st,
                    opts.max_evals_per_band,
                )
                .unwrap(),
                None => search_bands(
                    &mut timed,
                    &BANDS,
                    info.strength_range.0,
                    info.strength_range.1,
                    info.kind,
                    opts.max_evals_per_band,
                )
                .unwrap(),
            };
            t_apply += ta.get();
            t_ssim += ts.get();
            n_eval += ne.get();
            let n_now = timed.count;
            drop(timed);
            // before: bisection of s for every kind
            let mut old =
                Evaluations::new(|s| reference.ssim(&prepared.apply_quantised(s, BitDepth::U8)));
            let before = search_bands(
                &mut old,
                &BANDS,
                info.strength_range.0,
                info.strength_range.1,
                info.kind,
                opts.max_evals_per_band,
            )
            .unwrap();
            let in_now = now.iter().filter(|o| o.in_band).count() as u64;
            let in_before = before.iter().filter(|o| o.in_band).count() as u64;
            println!(
                "{:<11} {:<15} evals now {:>3} before {:>3}  in band now {} before {}",
                m.as_str(),
                info.id,
                n_now,
                old.count,
                in_now,
                in_before
            );
            let e = tot.entry(info.id).or_default();
            e[0] += n_now as u64;
            e[1] += old.count as u64;
            e[2] += in_now;
            e[3] += in_before;
        }
    }
    let k = mods.len() as f64;
    println!(
        "\nper image ({} images, {size}x{size} RGB): mean SSIM evaluations, in-band levels (of {})",
        mods.len(),
        5 * mods.len()
    );
    let (mut a, mut b) = (0u64, 0u64);
    for (id, e) in &tot {
        println!(
            "{id:<15} evals now {:>5.1} before {:>5.1}  in band now {:>3} before {:>3}",
            e[0] as f64 / k,
            e[1] as f64 / k,
            e[2],
            e[3]
        );
        a += e[0];
        b += e[1];
    }
    println!(
        "all base       evals now {:>5.1} before {:>5.1} per image",
        a as f64 / k,
        b as f64 / k
    );
    println!(
        "time per image (this process, rayon default threads): prepare {:.1} ms, apply+quantise {:.1} ms, SSIM {:.1} ms over {:.1} evaluations ({:.2} ms per SSIM)",
        t_prep * 1e3 / k,
        t_apply * 1e3 / k,
        t_ssim * 1e3 / k,
        n_eval as f64 / k,
        t_ssim * 1e3 / n_eval as f64
    );
}
