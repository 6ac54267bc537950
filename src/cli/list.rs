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
            let _ = writeln!(s, "Gallery: [gallery/{m}.png](gallery/{m}.png)\n");
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
    s
}
