//! numpy <-> the crate's planar f32 images on the fixed [0, 1] scale.
//!
//! In: an H x W or H x W x C (C = 1 or 3) array of uint8, uint16 or float32 (float32 already on
//! [0, 1]), C-contiguous or not, writeable or read-only. It is read once, through numpy's own
//! strides, straight into the planar f32 image the perturbations work on (u8 / 255, u16 / 65535,
//! exactly as the CLI reads PNG and TIFF): the array itself is never copied first.
//! Out: a new array of the input's shape and dtype, whose buffer is the Rust allocation handed
//! to numpy (no copy). Integer outputs are the quantised image the CLI writes.

use medfm_robust::image::{BitDepth, Image, Mask};
use medfm_robust::perturb::Prepared;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{
    dtype, IntoPyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    U8,
    U16,
    F32,
}

/// An image read from numpy, with what is needed to give it back in kind.
pub struct Pixels {
    pub image: Image,
    pub kind: Kind,
    pub shape: Vec<usize>,
}

impl Pixels {
    /// The bit depth outputs are quantised to (float32: 16 bits for the SSIM search only; the
    /// float32 output itself is not quantised).
    pub fn depth(&self) -> BitDepth {
        match self.kind {
            Kind::U8 => BitDepth::U8,
            Kind::U16 | Kind::F32 => BitDepth::U16,
        }
    }
    pub fn is_float(&self) -> bool {
        self.kind == Kind::F32
    }
    /// The perturbed image as it is returned: quantised for integer dtypes (bit for bit what
    /// the CLI writes), unquantised for float32; uint8 takes the 8-bit path
    /// (`Prepared::apply_u8`: the same codes, no f32 output image).
    pub fn finish(&self, prepared: &dyn Prepared, strength: f32) -> Finished {
        match self.kind {
            Kind::F32 => Finished::Image(prepared.apply(strength)),
            Kind::U8 => {
                let mut codes = vec![0u8; self.image.data.len()];
                prepared.apply_u8(strength, &mut codes);
                Finished::Codes(codes)
            }
            Kind::U16 => Finished::Image(prepared.apply_quantised(strength, self.depth())),
        }
    }
}

/// A perturbed image ready to hand back: the f32 image, or (uint8 input) its planar 8-bit codes.
pub enum Finished {
    Image(Image),
    Codes(Vec<u8>),
}

fn as_array<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    arg: &str,
) -> PyResult<&'a Bound<'py, PyUntypedArray>> {
    obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg}: expected a numpy array, got {}; pass np.asarray(...) (a CPU torch tensor: tensor.numpy())",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
        ))
    })
}

/// Read an image argument (module docs).
pub fn read_image(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Pixels> {
    let py = obj.py();
    let arr = as_array(obj, arg)?;
    let shape = arr.shape().to_vec();
    let (h, w, c) = match shape.as_slice() {
        [h, w] => (*h, *w, 1),
        [h, w, c] if *c == 1 || *c == 3 => (*h, *w, *c),
        _ => {
            return Err(PyValueError::new_err(format!(
                "{arg}: shape {shape:?} is not H x W or H x W x C with C = 1 or 3; give one image (apply_batch takes many)"
            )))
        }
    };
    if h == 0 || w == 0 {
        return Err(PyValueError::new_err(format!(
            "{arg}: the image is empty ({shape:?})"
        )));
    }
    let mut image = Image::new(w, h, c);
    let plane = w * h;
    let dt = arr.dtype();
    let kind = if dt.is_equiv_to(&dtype::<u8>(py)) {
        fill(
            obj.cast::<PyArrayDyn<u8>>()?,
            &mut image.data,
            plane,
            c,
            |v| v as f32 / 255.0,
        );
        Kind::U8
    } else if dt.is_equiv_to(&dtype::<u16>(py)) {
        fill(
            obj.cast::<PyArrayDyn<u16>>()?,
            &mut image.data,
            plane,
            c,
            |v| v as f32 / 65535.0,
        );
        Kind::U16
    } else if dt.is_equiv_to(&dtype::<f32>(py)) {
        fill(
            obj.cast::<PyArrayDyn<f32>>()?,
            &mut image.data,
            plane,
            c,
            |v| v,
        );
        if let Some(bad) = image.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(PyValueError::new_err(format!(
                "{arg}: float32 images are on the [0, 1] scale, found {bad}; scale it first (e.g. image / 255)"
            )));
        }
        Kind::F32
    } else {
        return Err(PyTypeError::new_err(format!(
            "{arg}: dtype {} is not supported; use uint8, uint16 or float32 on [0, 1] (e.g. image.astype(np.float32) / 255)",
            dt.str().map(|s| s.to_string()).unwrap_or_else(|_| "?".into())
        )));
    };
    Ok(Pixels { image, kind, shape })
}

/// numpy's logical (row-major) order is H, W, C: element i is pixel i / C, channel i % C. A
/// C-contiguous array is read as one slice, pixel by pixel; any other layout through its
/// strides in logical order (same values).
fn fill<T: numpy::Element + Copy>(
    arr: &Bound<'_, PyArrayDyn<T>>,
    data: &mut [f32],
    plane: usize,
    channels: usize,
    conv: impl Fn(T) -> f32,
) {
    let ro = arr.readonly();
    if let Ok(src) = ro.as_slice() {
        deinterleave(src, data, plane, channels, conv);
        return;
    }
    let view = ro.as_array();
    for (i, &v) in view.iter().enumerate() {
        data[(i % channels) * plane + i / channels] = conv(v);
    }
}

fn deinterleave<T: Copy>(
    src: &[T],
    data: &mut [f32],
    plane: usize,
    channels: usize,
    conv: impl Fn(T) -> f32,
) {
    if channels == 1 {
        for (d, &v) in data.iter_mut().zip(src) {
            *d = conv(v);
        }
        return;
    }
    let (r, rest) = data.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (((px, r), g), b) in src.chunks_exact(3).zip(r).zip(g).zip(b) {
        *r = conv(px[0]);
        *g = conv(px[1]);
        *b = conv(px[2]);
    }
}

/// The planar image interleaved back (H, W, C order), each value through `conv`.
fn interleave<T: Copy + Default>(img: &Image, conv: impl Fn(f32) -> T) -> Vec<T> {
    interleave_planes(&img.data, img.plane_len(), img.channels, conv)
}

/// Planar samples (`channels` planes of `plane` samples) interleaved (H, W, C order).
fn interleave_planes<S: Copy, T: Copy + Default>(
    data: &[S],
    plane: usize,
    channels: usize,
    conv: impl Fn(S) -> T,
) -> Vec<T> {
    let mut out = vec![T::default(); data.len()];
    if channels == 1 {
        for (o, &v) in out.iter_mut().zip(data) {
            *o = conv(v);
        }
        return out;
    }
    let (r, rest) = data.split_at(plane);
    let (g, b) = rest.split_at(plane);
    for (((px, &r), &g), &b) in out.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
        px[0] = conv(r);
        px[1] = conv(g);
        px[2] = conv(b);
    }
    out
}

/// A new array of `like`'s shape and dtype holding a perturbed image.
pub fn write_finished<'py>(
    py: Python<'py>,
    out: &Finished,
    like: &Pixels,
) -> PyResult<Bound<'py, PyAny>> {
    match out {
        Finished::Image(img) => write_image(py, img, like),
        Finished::Codes(codes) => {
            let plane = like.image.plane_len();
            let v = interleave_planes(codes, plane, like.image.channels, |k| k);
            ArrayD::from_shape_vec(IxDyn(&like.shape), v)
                .map_err(|e| PyValueError::new_err(format!("output shape: {e}")))
                .map(|a| a.into_pyarray(py).into_any())
        }
    }
}

/// A new array of `like`'s shape and dtype holding `img`.
pub fn write_image<'py>(
    py: Python<'py>,
    img: &Image,
    like: &Pixels,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = IxDyn(&like.shape);
    let bad = |e: numpy::ndarray::ShapeError| PyValueError::new_err(format!("output shape: {e}"));
    Ok(match like.kind {
        Kind::U8 => {
            // `img` is quantised (k / 255 exactly): + 0.5 and truncation is the CLI's rounding
            // here, without a libm call per sample.
            let v = interleave(img, |x| (x.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            ArrayD::from_shape_vec(shape, v)
                .map_err(bad)?
                .into_pyarray(py)
                .into_any()
        }
        Kind::U16 => {
            let v = interleave(img, |x| (x.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16);
            ArrayD::from_shape_vec(shape, v)
                .map_err(bad)?
                .into_pyarray(py)
                .into_any()
        }
        Kind::F32 => {
            let v = interleave(img, |x| x);
            ArrayD::from_shape_vec(shape, v)
                .map_err(bad)?
                .into_pyarray(py)
                .into_any()
        }
    })
}

/// How a mask came in: bool, or uint8 with the value that meant "set" (1 or 255, ...).
#[derive(Clone, Copy, Debug)]
pub enum MaskKind {
    Bool,
    U8(u8),
}

/// Read an H x W mask (bool, or uint8 where non-zero is set) of `image`'s size.
pub fn read_mask(obj: &Bound<'_, PyAny>, arg: &str, image: &Pixels) -> PyResult<(Mask, MaskKind)> {
    let py = obj.py();
    let arr = as_array(obj, arg)?;
    let (h, w) = (image.image.height, image.image.width);
    if arr.shape() != [h, w] {
        return Err(PyValueError::new_err(format!(
            "{arg}: shape {:?} but the image is {h} x {w}; give an H x W mask of the image's size",
            arr.shape()
        )));
    }
    let mut m = Mask::new(w, h);
    let dt = arr.dtype();
    let kind = if dt.is_equiv_to(&dtype::<bool>(py)) {
        let ro = obj.cast::<PyArrayDyn<bool>>()?.readonly();
        for (d, &v) in m.data.iter_mut().zip(ro.as_array().iter()) {
            *d = u8::from(v);
        }
        MaskKind::Bool
    } else if dt.is_equiv_to(&dtype::<u8>(py)) {
        let ro = obj.cast::<PyArrayDyn<u8>>()?.readonly();
        let mut on = 0u8;
        for (d, &v) in m.data.iter_mut().zip(ro.as_array().iter()) {
            *d = u8::from(v != 0);
            on = on.max(v);
        }
        MaskKind::U8(on.max(1))
    } else {
        return Err(PyTypeError::new_err(format!(
            "{arg}: dtype {} is not a mask dtype; use bool or uint8 (non-zero = set)",
            dt.str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "?".into())
        )));
    };
    Ok((m, kind))
}

/// A mask back in the dtype it came in.
pub fn write_mask<'py>(py: Python<'py>, m: &Mask, kind: MaskKind) -> PyResult<Bound<'py, PyAny>> {
    let shape = IxDyn(&[m.height, m.width]);
    let bad = |e: numpy::ndarray::ShapeError| PyValueError::new_err(format!("mask shape: {e}"));
    Ok(match kind {
        MaskKind::Bool => {
            let v: Vec<bool> = m.data.iter().map(|&d| d != 0).collect();
            ArrayD::from_shape_vec(shape, v)
                .map_err(bad)?
                .into_pyarray(py)
                .into_any()
        }
        MaskKind::U8(on) => {
            let v: Vec<u8> = m
                .data
                .iter()
                .map(|&d| if d != 0 { on } else { 0 })
                .collect();
            ArrayD::from_shape_vec(shape, v)
                .map_err(bad)?
                .into_pyarray(py)
                .into_any()
        }
    })
}
