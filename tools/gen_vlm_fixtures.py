#!/usr/bin/env python3
"""VLM answer-handling fixtures from CPython's standard library (no third-party package).

Pinned: CPython 3.11 (difflib.SequenceMatcher and random.sample/seed are stable across 3.x
since 3.2 for these calls; the script refuses other major versions).
Run from the repository root:  python tools/gen_vlm_fixtures.py
Writes tests/fixtures/vlm_parse.json:
  difflib: [a, b, SequenceMatcher(None, a, b).ratio()] triples (short and >= 200-char b, so the
           autojunk "popular element" rule is exercised)
  sample:  [n, k, seed, random.sample(range(n), k) after random.seed(seed)]
"""
import difflib
import json
import random
import sys

if sys.version_info[:1] != (3,):
    sys.exit("CPython 3 required")

OPTIONS = ["Pneumonia", "No pneumonia", "Pleural effusion", "Cardiomegaly", "Normal",
           "Glioma", "Meningioma", "Pituitary tumor", "Melanoma", "Benign nevus", "CT", "MRI"]
REPLIES = ["pneumonia", "The image shows a glioma.", "B", "The answer is C. Pleural effusion",
           "It looks like a meningioma in the left hemisphere", "normal chest x-ray", "",
           "Cardiomegaly with mild pleural effusion", "I cannot determine the diagnosis",
           "melanoma (malignant)", "This is a T2-weighted MRI scan of the brain"]
LONG = ("This chest radiograph demonstrates an enlarged cardiac silhouette with a cardiothoracic "
        "ratio above 0.5, consistent with cardiomegaly; there is also blunting of the costophrenic "
        "angles suggesting small bilateral pleural effusions, and no focal consolidation to suggest "
        "pneumonia is seen in either lung field on this frontal projection image.")


def main():
    rng = random.Random(7)
    triples = []
    for a in OPTIONS:
        for b in REPLIES + [LONG, LONG.upper(), LONG[:199], LONG * 2]:
            a2, b2 = a.lower(), b.lower()
            triples.append([a2, b2, difflib.SequenceMatcher(None, a2, b2).ratio()])
    for _ in range(40):
        a = "".join(rng.choice("abcde ") for _ in range(rng.randrange(0, 30)))
        b = "".join(rng.choice("abcde ") for _ in range(rng.randrange(0, 260)))
        triples.append([a, b, difflib.SequenceMatcher(None, a, b).ratio()])
    samples = []
    for n, k, seed in [(10, 3, 42), (100, 5, 42), (100, 6, 42), (500, 100, 42), (1000, 100, 42),
                       (88996, 500, 42), (50, 49, 1), (7, 7, 3), (30, 25, 0), (2**20, 10, 2**40 + 5)]:
        random.seed(seed)
        samples.append([n, k, seed, random.sample(range(n), k)])
    out = {"python": sys.version.split()[0], "difflib": triples, "sample": samples}
    with open("tests/fixtures/vlm_parse.json", "w", encoding="utf-8") as fh:
        json.dump(out, fh)
        fh.write("\n")
    print(f"{len(triples)} ratios, {len(samples)} samples")


if __name__ == "__main__":
    main()
