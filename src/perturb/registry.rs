//! The one list of perturbations. Everything else enumerates [`all`].

use super::{Category, Modality, Perturbation};
use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Bump when any perturbation's model or strength range changes: cached per-dataset strengths
/// are keyed by it.
pub const CATALOGUE_VERSION: u32 = 1;

static REGISTRY: OnceLock<Vec<Box<dyn Perturbation>>> = OnceLock::new();

/// All registered perturbations: base first, then medical by modality, then extras.
pub fn all() -> &'static [Box<dyn Perturbation>] {
    REGISTRY.get_or_init(|| {
        let mut v: Vec<Box<dyn Perturbation>> = Vec::new();
        v.extend(super::base::all());
        v.extend(super::ct::all());
        v.extend(super::mri::all());
        v.extend(super::us::all());
        v.extend(super::pathology::all());
        v.extend(super::endoscopy::all());
        v.extend(super::oct::all());
        v.extend(super::xray::all());
        v.extend(super::dermoscopy::all());
        v
    })
}

pub fn by_id(id: &str) -> Result<&'static dyn Perturbation> {
    all()
        .iter()
        .find(|p| p.id() == id)
        .map(|p| p.as_ref())
        .ok_or_else(|| Error::UnknownPerturbation { id: id.to_string() })
}

/// Resolve a selection like `base`, `medical`, `all`, `extra` or a comma-separated list of ids and
/// group names, restricted to `modality` when given: with a modality, `all` = base + that
/// modality's medical set, `medical` = that modality's set alone. Order follows the registry.
pub fn select(spec: &str, modality: Option<Modality>) -> Result<Vec<&'static dyn Perturbation>> {
    let mut chosen: Vec<&'static str> = Vec::new();
    for tok in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let matches: Vec<&'static str> = match tok {
            "all" => all()
                .iter()
                .filter(|p| p.info().category != Category::Extra)
                .filter(|p| in_modality(p.as_ref(), modality))
                .map(|p| p.id())
                .collect(),
            "base" => all()
                .iter()
                .filter(|p| p.info().category == Category::Base)
                .map(|p| p.id())
                .collect(),
            "medical" => all()
                .iter()
                .filter(|p| {
                    p.info().category == Category::Medical && in_modality(p.as_ref(), modality)
                })
                .map(|p| p.id())
                .collect(),
            "extra" => all()
                .iter()
                .filter(|p| {
                    p.info().category == Category::Extra && in_modality(p.as_ref(), modality)
                })
                .map(|p| p.id())
                .collect(),
            id => vec![by_id(id)?.id()],
        };
        for m in matches {
            if !chosen.contains(&m) {
                chosen.push(m);
            }
        }
    }
    if chosen.is_empty() {
        return Err(Error::invalid(
            "--perturbations",
            format!("'{spec}' selects nothing"),
        ));
    }
    Ok(all()
        .iter()
        .filter(|p| chosen.contains(&p.id()))
        .map(|p| p.as_ref())
        .collect())
}

/// The catalogue as data (`medfm-robust list --json`, the Python package's `perturbations()`):
/// every perturbation of the base set and of `modality` (all modalities when None), in registry
/// order, with its id, category, modality, model, strength name, range and kind, geometric flag,
/// colour handling and source.
pub fn catalogue(modality: Option<Modality>) -> Vec<serde_json::Value> {
    all()
        .iter()
        .filter(|p| in_modality(p.as_ref(), modality))
        .map(|p| {
            let i = p.info();
            serde_json::json!({
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
        .collect()
}

fn in_modality(p: &dyn Perturbation, modality: Option<Modality>) -> bool {
    match (modality, p.info().modality) {
        (None, _) => true,
        (Some(_), None) => true,
        (Some(m), Some(pm)) => m == pm,
    }
}
