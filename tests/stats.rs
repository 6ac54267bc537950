//! src/stats against independent computations: scipy 1.17.1 (tools/gen_stats_fixtures.py ->
//! tests/fixtures/stats_expected.json) for the normal functions, the sign-flip p-value, isotonic
//! regression and bootstrap intervals; hand-computed CE / mCE; interval coverage by simulation.

use medfm_robust::stats::bootstrap::{self, summarise};
use medfm_robust::stats::ce::{corruption_error, mean_defined, Errors};
use medfm_robust::stats::isotonic;
use medfm_robust::stats::normal::{phi, phi_inv};
use medfm_robust::stats::paired::{sign_flip_p, Cell, Design, Lin};
use serde_json::Value;
use std::path::Path;

fn fixture() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats_expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn normal_cdf_and_quantile_match_scipy() {
    let f = fixture();
    let n = &f["normal"];
    for (x, want) in f64s(&n["x"]).into_iter().zip(f64s(&n["ndtr"])) {
        // Relative 1e-13 (absolute 1e-16 near 0).
        assert!(
            (phi(x) - want).abs() <= 1e-13 * want + 1e-16,
            "ndtr({x}) = {} want {want}",
            phi(x)
        );
    }
    for (p, want) in f64s(&n["p"]).into_iter().zip(f64s(&n["ndtri"])) {
        assert!(
            (phi_inv(p) - want).abs() <= 1e-12 * want.abs().max(1.0),
            "ndtri({p}) = {} want {want}",
            phi_inv(p)
        );
    }
}

/// Monte-Carlo tolerance of a two-sided p-value (p = 2 min(p_less, p_greater), so its variance
/// is 4 (p/2)(1 - p/2) / R = p (2 - p) / R) estimated from R resamples against one from scipy
/// with Rs resamples: 4 standard errors of the difference, plus 2/R for the +1 convention.
fn mc_tol(p: f64, r: usize, rs: usize) -> f64 {
    let v = p * (2.0 - p);
    4.0 * (v / r as f64 + v / rs as f64).sqrt() + 2.0 / r as f64
}

#[test]
fn sign_flip_p_matches_scipy_permutation_test() {
    let f = fixture();
    let mut randomised = 0;
    for (k, case) in f["sign_flip"].as_array().unwrap().iter().enumerate() {
        let d = f64s(&case["d"]);
        let want = case["p"].as_f64().unwrap();
        // The Rust statistic is sum_i c_i with c_i = d_i / n (the mean), as in the report.
        let c: Vec<f64> = d.iter().map(|x| x / d.len() as f64).collect();
        let got = sign_flip_p(&c, 9999, 7, k as u32);
        if case["exact"].as_bool().unwrap() {
            assert!(
                (got - want).abs() < 1e-12,
                "case {k}: exact p {got} vs scipy {want}"
            );
        } else {
            randomised += 1;
            let tol = mc_tol(
                want,
                9999,
                case["scipy_resamples"].as_u64().unwrap() as usize,
            );
            assert!(
                (got - want).abs() < tol,
                "case {k}: p {got} vs scipy {want} (tol {tol})"
            );
            // And not a constant: a different seed gives a different (but close) estimate.
            let other = sign_flip_p(&c, 9999, 8, k as u32);
            assert!((other - want).abs() < tol);
        }
    }
    assert!(randomised >= 5);
}

#[test]
fn isotonic_fit_and_area_match_scipy() {
    let f = fixture();
    for (k, case) in f["isotonic"].as_array().unwrap().iter().enumerate() {
        let (x, y, w) = (f64s(&case["x"]), f64s(&case["y"]), f64s(&case["w"]));
        let pts: Vec<(f64, f64, f64)> = x
            .iter()
            .zip(&y)
            .zip(&w)
            .map(|((a, b), c)| (*a, *b, *c))
            .collect();
        let curve = isotonic::fit_non_increasing(&pts).unwrap();
        assert_eq!(curve.x, f64s(&case["ux"]), "case {k}: distinct x");
        for (g, w) in curve.y.iter().zip(f64s(&case["fit"])) {
            assert!((g - w).abs() < 1e-12, "case {k}: fit {g} vs {w}");
        }
        // numpy's trapezoid on a 20001-point grid plus the breakpoints is exact for a piecewise
        // linear function up to rounding.
        let want = case["area"].as_f64().unwrap();
        let got = isotonic::area_over_ssim(&pts).unwrap();
        assert!((got - want).abs() < 1e-10, "case {k}: area {got} vs {want}");
        // The bootstrap's one-pass version agrees.
        let mut sorted = pts.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (xs, ys): (Vec<f64>, Vec<f64>) = sorted.iter().map(|p| (p.0, p.1)).unzip();
        let fast = isotonic::area_sorted(
            &xs,
            &ys,
            |i| sorted[i].2,
            isotonic::SSIM_LO,
            1.0,
            &mut Vec::new(),
        );
        assert!(
            (fast - want).abs() < 1e-10,
            "case {k}: one-pass area {fast} vs {want}"
        );
    }
}

/// A one-cell design holding `d` (a paired drop per sample).
fn one_cell(d: &[f64]) -> Design {
    Design {
        group_sizes: vec![d.len()],
        group_keys: vec![42],
        cells: vec![Cell {
            group: 0,
            units: (0..d.len() as u32).collect(),
            values: d.to_vec(),
        }],
    }
}

#[test]
fn bootstrap_intervals_match_scipy_within_monte_carlo_error() {
    let f = fixture();
    for (k, case) in f["bootstrap"].as_array().unwrap().iter().enumerate() {
        let d = f64s(&case["d"]);
        let design = one_cell(&d);
        let reps = design.replicates(3, 20000);
        let e = design.summarise(&reps, &Lin::cell(0), 0.95).unwrap();
        let se = case["se"].as_f64().unwrap();
        // Interval ends from 20000 replicates: their Monte-Carlo error is about 0.02 se; allow
        // 0.08 se.
        let tol = 0.08 * se;
        let (pl, ph) = (f64s(&case["percentile"])[0], f64s(&case["percentile"])[1]);
        let (bl, bh) = (f64s(&case["BCa"])[0], f64s(&case["BCa"])[1]);
        assert!(
            (e.percentile.lo - pl).abs() < tol && (e.percentile.hi - ph).abs() < tol,
            "case {k}: percentile {:?} vs [{pl}, {ph}]",
            e.percentile
        );
        let b = e.bca.unwrap();
        assert!(
            (b.lo - bl).abs() < tol && (b.hi - bh).abs() < tol,
            "case {k}: BCa {b:?} vs [{bl}, {bh}]"
        );
        assert!(
            (e.se - se).abs() < 0.05 * se,
            "case {k}: se {} vs {se}",
            e.se
        );
    }
}

#[test]
fn ce_and_mce_match_hand_computation() {
    // Baseline errors per level 0.2, 0.3, 0.5 (sum 1.0), clean 0.1; model 0.3, 0.4, 0.8 (sum 1.5),
    // clean 0.2. CE = 1.5 / 1.0 = 1.5; relative CE = (1.5 - 3 * 0.2) / (1.0 - 3 * 0.1) = 0.9 / 0.7.
    let base = Errors {
        clean: 0.1,
        levels: vec![(1, 0.2), (2, 0.3), (3, 0.5)],
    };
    let model = Errors {
        clean: 0.2,
        levels: vec![(1, 0.3), (2, 0.4), (3, 0.8)],
    };
    let (ce, rel) = corruption_error(&model, &base);
    assert!((ce.unwrap() - 1.5).abs() < 1e-12);
    assert!((rel.unwrap() - 0.9 / 0.7).abs() < 1e-12);
    // The baseline against itself: 1 and 1.
    let (c1, r1) = corruption_error(&base, &base);
    assert!((c1.unwrap() - 1.0).abs() < 1e-15 && (r1.unwrap() - 1.0).abs() < 1e-15);
    // A level the baseline lacks is left out of both sums: model level 4 ignored.
    let model4 = Errors {
        clean: 0.2,
        levels: vec![(1, 0.3), (2, 0.4), (3, 0.8), (4, 0.9)],
    };
    assert_eq!(corruption_error(&model4, &base), (ce, rel));
    // Second perturbation: base 0.4 + 0.6 = 1.0, model 0.5 + 0.5 = 1.0 -> CE 1.0; relative
    // (1.0 - 0.4) / (1.0 - 0.2) = 0.75. mCE = (1.5 + 1.0) / 2 = 1.25; relative mCE =
    // (9/7 + 0.75) / 2.
    let (ce2, rel2) = corruption_error(
        &Errors {
            clean: 0.2,
            levels: vec![(1, 0.5), (2, 0.5)],
        },
        &Errors {
            clean: 0.1,
            levels: vec![(1, 0.4), (2, 0.6)],
        },
    );
    assert!((ce2.unwrap() - 1.0).abs() < 1e-12 && (rel2.unwrap() - 0.75).abs() < 1e-12);
    assert!((mean_defined([ce, ce2, None]).unwrap() - 1.25).abs() < 1e-12);
    assert!((mean_defined([rel, rel2]).unwrap() - (0.9 / 0.7 + 0.75) / 2.0).abs() < 1e-12);
}

#[test]
fn generic_index_bootstrap_equals_the_cell_bootstrap() {
    // The closure hook (for corpus metrics) sees exactly the resamples the cells use: a mean via
    // the closure equals the cell's replicate bit for bit up to summation order.
    // Continuous values: no replicate ties with the estimate, so BCa's bias count is the same
    // whichever summation order produced the replicates.
    let d: Vec<f64> = (0..50).map(|i| (i as f64 * 0.731).sin()).collect();
    let design = one_cell(&d);
    let reps = design.replicates(5, 300);
    let via = bootstrap::bootstrap_indices(5, 42, d.len(), 300, |idx| {
        idx.iter().map(|&i| d[i]).sum::<f64>() / idx.len() as f64
    });
    for (a, b) in reps.cell(0).iter().zip(&via) {
        assert!((a - b).abs() < 1e-12);
    }
    let jack = bootstrap::jackknife_indices(d.len(), |idx| {
        idx.iter().map(|&i| d[i]).sum::<f64>() / idx.len() as f64
    });
    let e1 = summarise(
        design.estimate(&Lin::cell(0)),
        via.clone(),
        Some(&[jack]),
        0.95,
    )
    .unwrap();
    let e2 = design.summarise(&reps, &Lin::cell(0), 0.95).unwrap();
    assert!((e1.bca.unwrap().lo - e2.bca.unwrap().lo).abs() < 1e-12);
}
