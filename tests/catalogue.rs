//! The registry against the catalogue of spec/perturbations.md: exactly these 40 ids, with these
//! categories and modalities (this list is the spec's table, the oracle; the code's only list is
//! the registry).

use medfm_robust::perturb::{self, Category, Modality};

const BASE: [&str; 12] = [
    "gaussian_noise",
    "salt_pepper",
    "speckle_noise",
    "gaussian_blur",
    "motion_blur",
    "brightness",
    "contrast",
    "jpeg",
    "pixelate",
    "rotation",
    "scaling",
    "translation",
];

const MEDICAL: [(&str, &str); 28] = [
    ("ct_metal_streaks", "ct"),
    ("ct_beam_hardening", "ct"),
    ("ct_window_level", "ct"),
    ("ct_photon_starvation", "ct"),
    ("mri_bias_field", "mri"),
    ("mri_ghosting", "mri"),
    ("mri_motion", "mri"),
    ("us_acoustic_shadow", "us"),
    ("us_reverberation", "us"),
    ("path_stain_hsv", "pathology"),
    ("path_bubbles", "pathology"),
    ("endo_specular", "endoscopy"),
    ("endo_bubbles", "endoscopy"),
    ("endo_blood", "endoscopy"),
    ("endo_overexposure", "endoscopy"),
    ("oct_shadow", "oct"),
    ("oct_blink", "oct"),
    ("oct_defocus", "oct"),
    ("oct_motion", "oct"),
    ("oct_speckle", "oct"),
    ("xray_scatter", "xray"),
    ("xray_underexposure", "xray"),
    ("xray_overexposure", "xray"),
    ("xray_grid", "xray"),
    ("xray_haze", "xray"),
    ("derm_vignette", "dermoscopy"),
    ("derm_light_reflection", "dermoscopy"),
    ("derm_hair", "dermoscopy"),
];

const GEOMETRIC: [&str; 4] = ["rotation", "scaling", "translation", "oct_motion"];

#[test]
fn registry_matches_the_catalogue() {
    let paper: Vec<_> = perturb::all()
        .iter()
        .filter(|p| p.info().category != Category::Extra)
        .collect();
    assert_eq!(paper.len(), 40, "12 base + 28 medical");
    for id in BASE {
        let p = perturb::by_id(id).unwrap_or_else(|_| panic!("{id} missing"));
        assert_eq!(p.info().category, Category::Base, "{id}");
        assert_eq!(p.info().modality, None, "{id}");
    }
    for (id, m) in MEDICAL {
        let p = perturb::by_id(id).unwrap_or_else(|_| panic!("{id} missing"));
        assert_eq!(p.info().category, Category::Medical, "{id}");
        assert_eq!(p.info().modality, Some(Modality::parse(m).unwrap()), "{id}");
    }
    for p in perturb::all() {
        let i = p.info();
        assert_eq!(
            i.geometric,
            GEOMETRIC.contains(&i.id),
            "{}: geometric flag",
            i.id
        );
        assert!(
            i.strength_range.0 == 0.0 && i.strength_range.1 > 0.0,
            "{}: range {:?}",
            i.id,
            i.strength_range
        );
        assert!(
            !i.model.is_empty() && !i.source.is_empty() && !i.strength_name.is_empty(),
            "{}: documented",
            i.id
        );
    }
}

#[test]
fn selection_by_modality() {
    // --modality M selects base + M's set; `medical` with a modality selects M's set alone.
    let counts = [
        ("ct", 4),
        ("mri", 3),
        ("us", 2),
        ("pathology", 2),
        ("endoscopy", 4),
        ("oct", 5),
        ("fundus", 5),
        ("xray", 5),
        ("dermoscopy", 3),
    ];
    for (m, n) in counts {
        let md = Modality::parse(m).unwrap();
        assert_eq!(
            perturb::select("medical", Some(md)).unwrap().len(),
            n,
            "{m}"
        );
        assert_eq!(
            perturb::select("all", Some(md)).unwrap().len(),
            12 + n,
            "{m}"
        );
    }
    assert_eq!(perturb::select("base", None).unwrap().len(), 12);
    assert_eq!(perturb::select("all", None).unwrap().len(), 40);
    assert!(perturb::select("no_such_thing", None).is_err());
}

/// The `__global__` functions of kernels/`module`.cu, read from the source (no GPU, no nvcc) by
/// the parser every launch is checked with (src/backend/kernel_sig.rs).
fn kernels_of(module: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kernels")
        .join(format!("{module}.cu"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    medfm_robust::backend::kernel_sig::kernels(&src)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Every kernel of kernels/*.cu parses into parameters of C types the launch layer can pass
/// (src/backend/cuda/launch.rs), so every kernel's launches are checked against its signature.
#[test]
fn every_kernel_signature_parses_into_launchable_types() {
    use medfm_robust::backend::kernel_sig::{kernels, KNOWN_TYPES};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let mut count = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "cu") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let found = kernels(&src);
        assert_eq!(
            found.len(),
            src.matches("__global__").count(),
            "{}: every __global__ parsed",
            path.display()
        );
        for (name, params) in found {
            assert!(!params.is_empty(), "{name}: no parameters parsed");
            for p in &params {
                assert!(
                    KNOWN_TYPES.contains(&p.ty.as_str()),
                    "{name}: parameter type `{p}` has no Rust counterpart in launch.rs"
                );
            }
            count += 1;
        }
    }
    assert!(count >= 44, "{count} kernels");
}

/// The value of `#define name value` in kernels/*.cuh.
fn define_of(name: &str) -> Option<u32> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let mut found = None;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cuh") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let mut words = line.split_whitespace();
                if words.next() == Some("#define") && words.next() == Some(name) {
                    let v = words.next().unwrap_or("").trim_end_matches('u');
                    found = Some(v.parse().unwrap_or_else(|_| panic!("{name} = {v}")));
                }
            }
        }
    }
    found
}

/// Issue 17's one catalogue: every registered perturbation's entry owns its device
/// implementation, and what it names exists: its symbol is a kernel of its family's module and
/// its op selector is the header's value; an entry without a kernel says why and docs/gpu.md
/// lists it.
#[test]
fn every_device_entry_names_a_kernel_that_exists() {
    use medfm_robust::perturb::device::{self, Device};
    let gpu_doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gpu.md"),
    )
    .unwrap();
    let mut selectors = std::collections::HashMap::new();
    for p in perturb::all() {
        let id = p.id();
        match p.info().device {
            Device::Kernel(k) => {
                let module = k.family.module();
                let kernels = kernels_of(module);
                assert!(
                    kernels.iter().any(|s| s == k.symbol),
                    "{id}: kernels/{module}.cu has no kernel {} (it has {kernels:?})",
                    k.symbol
                );
                if let Some(op) = k.op {
                    assert_eq!(define_of(op.define), Some(op.value), "{id}: {}", op.define);
                    let clash = selectors.insert((module, k.symbol, op.value), id);
                    assert!(clash.is_none(), "{id} and {clash:?} share op {}", op.value);
                }
                assert!(device::family_ids(k.family).contains(&id));
                assert_eq!(device::kernel_of(id), Some((id, k)));
            }
            Device::CpuOnly(why) => {
                assert!(!why.trim().is_empty(), "{id}: CPU-only without a reason");
                assert!(
                    gpu_doc.contains(&format!("`{id}`")),
                    "{id} is CPU-only: docs/gpu.md must say so"
                );
            }
        }
    }
    // the search's ids are the registry's entries that join it, in registry order
    let joined: Vec<&str> = perturb::all()
        .iter()
        .filter(|p| p.info().device.kernel().is_some_and(|k| k.search))
        .map(|p| p.id())
        .collect();
    assert_eq!(device::search_ids(), joined);
    assert_eq!(
        joined.len() + device::cpu_only().len(),
        perturb::all().len()
    );
}

/// No id list on the GPU side besides the registry: the launch wrappers learn their members,
/// symbols and op selectors from the entries (src/backend/cuda/mod.rs `member`).
#[test]
fn the_gpu_side_keeps_no_id_list() {
    fn rs_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rs_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    rs_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend"),
        &mut files,
    );
    assert!(files.len() > 20);
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        for (n, line) in src.lines().enumerate() {
            assert!(
                !(line.contains("IDS") && line.contains("[&str")),
                "{}:{}: an id list outside the registry: {line}",
                f.display(),
                n + 1
            );
        }
    }
}
