#!/usr/bin/env python3
"""DICOM fixtures: test files shipped in the pydicom wheel, copied to tests/fixtures/dicom/, and
the pixel values pydicom decodes from them (after the Modality LUT: HU for CT), written to
tests/fixtures/dicom/expected.json. tests/dicom_io.rs checks that medfm-robust decodes the same.

Pinned versions (also in tools/requirements-fixtures.txt):
    pydicom==3.0.2  numpy==2.4.6  pylibjpeg==2.1.0  pylibjpeg-openjpeg==2.6.0
    pylibjpeg-libjpeg==2.5.0  pyjpegls==1.5.1  pillow==13.0.0  pydicom-data==1.0.0 (MIT; the
    larger test files: emri_small*, JPEG-LL, RG3_UNCR)

Run from the repository root with a venv holding those pins:
    python tools/gen_dicom_fixtures.py

expected.json: one entry per file: shape [frames, rows, columns, samples], photometric (as pydicom
reports it after its YBR -> RGB conversion), lossy (a lossy codec: decoders may differ by a few
units), sha256_f64le: SHA-256 of every decoded sample after the Modality LUT as little-endian f64,
row-major, frame by frame, channel last (as pydicom's pixel_array), exact for lossless files; min,
max, mean; and for lossy files the values themselves (integers:
little-endian i32, zlib, base64; the test allows a tolerance).
MR_small_mono1.dcm is made here: MR_small with PhotometricInterpretation MONOCHROME1 (no such
file ships in the wheel), so the reader's inversion of the display scale is tested; its values
are MR_small's (the Modality LUT does not invert). MR_small_no_pixels.dcm (pixel data removed)
and MR_small_cut.dcm (cut in the pixel data) are the bad-input cases, with no values.
"""
import base64
import hashlib
import zlib
import json
import os
import shutil

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

EXPECTED = {"pydicom": "3.0.2", "numpy": "2.4.6"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "dicom")

# (file, what it covers)
FILES = [
    ("CT_small.dcm", "CT, explicit VR LE, signed 16-bit, RescaleIntercept -1024 (HU)"),
    ("MR_small.dcm", "MR, explicit VR LE, signed 16-bit"),
    ("MR_small_implicit.dcm", "implicit VR LE"),
    ("MR_small_bigendian.dcm", "explicit VR big endian"),
    ("MR_small_RLE.dcm", "RLE lossless"),
    ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless (CharLS, feature jpeg-ls)"),
    ("MR_small_jp2klossless.dcm", "JPEG 2000 lossless (openjp2)"),
    ("JPEG2000.dcm", "JPEG 2000 (NM, 1024x256, signed)"),
    ("image_dfl.dcm", "deflated explicit VR LE"),
    ("JPGExtended.dcm", "JPEG extended (process 2/4), 12-bit"),
    ("SC_rgb_jpeg_gdcm.dcm", "JPEG lossless process 14 SV1, RGB"),
    ("SC_rgb_rle.dcm", "RGB, RLE"),
    ("SC_rgb_rle_2frame.dcm", "multi-frame (2 frames), RGB, RLE"),
    ("SC_ybr_full_422_uncompressed.dcm", "YBR_FULL_422, uncompressed"),
    ("SC_rgb_jpeg_dcmtk.dcm", "YBR_FULL, JPEG baseline (lossy)"),
    # from the pydicom-data wheel
    ("emri_small.dcm", "multi-frame MR (10 frames, 12-bit)"),
    ("emri_small_jpeg_ls_lossless.dcm", "multi-frame JPEG-LS lossless"),
    ("emri_small_jpeg_2k_lossless.dcm", "multi-frame JPEG 2000 lossless"),
    ("JPEG-LL.dcm", "JPEG lossless process 14, 16-bit grey (NM)"),
]


def check_versions():
    got = {"pydicom": pydicom.__version__, "numpy": np.__version__}
    if got != EXPECTED:
        raise SystemExit(f"version mismatch: expected {EXPECTED}, found {got}")


def lossy_non_integer(phys):
    return bool(np.any(phys != np.round(phys)))


def entry(ds, note):
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    shape = [frames, int(ds.Rows), int(ds.Columns), spp]
    phys = apply_modality_lut(arr, ds).astype(np.float64).reshape(-1)
    assert not lossy_non_integer(phys), "lossy values are stored as integers"
    ts = ds.file_meta.TransferSyntaxUID
    lossy = bool(ts.is_compressed and not ("Lossless" in ts.name or ts.name.startswith("RLE")))
    return {
        "note": note,
        "transfer_syntax": str(ts),
        "shape": shape,
        "photometric": str(ds.PhotometricInterpretation),
        "lossy": lossy,
        "sha256_f64le": hashlib.sha256(phys.astype("<f8").tobytes()).hexdigest(),
        "min": float(phys.min()),
        "max": float(phys.max()),
        "mean": float(phys.mean()),
        # Lossy files: every value (the test allows a tolerance); lossless: the hash is exact.
        # (integers, so as little-endian i32, zlib-compressed, base64).
        "values_i32_zlib_b64": base64.b64encode(zlib.compress(phys.astype("<i4").tobytes(), 9)).decode() if lossy else None,
    }


def series_with_nifti_label():
    """tests/fixtures/dicom_series/: a 3-slice CT series made from CT_small (series/a.dcm, b.dcm,
    c.dcm, whose file order is NOT the slice order: InstanceNumber 3, 1, 2), each slice with a
    bright square whose column depends on the slice; series.nii.gz, its label volume, stored as
    dcm2niix stores a DICOM series (RAS axes: voxel i runs against the DICOM columns, j against
    the rows, k along the slices; affine from ImagePositionPatient / Orientation / PixelSpacing);
    masks/<file>.png: each file's label in its own pixel grid (label != 0), computed here from
    the arrays, the reference the label resampling is checked against."""
    import nibabel as nib
    from PIL import Image

    root = os.path.join(OUT, "..", "dicom_series")
    for d in ("series", "masks"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu0 = apply_modality_lut(base.pixel_array, base)
    rows, cols = hu0.shape
    dr, dc = (float(v) for v in base.PixelSpacing)
    ipp0 = np.array([float(v) for v in base.ImagePositionPatient])
    dz = 5.0
    label = np.zeros((cols, rows, 3), np.uint8)  # [i, j, k]
    for name, instance in (("a", 3), ("b", 1), ("c", 2)):
        k = instance - 1
        hu = hu0.copy()
        hu[10:20, 10 + 30 * k : 20 + 30 * k] = 1500.0
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        stored = np.round((hu - float(ds.RescaleIntercept)) / float(ds.RescaleSlope)).astype(np.int16)
        ds.PixelData = stored.tobytes()
        ds.InstanceNumber = instance
        ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp0 + [0.0, 0.0, dz * k]]
        ds.SOPInstanceUID = f"{base.SOPInstanceUID}.{instance}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(os.path.join(root, "series", f"{name}.dcm"))
        m = (hu > -300).astype(np.uint8) + (hu > 1000).astype(np.uint8)  # 0, 1 body, 2 square
        Image.fromarray(((m > 0) * 255).astype(np.uint8)).save(os.path.join(root, "masks", f"{name}.png"))
        # DICOM (row r, column c) -> voxel (i, j) = (cols - 1 - c, rows - 1 - r)
        label[:, :, k] = m[::-1, ::-1].T
    # voxel (i, j, k) -> LPS = ipp0 + (cols-1-i) dc x + (rows-1-j) dr y + k dz z; RAS = (-L, -P, S)
    a = np.eye(4)
    a[:3, 0] = [dc, 0.0, 0.0]  # -(-dc): RAS x grows with i
    a[:3, 1] = [0.0, dr, 0.0]
    a[:3, 2] = [0.0, 0.0, dz]
    far = ipp0 + [(cols - 1) * dc, (rows - 1) * dr, 0.0]
    a[:3, 3] = [-far[0], -far[1], far[2]]
    img = nib.Nifti1Image(label, a)
    img.set_qform(a, code=1)
    img.set_sform(a, code=1)
    nib.save(img, os.path.join(root, "series.nii.gz"))


def main():
    check_versions()
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, note in FILES:
        src = get_testdata_file(name)
        shutil.copyfile(src, os.path.join(OUT, name))
        expected[name] = entry(pydicom.dcmread(src), note)
    # MONOCHROME1: MR_small relabelled.
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(os.path.join(OUT, "MR_small_mono1.dcm"))
    e = entry(pydicom.dcmread(os.path.join(OUT, "MR_small_mono1.dcm")), "MONOCHROME1 (MR_small relabelled here)")
    expected["MR_small_mono1.dcm"] = e
    # A real MONOCHROME1 radiograph: the centre 256 x 256 of pydicom-data's RG3_UNCR (CR of a
    # tibia, 10-bit), cropped here (the full file is 6 MB).
    ds = pydicom.dcmread(get_testdata_file("RG3_UNCR.dcm"))
    arr = ds.pixel_array
    r0, c0 = (arr.shape[0] - 256) // 2, (arr.shape[1] - 256) // 2
    crop = np.ascontiguousarray(arr[r0 : r0 + 256, c0 : c0 + 256])
    ds.Rows, ds.Columns = 256, 256
    ds.PixelData = crop.tobytes()
    ds.save_as(os.path.join(OUT, "RG3_crop_mono1.dcm"))
    expected["RG3_crop_mono1.dcm"] = entry(
        pydicom.dcmread(os.path.join(OUT, "RG3_crop_mono1.dcm")), "real MONOCHROME1 CR (RG3_UNCR centre crop)"
    )
    # Bad input: no pixel data; cut inside the pixel data.
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    del ds.PixelData
    ds.save_as(os.path.join(OUT, "MR_small_no_pixels.dcm"))
    raw = open(get_testdata_file("MR_small.dcm"), "rb").read()
    with open(os.path.join(OUT, "MR_small_cut.dcm"), "wb") as f:
        f.write(raw[: len(raw) - 3000])
    series_with_nifti_label()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"generator": "tools/gen_dicom_fixtures.py", "versions": EXPECTED, "files": expected}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(expected)} entries to {OUT}")


if __name__ == "__main__":
    main()
