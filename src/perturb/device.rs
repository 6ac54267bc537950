//! Each perturbation's device implementation, owned by its registry entry ([`super::Info::device`]),
//! as candle attaches a kernel to its op type: which kernel of kernels/ computes it, which launch
//! wrapper of src/backend/cuda/ packs its arguments and prepares it for a batch, the op selector
//! the kernel switches on, and whether the on-GPU strength search runs it; or why it has none.
//!
//! This is the only catalogue of the GPU side: every list of ids there (the search's ids, the
//! family wrappers' members, the benches and the parity cases) is derived from it by the functions
//! below. It is plain data, compiled without the `cuda` feature too, so tests/device_catalogue.rs
//! checks it against kernels/*.cu on machines without a GPU (every symbol is a kernel of its
//! module, every op selector is the header's value).

use super::registry;

/// How a perturbation runs on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// A kernel of kernels/.
    Kernel(Kernel),
    /// No device implementation; the reason is shown where the GPU engine falls back to the CPU.
    CpuOnly(&'static str),
}

/// A perturbation's kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// The launch wrapper (src/backend/cuda/) that prepares and launches it; its kernels live in
    /// kernels/`family.module()`.cu.
    pub family: Family,
    /// The op's `extern "C" __global__` function in that module (the last one of its launches
    /// where it takes several, e.g. blur_cols after blur_rows).
    pub symbol: &'static str,
    /// The op selector of kernels shared by a family (`#define name value` in kernels/*.cuh).
    pub op: Option<Op>,
    /// Whether the on-GPU strength search (kernels/search.cu) calibrates it.
    pub search: bool,
}

/// An op selector: the `#define` of kernels/*.cuh and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub define: &'static str,
    pub value: u32,
}

/// The launch wrappers of src/backend/cuda/, one per way of packing a kernel's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// noise.rs: pointwise with the RNG key (contrast: the clean channel means).
    Noise,
    /// pixelate.rs: block means from the device strength.
    Pixelate,
    /// blur.rs: taps built on the device, separable rows then columns.
    GaussianBlur,
    /// motion_blur.rs: line taps built on the device.
    MotionBlur,
    /// geometric.rs: affine maps built on the device, bilinear warp.
    Warp,
    /// jpeg.rs: the codec round trip, quality from the device strength.
    Jpeg,
    /// ct.rs: pointwise with a prepared per-image field and parameter.
    Ct,
    /// ct.rs: ct_metal_streaks' streak field, prepared from the image.
    CtMetalStreaks,
    /// mri.rs: exp of a prepared log field.
    MriBiasField,
    /// mri.rs: prepared ghost field.
    MriGhosting,
    /// mri_motion.rs: per-segment warps mixed in k-space order.
    MriMotion,
    /// us.rs: prepared shadow cones.
    UsShadow,
    /// us.rs: prepared echo list.
    UsReverberation,
    /// oct.rs: prepared segment lists, fields or prefix scratch.
    Oct,
    /// xray.rs: pointwise with a prepared field.
    Xray,
    /// dermoscopy.rs: closed form, nothing prepared.
    DermClosedForm,
    /// dermoscopy.rs: prepared glare field or hair list.
    DermPrepared,
    /// endoscopy.rs over object_prep.rs: prepared object lists and sprites.
    Endoscopy,
    /// pathology.rs over object_prep.rs: prepared object lists and sprites.
    Pathology,
}

impl Family {
    /// kernels/`module`.cu holds the family's kernels.
    pub fn module(self) -> &'static str {
        match self {
            Family::Noise => "noise",
            Family::Pixelate => "pixelate",
            Family::GaussianBlur => "blur",
            Family::MotionBlur => "motion_blur",
            Family::Warp => "geometric",
            Family::Jpeg => "jpeg",
            Family::Ct | Family::CtMetalStreaks => "ct",
            Family::MriBiasField | Family::MriGhosting => "mri",
            Family::MriMotion => "mri_motion",
            Family::UsShadow | Family::UsReverberation => "us",
            Family::Oct => "oct",
            Family::Xray => "xray",
            Family::DermClosedForm | Family::DermPrepared => "dermoscopy",
            Family::Endoscopy => "endoscopy",
            Family::Pathology => "pathology",
        }
    }
}

impl Device {
    /// A kernel that the on-GPU search calibrates.
    pub const fn search(family: Family, symbol: &'static str) -> Device {
        Device::Kernel(Kernel {
            family,
            symbol,
            op: None,
            search: true,
        })
    }

    /// A shared kernel selected by op `define` = `value`, calibrated by the on-GPU search.
    pub const fn search_op(
        family: Family,
        symbol: &'static str,
        define: &'static str,
        value: u32,
    ) -> Device {
        Device::Kernel(Kernel {
            family,
            symbol,
            op: Some(Op { define, value }),
            search: true,
        })
    }

    pub fn kernel(&self) -> Option<&Kernel> {
        match self {
            Device::Kernel(k) => Some(k),
            Device::CpuOnly(_) => None,
        }
    }
}

/// The kernel entry of registered perturbation `id`, if it has one.
pub fn kernel_of(id: &str) -> Option<(&'static str, Kernel)> {
    let p = registry::by_id(id).ok()?;
    let k = *p.info().device.kernel()?;
    Some((p.id(), k))
}

/// The ids whose kernel the on-GPU search calibrates, in registry order.
pub fn search_ids() -> Vec<&'static str> {
    registry::all()
        .iter()
        .filter(|p| p.info().device.kernel().is_some_and(|k| k.search))
        .map(|p| p.id())
        .collect()
}

/// The ids launched by `family`'s wrapper, in registry order.
pub fn family_ids(family: Family) -> Vec<&'static str> {
    registry::all()
        .iter()
        .filter(|p| p.info().device.kernel().is_some_and(|k| k.family == family))
        .map(|p| p.id())
        .collect()
}

/// The ids without a device implementation and why, in registry order.
pub fn cpu_only() -> Vec<(&'static str, &'static str)> {
    registry::all()
        .iter()
        .filter_map(|p| match p.info().device {
            Device::CpuOnly(why) => Some((p.id(), why)),
            Device::Kernel(_) => None,
        })
        .collect()
}
