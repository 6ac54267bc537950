#!/usr/bin/env python3
"""Fixture for the report's aggregation (src/report/aggregate.rs, tests/run_report.rs).

Writes a small records.jsonl (seeded random IoU values over 2 models x 2 strategies x 2 datasets x
3 samples x 4 perturbations (2 base, 2 medical) x 3 levels, with a few error records and a few
missing perturbed units) and recomputes, independently of the Rust code, with plain Python:
- drop(p, s) = mean over samples with both a clean and a (p, s) record without error of
  (IoU_clean - IoU_perturbed);
- Eq. 3: Delta_tau^(s) = mean over p in P_tau of drop(p, s);
- Table 1: clean IoU = mean clean IoU over samples; base/medical drop = mean over levels of
  Delta_tau^(s); average base drop = mean over datasets of the base drop;
- CE, relative CE and mCE against medsam/full (Hendrycks & Dietterich 2019).

Pinned: Python 3 standard library only (random.Random(11) is stable across Python 3 versions).
Run: python tools/gen_report_fixture.py -> tests/fixtures/report_records.jsonl, report_expected.json
"""
import json
import os
import random
from statistics import mean

R = random.Random(11)
MODELS = [("medsam", "full"), ("medsam", "lora"), ("sam-med2d", "full"), ("sam-med2d", "adapter")]
DATASETS = ["isic", "kvasir"]
SAMPLES = ["a.png", "b.png", "c.png"]
PERTS = [("gaussian_noise", "base"), ("gaussian_blur", "base"), ("hair", "medical"), ("bubbles", "medical")]
LEVELS = [1, 3, 5]


def rec(unit, m, s, d, sample, p, cat, level, iou, error=None):
    return {
        "unit": unit, "model": m, "strategy": s, "preset": "fixture", "dataset": d, "task": "segmentation",
        "sample": sample, "perturbation": p, "category": cat, "modality": None, "level": level,
        "strength": None, "ssim": None, "in_band": True, "reason": None,
        "metrics": {} if error else {"iou": iou, "dice": 2 * iou / (1 + iou)}, "prompt": None, "error": error,
    }


def main():
    records = []
    n = 0
    for m, s in MODELS:
        for d in DATASETS:
            for sample in SAMPLES:
                clean = round(R.uniform(0.6, 0.95), 6)
                n += 1
                records.append(rec(f"u{n:05d}", m, s, d, sample, "clean", "clean", 0, clean))
                for p, cat in PERTS:
                    for level in LEVELS:
                        n += 1
                        x = R.random()
                        if x < 0.03:
                            continue  # missing unit
                        if x < 0.06:
                            records.append(rec(f"u{n:05d}", m, s, d, sample, p, cat, level, None, error="inference failed"))
                            continue
                        iou = round(max(0.0, clean - R.uniform(-0.02, 0.08) * level), 6)
                        records.append(rec(f"u{n:05d}", m, s, d, sample, p, cat, level, iou))
    # One clean unit fails: that sample of that (model, strategy, dataset) drops out of every drop.
    for r in records:
        if r["model"] == "sam-med2d" and r["strategy"] == "adapter" and r["dataset"] == "kvasir" and r["sample"] == "b.png" and r["perturbation"] == "clean":
            r["metrics"] = {}
            r["error"] = "unreadable image"

    ok = [r for r in records if r["error"] is None]
    clean = {(r["model"], r["strategy"], r["dataset"], r["sample"]): r["metrics"]["iou"] for r in ok if r["perturbation"] == "clean"}
    cells = {}
    for r in ok:
        if r["perturbation"] == "clean":
            continue
        key = (r["model"], r["strategy"], r["dataset"], r["sample"])
        if key not in clean:
            continue
        cells.setdefault((r["model"], r["strategy"], r["dataset"], r["perturbation"], r["level"], r["category"]), []).append(clean[key] - r["metrics"]["iou"])
    drop = {k: mean(v) for k, v in cells.items()}
    delta = {}
    for (m, s, d, p, level, cat), v in drop.items():
        delta.setdefault((m, s, d, cat, level), []).append(v)
    delta = {k: mean(v) for k, v in delta.items()}
    table = []
    for m, s in sorted(MODELS):
        row = {"model": m, "strategy": s, "cells": []}
        bases = []
        for d in sorted(DATASETS):
            cl = [v for (mm, ss, dd, _), v in clean.items() if (mm, ss, dd) == (m, s, d)]
            b = mean([v for (mm, ss, dd, c, _), v in delta.items() if (mm, ss, dd, c) == (m, s, d, "base")])
            md = mean([v for (mm, ss, dd, c, _), v in delta.items() if (mm, ss, dd, c) == (m, s, d, "medical")])
            row["cells"].append([mean(cl), b, md])
            bases.append(b)
        row["average_base_drop"] = mean(bases)
        table.append(row)
    # CE / relative CE against medsam/full (Hendrycks & Dietterich): per (mds, perturbation), error
    # = 1 - mean perturbed IoU over the paired samples of each level, clean error = 1 - mean clean
    # IoU over all samples; sums over the levels both have; plus mCE over "all" and per category.
    pert_mean = {}
    for r in ok:
        if r["perturbation"] == "clean":
            continue
        key = (r["model"], r["strategy"], r["dataset"], r["sample"])
        if key in clean:
            pert_mean.setdefault((r["model"], r["strategy"], r["dataset"], r["perturbation"], r["level"]), []).append(r["metrics"]["iou"])
    pert_mean = {k: mean(v) for k, v in pert_mean.items()}
    clean_mean = {}
    for (m, s, d, _), v in clean.items():
        clean_mean.setdefault((m, s, d), []).append(v)
    clean_mean = {k: mean(v) for k, v in clean_mean.items()}
    ce = []
    for m, s in sorted(MODELS):
        for d in sorted(DATASETS):
            per = []
            for p, cat in sorted(PERTS):
                num = den = rnum = rden = 0.0
                for level in LEVELS:
                    a = pert_mean.get((m, s, d, p, level))
                    b = pert_mean.get(("medsam", "full", d, p, level))
                    if a is None or b is None:
                        continue
                    num += 1 - a
                    den += 1 - b
                    rnum += (1 - a) - (1 - clean_mean[(m, s, d)])
                    rden += (1 - b) - (1 - clean_mean[("medsam", "full", d)])
                ce.append([m, s, d, p, cat, num / den, rnum / rden])
                per.append((cat, num / den, rnum / rden))
            for cat in ["all", "base", "medical"]:
                sel = [x for x in per if cat == "all" or x[0] == cat]
                ce.append([m, s, d, "*", cat, mean([x[1] for x in sel]), mean([x[2] for x in sel])])
    expected = {
        "ce": ce,
        "errors": len(records) - len(ok),
        "delta": [[*k, v] for k, v in sorted(delta.items())],
        "drop": [[*k, v] for k, v in sorted(drop.items())],
        "table1": table,
    }
    here = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
    os.makedirs(here, exist_ok=True)
    with open(os.path.join(here, "report_records.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(here, "report_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(len(records), "records,", expected["errors"], "errors,", len(delta), "Eq. 3 cells")


if __name__ == "__main__":
    main()
