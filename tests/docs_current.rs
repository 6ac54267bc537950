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
