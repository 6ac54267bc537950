#!/usr/bin/env python3
"""Write the committed part of the bad-input corpus, tests/bad_inputs/ (docs/reliability.md).

The ONNX graphs need onnx; everything else is plain bytes. Images are not written here: the
table-driven test (tests/bad_inputs.rs) builds its image cases (truncated, bomb, 1x1, CMYK, ...)
from the crate's own encoders at run time, so they stay small and exact.

Pinned: onnx==1.23.2 (opset 17, IR version 8). Run: python tools/gen_bad_inputs.py [OUT_DIR]
The output is byte-for-byte reproducible.
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OPSET = 17
S = 32


def model(nodes, inputs, outputs, name):
    g = helper.make_graph(nodes, name, inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="medfm-robust-bad-inputs")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m.SerializeToString()


def nan_generic():
    # logits = (x - x) / (x - x) = NaN everywhere: a broken model that used to score IoU 0 silently.
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", 1, S, S])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", 1, S, S])
    nodes = [helper.make_node("Sub", ["image", "image"], ["z"]), helper.make_node("Div", ["z", "z"], ["logits"])]
    return model(nodes, [x], [y], "nan_generic")


def identity_generic(channels, side):
    # logits = image - 0.5 (a valid graph, used with a TOML whose size or channels do not match).
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", channels, side, side])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", channels, side, side])
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    nodes = [helper.make_node("Constant", [], ["h"], value=half), helper.make_node("Sub", ["image", "h"], ["logits"])]
    return model(nodes, [x], [y], "identity_generic")


def toml(graph, extra="", generic=None):
    g = generic or f"size = [{S}, {S}]\nchannels = 1\n"
    return f'name = "bad"\npreset = "generic"\ngraph = "{graph}"\n{extra}[generic]\n{g}'


FILES = {
    "onnx/nan_generic.onnx": nan_generic,
    "onnx/identity_1x32.onnx": lambda: identity_generic(1, S),
    "onnx/garbage.onnx": lambda: b"this is not an ONNX protobuf\x00\xff\x13" * 7,
    "onnx/empty.onnx": lambda: b"",
    "onnx/truncated.onnx": lambda: identity_generic(1, S)[:40],
    "models/nan.toml": lambda: toml("../onnx/nan_generic.onnx"),
    "models/std_zero.toml": lambda: toml("../onnx/identity_1x32.onnx", generic=f"size = [{S}, {S}]\nchannels = 1\nstd = [0.0, 0.0, 0.0]\n"),
    "models/scale_zero.toml": lambda: toml("../onnx/identity_1x32.onnx", generic=f"size = [{S}, {S}]\nchannels = 1\nscale = 0.0\n"),
    "models/size_zero.toml": lambda: toml("../onnx/identity_1x32.onnx", generic="size = [0, 32]\nchannels = 1\n"),
    "models/channels_2.toml": lambda: toml("../onnx/identity_1x32.onnx", generic=f"size = [{S}, {S}]\nchannels = 2\n"),
    "models/mismatched_size.toml": lambda: toml("../onnx/identity_1x32.onnx", generic="size = [64, 64]\nchannels = 1\n"),
    "models/garbage_graph.toml": lambda: toml("../onnx/garbage.onnx"),
    "models/empty_graph.toml": lambda: toml("../onnx/empty.onnx"),
    "models/truncated_graph.toml": lambda: toml("../onnx/truncated.onnx"),
    "models/missing_graph.toml": lambda: toml("../onnx/absent.onnx"),
    "models/unknown_key.toml": lambda: toml("../onnx/identity_1x32.onnx", generic=f"size = [{S}, {S}]\nchannels = 1\nmeen = [0.0, 0.0, 0.0]\n"),
    "models/syntax.toml": lambda: 'name = "bad"\npreset = generic\n',
    "models/unknown_preset.toml": lambda: 'name = "bad"\npreset = "sam-xxl"\nencoder = "../onnx/garbage.onnx"\ndecoder = "../onnx/garbage.onnx"\n',
    # Manifests: copied next to a good image `good.png` by the test; each is refused as a whole
    # (exit 1, the message names the manifest and the line) unless noted in tests/bad_inputs.rs.
    "manifests/not_json.jsonl": lambda: '{"image": "good.png"}\nthis is not json\n',
    "manifests/missing_image.jsonl": lambda: '{"image": "good.png"}\n{"mask": "good.png"}\n',
    "manifests/image_not_string.jsonl": lambda: '{"image": "good.png"}\n{"image": 42}\n',
    "manifests/array_line.jsonl": lambda: '{"image": "good.png"}\n[1, 2]\n',
    "manifests/bad_modality.jsonl": lambda: '{"image": "good.png", "modality": "ct"}\n{"image": "good.png", "modality": "brain"}\n',
    "manifests/duplicate.jsonl": lambda: '{"image": "good.png"}\n{"image": "good.png"}\n',
    "manifests/not_utf8.jsonl": lambda: b'{"image": "good.png"}\n{"image": "\xff\xfe.png"}\n',
    "manifests/no_image_column.csv": lambda: "file,mask\ngood.png,\n",
    "manifests/bad_modality.csv": lambda: "image,modality\ngood.png,ct\n\"good2.png\",brain\n",
    "manifests/duplicate.csv": lambda: 'image\ngood.png\n"good.png"\n',
    "manifests/empty.csv": lambda: "",
    "manifests/missing_file.jsonl": lambda: '{"image": "good.png"}\n{"image": "absent.png"}\n',
    # Run configs (`run CONFIG --out DIR --dry-run`): refused before any work (exit 1).
    "run/syntax.toml": lambda: 'name = "x"\nlevels = [1, 2\n',
    "run/unknown_key.toml": lambda: RUN_BASE.replace('seed = 3', 'seed = 3\nsede = 4'),
    "run/unknown_modality.toml": lambda: RUN_BASE.replace('modality = "ct"', 'modality = "brain"'),
    "run/unknown_perturbation.toml": lambda: RUN_BASE.replace('["contrast"]', '["contrast", "xyzzy_blur"]'),
    "run/unknown_preset.toml": lambda: RUN_BASE.replace('"builtin-threshold"', '"sam-xxl"'),
    "run/missing_dataset.toml": lambda: RUN_BASE.replace('path = "data"', 'path = "absent_data"'),
    "run/levels_out_of_range.toml": lambda: RUN_BASE.replace('levels = [1]', 'levels = [0, 9]'),
}

RUN_BASE = """name = "bad"
seed = 3
levels = [1]
perturbations = ["contrast"]

[[datasets]]
name = "ct"
path = "data"
modality = "ct"

[[models]]
name = "thr"
strategy = "full"
preset = "builtin-threshold"
"""


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "bad_inputs")
    for rel, make in sorted(FILES.items()):
        data = make()
        if isinstance(data, str):
            data = data.encode()
        p = os.path.join(out, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    print(f"wrote {len(FILES)} files under {out}")


if __name__ == "__main__":
    main()
