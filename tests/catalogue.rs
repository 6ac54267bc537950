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
