//! docs/perturbations.md must be exactly what the registry generates (`list --markdown`), so the
//! catalogue documentation cannot drift from the code. Regenerate with tools/gen_docs.sh.

#[test]
fn perturbation_docs_match_the_registry() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args(["list", "--markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/perturbations.md"
    ))
    .unwrap_or_default();
    assert!(
        generated == committed,
        "docs/perturbations.md is stale: run tools/gen_docs.sh"
    );
}

#[test]
fn list_json_has_the_contract_fields() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    for p in arr {
        for k in [
            "id",
            "category",
            "modality",
            "strength_name",
            "strength_range",
            "geometric",
        ] {
            assert!(p.get(k).is_some(), "{k} missing in {p}");
        }
        let cat = p["category"].as_str().unwrap();
        assert!(cat == "base" || cat == "medical" || cat == "extra");
        assert_eq!(p["modality"].is_null(), cat == "base", "{p}");
    }
}

/// assets/real/reach.json (rendered into docs/perturbations.md) is current with the registry and
/// the real images: one row per medical perturbation and real image of its modality, measured
/// over the perturbation's present strength range; every perturbation that stays short of L5 on
/// all real images of its modality has its reason in assets/real/reach_notes.json, and no other
/// has one. Stale after a range or catalogue change: `cargo run --release --example reach`.
#[test]
fn reach_table_is_current_with_the_registry() {
    use medfm_robust::perturb::{all, Category};
    let read = |f: &str| -> serde_json::Value {
        let p = format!("{}/assets/real/{f}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    let (manifest, reach, notes) = (
        read("manifest.json"),
        read("reach.json"),
        read("reach_notes.json"),
    );
    let rows = reach["rows"].as_array().unwrap();
    let mut expected = 0;
    for p in all()
        .iter()
        .filter(|p| p.info().category == Category::Medical)
    {
        let i = p.info();
        let m = i.modality.unwrap().as_str();
        let images: Vec<&str> = manifest["images"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["modality"] == m)
            .map(|e| e["file"].as_str().unwrap())
            .collect();
        let mut best = 0;
        for img in &images {
            let r = rows
                .iter()
                .find(|r| r["id"] == i.id && r["image"] == *img)
                .unwrap_or_else(|| panic!("{} on {img}: not in reach.json", i.id));
            let range: Vec<f64> = r["range"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(
                range,
                vec![i.strength_range.0 as f64, i.strength_range.1 as f64],
                "{} on {img}: measured over another range, rerun the reach example",
                i.id
            );
            best = best.max(r["max_level"].as_u64().unwrap_or(0));
            expected += 1;
        }
        if images.is_empty() {
            assert!(
                manifest["missing"].get(m).is_some(),
                "{m}: no real image and no reason given"
            );
        } else {
            assert_eq!(
                notes.get(i.id).is_some(),
                best < 5,
                "{}: best level L{best} on real images; a note in reach_notes.json exactly when < L5",
                i.id
            );
        }
    }
    assert_eq!(
        rows.len(),
        expected,
        "reach.json has rows for no current perturbation"
    );
}
