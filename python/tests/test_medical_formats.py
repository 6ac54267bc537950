"""perturb on DICOM and NIfTI inputs, checked with the field's own readers: pydicom reads every
derived DICOM file (geometry, stored representation, new UIDs, DERIVED, DerivationDescription) and
nibabel every NIfTI slice (shape, datatype, affine moved to its slice); the manifest's SSIM is
recomputed from the written files with scikit-image on the documented working scale
(docs/medical.md)."""

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut
from skimage.metrics import structural_similarity

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def ssim(x, y):
    return structural_similarity(
        x, y, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=2 if x.ndim == 3 else None,
    )


def dicom_unit(ds):
    """The documented working scale: CT -1024..3071 HU; colour 0..2^bits-1; other grey images
    the range their stored bits hold after rescale; MONOCHROME1 inverted."""
    a = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if ds.SamplesPerPixel == 3:
        return a / (2**ds.BitsStored - 1)
    if ds.Modality == "CT":
        lo, hi = -1024.0, 3071.0
    else:
        bits, signed = ds.BitsStored, ds.PixelRepresentation == 1
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        slope, inter = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        lo, hi = sorted((lo * slope + inter, hi * slope + inter))
    v = (a - lo) / (hi - lo)
    return 1.0 - v if ds.PhotometricInterpretation == "MONOCHROME1" else v


def manifest(out):
    return [json.loads(l) for l in (out / "manifest.jsonl").read_text().splitlines()]


def test_perturb_on_dicom_writes_dicom_that_pydicom_reads(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ["CT_small.dcm", "MR_small.dcm", "MR_small_mono1.dcm", "SC_rgb_rle_2frame.dcm", "MR_small_cut.dcm"]:
        shutil.copy(FIXTURES / "dicom" / name, src / name)
    out = tmp_path / "out"
    r = cli("perturb", "--input", src, "--out", out, "--perturbations", "gaussian_noise,ct_window_level",
            "--levels", "1,5", check=False)
    assert r.returncode == 2, r.stderr  # one failed item (the cut file), the others written
    errors = [json.loads(l) for l in (out / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 1 and "MR_small_cut.dcm" in errors[0]["error"] and "cut short" in errors[0]["error"]
    recs = manifest(out)
    assert len(recs) == 2 * 2 * 5  # 2 perturbations x 2 levels x (3 files + 2 frames)
    uids = set()
    for rec in recs:
        d = pydicom.dcmread(out / rec["output"])
        s = pydicom.dcmread(rec["source"])
        for tag in ["Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation",
                    "SamplesPerPixel", "Modality", "PatientID", "StudyInstanceUID"]:
            assert d.get(tag) == s.get(tag), (rec["output"], tag)
        for tag in ["RescaleSlope", "RescaleIntercept", "PixelSpacing", "ImagePositionPatient"]:
            assert d.get(tag) == s.get(tag), (rec["output"], tag)
        assert d.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert d.SOPInstanceUID != s.SOPInstanceUID and d.SeriesInstanceUID != s.SeriesInstanceUID
        assert d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
        assert d.SOPInstanceUID not in uids
        uids.add(d.SOPInstanceUID)
        assert d.ImageType[0] == "DERIVED"
        desc = d.DerivationDescription
        assert rec["perturbation"] in desc and f"L{rec['level']}" in desc and f"SSIM {rec['ssim']:.4f}" in desc
        clean = dicom_unit(s)
        if rec.get("frame") is not None:
            clean = clean[rec["frame"]]
        assert abs(ssim(clean, dicom_unit(d)) - rec["ssim"]) < 1e-6, rec["output"]
        assert rec["in_band"]


def test_perturb_on_nifti_writes_slices_nibabel_reads(cli, tmp_path):
    src = FIXTURES / "nifti" / "msd" / "imagesTr"
    out = tmp_path / "out"
    cli("perturb", "--input", src, "--out", out, "--perturbations", "gaussian_noise,ct_beam_hardening",
        "--modality", "ct", "--levels", "3")
    recs = manifest(out)
    assert len(recs) == 2 * 2 * 4  # 2 perturbations x 2 volumes x 4 slices
    for rec in recs:
        s = nib.load(rec["source"])
        d = nib.load(out / rec["output"])
        k = rec["frame"]
        assert d.shape == s.shape[:2] + (1,)
        assert d.get_data_dtype() == s.get_data_dtype()
        want = s.affine.copy()
        want[:3, 3] += k * s.affine[:3, 2]
        assert np.allclose(d.affine, want, atol=1e-4), (d.affine, want)
        lo, hi = float(s.header["cal_min"]), float(s.header["cal_max"])
        unit = lambda a: (a - lo) / (hi - lo)
        clean = unit(s.get_fdata()[:, :, k])
        got = unit(d.get_fdata()[:, :, 0])
        # medfm-robust's image x is the first voxel axis and y the second: transpose to rows.
        assert abs(ssim(clean.T, got.T) - rec["ssim"]) < 1e-6, rec["output"]


def test_perturb_volume_mode_writes_volumes_with_their_shape_and_affine(cli, tmp_path):
    src = FIXTURES / "nifti" / "msd" / "imagesTr"
    out = tmp_path / "out"
    cli("perturb", "--input", src, "--out", out, "--slices", "volume", "--modality", "mri",
        "--perturbations", "gaussian_noise,mri_bias_field,mri_ghosting", "--levels", "2")
    recs = manifest(out)
    assert len(recs) == 3 * 2 and all(r.get("frame") is None for r in recs)
    for rec in recs:
        s = nib.load(rec["source"])
        d = nib.load(out / rec["output"])
        assert d.shape == s.shape and d.get_data_dtype() == s.get_data_dtype()
        assert np.allclose(d.affine, s.affine, atol=1e-6)
        lo, hi = float(s.header["cal_min"]), float(s.header["cal_max"])
        x = (s.get_fdata() - lo) / (hi - lo)
        y = (d.get_fdata() - lo) / (hi - lo)
        # SSIM over a volume: the mean of its slices' SSIM (docs/medical.md).
        mean = np.mean([ssim(x[:, :, k].T, y[:, :, k].T) for k in range(x.shape[2])])
        assert abs(mean - rec["ssim"]) < 1e-6, rec["output"]
        if rec["in_band"]:
            assert 0.80 <= rec["ssim"] <= 0.89
