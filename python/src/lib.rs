//! `medfm_robust._native`: the crate's perturbations, calibration and SSIM for Python.
//!
//! A thin layer: numpy arrays in and out ([`pixels`]), the library's own functions in between
//! (the registry, `Prepared::apply_quantised`, the one strength policy, `SsimReference`), every
//! computation with the GIL released and inside `catch_unwind`, so a Rust panic becomes a Python
//! `RuntimeError` naming the operation and never crosses into Python. The Python package
//! (medfm_robust/__init__.py) adds the training transform and the adapters on top.

mod pixels;

use medfm_robust::calibrate::policy::{self, Policy};
use medfm_robust::calibrate::{band as level_band, SearchOptions};
use medfm_robust::error::Error;
use medfm_robust::image::Mask;
use medfm_robust::perturb::{self, Ctx, Modality, Perturbation};
use medfm_robust::ssim::{SsimReference, SsimVariant};
use pixels::{read_image, read_mask, write_finished, write_image, write_mask, Pixels};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;

/// The library's error as the Python exception a user expects: a bad value is a ValueError, an
/// unknown id a KeyError, everything else (I/O, codec) a RuntimeError. The message is the
/// library's, which names the item and the fix.
fn py_err(op: &str, e: Error) -> PyErr {
    let msg = format!("{op}: {e}");
    match e {
        Error::UnknownPerturbation { .. } | Error::UnknownModality { .. } => {
            PyKeyError::new_err(msg)
        }
        Error::OutOfRange { .. }
        | Error::NonFinite { .. }
        | Error::TooSmall { .. }
        | Error::Shape { .. }
        | Error::NotApplicable { .. }
        | Error::Invalid { .. } => PyValueError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// The thread pool of this process. A forked child (a DataLoader worker) inherits the parent's
/// pool without its threads, and rayon would wait for them forever: every process therefore
/// builds its own pool on first use (keyed by pid) and leaks the inherited one, which has no
/// threads to stop. Every computation runs inside it ([`compute`]), so nothing reaches rayon's
/// global pool.
fn pool() -> Result<std::sync::Arc<rayon::ThreadPool>, Error> {
    use std::sync::{Arc, Mutex};
    type Owned = Option<(u32, Arc<rayon::ThreadPool>)>;
    static POOL: Mutex<Owned> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, p)) = slot.as_ref() {
        if *owner == pid {
            return Ok(p.clone());
        }
    }
    if let Some(inherited) = slot.take() {
        std::mem::forget(inherited);
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .build()
            .map_err(|e| Error::other("thread pool", e.to_string()))?,
    );
    *slot = Some((pid, p.clone()));
    Ok(p)
}

/// Run `f` without the GIL, on this process's pool; a panic inside is a RuntimeError naming
/// `op`.
fn compute<T: Send>(
    py: Python<'_>,
    op: &str,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    let r =
        py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool()?.install(f))));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(py_err(op, e)),
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(PyRuntimeError::new_err(format!(
                "{op}: internal error (a Rust panic, caught): {what}; please report it with the input's shape and dtype"
            )))
        }
    }
}

fn perturbation(id: &str) -> PyResult<&'static dyn Perturbation> {
    perturb::by_id(id).map_err(|_| {
        PyKeyError::new_err(format!(
            "perturbation '{id}' is not in the catalogue; medfm_robust.perturbations() lists the ids"
        ))
    })
}

fn variant(name: &str) -> PyResult<SsimVariant> {
    match name {
        "wang" => Ok(SsimVariant::Wang),
        "skimage" => Ok(SsimVariant::Skimage),
        "compat" => Ok(SsimVariant::Compat),
        other => Err(PyValueError::new_err(format!(
            "ssim_variant '{other}' is not one of 'wang', 'skimage', 'compat'"
        ))),
    }
}

fn check_levels(levels: &[u8]) -> PyResult<()> {
    if levels.is_empty() {
        return Err(PyValueError::new_err(
            "levels: give at least one level (1-5)",
        ));
    }
    if let Some(l) = levels.iter().find(|l| !(1..=5).contains(*l)) {
        return Err(PyValueError::new_err(format!(
            "levels: {l} is not a severity level; use 1, 2, 3, 4 or 5"
        )));
    }
    Ok(())
}

fn check_strength(p: &dyn Perturbation, s: f32) -> PyResult<()> {
    let (lo, hi) = p.info().strength_range;
    if !s.is_finite() || s < lo || s > hi {
        return Err(PyValueError::new_err(format!(
            "strength {s} of '{}' is outside its range [{lo}, {hi}] ({})",
            p.id(),
            p.info().strength_name
        )));
    }
    Ok(())
}

/// The catalogue as JSON (the fields of `medfm-robust list --json`), base plus `modality`'s.
#[pyfunction]
#[pyo3(signature = (modality=None))]
fn catalogue_json(modality: Option<&str>) -> PyResult<String> {
    let m = modality
        .map(Modality::parse)
        .transpose()
        .map_err(|e| py_err("perturbations", e))?;
    serde_json::to_string(&perturb::catalogue(m))
        .map_err(|e| PyRuntimeError::new_err(format!("perturbations: {e}")))
}

/// `perturbation` at `strength` on `image`, quantised to the input's integer dtype as the CLI
/// writes it; with `mask`, also the mask moved as the image is (geometric perturbations).
#[pyfunction]
#[pyo3(signature = (image, perturbation_id, strength, seed=0, image_id=0, mask=None))]
fn apply<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    perturbation_id: &str,
    strength: f32,
    seed: u64,
    image_id: u32,
    mask: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = perturbation(perturbation_id)?;
    check_strength(p, strength)?;
    let px = read_image(image, "image")?;
    let m = mask.map(|m| read_mask(m, "mask", &px)).transpose()?;
    let ctx = Ctx::new(seed, image_id);
    let (out, warped) = compute(py, "apply", || {
        let prepared = p.prepare(&px.image, &ctx)?;
        let out = px.finish(prepared.as_ref(), strength);
        let warped = m.as_ref().map(|(mk, _)| prepared.warp_mask(mk, strength));
        Ok((out, warped))
    })?;
    let img = write_finished(py, &out, &px)?;
    match (warped, m) {
        (Some(w), Some((_, kind))) => Ok((img, write_mask(py, &w, kind)?)
            .into_pyobject(py)?
            .into_any()),
        _ => Ok(img),
    }
}

/// The same perturbation on many images (a list, or an N x H x W [x C] array), in parallel on
/// the crate's thread pool; `strengths` and `image_ids` one per image.
#[pyfunction]
#[pyo3(signature = (images, perturbation_id, strengths, seed=0, image_ids=None))]
fn apply_batch<'py>(
    py: Python<'py>,
    images: Vec<Bound<'py, PyAny>>,
    perturbation_id: &str,
    strengths: Vec<f32>,
    seed: u64,
    image_ids: Option<Vec<u32>>,
) -> PyResult<Bound<'py, PyList>> {
    let p = perturbation(perturbation_id)?;
    let n = images.len();
    if strengths.len() != n {
        return Err(PyValueError::new_err(format!(
            "strengths: {} given for {n} images; give one per image (or a single float)",
            strengths.len()
        )));
    }
    let ids = image_ids.unwrap_or_else(|| (0..n as u32).collect());
    if ids.len() != n {
        return Err(PyValueError::new_err(format!(
            "image_ids: {} given for {n} images; give one per image",
            ids.len()
        )));
    }
    for &s in &strengths {
        check_strength(p, s)?;
    }
    let px: Vec<Pixels> = images
        .iter()
        .enumerate()
        .map(|(i, im)| read_image(im, &format!("images[{i}]")))
        .collect::<PyResult<_>>()?;
    let outs = compute(py, "apply_batch", || {
        px.par_iter()
            .zip(&strengths)
            .zip(&ids)
            .map(|((x, &s), &id)| {
                let prepared = p.prepare(&x.image, &Ctx::new(seed, id))?;
                Ok(x.finish(prepared.as_ref(), s))
            })
            .collect::<Result<Vec<_>, Error>>()
    })?;
    let list = PyList::empty(py);
    for (o, x) in outs.iter().zip(&px) {
        list.append(write_finished(py, o, x)?)?;
    }
    Ok(list)
}

/// A strength as Python sees it: the shortest decimal of the f32 (what the CLI's JSON holds),
/// so values compare equal to a manifest's and turn back into the same f32.
fn strength_value(s: f32) -> f64 {
    s.to_string().parse().unwrap_or(f64::from(s))
}

fn level_dict<'py>(py: Python<'py>, o: &policy::Produced) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("level", o.level)?;
    d.set_item("strength", strength_value(o.strength))?;
    d.set_item("ssim", o.ssim)?;
    d.set_item("in_band", o.verdict.in_band())?;
    d.set_item("verdict", o.verdict.as_str())?;
    d.set_item("reason", o.reason.clone())?;
    d.set_item("evaluations", o.evaluations)?;
    Ok(d)
}

/// Per-image calibration (the CLI's per-image policy): for each level the strength whose
/// quantised output's SSIM is in the level's band.
#[pyfunction]
#[pyo3(signature = (image, perturbation_id, levels, seed=0, image_id=0, ssim_variant="wang", max_evals=20))]
#[allow(clippy::too_many_arguments)]
fn calibrate<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    perturbation_id: &str,
    levels: Vec<u8>,
    seed: u64,
    image_id: u32,
    ssim_variant: &str,
    max_evals: u32,
) -> PyResult<Bound<'py, PyList>> {
    let p = perturbation(perturbation_id)?;
    check_levels(&levels)?;
    let v = variant(ssim_variant)?;
    let px = read_image(image, "image")?;
    let ctx = Ctx::new(seed, image_id);
    let produced = compute(py, "calibrate", || {
        let reference = SsimReference::new(&px.image, v)?;
        let policy = Policy::PerImage(SearchOptions {
            variant: v,
            max_evals_per_band: max_evals,
        });
        policy::produce(
            &policy,
            p,
            &px.image,
            &reference,
            None,
            px.depth(),
            &ctx,
            &levels,
        )
    })?;
    let list = PyList::empty(py);
    for o in &produced {
        list.append(level_dict(py, o)?)?;
    }
    Ok(list)
}

/// One training sample: `level` of `perturbation` on `image` (strength searched on this image,
/// or `strength` from a table), with `masks` moved along. Returns (image, masks, the level's
/// dict as `calibrate` gives it).
#[pyfunction]
#[pyo3(signature = (image, perturbation_id, level, seed, image_id, ssim_variant="wang", strength=None, masks=Vec::new(), max_evals=20))]
#[allow(clippy::too_many_arguments)]
fn produce<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    perturbation_id: &str,
    level: u8,
    seed: u64,
    image_id: u32,
    ssim_variant: &str,
    strength: Option<f32>,
    masks: Vec<Bound<'py, PyAny>>,
    max_evals: u32,
) -> PyResult<Bound<'py, PyAny>> {
    let p = perturbation(perturbation_id)?;
    check_levels(&[level])?;
    let v = variant(ssim_variant)?;
    let px = read_image(image, "image")?;
    let ms: Vec<(Mask, pixels::MaskKind)> = masks
        .iter()
        .enumerate()
        .map(|(i, m)| read_mask(m, &format!("masks[{i}]"), &px))
        .collect::<PyResult<_>>()?;
    let ctx = Ctx::new(seed, image_id);
    let policy = match strength {
        None => Policy::PerImage(SearchOptions {
            variant: v,
            max_evals_per_band: max_evals,
        }),
        Some(s) => {
            check_strength(p, s)?;
            Policy::Table {
                strengths: [(level, Some(s))].into_iter().collect(),
                source: "table",
                warp_masks: true,
            }
        }
    };
    let (o, warped) = compute(py, "Corrupt", || {
        let reference = SsimReference::new(&px.image, v)?;
        let mut o = policy::produce(
            &policy,
            p,
            &px.image,
            &reference,
            None,
            px.depth(),
            &ctx,
            &[level],
        )?
        .remove(0);
        // The policy prepared and applied the perturbation already; it is prepared again only
        // when something is still to be done with it: masks moved by a geometric perturbation,
        // or the unquantised image of a float32 input.
        let geometric = p.info().geometric && !ms.is_empty();
        let mut warped: Vec<Mask> = ms.iter().map(|(m, _)| m.clone()).collect();
        if geometric || px.is_float() {
            let prepared = p.prepare(&px.image, &ctx)?;
            if geometric {
                warped = ms
                    .iter()
                    .map(|(m, _)| prepared.warp_mask(m, o.strength))
                    .collect();
            }
            if px.is_float() {
                // float32 in: the unquantised image at the found strength (module pixels).
                o.image = prepared.apply(o.strength);
            }
        }
        Ok((o, warped))
    })?;
    let img = write_image(py, &o.image, &px)?;
    let out_masks = PyList::empty(py);
    for (w, (_, kind)) in warped.iter().zip(&ms) {
        out_masks.append(write_mask(py, w, *kind)?)?;
    }
    let info = level_dict(py, &o)?;
    Ok((img, out_masks, info).into_pyobject(py)?.into_any())
}

/// Per-dataset calibration (the CLI's `--calibration per-dataset`): per level the median in-band
/// strength over `images` (None where none reached the band).
#[pyfunction]
#[pyo3(signature = (images, perturbation_id, levels, seed=0, image_ids=None, ssim_variant="wang", max_evals=20))]
#[allow(clippy::too_many_arguments)]
fn calibrate_table<'py>(
    py: Python<'py>,
    images: Vec<Bound<'py, PyAny>>,
    perturbation_id: &str,
    levels: Vec<u8>,
    seed: u64,
    image_ids: Option<Vec<u32>>,
    ssim_variant: &str,
    max_evals: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let p = perturbation(perturbation_id)?;
    check_levels(&levels)?;
    let v = variant(ssim_variant)?;
    if images.is_empty() {
        return Err(PyValueError::new_err(
            "images: give at least one image to calibrate on",
        ));
    }
    let ids = image_ids.unwrap_or_else(|| (0..images.len() as u32).collect());
    if ids.len() != images.len() {
        return Err(PyValueError::new_err("image_ids: give one per image"));
    }
    let px: Vec<Pixels> = images
        .iter()
        .enumerate()
        .map(|(i, im)| read_image(im, &format!("images[{i}]")))
        .collect::<PyResult<_>>()?;
    let table = compute(py, "Corrupt.fit", || {
        let refs: Vec<SsimReference> = px
            .iter()
            .map(|x| SsimReference::new(&x.image, v))
            .collect::<Result<_, _>>()?;
        let inputs: Vec<_> = px
            .iter()
            .zip(&refs)
            .zip(&ids)
            .map(|((x, r), &id)| (&x.image, r, x.depth(), Ctx::new(seed, id)))
            .collect();
        policy::calibrate_table(
            p,
            &inputs,
            &levels,
            &SearchOptions {
                variant: v,
                max_evals_per_band: max_evals,
            },
        )
    })?;
    let d = PyDict::new(py);
    for (l, c) in table {
        d.set_item(l, c.strength.map(strength_value))?;
    }
    Ok(d)
}

/// SSIM of `b` against `a` (same shape), with the CLI's variants (`wang` equals scikit-image's
/// Gaussian SSIM, `skimage` its default).
#[pyfunction]
#[pyo3(signature = (a, b, variant="wang"))]
fn ssim(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    variant: &str,
) -> PyResult<f64> {
    let v = self::variant(variant)?;
    let pa = read_image(a, "a")?;
    let pb = read_image(b, "b")?;
    if pa.shape != pb.shape {
        return Err(PyValueError::new_err(format!(
            "b has shape {:?} but a has {:?}; SSIM compares images of one shape",
            pb.shape, pa.shape
        )));
    }
    compute(py, "ssim", || {
        medfm_robust::ssim::ssim(&pa.image, &pb.image, v)
    })
}

/// The band [lo, hi] of SSIM of a severity level.
#[pyfunction]
fn band(level: u8) -> PyResult<(f64, f64)> {
    check_levels(&[level])?;
    let b = level_band(level).map_err(|e| py_err("band", e))?;
    Ok((b.lo, b.hi))
}

/// The CLI's RNG image id of a path relative to the input root (`image_id` in its manifest).
#[pyfunction]
fn image_id(relative_path: &str) -> u32 {
    medfm_robust::io::image_id(std::path::Path::new(relative_path))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(catalogue_json, m)?)?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(apply_batch, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate_table, m)?)?;
    m.add_function(wrap_pyfunction!(produce, m)?)?;
    m.add_function(wrap_pyfunction!(ssim, m)?)?;
    m.add_function(wrap_pyfunction!(band, m)?)?;
    m.add_function(wrap_pyfunction!(image_id, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
