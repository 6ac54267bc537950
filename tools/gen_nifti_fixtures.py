#!/usr/bin/env python3
"""NIfTI fixtures made with nibabel, written to tests/fixtures/nifti/, and the values and affines
nibabel reads from them (expected.json). tests/nifti_io.rs checks medfm-robust reads the same.

Pinned versions (also in tools/requirements-fixtures.txt):
    nibabel==5.4.2  numpy==2.4.6

Run from the repository root with a venv holding those pins:
    python tools/gen_nifti_fixtures.py

Files:
- int16_scaled.nii: 40x32x5 int16, scl_slope 2, scl_inter -100, an oblique sform (rotation about
  z, 0.8 x 0.9 x 2.5 mm voxels) and the same qform;
- float_4d.nii.gz: 24x20x3x2 float32 (gzip); the first volume is what is read;
- uint8_be.nii: 16x12x4 uint8, big endian;
- bad_header_size.nii: sizeof_hdr 300; cut.nii.gz: a gzip stream cut in the voxels;
- msd/imagesTr/case_00{1,2}.nii.gz + msd/labelsTr/...: a Medical Segmentation Decathlon layout,
  48x48x4 int16 CT-like volumes (HU: body -> 40, lesion -> 120) with 0/1/2 label volumes;
- brats/BraTS2021_0000{1,2}/<case>_{flair,t1,t1ce,t2,seg}.nii.gz: BraTS 2021 case folders,
  40x40x3 int16 MR-like sequences and a 0/1/2/4 label.
expected.json: per file: shape (nibabel's), affine (4x4), and sha256 of the first volume's
scaled values (get_fdata of volume 0, float64 little endian, Fortran order: x fastest).
"""
import gzip
import hashlib
import json
import os

import nibabel as nib
import numpy as np

EXPECTED = {"nibabel": "5.4.2", "numpy": "2.4.6"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nifti")


def check_versions():
    got = {"nibabel": nib.__version__, "numpy": np.__version__}
    if got != EXPECTED:
        raise SystemExit(f"version mismatch: expected {EXPECTED}, found {got}")


def oblique(dx, dy, dz, angle, origin):
    c, s = np.cos(angle), np.sin(angle)
    a = np.eye(4)
    a[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([dx, dy, dz])
    a[:3, 3] = origin
    return a


def phantom(nx, ny, nz, rng):
    x, y = np.mgrid[0:nx, 0:ny].astype(np.float64)
    vol = np.zeros((nx, ny, nz))
    for k in range(nz):
        r = np.hypot(x - nx / 2, y - ny / 2)
        vol[:, :, k] = np.where(r < nx * 0.4, 40.0, -1000.0) + 20 * np.sin(x / 3 + k) + rng.normal(0, 5, (nx, ny))
        vol[:, :, k] += np.where(np.hypot(x - nx / 2 - 4, y - ny / 2 + 3) < 4 + k % 2, 80.0, 0.0)
    return vol


def entry(path):
    img = nib.load(path)
    data = np.asarray(img.dataobj, dtype=np.float64) * 1.0
    data = img.get_fdata(dtype=np.float64)
    if data.ndim > 3:
        data = data[..., 0]
    return {
        "shape": list(img.shape),
        "affine": img.affine.tolist(),
        "sha256_f64le": hashlib.sha256(np.asarray(data, dtype="<f8").tobytes(order="F")).hexdigest(),
        "min": float(data.min()),
        "max": float(data.max()),
    }


def main():
    check_versions()
    rng = np.random.default_rng(7)
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    aff = oblique(0.8, 0.9, 2.5, 0.3, [-20.0, 15.0, 7.5])
    raw = np.round(rng.uniform(-500, 800, (40, 32, 5))).astype(np.int16)
    img = nib.Nifti1Image(raw, aff)
    img.header.set_slope_inter(2.0, -100.0)
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=2)
    p = os.path.join(OUT, "int16_scaled.nii")
    nib.save(img, p)
    expected["int16_scaled.nii"] = entry(p)

    vol = rng.normal(300, 80, (24, 20, 3, 2)).astype(np.float32)
    img = nib.Nifti1Image(vol, oblique(1.0, 1.0, 3.0, 0.0, [1.0, 2.0, 3.0]))
    p = os.path.join(OUT, "float_4d.nii.gz")
    nib.save(img, p)
    expected["float_4d.nii.gz"] = entry(p)

    u8 = rng.integers(0, 256, (16, 12, 4)).astype(">u1")
    hdr = nib.Nifti1Header(endianness=">")
    img = nib.Nifti1Image(u8, np.diag([2.0, 2.0, 4.0, 1.0]), header=hdr)
    p = os.path.join(OUT, "uint8_be.nii")
    nib.save(img, p)
    expected["uint8_be.nii"] = entry(p)

    b = bytearray(open(os.path.join(OUT, "uint8_be.nii"), "rb").read())
    b[0:4] = (300).to_bytes(4, "little")
    open(os.path.join(OUT, "bad_header_size.nii"), "wb").write(bytes(b))
    z = open(os.path.join(OUT, "float_4d.nii.gz"), "rb").read()
    open(os.path.join(OUT, "cut.nii.gz"), "wb").write(z[: len(z) // 2])

    for d in ("imagesTr", "labelsTr"):
        os.makedirs(os.path.join(OUT, "msd", d), exist_ok=True)
    for case in (1, 2):
        v = phantom(48, 48, 4, rng)
        a = oblique(0.7, 0.7, 5.0, 0.0, [0.0, 0.0, 10.0 * case])
        img = nib.Nifti1Image(np.round(v).astype(np.int16), a)
        img.header["cal_min"], img.header["cal_max"] = -1024.0, 3071.0
        name = f"case_{case:03d}.nii.gz"
        nib.save(img, os.path.join(OUT, "msd", "imagesTr", name))
        lab = (v > 0).astype(np.uint8) + (v > 100).astype(np.uint8)
        nib.save(nib.Nifti1Image(lab, a), os.path.join(OUT, "msd", "labelsTr", name))
    # BraTS 2021 case folders: four sequences and a label (0, 1, 2, 4) per case.
    for case in (1, 2):
        name = f"BraTS2021_{case:05d}"
        d = os.path.join(OUT, "brats", name)
        os.makedirs(d, exist_ok=True)
        v = phantom(40, 40, 3, rng)
        a = oblique(1.0, 1.0, 1.0, 0.0, [0.0, 0.0, 0.0])
        for k, seq in enumerate(("flair", "t1", "t1ce", "t2")):
            mr = np.clip((v + 1000.0) * (0.4 + 0.1 * k), 0, 4000)
            nib.save(nib.Nifti1Image(np.round(mr).astype(np.int16), a), os.path.join(d, f"{name}_{seq}.nii.gz"))
        lab = np.where(v > 100, 4, np.where(v > 50, 2, np.where(v > 0, 1, 0))).astype(np.uint8)
        nib.save(nib.Nifti1Image(lab, a), os.path.join(d, f"{name}_seg.nii.gz"))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"generator": "tools/gen_nifti_fixtures.py", "versions": EXPECTED, "files": expected}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(expected)} entries to {OUT}")


if __name__ == "__main__":
    main()
