//! NIfTI reading against nibabel (tests/fixtures/nifti/expected.json from
//! tools/gen_nifti_fixtures.py): scaled values exactly, the affine within f32 rounding; slices
//! written back keep datatype and scaling and sit at their place in scanner space.

use medfm_robust::io::{self, nifti};
use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nifti")
}

fn open(name: &str) -> medfm_robust::Result<nifti::NiftiSource> {
    let p = dir().join(name);
    nifti::open(&std::fs::read(&p).unwrap(), &p)
}

#[test]
fn volumes_read_as_nibabel_reads_them() {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    let files = v["files"].as_object().unwrap();
    assert_eq!(files.len(), 3);
    for (name, e) in files {
        let src = open(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(src.dims[..], shape[..3], "{name}");
        let mut h = sha2::Sha256::new();
        for x in &src.values {
            h.update(x.to_le_bytes());
        }
        let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, e["sha256_f64le"].as_str().unwrap(), "{name}: values");
        let a = src.affine();
        for (r, row) in a.iter().enumerate() {
            for (c, x) in row.iter().enumerate() {
                let want = e["affine"][r][c].as_f64().unwrap();
                assert!(
                    (x - want).abs() < 1e-4,
                    "{name}: affine[{r}][{c}] {x} vs {want}"
                );
            }
        }
    }
}

#[test]
fn the_working_scale_is_fixed_per_volume() {
    let src = open("int16_scaled.nii").unwrap();
    let (lo, hi) = src
        .values
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((src.scale.lo, src.scale.hi), (lo, hi));
    // cal_min / cal_max set: that window (the MSD fixtures are written with -1024..3071).
    let ct = open("msd/imagesTr/case_001.nii.gz").unwrap();
    assert_eq!((ct.scale.lo, ct.scale.hi), (-1024.0, 3071.0));
    let p = dir().join("int16_scaled.nii");
    let s2 = src.image(2, &p).unwrap();
    assert_eq!((s2.width, s2.height, s2.channels), (40, 32, 1));
    let plane = &src.values[2 * 40 * 32..3 * 40 * 32];
    for (i, v) in plane.iter().enumerate().step_by(37) {
        assert!((s2.data[i] - ((v - lo) / (hi - lo)) as f32).abs() < 1e-6);
    }
    let e = src.image(5, &p).unwrap_err().to_string();
    assert!(
        e.contains("slice 5") && e.contains("int16_scaled.nii"),
        "{e}"
    );
}

#[test]
fn a_written_slice_keeps_datatype_scaling_and_place() {
    for name in ["int16_scaled.nii", "float_4d.nii.gz", "uint8_be.nii"] {
        let src = open(name).unwrap();
        let p = dir().join(name);
        let k = 2;
        let mut img = src.image(k, &p).unwrap();
        for v in img.data.iter_mut().step_by(3) {
            *v = (*v * 0.9).clamp(0.0, 1.0);
        }
        let gz = name.ends_with(".gz");
        let bytes = nifti::write_slice(&src, &img, k, "test", gz).unwrap();
        let back = nifti::open(&bytes, Path::new("back.nii")).unwrap();
        assert_eq!(back.dims, [src.dims[0], src.dims[1], 1], "{name}");
        assert_eq!(back.datatype, src.datatype);
        assert_eq!((back.slope, back.inter), (src.slope, src.inter));
        // Values: what as_written promises (the reader's scale is the written file's own range,
        // so compare physical values).
        let want = src.as_written(&img);
        for (i, v) in back.values.iter().enumerate() {
            let p = src.scale.to_physical(want.data[i]);
            assert!(
                (v - p).abs() <= 1e-3 * p.abs().max(1.0),
                "{name} voxel {i}: {v} vs {p}"
            );
        }
        let (a, b) = (src.affine(), back.affine());
        for r in 0..3 {
            for c in 0..3 {
                assert!((a[r][c] - b[r][c]).abs() < 1e-5);
            }
            let origin = a[r][3] + k as f64 * a[r][2];
            assert!((b[r][3] - origin).abs() < 1e-3, "{name}: origin row {r}");
        }
        assert_eq!(
            bytes,
            nifti::write_slice(&src, &img, k, "test", gz).unwrap(),
            "deterministic"
        );
    }
}

#[test]
fn bad_nifti_inputs_are_named_errors() {
    let e = open("bad_header_size.nii").unwrap_err().to_string();
    assert!(
        e.contains("bad_header_size.nii") && e.contains("wrong header size"),
        "{e}"
    );
    let e = open("cut.nii.gz").unwrap_err().to_string();
    assert!(e.contains("cut.nii.gz") && e.contains("cut short"), "{e}");
    // Through the one reader: the named error, not a PNG decoder's.
    let e = io::read_image(&dir().join("bad_header_size.nii"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("NIfTI"), "{e}");
}

#[test]
fn slices_expand_volumes_into_items() {
    let items = io::list_inputs(&dir().join("msd/imagesTr"), None, None)
        .unwrap()
        .all();
    assert_eq!(items.len(), 2);
    let all = io::slices::expand(items.clone(), io::slices::Slices::All);
    assert_eq!(all.len(), 8);
    assert_eq!(all[1].frame, Some(1));
    assert_eq!(io::rel_string(&all[1].relative), "case_001.f0001.nii.gz");
    let mid = io::slices::expand(items, io::slices::Slices::Mid);
    assert_eq!(
        mid.iter().map(|i| i.frame).collect::<Vec<_>>(),
        [Some(2), Some(2)]
    );
}

/// A volume of `d` identical slices (a smooth pattern with a bright block).
fn same_slices(w: usize, h: usize, d: usize) -> medfm_robust::Image {
    let mut plane = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let inside = (w / 4..w / 2).contains(&x) && (h / 3..2 * h / 3).contains(&y);
            plane[y * w + x] =
                0.3 + 0.2 * ((x as f32 / 5.0).sin()) + if inside { 0.4 } else { 0.0 };
        }
    }
    medfm_robust::Image::from_planes(w, h, d, plane.repeat(d))
}

#[test]
fn volume_forms_draw_per_slice_or_once_or_volumetrically() {
    use medfm_robust::perturb::{registry, volume, Ctx, Perturbation};
    let vol = same_slices(48, 40, 3);
    let ctx = Ctx::new(3, 77);
    let run = |id: &str, s: f32| {
        let v = volume::Volume {
            inner: registry::by_id(id).unwrap(),
        };
        v.prepare(&vol, &ctx).unwrap().apply(s)
    };
    // Per slice: each slice its own noise.
    let n = run("gaussian_noise", 0.1);
    assert_ne!(n.plane(0), n.plane(1));
    // One acquisition: identical slices stay identical (same ghost spacing, same motion).
    for id in ["mri_ghosting", "mri_motion"] {
        let g = run(id, 0.6);
        assert_ne!(g.plane(0), vol.plane(0), "{id} changed the image");
        assert_eq!(g.plane(0), g.plane(2), "{id}");
    }
    // Own: a 3-D field that varies along z; with one slice it is the 2-D op.
    let b = run("mri_bias_field", 1.0);
    assert_ne!(b.plane(0), b.plane(2));
    let one = same_slices(48, 40, 1);
    let p = registry::by_id("mri_bias_field").unwrap();
    let v1 = volume::Volume { inner: p }
        .prepare(&one, &ctx)
        .unwrap()
        .apply(1.0);
    let flat = p.prepare(&one, &ctx).unwrap().apply(1.0);
    for (a, b) in v1.data.iter().zip(&flat.data) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn a_volume_ssim_is_the_mean_of_its_slices() {
    use medfm_robust::ssim::{ssim, SsimVariant};
    let a = same_slices(40, 36, 3);
    let mut b = a.clone();
    for (i, v) in b.data.iter_mut().enumerate() {
        *v = (*v + 0.05 * ((i * 7919 % 13) as f32 / 13.0 - 0.5) * (1 + i / (40 * 36)) as f32)
            .clamp(0.0, 1.0);
    }
    let whole = ssim(&a, &b, SsimVariant::Wang).unwrap();
    let slices: f64 = (0..3)
        .map(|k| {
            let s = |x: &medfm_robust::Image| medfm_robust::perturb::volume::slice(x, k);
            ssim(&s(&a), &s(&b), SsimVariant::Wang).unwrap()
        })
        .sum::<f64>()
        / 3.0;
    assert!((whole - slices).abs() < 1e-12, "{whole} vs {slices}");
}

#[test]
fn a_written_volume_keeps_shape_datatype_and_affine() {
    let src = open("float_4d.nii.gz").unwrap();
    let mut img = src.volume_image();
    for v in img.data.iter_mut().step_by(5) {
        *v *= 0.5;
    }
    let bytes = nifti::write_volume(&src, &img, "t", true).unwrap();
    let back = nifti::open(&bytes, Path::new("v.nii.gz")).unwrap();
    assert_eq!(back.dims, src.dims);
    assert_eq!(back.datatype, src.datatype);
    assert_eq!(back.affine(), src.affine());
    let want = src.as_written(&img);
    for (i, v) in back.values.iter().enumerate() {
        let p = src.scale.to_physical(want.data[i]);
        assert!((v - p).abs() <= 1e-3 * p.abs().max(1.0));
    }
}
