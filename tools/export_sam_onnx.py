#!/usr/bin/env python3
"""Export a SAM-family ViT-B checkpoint to the two ONNX graphs `medfm-robust eval-seg` reads.

  encoder.onnx  image [B, 3, S, S] (already preprocessed by the preset) -> image_embeddings
                [B, 256, S/16, S/16]; the batch axis is dynamic, so eval-seg batches levels.
  decoder.onnx  segment-anything's SamOnnxModel layout: image_embeddings, point_coords [1, N, 2],
                point_labels [1, N], mask_input [1, 1, 4e, 4e], has_mask_input [1],
                orig_im_size [2] -> masks, iou_predictions, low_res_masks (all 4 masks:
                exported WITHOUT return_single_mask, whose select_masks would skip mask 0 for a
                box prompt; the preset picks mask 0 or the best of 1..3 itself).

Usage:
  python tools/export_sam_onnx.py --preset medsam --checkpoint medsam_vit_b.pth --out models/medsam
  python tools/export_sam_onnx.py --preset medsam --random-init --out /tmp/vitb   # architecture check
  python tools/export_sam_onnx.py --preset sam-med2d --checkpoint sam-med2d_b.pth --out models/sammed2d

- medsam / segment-anything: S = 1024, built with `segment_anything.sam_model_registry['vit_b']`.
  MedSAM checkpoints are SAM vit_b state dicts and load directly. The encoder graph is
  `sam.image_encoder` alone (no pixel mean/std inside: MedSAM feeds [0, 1] images; the medsam
  preset does that outside the graph).
- sam-med2d: S = 256 with encoder adapters. This needs SAM-Med2D's own `segment_anything`
  package (OpenGVLab/SAM-Med2D on the Python path), whose registry takes an args namespace
  (image_size=256, encoder_adapter=True, sam_checkpoint=...). Not exercised in CI.

Pinned: torch==2.15.0, segment-anything==1.0, onnx==1.23.2 (opset 17, TorchScript exporter).
segment_anything imports torchvision (for its predictor, unused here); any torchvision that
imports is enough.
"""
import argparse
import os
import warnings
from argparse import Namespace

import torch


def build(preset, checkpoint, random_init):
    from segment_anything import sam_model_registry

    if preset == "sam-med2d":
        args = Namespace(image_size=256, encoder_adapter=True, sam_checkpoint=None if random_init else checkpoint)
        return sam_model_registry["vit_b"](args)
    torch.manual_seed(0)
    return sam_model_registry["vit_b"](checkpoint=None if random_init else checkpoint)


class Encoder(torch.nn.Module):
    def __init__(self, sam):
        super().__init__()
        self.image_encoder = sam.image_encoder

    def forward(self, image):
        return self.image_encoder(image)


def export(preset, checkpoint, random_init, out, opset):
    from segment_anything.utils.onnx import SamOnnxModel

    sam = build(preset, checkpoint, random_init).eval()
    s = sam.image_encoder.img_size
    os.makedirs(out, exist_ok=True)
    enc_path, dec_path = os.path.join(out, "encoder.onnx"), os.path.join(out, "decoder.onnx")

    x = torch.zeros(1, 3, s, s)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(
            Encoder(sam), (x,), enc_path, input_names=["image"], output_names=["image_embeddings"],
            dynamic_axes={"image": {0: "batch"}, "image_embeddings": {0: "batch"}},
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )

    dec = SamOnnxModel(sam, return_single_mask=False)
    embed_dim = sam.prompt_encoder.embed_dim
    e = sam.prompt_encoder.image_embedding_size
    inputs = {
        "image_embeddings": torch.randn(1, embed_dim, *e, dtype=torch.float),
        "point_coords": torch.randint(low=0, high=s, size=(1, 2, 2), dtype=torch.float),
        "point_labels": torch.tensor([[2.0, 3.0]]),
        "mask_input": torch.randn(1, 1, 4 * e[0], 4 * e[1], dtype=torch.float),
        "has_mask_input": torch.tensor([0.0]),
        "orig_im_size": torch.tensor([float(s), float(s)], dtype=torch.float),
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(
            dec, tuple(inputs.values()), dec_path, input_names=list(inputs), output_names=["masks", "iou_predictions", "low_res_masks"],
            dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )
    for p in (enc_path, dec_path):
        print(f"wrote {p} ({os.path.getsize(p) / 1e6:.1f} MB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=["medsam", "sam-med2d"], default="medsam")
    ap.add_argument("--checkpoint", help="SAM / MedSAM / SAM-Med2D ViT-B checkpoint (.pth)")
    ap.add_argument("--random-init", action="store_true", help="randomly initialised weights (architecture check)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()
    if not a.random_init and not a.checkpoint:
        ap.error("give --checkpoint or --random-init")
    export(a.preset, a.checkpoint, a.random_init, a.out, a.opset)


if __name__ == "__main__":
    main()
