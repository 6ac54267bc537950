#!/usr/bin/env bash
# Regenerate docs/perturbations.md and the per-modality galleries (docs/gallery/<modality>.png)
# from the registry. Run after changing any perturbation; tests/docs_current.rs checks the
# Markdown is current.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/medfm-robust
$bin list --markdown > docs/perturbations.md
mkdir -p docs/gallery
for m in ct mri us pathology endoscopy oct xray dermoscopy; do
  $bin --quiet gallery --modality "$m" --size 128 --tile 72 --out "docs/gallery/$m.png"
done
echo "docs/perturbations.md and docs/gallery/ regenerated"
