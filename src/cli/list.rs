use medfm_robust::perturb::{self, Modality};

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only base perturbations plus this modality's (fundus = oct).
    #[arg(long)]
    pub modality: Option<String>,
    /// A JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The Markdown catalogue (docs/perturbations.md is this output).
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

pub fn run(a: ListArgs) -> anyhow::Result<i32> {
    let modality = a.modality.as_deref().map(Modality::parse).transpose()?;
    let ps = perturb::all()
        .iter()
        .filter(|p| match (modality, p.info().modality) {
            (None, _) | (Some(_), None) => true,
            (Some(m), Some(pm)) => m == pm,
        });
    if a.markdown {
        print!("{}", markdown(ps.map(|p| p.as_ref()).collect()));
    } else if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&perturb::catalogue(modality))?
        );
    } else {
        println!(
            "{:<24} {:<8} {:<11} {:<9} {:<18} strength",
            "id", "category", "modality", "geometric", "range"
        );
        for p in ps {
            let i = p.info();
            println!(
                "{:<24} {:<8} {:<11} {:<9} {:<18} {}",
                i.id,
                i.category.as_str(),
                i.modality.map(|m| m.as_str()).unwrap_or("-"),
                if i.geometric { "yes" } else { "no" },
                format!("{}-{}", i.strength_range.0, i.strength_range.1),
                i.strength_name
            );
        }
    }
    Ok(0)
}

/// The catalogue as Markdown, generated from the registry (docs/perturbations.md).
pub fn markdown(ps: Vec<&dyn medfm_robust::perturb::Perturbation>) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "# Perturbation catalogue\n\nGenerated from the registry by `medfm-robust list --markdown` (do not edit by hand;\n\
         `tools/gen_docs.sh` regenerates this file and the galleries). Strength 0 is the identity;\n\
         calibration searches the strength range for each SSIM band.\n\n",
    );
    // modalities with a real-image gallery: those measured in assets/real/reach.json
    let real: Vec<String> = serde_json::from_str::<serde_json::Value>(REACH_JSON)
        .ok()
        .and_then(|v| {
            v["rows"].as_array().map(|rows| {
                rows.iter()
                    .filter_map(|r| r["modality"].as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default();
    let mut groups: Vec<(String, Vec<&dyn medfm_robust::perturb::Perturbation>)> = Vec::new();
    for p in ps {
        let g = match p.info().modality {
            None => format!("{} (all modalities)", p.info().category.as_str()),
            Some(m) => format!("{} ({m})", p.info().category.as_str()),
        };
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, v)) => v.push(p),
            None => groups.push((g, vec![p])),
        }
    }
    for (g, v) in groups {
        let _ = writeln!(s, "## {g}\n");
        if let Some(m) = v[0].info().modality {
            if real.contains(&m.as_str().to_string()) {
                let _ = writeln!(s, "Gallery: [gallery/{m}.png](gallery/{m}.png) (phantom), [gallery/real/{m}.png](gallery/real/{m}.png) (real image)\n");
            } else {
                let _ = writeln!(s, "Gallery: [gallery/{m}.png](gallery/{m}.png) (phantom; no real image, see the reach section)\n");
            }
        }
        s.push_str("| id | model | strength | range | kind | geometric | source |\n|---|---|---|---|---|---|---|\n");
        for p in v {
            let i = p.info();
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} to {} | {:?} | {} | {} |",
                i.id,
                i.model.replace('|', "/"),
                i.strength_name,
                i.strength_range.0,
                i.strength_range.1,
                i.kind,
                if i.geometric { "yes" } else { "no" },
                i.source.replace('|', "/")
            );
        }
        s.push('\n');
    }
    s.push_str(&reach_markdown(REACH_JSON, REACH_NOTES_JSON));
    s
}

/// assets/real/reach.json: the measured reach on real images (`cargo run --release --example
/// reach`, from the images of tools/gen_real_images.py), embedded so the catalogue is generated
/// from committed data only.
pub const REACH_JSON: &str = include_str!("../../assets/real/reach.json");

/// assets/real/reach_notes.json: why a perturbation stays short of L5 on every real image of its
/// modality (hand-written, one entry per such id; tests/docs_current.rs checks they are complete).
pub const REACH_NOTES_JSON: &str = include_str!("../../assets/real/reach_notes.json");

/// The reach table: per modality, one row per medical perturbation, one column per real image,
/// the strongest band calibration reaches in band and the lowest SSIM a sweep reaches.
pub fn reach_markdown(json: &str, notes_json: &str) -> String {
    use std::fmt::Write as _;
    let v: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return format!("## Reach on real images\n\n(assets/real/reach.json unreadable: {e})\n")
        }
    };
    let empty = Vec::new();
    let rows = v["rows"].as_array().unwrap_or(&empty);
    let mut s = String::from(
        "## Reach on real images\n\n\
         The strongest SSIM band that the default calibration reaches in band (`wang` SSIM, seed 0, \
         output quantised to the image's bit depth) for each medical perturbation on each real image \
         of its modality, and in brackets the lowest SSIM of a 41-point sweep over the strength \
         range. Images: assets/real/ (tools/gen_real_images.py, from files inside the pydicom \
         3.0.2, pydicom-data 1.0.0, nibabel 5.4.2, scikit-image 0.26, dermapred 0.0.3 and \
         endocal 18.2.13 wheels; provenance and licences in assets/real/README.md). Three are \
         stand-ins, not the modality itself, because no OCT B-scan, dermoscopic image or \
         endoscopic view of tissue ships in any package found on PyPI, npm or Debian: \
         oct_fundus_retina.png (a fundus photograph), derm_skin_closeup.png (a clinical close-up \
         of skin, not dermoscopic) and endo_scope_target.png (a real endoscope's view of a \
         calibration target, not tissue). Measured by `cargo run --release --example reach` into \
         assets/real/reach.json. `-`: no band in reach. One draw per image (seed 0): the random \
         fields and motions of another draw move these numbers, measured by up to about 0.13 \
         (the real-image galleries use another draw: there mri_bias_field reaches 0.543, L5, on \
         mri_abdomen.png against 0.675 here, and mri_motion 0.597, just short of L5, against \
         0.582 here).\n\n",
    );
    let mut modalities: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(m) = r["modality"].as_str() {
            if !modalities.contains(&m) {
                modalities.push(m);
            }
        }
    }
    for m in modalities {
        let of_m: Vec<&serde_json::Value> = rows.iter().filter(|r| r["modality"] == m).collect();
        let mut images: Vec<&str> = Vec::new();
        let mut ids: Vec<&str> = Vec::new();
        for r in &of_m {
            let (i, p) = (
                r["image"].as_str().unwrap_or("?"),
                r["id"].as_str().unwrap_or("?"),
            );
            if !images.contains(&i) {
                images.push(i);
            }
            if !ids.contains(&p) {
                ids.push(p);
            }
        }
        let _ = writeln!(s, "### {m}\n");
        let _ = writeln!(s, "| perturbation | {} |", images.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(images.len()));
        for id in ids {
            let cells: Vec<String> = images
                .iter()
                .map(
                    |img| match of_m.iter().find(|r| r["id"] == id && r["image"] == *img) {
                        Some(r) => {
                            let level = match r["max_level"].as_u64() {
                                Some(l) => format!("L{l}"),
                                None => "-".to_string(),
                            };
                            format!(
                                "{level} ({:.3})",
                                r["min_ssim"].as_f64().unwrap_or(f64::NAN)
                            )
                        }
                        None => "n/a".to_string(),
                    },
                )
                .collect();
            let _ = writeln!(s, "| `{id}` | {} |", cells.join(" | "));
        }
        s.push('\n');
    }
    let notes: serde_json::Value = serde_json::from_str(notes_json).unwrap_or_default();
    if let Some(notes) = notes.as_object().filter(|n| !n.is_empty()) {
        s.push_str("Short of L5 on every real image of the modality, and why:\n\n");
        for (id, why) in notes {
            let _ = writeln!(s, "- `{id}`: {}", why.as_str().unwrap_or(""));
        }
        s.push('\n');
    }
    if let Some(missing) = v["missing"].as_object().filter(|m| !m.is_empty()) {
        s.push_str("No real image of these modalities ships in those wheels, so their reach on real images is not measured (only on the phantoms):\n\n");
        for (m, why) in missing {
            let _ = writeln!(s, "- {m}: {}", why.as_str().unwrap_or(""));
        }
        s.push('\n');
    }
    s
}
