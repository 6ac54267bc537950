#!/usr/bin/env python3
"""Real test images per modality, made only from files that ship inside pinned PyPI wheels
(nothing is downloaded at run time): pydicom's test files, nibabel's test data and
scikit-image's bundled sample images. Writes 8/16-bit PNGs to assets/real/ (committed, with
their provenance and licences in assets/real/README.md) and assets/real/manifest.json
(file -> modality, source, processing).

Pinned versions (also in tools/requirements-fixtures.txt):
    pydicom==3.0.2 (+ pylibjpeg==2.1.0, pylibjpeg-openjpeg==2.6.0 for the JPEG 2000 files)
    nibabel==5.4.2
    scikit-image==0.26.0
    numpy==2.4.6
    pillow==13.0.0

Run from the repository root with the fixtures venv: python tools/gen_real_images.py
Deterministic: the same wheels give byte-identical PNGs (no randomness, fixed crops, box
downsampling by integer factors, round-half-even quantisation by numpy).
Modalities with no image in those wheels (x-ray, endoscopy, dermoscopy; and no OCT B-scan: the
fundus photograph stands in for the `oct` modality, whose alias is `fundus`) are listed as
missing in the manifest, so the reach table says so instead of pretending.
"""
import json
import os

import nibabel
import numpy as np
import pydicom
import skimage
from PIL import Image
from pydicom.data import get_testdata_file
from skimage import data as skdata

EXPECTED = {"pydicom": "3.0.2", "nibabel": "5.4.2", "skimage": "0.26.0", "numpy": "2.4.6"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "real")
MISSING = {
    "xray": "no radiograph ships in the pydicom 3.0.2, nibabel 5.4.2 or scikit-image 0.26 wheels "
            "(pydicom's planar projections are nuclear-medicine bone scans, NM, not x-ray)",
    "endoscopy": "no endoscopy frame ships in those wheels",
    "dermoscopy": "no dermoscopy or skin photograph ships in those wheels (skimage.data.skin is "
                  "fetched from the network at run time, not bundled)",
}


def check_versions():
    got = {"pydicom": pydicom.__version__, "nibabel": nibabel.__version__,
           "skimage": skimage.__version__, "numpy": np.__version__}
    if got != EXPECTED:
        raise SystemExit(f"version mismatch: expected {EXPECTED}, found {got}")


def box_down(a, k):
    """Mean over k x k blocks (trailing rows/columns that do not fill a block are dropped)."""
    if k == 1:
        return a.astype(np.float64)
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    a = a[:h, :w].astype(np.float64)
    shape = (h // k, k, w // k, k) + a.shape[2:]
    return a.reshape(shape).mean(axis=(1, 3))


def window(hu, level, width):
    """CT display window: (HU - (level - width/2)) / width, clipped to [0, 1]."""
    return np.clip((hu - (level - width / 2.0)) / width, 0.0, 1.0)


def write16(name, v):
    q = np.round(np.clip(v, 0, 1) * 65535.0).astype(np.uint16)
    Image.fromarray(q).save(os.path.join(OUT, name), optimize=True)


def write8(name, v):
    q = np.round(np.clip(v, 0, 1) * 255.0).astype(np.uint8)
    Image.fromarray(q).save(os.path.join(OUT, name), optimize=True)


def dicom(name):
    ds = pydicom.dcmread(get_testdata_file(name))
    return ds, ds.pixel_array


def main():
    check_versions()
    os.makedirs(OUT, exist_ok=True)
    entries = []

    def add(file, modality, source, processing, licence):
        entries.append({"file": file, "modality": modality, "source": source,
                        "processing": processing, "licence": licence})

    pydicom_lic = "pydicom test data (pydicom/data/test_files/README.txt; MIT-licensed package)"
    # CT: abdomen slice 128 x 128 (CT_small.dcm), HU = raw * slope + intercept, soft-tissue window
    ds, a = dicom("CT_small.dcm")
    hu = a.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    write16("ct_small.png", window(hu, 40, 400))
    add("ct_small.png", "ct", "pydicom 3.0.2 data/test_files/CT_small.dcm",
        "HU = raw * slope + intercept; window L 40 W 400 HU; 16-bit", pydicom_lic)
    # CT: head slice 512 x 512 (J2K_pixelrep_mismatch.dcm), subdural window, 2 x 2 box to 256
    ds, a = dicom("J2K_pixelrep_mismatch.dcm")
    hu = a.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    write16("ct_head.png", box_down(window(hu, 40, 200), 2))
    add("ct_head.png", "ct", "pydicom 3.0.2 data/test_files/J2K_pixelrep_mismatch.dcm",
        "HU; window L 40 W 200 HU (its third stored window); 2 x 2 box mean to 256 x 256; 16-bit",
        pydicom_lic)
    # MR: head slice 64 x 64 (MR_small.dcm), its stored window (C 600, W 1600)
    ds, a = dicom("MR_small.dcm")
    write16("mri_small.png", window(a.astype(np.float64), 600.0 + 200.0, 1600.0))
    add("mri_small.png", "mri", "pydicom 3.0.2 data/test_files/MR_small.dcm",
        "(raw - 0) / 1600 (window C 800 W 1600, i.e. 0..1600 to 0..1, clip); 16-bit", pydicom_lic)
    # MR: abdomen 300 x 484 (examples_overlay.dcm), 0..1123 -> 0..1, 2 x 2 box to 150 x 242
    ds, a = dicom("examples_overlay.dcm")
    v = a.astype(np.float64) / float(a.max())
    write16("mri_abdomen.png", box_down(v, 2))
    add("mri_abdomen.png", "mri", "pydicom 3.0.2 data/test_files/examples_overlay.dcm",
        "raw / max; 2 x 2 box mean to 150 x 242; 16-bit (overlay plane not drawn)", pydicom_lic)
    # MR: nibabel anatomical.nii (33 x 41 x 25, 2 mm), middle slice along the last axis, 4 x
    # nearest upsampling is NOT done: the image stays at its acquired 33 x 41 (the SSIM window fits)
    img = nibabel.load(os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "anatomical.nii"))
    vol = np.asarray(img.dataobj, dtype=np.float64)
    sl = np.rot90(vol[:, :, vol.shape[2] // 2])
    write16("mri_nibabel_anat.png", sl / sl.max())
    add("mri_nibabel_anat.png", "mri", "nibabel 5.4.2 tests/data/anatomical.nii",
        "slice z = 12 of 25, rotated 90 degrees (anterior up), / max; 41 x 33; 16-bit",
        "nibabel test data, shipped in the MIT-licensed nibabel wheel")
    # US: 320 x 240 RGB (examples_rgb_color.dcm) -> luminance (B-mode is grey; the colour is a
    # burnt-in overlay)
    ds, a = dicom("examples_rgb_color.dcm")
    lum = (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / 255.0
    write8("us_rgb_color.png", lum)
    add("us_rgb_color.png", "us", "pydicom 3.0.2 data/test_files/examples_rgb_color.dcm",
        "RGB -> luminance 0.299 R + 0.587 G + 0.114 B; 320 x 240; 8-bit", pydicom_lic)
    # US: 640 x 480 RGB (examples_jpeg2k.dcm = US1_J2KR, the full frame of which
    # examples_rgb_color is a crop) -> luminance, 2 x 2 box to 320 x 240. (examples_palette.dcm is
    # left out: its cropped pixel data holds only the header text, no scan.)
    ds, a = dicom("examples_jpeg2k.dcm")
    a = pydicom.pixels.convert_color_space(a, ds.PhotometricInterpretation, "RGB") \
        if ds.PhotometricInterpretation not in ("RGB", "YBR_RCT", "YBR_ICT") else a
    lum = (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / 255.0
    write8("us_jpeg2k.png", box_down(lum, 2))
    add("us_jpeg2k.png", "us", "pydicom 3.0.2 data/test_files/examples_jpeg2k.dcm",
        "RGB (decoded by pylibjpeg-openjpeg) -> luminance; 2 x 2 box mean to 320 x 240; 8-bit",
        pydicom_lic)
    # Pathology: immunohistochemistry 512 x 512 RGB (skimage.data.immunohistochemistry), centre crop 256
    a = skdata.immunohistochemistry().astype(np.float64) / 255.0
    write8("path_ihc.png", a[128:384, 128:384])
    add("path_ihc.png", "pathology", "scikit-image 0.26.0 skimage/data/ihc.png",
        "centre crop 256 x 256 of the 512 x 512 RGB; 8-bit",
        "no known copyright restrictions (skimage.data.immunohistochemistry docstring: acquired at the Center for Microscopy And Molecular Imaging, CMMI)")
    # OCT / fundus: retina 1411 x 1411 RGB (skimage.data.retina), 5 x 5 box to 282 x 282
    a = skdata.retina().astype(np.float64) / 255.0
    write8("oct_fundus_retina.png", box_down(a, 5))
    add("oct_fundus_retina.png", "oct", "scikit-image 0.26.0 skimage/data/retina.jpg",
        "fundus photograph (no OCT B-scan is available; fundus is the oct modality's alias); "
        "5 x 5 box mean to 282 x 282 RGB; 8-bit",
        "CC0 1.0 public domain dedication (skimage.data.retina docstring: Wikimedia Commons, Fundus_photograph_of_normal_left_eye.jpg)")
    manifest = {"images": entries, "missing": MISSING}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, e["file"])) for e in entries)
    print(f"wrote {len(entries)} images ({total} bytes) to assets/real/")


if __name__ == "__main__":
    main()
