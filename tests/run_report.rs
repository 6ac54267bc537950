//! Report: Eq. 3 and Table 1 against an independent recomputation
//! (tools/gen_report_fixture.py -> tests/fixtures/report_{records.jsonl,expected.json}), and the
//! report outputs of a real small run (tables, figures as PNG and SVG, report.html, provenance).

mod run_support;
use medfm_robust::report::aggregate::Aggregate;
use medfm_robust::run::records;
use run_support::*;
use serde_json::Value;
use std::path::Path;

const TOL: f64 = 1e-12;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn eq3_and_table1_match_the_independent_recomputation() {
    let recs = records::read_records(&fixture("report_records.jsonl")).unwrap();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("report_expected.json")).unwrap())
            .unwrap();
    let agg = Aggregate::from_records(recs.iter(), "iou");
    assert_eq!(agg.errors as u64, want["errors"].as_u64().unwrap());

    let drops = want["drop"].as_array().unwrap();
    assert_eq!(agg.per_perturbation.len(), drops.len());
    for d in drops {
        let k = d.as_array().unwrap();
        let key = (
            (
                k[0].as_str().unwrap().to_string(),
                k[1].as_str().unwrap().to_string(),
                k[2].as_str().unwrap().to_string(),
            ),
            k[3].as_str().unwrap().to_string(),
            k[4].as_u64().unwrap() as u8,
        );
        let cell = &agg.per_perturbation[&key];
        assert_eq!(cell.category, k[5].as_str().unwrap());
        assert!((cell.drop - k[6].as_f64().unwrap()).abs() < TOL, "{key:?}");
    }
    let deltas = want["delta"].as_array().unwrap();
    assert_eq!(agg.delta.len(), deltas.len());
    for d in deltas {
        let k = d.as_array().unwrap();
        let key = (
            (
                k[0].as_str().unwrap().to_string(),
                k[1].as_str().unwrap().to_string(),
                k[2].as_str().unwrap().to_string(),
            ),
            k[3].as_str().unwrap().to_string(),
            k[4].as_u64().unwrap() as u8,
        );
        assert!(
            (agg.delta[&key].0 - k[5].as_f64().unwrap()).abs() < TOL,
            "Eq. 3 {key:?}"
        );
    }
    let rows = agg.table1();
    let wrows = want["table1"].as_array().unwrap();
    assert_eq!(rows.len(), wrows.len());
    for (r, w) in rows.iter().zip(wrows) {
        assert_eq!(
            (r.model.as_str(), r.strategy.as_str()),
            (
                w["model"].as_str().unwrap(),
                w["strategy"].as_str().unwrap()
            )
        );
        for (c, wc) in r.cells.iter().zip(w["cells"].as_array().unwrap()) {
            let (clean, base, med) = c.unwrap();
            assert!((clean - wc[0].as_f64().unwrap()).abs() < TOL);
            assert!((base.unwrap() - wc[1].as_f64().unwrap()).abs() < TOL);
            assert!((med.unwrap() - wc[2].as_f64().unwrap()).abs() < TOL);
        }
        assert!(
            (r.average_base_drop.unwrap() - w["average_base_drop"].as_f64().unwrap()).abs() < TOL
        );
    }
    // The Markdown table prints the same numbers (3 decimals).
    let md = medfm_robust::report::tables::table1_markdown(&agg, &["config: fixture".into()]);
    let first = &wrows[0];
    assert!(
        md.contains(&format!("{:.3}", first["cells"][0][1].as_f64().unwrap())),
        "{md}"
    );
    assert!(md.starts_with("<!-- config: fixture -->"));
}

#[test]
fn report_of_a_run_writes_every_output_with_provenance() {
    let (dir, cfg) = setup("[1, 2]", r#"["gaussian_noise", "gaussian_blur"]"#);
    let out = dir.path().join("out");
    run_ok(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let rep = dir.path().join("report");
    run_ok(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
    ]);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let hash = meta["config_hash"].as_str().unwrap();
    let rev = meta["git_revision"].as_str().unwrap();
    for f in [
        "table1.md",
        "table1.tex",
        "table1.csv",
        "summary.csv",
        "report.html",
    ] {
        let t = std::fs::read_to_string(rep.join(f)).unwrap();
        for needle in [
            hash,
            "seed: 3",
            "medfm-robust ",
            "device: cpu",
            &format!("git revision: {rev}"),
        ] {
            assert!(t.contains(needle), "{f} lacks {needle:?}");
        }
    }
    let summary = std::fs::read_to_string(rep.join("summary.csv")).unwrap();
    let header = summary.lines().find(|l| !l.starts_with('#')).unwrap();
    // The original columns stay first (scripts read them); the statistics columns follow.
    assert!(header.starts_with("model,strategy,dataset,category,perturbation,level,metric,n,clean,perturbed,drop,in_band_fraction,"), "{header}");
    assert_eq!(header, medfm_robust::report::tables::SUMMARY_HEADER);
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("thr,adapter,ct,base,*,2,iou,2,")),
        "Eq. 3 rows average the 2 base perturbations"
    );
    // The run's records carry measured SSIMs, so the SSIM-curve figure is drawn too.
    for name in [
        "tradeoff",
        "strategy_ranking",
        "model_comparison",
        "dataset_sensitivity",
        "top15_perturbations",
        "drop_vs_severity",
        "ssim_area",
    ] {
        let png = medfm_robust::io::read_image(&rep.join(format!("figures/{name}.png"))).unwrap();
        assert_eq!((png.image.width, png.image.height), (900, 560));
        // Not blank: some dark (text, axes) and some white pixels.
        let p = png.image.plane(0);
        assert!(
            p.iter().any(|&v| v < 0.3) && p.iter().any(|&v| v > 0.99),
            "{name}.png looks blank"
        );
        let svg = std::fs::read_to_string(rep.join(format!("figures/{name}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("drop") && svg.contains(rev),
            "{name}.svg"
        );
    }
    let html = std::fs::read_to_string(rep.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(
        !html.contains("src=\"http") && !html.contains("<script"),
        "self-contained"
    );
}
