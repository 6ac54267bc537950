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
