//! `mri_motion`: rigid patient motion during a segmented acquisition, as torchio `Motion` /
//! `RandomMotion` model it (Shaw et al. 2019): k-space is filled along the phase-encode axis
//! (rows of k-space, ky) in time order; the object moves (rotation + translation) between time
//! segments, so each segment of k-space lines comes from a differently positioned copy of the
//! object. The inverse transform of that composite spectrum shows what MR motion shows: ghost
//! replicas and ringing along the phase-encode direction (y), not a blur.
//!
//! Model (2-D, per channel), the same steps as torchio 1.2.1 `Motion.add_artifact`:
//! 1. K = [`MOTION_MOVES`] motions j, each a rigid transform of the image grid about the centre
//!    c = (w/2, h/2) (torchio's `size / 2` in index coordinates): copy_j(p) = x(c + R(theta_j)
//!    (p - c) + t_j), bilinear, clamped to the edge within half a pixel of the image and the
//!    channel's minimum beyond (SimpleITK's linear interpolator and torchio's default value).
//!    (torchio 1.2.1 itself loses that centre and turns about the first voxel, see
//!    [`torchio_motion`]; we keep the centre it intends: patients rotate about the anatomy.)
//! 2. Times t_0 < ... < t_{K-1} in (0, 1) split the fftshift-ordered ky lines into K + 1
//!    segments at floor(h t_k); segment 0 .. K takes copy 0 .. K in time order, except that the
//!    segment holding the centre of k-space (the first whose end time is > 0.5) takes the
//!    unmoved image and the first segment the copy it displaced (torchio `sort_spectra`).
//! 3. out = Re(ifft2(composite)), computed as `x + Re ifft_y(sum_j P_j fft_y(copy_j - x))`: a
//!    row mask P_j of k-space commutes with the transform along x, so only column transforms
//!    are needed, and s = 0 is exactly x. Clipped to [0, 1].
//!
//! Randomness (rule 1): per seed, K unit motions u_j = (u_rot, u_x, u_y) in U(-1, 1)^3 and the
//! times t_k = (k + 1) / (K + 1) + U(-0.3, 0.3) / (K + 1) (torchio `RandomMotion.get_params`'s
//! perturbation 0.3), drawn before the strength is known.
//! Strength s (physical terms): the motion amplitude. Motion j rotates by s u_rot,j degrees and
//! translates by s (u_x,j, u_y,j) min(w, h) / 256 px, i.e. up to s degrees and s mm for a
//! 256 mm field of view at 1 mm pixels (torchio's defaults are 10 degrees, 10 mm). Range 0-20,
//! the amplitude of gross head motion in uncooperative (paediatric, stroke) patients; beyond it
//! the copies no longer overlap the anatomy. K = 8 (9 shots, the centre one unmoved, like a
//! segmented TSE / multi-shot acquisition): with torchio's default K = 2 the unmoved centre third
//! of k-space carries so much of a real image's energy that SSIM saturates near 0.70 (measured
//! on the real MR slices of assets/real/: 0.68-0.70 at s = 20 with K = 4 as well); with K = 8
//! the measured wang SSIM is 0.581 at s = 10 (MR_small), 0.591 at 18 (abdomen), 0.587 at 18
//! (nibabel anatomical), so L5 is in reach on all three (reach table: docs/perturbations.md).
//! Not monotone in s in the strict sense: a rotated copy can line up again with image structure,
//! so SSIM may rise slightly over a sweep; the allowed up-step is [`INFO`]'s monotone_tolerance.
//! Twins: kernels/mri_motion.cuh evaluates the same warp (`mfr_motion_sample`) and the same
//! column projection as a circular convolution with [`segment_kernel`] (src/backend/motion_pack.rs).
//! Oracle: tests/medical_ct_mri_us_xray.rs compares [`torchio_motion`] with torchio's
//! deterministic `tio.Motion` (tests/fixtures/torchio_motion.json, tools/gen_torchio_fixtures.py).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::map_pixels;
use crate::perturb::common::kspace::fft_columns;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};
use rustfft::num_complex::Complex64;

pub struct MriMotion;

/// Number of motions K (K + 1 k-space segments, one of them unmoved).
pub const MOTION_MOVES: usize = 8;

const INFO: Info = Info {
    id: "mri_motion",
    category: Category::Medical,
    modality: Some(Modality::Mri),
    model: "torchio Motion in 2-D: 8 rigid copies (rotation s u deg about the centre, shift s u px at 256 px, u fixed per image) fill time segments of the phase-encode (ky) lines, the centre segment unmoved; Re ifft2, clip",
    strength_name: "motion amplitude: max rotation (degrees) = max shift (px at 256 px, mm at 1 mm pixels)",
    strength_range: (0.0, 20.0),
    kind: StrengthKind::Warp,
    geometric: false,
    colour: Colour::Any,
    source: "torchio 1.2.1 Motion / RandomMotion (Shaw et al. 2019); k-space segments along the phase-encode axis",
    monotone_tolerance: 0.02,
    device: Device::search(Family::MriMotion, "mri_motion_mix"),
};

/// A rigid in-plane motion in index coordinates: the moved copy at pixel p samples the image at
/// `c + R(degrees) (p - c) + (tx, ty)`, c = (w/2, h/2), R the rotation x' = cos dx - sin dy,
/// y' = sin dx + cos dy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rigid {
    pub degrees: f64,
    pub tx: f64,
    pub ty: f64,
}

/// One k-space segment of a plan that holds a moved copy.
#[derive(Clone, Debug, PartialEq)]
pub struct MovedSegment {
    /// Its k-space rows (unshifted ky, numpy order), ascending.
    pub rows: Vec<u32>,
    /// The unit motion (u_rot, u_x, u_y) of its copy, scaled by the strength in [`motion_rigid`].
    pub unit: [f64; 3],
}

/// The strength-independent part of `mri_motion` for one image: what `prepare` computes and what
/// the CUDA wrapper packs (src/backend/motion_pack.rs), so both start from the same values.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionPlan {
    /// The times t_0 < ... < t_{K-1} of the motions (torchio `times`).
    pub times: Vec<f64>,
    /// The unit motions (u_rot, u_x, u_y) in time order (motion j is torchio's j-th copy).
    pub units: Vec<[f64; 3]>,
    /// The moved segments (the unmoved centre segment is left out: it contributes nothing).
    pub segments: Vec<MovedSegment>,
    /// Per channel: the value of samples beyond the image (the channel's minimum).
    pub fill: Vec<f32>,
}

/// The k-space segments of `h` phase-encode lines split at `times` (torchio `add_artifact`):
/// segment k holds the fftshift-ordered lines [floor(h t_{k-1}), floor(h t_k)) (t_{-1} = 0,
/// t_K = 1), as unshifted ky indices; and which copy fills it: `None` for the unmoved image,
/// `Some(j)` for motion j (torchio `sort_spectra`).
pub fn segment_rows(h: usize, times: &[f64]) -> Vec<(Vec<u32>, Option<usize>)> {
    let k = times.len();
    // copies in time order: 0 = unmoved, j + 1 = motion j; then swap the centre one in
    let mut copy: Vec<Option<usize>> = (0..=k).map(|i| i.checked_sub(1)).collect();
    let centre = times.iter().position(|&t| t > 0.5).unwrap_or(k);
    copy.swap(0, centre);
    let mut bounds: Vec<usize> = times
        .iter()
        .map(|&t| ((h as f64 * t).floor().max(0.0) as usize).min(h))
        .collect();
    bounds.push(h);
    let mut ini = 0usize;
    let mut out = Vec::with_capacity(k + 1);
    for (fin, c) in bounds.into_iter().zip(copy) {
        let fin = fin.max(ini);
        // shifted index i holds unshifted ky = (i - h/2) mod h (numpy fftshift)
        let mut rows: Vec<u32> = (ini..fin)
            .map(|i| ((i + h - h / 2) % h.max(1)) as u32)
            .collect();
        rows.sort_unstable();
        out.push((rows, c));
        ini = fin;
    }
    out
}

/// The plan of `img` under `ctx` (the CPU `prepare`'s own draws).
pub fn motion_plan(img: &Image, ctx: &Ctx) -> MotionPlan {
    let rng = ctx.rng(INFO.id);
    let k = MOTION_MOVES;
    let units: Vec<[f64; 3]> = (0..k)
        .map(|j| {
            let u = rng.object(0, j as u32, 3);
            [0, 1, 2].map(|i| 2.0 * u[i] as f64 - 1.0)
        })
        .collect();
    let step = 1.0 / (k + 1) as f64;
    let times: Vec<f64> = (0..k)
        .map(|j| (j + 1) as f64 * step + (2.0 * rng.uniform(1, j as u32) as f64 - 1.0) * 0.3 * step)
        .collect();
    let segments = segment_rows(img.height, &times)
        .into_iter()
        .filter_map(|(rows, c)| {
            c.map(|j| MovedSegment {
                rows,
                unit: units[j],
            })
        })
        .filter(|s| !s.rows.is_empty())
        .collect();
    let fill = img
        .planes()
        .map(|p| p.iter().copied().fold(f32::INFINITY, f32::min))
        .map(|m| if m.is_finite() { m } else { 0.0 })
        .collect();
    MotionPlan {
        times,
        units,
        segments,
        fill,
    }
}

/// The motion of a segment with unit motion `unit` at strength `s` on a `w x h` image (twin:
/// kernels/mri_motion.cuh `mfr_motion_rigid`).
pub fn motion_rigid(unit: [f64; 3], s: f32, w: usize, h: usize) -> Rigid {
    let s = s as f64;
    let px = s * w.min(h) as f64 / 256.0;
    Rigid {
        degrees: s * unit[0],
        tx: px * unit[1],
        ty: px * unit[2],
    }
}

/// cos and sin of a rigid motion's angle (twin: `mfr_motion_cos_sin`; glibc's cos / sin on the
/// host, the device's sincos on the GPU).
#[inline]
pub fn motion_cos_sin(r: &Rigid) -> (f64, f64) {
    let a = r.degrees * (std::f64::consts::PI / 180.0);
    (a.cos(), a.sin())
}

/// The rotation centre of the perturbation: (w/2, h/2), torchio's `size / 2` (twin:
/// kernels/mri_motion.cuh `mfr_motion_sample`).
pub fn motion_centre(w: usize, h: usize) -> (f64, f64) {
    (w as f64 / 2.0, h as f64 / 2.0)
}

/// Sample (x, y) of the moved copy of `plane` rotating about `(cx, cy)` (twin:
/// kernels/mri_motion.cuh `mfr_motion_sample`, the same f64 operations in the same order, with
/// the centre of [`motion_centre`]): bilinear at `c + R (p - c) + t`; within half a pixel of the
/// image the nearest edge pixel is used (SimpleITK's linear interpolator), beyond it `fill`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn motion_sample(
    plane: &[f32],
    w: usize,
    h: usize,
    fill: f32,
    (cos, sin): (f64, f64),
    r: &Rigid,
    (cx, cy): (f64, f64),
    x: usize,
    y: usize,
) -> f64 {
    let (dx, dy) = (x as f64 - cx, y as f64 - cy);
    let xs = cx + (cos * dx - sin * dy) + r.tx;
    let ys = cy + (sin * dx + cos * dy) + r.ty;
    if !(xs >= -0.5 && xs < w as f64 - 0.5 && ys >= -0.5 && ys < h as f64 - 0.5) {
        return fill as f64;
    }
    let (fx, fy) = (xs.floor().max(0.0), ys.floor().max(0.0));
    let (ax, ay) = ((xs - fx).max(0.0), (ys - fy).max(0.0));
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let v = |xx: usize, yy: usize| plane[yy * w + xx] as f64;
    let top = v(x0, y0) + (v(x1, y0) - v(x0, y0)) * ax;
    let bot = v(x0, y1) + (v(x1, y1) - v(x0, y1)) * ax;
    top + (bot - top) * ay
}

/// The real circular-convolution kernel along y of one segment's projection (what the GPU
/// applies): r[d] = (1 / h) sum_{ky in rows} cos(2 pi ((ky d) mod h) / h), so that
/// Re ifft_y(P fft_y(e))[y] = sum_y' r[(y - y') mod h] e[y'].
pub fn segment_kernel(rows: &[u32], h: usize) -> Vec<f64> {
    (0..h)
        .map(|d| {
            let mut acc = 0.0f64;
            for &k in rows {
                let idx = (k as u64 * d as u64) % h as u64;
                acc += (std::f64::consts::TAU * idx as f64 / h as f64).cos();
            }
            acc / h as f64
        })
        .collect()
}

/// `Re ifft_y(sum_j P_j fft_y(copy_j - x))` of one plane: the change the moved segments make
/// (f64, row-major, not clipped). `segments` pairs each segment's ky rows with its motion, whose
/// rotation turns about `centre`.
pub fn motion_delta(
    plane: &[f32],
    w: usize,
    h: usize,
    fill: f32,
    centre: (f64, f64),
    segments: &[(&[u32], Rigid)],
) -> Vec<f64> {
    let n = w * h;
    let mut acc = vec![Complex64::new(0.0, 0.0); n];
    let mut e = vec![Complex64::new(0.0, 0.0); n];
    for (rows, r) in segments {
        if rows.is_empty() {
            continue;
        }
        let cs = motion_cos_sin(r);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let m = motion_sample(plane, w, h, fill, cs, r, centre, x, y);
                e[i] = Complex64::new(m - plane[i] as f64, 0.0);
            }
        }
        fft_columns(&mut e, w, h, false);
        for &ky in rows.iter() {
            let o = ky as usize * w;
            acc[o..o + w].copy_from_slice(&e[o..o + w]);
        }
    }
    fft_columns(&mut acc, w, h, true);
    let k = 1.0 / h as f64;
    acc.iter().map(|z| z.re * k).collect()
}

/// torchio 1.2.1 `Motion` on one 2-D plane with explicit motions and times (no clipping): the
/// oracle form of the model. `motions[j]` is the motion of the j-th copy in time order; rotations
/// turn about `centre`. Note: torchio 1.2.1 sets the centre of its Euler transforms to the image
/// centre, but `get_rigid_transforms` rebuilds each transform from (rotation matrix,
/// `GetTranslation()`), which drops the centre, so its rotations actually turn about the first
/// voxel, index (0, 0): the fixture test passes (0, 0) to match it; the perturbation uses the
/// centre torchio intends ([`motion_centre`]).
pub fn torchio_motion(
    plane: &[f32],
    w: usize,
    h: usize,
    motions: &[Rigid],
    times: &[f64],
    centre: (f64, f64),
) -> Vec<f64> {
    assert_eq!(motions.len(), times.len(), "one time per motion");
    let fill = plane.iter().copied().fold(f32::INFINITY, f32::min);
    let segs = segment_rows(h, times);
    let moved: Vec<(&[u32], Rigid)> = segs
        .iter()
        .filter_map(|(rows, c)| c.map(|j| (rows.as_slice(), motions[j])))
        .collect();
    let d = motion_delta(plane, w, h, fill, centre, &moved);
    plane.iter().zip(d).map(|(&v, d)| v as f64 + d).collect()
}

struct Prep<'a> {
    img: &'a Image,
    plan: MotionPlan,
}

impl Perturbation for MriMotion {
    /// On a volume: one acquisition, the same draws for every slice (src/perturb/volume.rs).
    fn volume_form(&self) -> crate::perturb::VolumeForm {
        crate::perturb::VolumeForm::OneAcquisition
    }

    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            plan: motion_plan(img, ctx),
        }))
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let (w, h) = (self.img.width, self.img.height);
        let segs: Vec<(&[u32], Rigid)> = self
            .plan
            .segments
            .iter()
            .map(|sg| (sg.rows.as_slice(), motion_rigid(sg.unit, s, w, h)))
            .collect();
        let mut out = self.img.clone();
        for (c, plane) in out.planes_mut().enumerate() {
            let d = motion_delta(plane, w, h, self.plan.fill[c], motion_centre(w, h), &segs);
            for (v, dv) in plane.iter_mut().zip(&d) {
                *v += *dv as f32;
            }
        }
        map_pixels(&out, |_, v| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments partition the ky lines; exactly one (the one holding ky = 0) is unmoved.
    #[test]
    fn segments_partition_k_space() {
        for &h in &[1usize, 2, 7, 11, 64] {
            let times = [0.18, 0.43, 0.61, 0.79];
            let segs = segment_rows(h, &times);
            let mut all: Vec<u32> = segs.iter().flat_map(|(r, _)| r.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..h as u32).collect::<Vec<_>>(), "h = {h}");
            let unmoved: Vec<_> = segs.iter().filter(|(_, c)| c.is_none()).collect();
            assert_eq!(unmoved.len(), 1);
            // torchio's floor(h t) boundaries can leave the centre segment empty on tiny images
            if h >= 7 {
                assert!(unmoved[0].0.contains(&0), "h = {h}: ky = 0 unmoved");
            }
        }
        // torchio sort_spectra: the first segment takes the copy the centre segment displaced
        let segs = segment_rows(10, &[0.2, 0.4, 0.6, 0.8]);
        let copies: Vec<_> = segs.iter().map(|(_, c)| *c).collect();
        assert_eq!(copies, vec![Some(1), Some(0), None, Some(2), Some(3)]);
    }

    /// The GPU's convolution kernels reproduce the FFT projection.
    #[test]
    fn segment_kernel_is_the_projection() {
        let (w, h) = (3usize, 9usize);
        let e: Vec<f64> = (0..w * h)
            .map(|i| ((i * 37) % 11) as f64 / 10.0 - 0.4)
            .collect();
        let rows = [1u32, 2, 7];
        let mut z: Vec<Complex64> = e.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        fft_columns(&mut z, w, h, false);
        let mut m = vec![Complex64::new(0.0, 0.0); w * h];
        for &k in &rows {
            for x in 0..w {
                m[k as usize * w + x] = z[k as usize * w + x];
            }
        }
        fft_columns(&mut m, w, h, true);
        let r = segment_kernel(&rows, h);
        for y in 0..h {
            for x in 0..w {
                let direct: f64 = (0..h).map(|yp| r[(y + h - yp) % h] * e[yp * w + x]).sum();
                assert!((direct - m[y * w + x].re / h as f64).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn zero_strength_is_the_input_and_plan_is_complete() {
        let mut img = Image::new(6, 5, 2);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = ((i * 7) % 5) as f32 / 4.0;
        }
        let p = MriMotion.prepare(&img, &Ctx::new(0, 0)).unwrap();
        assert_eq!(p.apply(0.0).data, img.data);
        let mut img = Image::new(6, 40, 2);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = ((i * 7) % 5) as f32 / 4.0;
        }
        let plan = motion_plan(&img, &Ctx::new(0, 0));
        assert_eq!(plan.fill, vec![0.0, 0.0]);
        let moved: usize = plan.segments.iter().map(|s| s.rows.len()).sum();
        assert!(moved > 0 && moved < img.height);
    }
}
