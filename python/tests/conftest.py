"""Shared fixtures: the CLI binary the package is checked against (MEDFM_ROBUST_BIN, set by
tools/test_python.sh) and a small data set written by it."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("MEDFM_ROBUST_BIN")
    assert path and Path(path).is_file(), (
        "MEDFM_ROBUST_BIN must name the medfm-robust binary (tools/test_python.sh sets it)"
    )

    def run(*args, check=True):
        r = subprocess.run([path, "--quiet", *map(str, args)], capture_output=True, text=True)
        if check:
            assert r.returncode == 0, f"{args}: {r.stderr}"
        return r

    return run


def read_png(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="session")
def perturbed(cli, tmp_path_factory):
    """Phantoms (CT grey 8-bit, dermoscopy RGB 8-bit, a 16-bit grey copy) with masks, perturbed
    by the CLI at levels 2 and 4; returns (input dir, out dir, manifest records)."""
    d = tmp_path_factory.mktemp("cli")
    (d / "in").mkdir()
    (d / "masks").mkdir()
    cli("phantom", "--modality", "ct", "--size", "96", "--seed", "1", "--out", d / "in/ct.png", "--mask", d / "masks/ct.png")
    cli("phantom", "--modality", "dermoscopy", "--size", "96", "--seed", "2", "--out", d / "in/derm.png", "--mask", d / "masks/derm.png")
    grey = read_png(d / "in/ct.png").astype(np.uint16) * 257 + np.arange(96, dtype=np.uint16)[None, :]
    Image.fromarray(grey).save(d / "in/ct16.png")
    Image.fromarray(read_png(d / "masks/ct.png")).save(d / "masks/ct16.png")
    cli(
        "perturb", "--input", d / "in", "--masks", d / "masks", "--out", d / "out",
        "--perturbations", "gaussian_noise,rotation,contrast,scaling,jpeg", "--levels", "2,4", "--seed", "3",
    )
    recs = [json.loads(l) for l in (d / "out/manifest.jsonl").read_text().splitlines()]
    return d / "in", d / "out", recs
