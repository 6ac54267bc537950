#!/usr/bin/env python3
"""Caption-metric fixtures: pycocoevalcap scores of a synthetic caption corpus.

Pinned: pycocoevalcap==1.2, numpy (any 2.x; only np.mean/np.log/np.sqrt are used by the scorers).
Run from the repository root:  python tools/gen_caption_fixtures.py
Writes
  tests/fixtures/caption_corpus.jsonl    one item per line: id, prediction, references
  tests/fixtures/caption_expected.json   corpus and per-item BLEU-1..4, ROUGE-L, CIDEr-D, for the
                                         "words" tokenisation and for "raw" strings
The scorers (Bleu(4), Rouge(), Cider()) are fed directly, bypassing PTBTokenizer (it needs Java).
"words" applies the same normalisation as src/metrics/caption.rs::normalise: lower-case, every
character that is neither alphanumeric nor whitespace becomes a space, words joined by one space.
The corpus is deterministic (random.Random(20240601)); it mixes exact copies, paraphrases, word
drops/swaps, verbose predictions, punctuation and case noise, a few non-ASCII characters, empty
predictions and 1-3 references per item.
"""
import json
import os
import random
import sys

import pycocoevalcap
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

REQUIRED = "1.2"

MODALITY = ["Axial CT", "Coronal CT", "Sagittal T2-weighted MRI", "Chest X-ray", "Ultrasound",
            "Contrast-enhanced CT", "Axial FLAIR MRI", "PET-CT", "Panoramic radiograph", "Angiography"]
FINDING = ["a 3.2 cm mass", "a small nodule", "free fluid", "a fracture", "an abscess",
           "pleural effusion", "a hypodense lesion", "calcifications", "a cyst", "diffuse thickening",
           "an aneurysm", "edema"]
PLACE = ["in the left lower lobe", "of the right kidney", "in the liver", "near the pancreas head",
         "of the femoral neck", "in the posterior fossa", "at the L4-L5 level", "in the pelvis",
         "of the thyroid gland", "along the aortic arch"]
EXTRA = ["(arrow)", "(arrows).", "; no other abnormality.", ", consistent with metastasis.",
         "- see asterisk *", "with surrounding oedema", "[white arrowhead]", "measuring 12×8 mm",
         "at 37°C", "µ-level detail"]
VERBOSE = ["This image shows", "The image demonstrates", "In this medical image we can see",
           "Findings:", "The scan reveals"]


def caption(rng):
    parts = [rng.choice(MODALITY), "showing", rng.choice(FINDING), rng.choice(PLACE)]
    if rng.random() < 0.6:
        parts.append(rng.choice(EXTRA))
    return " ".join(parts)


def noisy(rng, s):
    words = s.split()
    r = rng.random()
    if r < 0.15:
        return s  # exact copy
    if r < 0.30 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif r < 0.45 and len(words) > 3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif r < 0.60:
        words = rng.choice(VERBOSE).split() + [w.lower() for w in words]
    elif r < 0.70:
        words = [w.upper() if rng.random() < 0.3 else w for w in words] + [rng.choice(EXTRA)]
    elif r < 0.80:
        words = caption(rng).split()  # unrelated caption
    elif r < 0.86:
        words = words[: max(1, len(words) // 3)]  # very short
    elif r < 0.90:
        return rng.choice(["", "   ", "N/A", "."])  # empty / degenerate
    else:
        words = [w + rng.choice([",", ".", "", ""]) for w in words]
    sep = "  " if rng.random() < 0.1 else " "  # double spaces matter to ROUGE's split(" ") in raw mode
    return sep.join(words)


def normalise(s):
    lower = s.lower()
    cleaned = "".join(c if (c.isalnum() or c.isspace()) else " " for c in lower)
    return " ".join(cleaned.split())


def scores(gts, res):
    # Bleu(4).compute_score prints its totals; keep stdout clean of them.
    devnull = open(os.devnull, "w")
    old, sys.stdout = sys.stdout, devnull
    try:
        bleu, bleu_items = Bleu(4).compute_score(gts, res)
    finally:
        sys.stdout = old
        devnull.close()
    rouge, rouge_items = Rouge().compute_score(gts, res)
    cider, cider_items = Cider().compute_score(gts, res)
    corpus = {"bleu1": bleu[0], "bleu2": bleu[1], "bleu3": bleu[2], "bleu4": bleu[3],
              "rouge_l": float(rouge), "cider": float(cider)}
    items = {
        "bleu": [[float(bleu_items[k][i]) for k in range(4)] for i in range(len(gts))],
        "rouge_l": [float(x) for x in rouge_items],
        "cider": [float(x) for x in cider_items],
    }
    return corpus, items


def main():
    version = getattr(pycocoevalcap, "__version__", None)
    try:
        from importlib.metadata import version as pkg_version
        version = pkg_version("pycocoevalcap")
    except Exception:
        pass
    if version != REQUIRED:
        sys.exit(f"pycocoevalcap=={REQUIRED} required, found {version}")
    rng = random.Random(20240601)
    items = []
    for i in range(240):
        refs = [caption(rng)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            refs.append(noisy(rng, refs[0]) if rng.random() < 0.5 else caption(rng))
        pred = noisy(rng, rng.choice(refs))
        items.append({"id": f"ROCOv2_2023_test_{i:06d}", "prediction": pred, "references": refs})

    expected = {"pycocoevalcap": REQUIRED, "n": len(items)}
    for mode in ("words", "raw"):
        f = normalise if mode == "words" else (lambda s: s)
        gts = {it["id"]: [f(r) for r in it["references"]] for it in items}
        res = {it["id"]: [f(it["prediction"])] for it in items}
        corpus, per_item = scores(gts, res)
        expected[mode] = {"corpus": corpus, "items": per_item}

    os.makedirs("tests/fixtures", exist_ok=True)
    with open("tests/fixtures/caption_corpus.jsonl", "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    with open("tests/fixtures/caption_expected.json", "w", encoding="utf-8") as fh:
        json.dump(expected, fh, indent=1)
        fh.write("\n")
    print(json.dumps({m: expected[m]["corpus"] for m in ("words", "raw")}, indent=1))


if __name__ == "__main__":
    main()
