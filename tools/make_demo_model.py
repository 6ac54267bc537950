#!/usr/bin/env python3
"""Build the built-in demo segmentation model: models/demo/{encoder,decoder}.onnx.

What it is (honestly): NOT a neural network and not trained. It is a classical box-prompted
intensity segmenter written as two ONNX graphs with exactly segment-anything's two-graph ONNX
interface, so the whole SAM path of `medfm-robust eval-seg` (discovery, interface checks,
batching, prompts, post-processing, records) runs end to end on any machine without weights.

Encoder  image [B,3,256,256] (litemedsam preset: [0,1], longest side 256, zero pad)
         -> grey = channel mean -> 3x3 binomial blur (edge padding) -> space-to-depth(4)
         -> image_embeddings [B,256,64,64] (channels 0..15 hold the blurred image losslessly,
            channels 16..255 are zero).
Decoder  image_embeddings [1,256,64,64], point_coords [1,N,2], point_labels [1,N],
         mask_input [1,1,256,256], has_mask_input [1], orig_im_size [2]
         -> the blurred image back (depth-to-space); the box = points 0 and 1 (the benchmark always
            sends a box as two points labelled 2, 3; labels are otherwise unused);
            m_fg = mean inside the half-size ellipse inscribed in the box,
            m_bg = mean over the box corners outside the inscribed ellipse and a ring around the box;
            logit_k = gain * sign(m_fg - m_bg) * (img - (m_bg + f_k (m_fg - m_bg))) inside the box
            (one-pixel margin), -10 outside; f = (0.5, 0.35, 0.5, 0.65) for masks 0..3;
            gain = 4 / max(|m_fg - m_bg|, 0.01).
         -> low_res_masks [1,4,256,256], iou_predictions [1,4] = constants (0.9, 0.8, 0.9, 0.8),
            masks [1,4,H,W] = low_res_masks bilinearly resized to orig_im_size.
         mask_input / has_mask_input are accepted and ignored (multiplied by 0).

Pinned: onnx==1.23.2 (opset 17, IR version 8). Run: python tools/make_demo_model.py [OUT_DIR]
The output is byte-for-byte reproducible.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
S = 256          # encoder input side
BLOCK = 4        # space-to-depth block: embeddings are S/4 = 64 wide, as LiteMedSAM's
E = S // BLOCK
FRACTIONS = [0.5, 0.35, 0.5, 0.65]
IOU_CONST = [0.9, 0.8, 0.9, 0.8]


def const(name, arr, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def model(graph):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="medfm-robust/tools/make_demo_model.py", producer_version="1")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def encoder():
    k1 = np.array([1.0, 2.0, 1.0]) / 4.0
    blur = np.outer(k1, k1).reshape(1, 1, 3, 3)
    inits = [
        const("blur_w", blur),
        const("pad_edge", [0, 0, 1, 1, 0, 0, 1, 1], np.int64),
        const("pad_ch", [0, 0, 0, 0, 0, 256 - BLOCK * BLOCK, 0, 0], np.int64),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["grey"], axes=[1], keepdims=1),
        helper.make_node("Pad", ["grey", "pad_edge"], ["grey_p"], mode="edge"),
        helper.make_node("Conv", ["grey_p", "blur_w"], ["smooth"], kernel_shape=[3, 3]),
        helper.make_node("SpaceToDepth", ["smooth"], ["packed"], blocksize=BLOCK),
        helper.make_node("Pad", ["packed", "pad_ch"], ["image_embeddings"], mode="constant"),
    ]
    g = helper.make_graph(
        nodes,
        "demo_encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, S, S])],
        [helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, ["batch", 256, E, E])],
        inits,
    )
    return model(g)


def decoder():
    xs = np.arange(S, dtype=np.float32).reshape(1, 1, 1, S)
    ys = np.arange(S, dtype=np.float32).reshape(1, 1, S, 1)
    inits = [
        const("X", xs),
        const("Y", ys),
        const("ch_start", [0], np.int64), const("ch_end", [BLOCK * BLOCK], np.int64), const("ch_axis", [1], np.int64),
        const("pt_start", [0], np.int64), const("pt_end", [2], np.int64),
        const("i0", [0], np.int64), const("i1", [1], np.int64), const("ax1", [1], np.int64),
        const("half", 0.5), const("one", 1.0), const("zero", 0.0), const("neg10", -10.0), const("four", 4.0),
        const("min_contrast", 0.01), const("quarter", 0.25), const("corner_r", 1.1), const("ring_frac", 0.15), const("ring_min", 4.0),
        const("fractions", np.array(FRACTIONS).reshape(1, 4, 1, 1)),
        const("iou_const", np.array(IOU_CONST).reshape(1, 4)),
        const("nc", [1, 4], np.int64),
    ]
    n = []
    mk = helper.make_node
    # Image back from the embedding.
    n += [mk("Slice", ["image_embeddings", "ch_start", "ch_end", "ch_axis"], ["packed"]),
          mk("DepthToSpace", ["packed"], ["img"], blocksize=BLOCK, mode="DCR")]
    # Box corners: points 0 and 1.
    n += [mk("Slice", ["point_coords", "pt_start", "pt_end", "ax1"], ["pts"]),          # [1,2,2]
          mk("Gather", ["pts", "i0"], ["p0"], axis=1), mk("Gather", ["pts", "i1"], ["p1"], axis=1),  # [1,1,2]
          mk("Gather", ["p0", "i0"], ["x0"], axis=2), mk("Gather", ["p0", "i1"], ["y0"], axis=2),    # [1,1,1]
          mk("Gather", ["p1", "i0"], ["x1"], axis=2), mk("Gather", ["p1", "i1"], ["y1"], axis=2)]
    # Centre and half-sizes.
    n += [mk("Add", ["x0", "x1"], ["sx"]), mk("Mul", ["sx", "half"], ["cx"]),
          mk("Add", ["y0", "y1"], ["sy"]), mk("Mul", ["sy", "half"], ["cy"]),
          mk("Sub", ["x1", "x0"], ["wx"]), mk("Mul", ["wx", "half"], ["rx0"]), mk("Max", ["rx0", "one"], ["rx"]),
          mk("Sub", ["y1", "y0"], ["wy"]), mk("Mul", ["wy", "half"], ["ry0"]), mk("Max", ["ry0", "one"], ["ry"])]
    # Normalised elliptic radius^2 at every pixel: ((X-cx)/rx)^2 + ((Y-cy)/ry)^2.
    n += [mk("Sub", ["X", "cx"], ["dx"]), mk("Div", ["dx", "rx"], ["ux"]), mk("Mul", ["ux", "ux"], ["ux2"]),
          mk("Sub", ["Y", "cy"], ["dy"]), mk("Div", ["dy", "ry"], ["uy"]), mk("Mul", ["uy", "uy"], ["uy2"]),
          mk("Add", ["ux2", "uy2"], ["r2"])]
    # Box (one-pixel margin) and a ring around it.
    def inside(prefix, margin):
        return [
            mk("Sub", ["x0", margin], [prefix + "lx"]), mk("Add", ["x1", margin], [prefix + "hx"]),
            mk("Sub", ["y0", margin], [prefix + "ly"]), mk("Add", ["y1", margin], [prefix + "hy"]),
            mk("GreaterOrEqual", ["X", prefix + "lx"], [prefix + "a"]), mk("LessOrEqual", ["X", prefix + "hx"], [prefix + "b"]),
            mk("GreaterOrEqual", ["Y", prefix + "ly"], [prefix + "c"]), mk("LessOrEqual", ["Y", prefix + "hy"], [prefix + "d"]),
            mk("And", [prefix + "a", prefix + "b"], [prefix + "ab"]), mk("And", [prefix + "c", prefix + "d"], [prefix + "cd"]),
            mk("And", [prefix + "ab", prefix + "cd"], [prefix + "in"]),
        ]
    n += inside("box_", "one")
    n += [mk("Max", ["rx", "ry"], ["rmax"]), mk("Mul", ["rmax", "ring_frac"], ["ring0"]), mk("Max", ["ring0", "ring_min"], ["ring"])]
    n += inside("exp_", "ring")
    n += [mk("Not", ["box_in"], ["box_out"]), mk("And", ["exp_in", "box_out"], ["ring_m"]),
          mk("Greater", ["r2", "corner_r"], ["far"]), mk("And", ["box_in", "far"], ["corner_m"]),
          mk("Or", ["ring_m", "corner_m"], ["bg_b"]), mk("LessOrEqual", ["r2", "quarter"], ["fg_b"]),
          mk("Cast", ["bg_b"], ["bg"], to=TensorProto.FLOAT), mk("Cast", ["fg_b"], ["fg"], to=TensorProto.FLOAT),
          mk("Cast", ["box_in"], ["inb"], to=TensorProto.FLOAT)]
    # Weighted means.
    def wmean(w, out):
        return [mk("Mul", ["img", w], [out + "_p"]), mk("ReduceSum", [out + "_p"], [out + "_s"], keepdims=1),
                mk("ReduceSum", [w], [out + "_n0"], keepdims=1), mk("Max", [out + "_n0", "one"], [out + "_n"]),
                mk("Div", [out + "_s", out + "_n"], [out])]
    n += wmean("fg", "m_fg") + wmean("bg", "m_bg")
    # Contrast, sign, gain, thresholds.
    n += [mk("Sub", ["m_fg", "m_bg"], ["contrast"]), mk("Abs", ["contrast"], ["abs_c"]),
          mk("Max", ["abs_c", "min_contrast"], ["abs_c1"]), mk("Div", ["four", "abs_c1"], ["gain"]),
          mk("GreaterOrEqual", ["contrast", "zero"], ["pos"]), mk("Cast", ["pos"], ["pos_f"], to=TensorProto.FLOAT),
          # sign = 2 * pos - 1
          mk("Add", ["pos_f", "pos_f"], ["pos2"]), mk("Sub", ["pos2", "one"], ["sign"]),
          mk("Mul", ["contrast", "fractions"], ["shift"]), mk("Add", ["m_bg", "shift"], ["thr"]),         # [1,4,1,1]
          mk("Sub", ["img", "thr"], ["centred"]),                                                      # [1,4,S,S]
          mk("Mul", ["centred", "gain"], ["scaled"]), mk("Mul", ["scaled", "sign"], ["inner"])]
    # Outside the box: -10. logits = inb * inner + (1 - inb) * -10.
    n += [mk("Mul", ["inner", "inb"], ["in_part"]), mk("Sub", ["one", "inb"], ["outb"]),
          mk("Mul", ["outb", "neg10"], ["out_part"]), mk("Add", ["in_part", "out_part"], ["logits0"])]
    # Accept and ignore the mask prompt (keeps the inputs in the graph).
    n += [mk("ReduceMean", ["mask_input"], ["mi_mean"], keepdims=0), mk("Mul", ["mi_mean", "has_mask_input"], ["mi_use"]),
          mk("Mul", ["mi_use", "zero"], ["mi_zero"]), mk("ReduceSum", ["point_labels"], ["pl_sum"], keepdims=0),
          mk("Mul", ["pl_sum", "zero"], ["pl_zero"]), mk("Add", ["mi_zero", "pl_zero"], ["unused"]),
          mk("Add", ["logits0", "unused"], ["low_res_masks"])]
    n += [mk("Add", ["iou_const", "unused"], ["iou_predictions"])]
    # masks: bilinear to orig_im_size.
    n += [mk("Cast", ["orig_im_size"], ["hw"], to=TensorProto.INT64), mk("Concat", ["nc", "hw"], ["sizes"], axis=0),
          mk("Resize", ["low_res_masks", "", "", "sizes"], ["masks"], mode="linear", coordinate_transformation_mode="half_pixel")]
    g = helper.make_graph(
        n,
        "demo_decoder",
        [
            helper.make_tensor_value_info("image_embeddings", TensorProto.FLOAT, [1, 256, E, E]),
            helper.make_tensor_value_info("point_coords", TensorProto.FLOAT, [1, "num_points", 2]),
            helper.make_tensor_value_info("point_labels", TensorProto.FLOAT, [1, "num_points"]),
            helper.make_tensor_value_info("mask_input", TensorProto.FLOAT, [1, 1, 4 * E, 4 * E]),
            helper.make_tensor_value_info("has_mask_input", TensorProto.FLOAT, [1]),
            helper.make_tensor_value_info("orig_im_size", TensorProto.FLOAT, [2]),
        ],
        [
            helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, 4, "H", "W"]),
            helper.make_tensor_value_info("iou_predictions", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("low_res_masks", TensorProto.FLOAT, [1, 4, S, S]),
        ],
        inits,
    )
    return model(g)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models", "demo")
    os.makedirs(out, exist_ok=True)
    for name, m in [("encoder.onnx", encoder()), ("decoder.onnx", decoder())]:
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(m.SerializeToString(deterministic=True))
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
