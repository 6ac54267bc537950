#!/usr/bin/env bash
# Regenerate docs/perturbations.md, the per-modality galleries on the phantoms
# (docs/gallery/<modality>.png) and on real images (docs/gallery/real/<modality>.png, from
# assets/real/, made by tools/gen_real_images.py) and the reach table data
# (assets/real/reach.json, measured by examples/reach.rs and embedded by `list --markdown`).
# Run after changing any perturbation; tests/docs_current.rs checks the Markdown and the reach
# data are current.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo run --release --quiet --example reach > /dev/null
# the binary embeds assets/real/reach.json: rebuild it after the measurement
cargo build --release --quiet
bin=target/release/medfm-robust
$bin list --markdown > docs/perturbations.md
mkdir -p docs/gallery
for m in ct mri us pathology endoscopy oct xray dermoscopy; do
  $bin --quiet gallery --modality "$m" --size 128 --tile 72 --out "docs/gallery/$m.png"
done
# one sheet per modality on a real image (oct, dermoscopy, endoscopy: stand-ins,
# assets/real/README.md)
mkdir -p docs/gallery/real
for pair in ct:ct_head mri:mri_abdomen us:us_jpeg2k pathology:path_ihc oct:oct_fundus_retina xray:xray_chest_cr dermoscopy:derm_skin_closeup endoscopy:endo_scope_target; do
  m=${pair%%:*}
  $bin --quiet gallery --modality "$m" --image "assets/real/${pair#*:}.png" --tile 72 --out "docs/gallery/real/$m.png"
done
echo "docs/perturbations.md, docs/gallery/ and assets/real/reach.json regenerated"
