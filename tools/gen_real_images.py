#!/usr/bin/env python3
"""Real test images per modality, made only from files that ship inside pinned PyPI wheels
(nothing is downloaded at run time): pydicom's test files, the pydicom-data wheel's larger test
files (NEMA WG04 compression samples: computed radiographs, a shoulder MR), nibabel's test data
and scikit-image's bundled sample images. Writes 8/16-bit PNGs to assets/real/ (committed, with
their provenance and licences in assets/real/README.md) and assets/real/manifest.json
(file -> modality, source, processing).

Pinned versions (also in tools/requirements-fixtures.txt):
    pydicom==3.0.2 (+ pylibjpeg==2.1.0, pylibjpeg-openjpeg==2.6.0 for the JPEG 2000 files)
    pydicom-data==1.0.0 (MIT; its files are found by pydicom.data.get_testdata_file)
    nibabel==5.4.2
    scikit-image==0.26.0
    numpy==2.4.6
    pillow==13.0.0

Two more images are read straight out of wheels that are downloaded, not installed (their
dependencies, torch and PyQt6 for dermapred, are not needed), checked by sha256:
    dermapred==0.0.3 (Apache-2.0): dermapred/examples/example_image.jpg, a clinical close-up
        photograph of skin with small naevi and hairs (NOT a dermoscopic image)
    endocal==18.2.13 (BSD-3-Clause, UCL GIFT-Surg): endocal/data/sample_001/frame_001.jpg, a real
        endoscope frame (circular field of view, vignetting, sensor grain) of a calibration
        target (NOT tissue)
    pip download --no-deps dermapred==0.0.3 endocal==18.2.13 -d .local/fixture-wheels

Run from the repository root with the fixtures venv: python tools/gen_real_images.py
Deterministic: the same wheels give byte-identical PNGs (no randomness, fixed crops, box
downsampling by integer factors, round-half-even quantisation by numpy).
No OCT B-scan, dermoscopic image or endoscopic view of tissue ships in any wheel found (PyPI,
npm and Debian were searched, assets/real/README.md): the fundus photograph stands in for the
`oct` modality (alias `fundus`), the skin close-up for dermoscopy, the endoscope frame of a target
for endoscopy; the manifest and the reach table say which stand-in each is.
"""
import hashlib
import io
import zipfile
import importlib.metadata
import json
import os

import nibabel
import numpy as np
import pydicom
import skimage
from PIL import Image
from pydicom.data import get_testdata_file
from skimage import data as skdata

EXPECTED = {"pydicom": "3.0.2", "pydicom-data": "1.0.0", "nibabel": "5.4.2", "skimage": "0.26.0",
            "numpy": "2.4.6"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "real")
MISSING = {}
WHEELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".local", "fixture-wheels")
# (wheel, sha256 of the wheel, member, sha256 of the member)
DERMAPRED = ("dermapred-0.0.3-py3-none-any.whl",
             "104a7f2d8c3f4936ad924ce5b3b9550e08501d0c8c38767100a155f0c233cd87",
             "dermapred/examples/example_image.jpg",
             "f6a85b92051ba202721b9464e3efbd1d442f918fd88d113a019575c85cbbad9c")
ENDOCAL = ("endocal-18.2.13-py2.py3-none-any.whl",
           "5dacf1bc3340f5295e74dc01b57fb5d79cce15f6d77e8d3b119f1255eef97482",
           "endocal/data/sample_001/frame_001.jpg",
           "f65da9a786969680ce1ab6c7927229a6d4ba89b93988e94e69f8f40cd2978d06")


def from_wheel(pin):
    """The RGB pixels of a JPEG inside a downloaded wheel, both checked by sha256."""
    wheel, wheel_sha, member, member_sha = pin
    path = os.path.join(WHEELS, wheel)
    if not os.path.isfile(path):
        raise SystemExit(f"{path} missing: pip download --no-deps dermapred==0.0.3 "
                         f"endocal==18.2.13 -d .local/fixture-wheels")
    with open(path, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != wheel_sha:
            raise SystemExit(f"{wheel}: sha256 differs from the pinned one")
    data = zipfile.ZipFile(path).read(member)
    if hashlib.sha256(data).hexdigest() != member_sha:
        raise SystemExit(f"{wheel}:{member}: sha256 differs from the pinned one")
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def check_versions():
    got = {"pydicom": pydicom.__version__, "pydicom-data": importlib.metadata.version("pydicom-data"),
           "nibabel": nibabel.__version__,
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


def percentile_window(raw, lo_pct, hi_pct):
    """Linear window from the lo_pct-th to the hi_pct-th percentile of the stored values, clipped
    to [0, 1] (numpy's default linear-interpolation percentiles: deterministic)."""
    lo, hi = np.percentile(raw, [lo_pct, hi_pct])
    return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)


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
    # The pydicom-data wheel (MIT): NEMA WG04 compression test images (pydicom's
    # data/test_files/README.txt: "From ftp://medical.nema.org/MEDICAL/Dicom/DataSets/WG04").
    pdd_lic = "pydicom-data 1.0.0 wheel, MIT licence (its LICENSE; files from the NEMA WG04 " \
              "DICOM compression test data sets, pydicom data/test_files/README.txt)"
    # X-ray: CR chest PA 1841 x 1955 (RG1_UNCR.dcm), MONOCHROME1 15-bit. The first 60 rows (the
    # bright collimation edge) are cropped; the stored window (C 15000 W 30000) spans the whole
    # 15-bit range and shows a flat grey image, so the display window is the 0.5th..99.5th
    # percentile of the stored values; inverted (MONOCHROME1: low values white, so bone is
    # bright); 6 x 6 box mean to 306 x 315.
    ds, a = dicom("RG1_UNCR.dcm")
    assert ds.Modality == "CR" and ds.PhotometricInterpretation == "MONOCHROME1"
    raw = a[60:].astype(np.float64)
    write16("xray_chest_cr.png", box_down(1.0 - percentile_window(raw, 0.5, 99.5), 6))
    add("xray_chest_cr.png", "xray", "pydicom-data 1.0.0 data_store/data/RG1_UNCR.dcm",
        "CR chest, MONOCHROME1 15-bit; rows 60.. (collimation edge cropped); window 0.5th..99.5th "
        "percentile of the stored values; inverted (bone bright); 6 x 6 box mean to 306 x 315; "
        "16-bit", pdd_lic)
    # X-ray: CR distal tibia/fibula 1760 x 1760 (RG3_UNCR.dcm), MONOCHROME1 10-bit: columns
    # 440..1240 (the exposed field; outside it the collimated, unexposed plate), its stored window
    # (C 550 W 1024), inverted; 4 x 4 box mean to 200 x 440.
    ds, a = dicom("RG3_UNCR.dcm")
    assert ds.Modality == "CR" and ds.PhotometricInterpretation == "MONOCHROME1"
    raw = a[:, 440:1240].astype(np.float64)
    write16("xray_tibia_cr.png", box_down(1.0 - window(raw, 550.0, 1024.0), 4))
    add("xray_tibia_cr.png", "xray", "pydicom-data 1.0.0 data_store/data/RG3_UNCR.dcm",
        "CR distal tibia and fibula, MONOCHROME1 10-bit; columns 440..1240 (the exposed field); "
        "stored window C 550 W 1024; inverted (bone bright); 4 x 4 box mean to 200 x 440; 16-bit",
        pdd_lic)
    # MR: shoulder 1024 x 1024 (MR2_UNCR.dcm), raw * slope + intercept, its stored window
    # (C 1000 W 2000), 4 x 4 box mean to 256 x 256.
    ds, a = dicom("MR2_UNCR.dcm")
    v = a.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    write16("mri_shoulder.png", box_down(window(v, 1000.0, 2000.0), 4))
    add("mri_shoulder.png", "mri", "pydicom-data 1.0.0 data_store/data/MR2_UNCR.dcm",
        "shoulder MR; raw * slope + intercept; stored window C 1000 W 2000; 4 x 4 box mean to "
        "256 x 256; 16-bit", pdd_lic)
    # Dermoscopy stand-in: a clinical close-up of skin (dermapred's example), 1528 x 1360 RGB
    # JPEG, 4 x 4 box mean to 382 x 340. Not dermoscopic: no contact plate, gel or polarised
    # light, so glare, vignetting and hair are here on plain skin.
    a = from_wheel(DERMAPRED).astype(np.float64) / 255.0
    write8("derm_skin_closeup.png", box_down(a, 4))
    add("derm_skin_closeup.png", "dermoscopy", "dermapred 0.0.3 wheel dermapred/examples/example_image.jpg",
        "clinical close-up photograph of skin with naevi and hairs (NOT dermoscopic: no dermoscopic "
        "image ships in any wheel found); 1528 x 1360 RGB JPEG, 4 x 4 box mean to 382 x 340; 8-bit",
        "dermapred 0.0.3, Apache-2.0 (the wheel's LICENSE; no separate note on the photograph)")
    # Endoscopy stand-in: a real endoscope frame of a dot-grid calibration target (endocal),
    # 768 x 710 RGB JPEG, 2 x 2 box mean to 384 x 355.
    a = from_wheel(ENDOCAL).astype(np.float64) / 255.0
    write8("endo_scope_target.png", box_down(a, 2))
    add("endo_scope_target.png", "endoscopy", "endocal 18.2.13 wheel endocal/data/sample_001/frame_001.jpg",
        "real endoscope frame (circular field of view, vignetting, grain) of a calibration target, "
        "NOT tissue (no endoscopic view of tissue ships in any wheel found); 768 x 710 RGB JPEG, "
        "2 x 2 box mean to 384 x 355; 8-bit",
        "endocal 18.2.13 (UCL GIFT-Surg), BSD-3-Clause (the wheel's metadata; no separate note on the data)")
    manifest = {"images": entries, "missing": MISSING}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, e["file"])) for e in entries)
    print(f"wrote {len(entries)} images ({total} bytes) to assets/real/")


if __name__ == "__main__":
    main()
