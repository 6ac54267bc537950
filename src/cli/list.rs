use crate::perturb::{self, Modality};
use serde_json::json;

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only base perturbations plus this modality's (fundus = oct).
    #[arg(long)]
    pub modality: Option<String>,
    /// A JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ListArgs) -> anyhow::Result<i32> {
    let modality = a.modality.as_deref().map(Modality::parse).transpose()?;
    let ps = perturb::all().iter().filter(|p| match (modality, p.info().modality) {
        (None, _) | (Some(_), None) => true,
        (Some(m), Some(pm)) => m == pm,
    });
    if a.json {
        let arr: Vec<_> = ps
            .map(|p| {
                let i = p.info();
                json!({
                    "id": i.id,
                    "category": i.category,
                    "modality": i.modality,
                    "model": i.model,
                    "strength_name": i.strength_name,
                    "strength_range": [i.strength_range.0, i.strength_range.1],
                    "strength_kind": i.kind,
                    "geometric": i.geometric,
                    "colour": i.colour,
                    "source": i.source,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&arr)?);
    } else {
        println!("{:<24} {:<8} {:<11} {:<9} {:<18} strength", "id", "category", "modality", "geometric", "range");
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
