#!/usr/bin/env python3
"""Fixtures for src/stats (tests/stats.rs), computed independently with scipy.

Writes tests/fixtures/stats_expected.json with:
- "normal": x, scipy.special.ndtr(x) and p, scipy.special.ndtri(p);
- "sign_flip": paired samples (one-sample differences) and the two-sided p-value of
  scipy.stats.permutation_test((d,), mean, permutation_type='samples', alternative='two-sided');
  exact (2^n <= n_resamples) for small n, else with n_resamples = 200000 so scipy's own
  Monte-Carlo error is small next to the Rust side's (R = 9999);
- "isotonic": weighted points (x, y, w), the non-increasing isotonic fit of y on x from
  scipy.optimize.isotonic_regression (after pooling equal x by weighted mean, as scikit-learn does)
  and the area of the linearly interpolated fit (constant beyond the data) over x in [0.5, 1] by
  numpy.interp on a fine grid plus the exact breakpoints (np.trapezoid).
- "bootstrap": the percentile and BCa 95% intervals of the mean of fixed samples from
  scipy.stats.bootstrap (n_resamples = 200000), to be matched within Monte-Carlo error.

Pinned: numpy==2.4.6, scipy==1.17.1 (tools/requirements-fixtures.txt).
Run: .local/stats-venv/bin/python tools/gen_stats_fixtures.py
"""
import json
import os

import numpy as np
import scipy
from scipy import optimize, special, stats

assert scipy.__version__ == "1.17.1", scipy.__version__
assert np.__version__ == "2.4.6", np.__version__


def sign_flip_cases(rng):
    cases = []
    # Small n: scipy enumerates all 2^n sign vectors (exact).
    for n, shift in [(8, 0.4), (10, 0.0), (12, 0.8), (13, 0.3)]:
        d = np.round(rng.normal(shift, 1.0, n), 6)
        r = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=9999, vectorized=True, axis=-1)
        cases.append({"d": d.tolist(), "p": float(r.pvalue), "exact": True})
    # Larger n: randomised.
    for n, shift, sd in [(30, 0.25, 1.0), (60, 0.1, 1.0), (100, 0.2, 1.0), (100, 0.0, 2.0), (200, 0.15, 1.0), (100, 0.3, 1.0)]:
        d = np.round(rng.normal(shift, sd, n), 6)
        r = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=200000, vectorized=True, axis=-1, rng=np.random.default_rng(1))
        cases.append({"d": d.tolist(), "p": float(r.pvalue), "exact": False, "scipy_resamples": 200000})
    return cases


def isotonic_case(rng, n, ties):
    x = rng.uniform(0.35, 1.0, n)
    if ties:
        x = np.round(x, 2)
    y = np.round(0.6 * (1 - x) + rng.normal(0, 0.08, n), 6)
    w = rng.integers(1, 4, n).astype(float)
    x = np.round(x, 6)
    ux = np.unique(x)
    uy = np.array([np.sum(y[x == v] * w[x == v]) / np.sum(w[x == v]) for v in ux])
    uw = np.array([np.sum(w[x == v]) for v in ux])
    # Non-increasing in x.
    fit = optimize.isotonic_regression(uy, weights=uw, increasing=False).x
    grid = np.union1d(np.linspace(0.5, 1.0, 20001), ux[(ux > 0.5) & (ux < 1.0)])
    area = float(np.trapezoid(np.interp(grid, ux, fit), grid))
    return {"x": x.tolist(), "y": y.tolist(), "w": w.tolist(), "ux": ux.tolist(), "fit": fit.tolist(), "area": area}


def bootstrap_cases(rng):
    out = []
    for n, kind in [(100, "normal"), (60, "exponential")]:
        d = rng.normal(0.05, 0.1, n) if kind == "normal" else rng.exponential(0.1, n)
        d = np.round(d, 6)
        res = {}
        for method in ["percentile", "BCa"]:
            r = stats.bootstrap((d,), np.mean, n_resamples=200000, method=method, confidence_level=0.95, rng=np.random.default_rng(2))
            res[method] = [float(r.confidence_interval.low), float(r.confidence_interval.high)]
            res["se"] = float(r.standard_error)
        out.append({"d": d.tolist(), **res})
    return out


def main():
    rng = np.random.default_rng(20261201)
    xs = [-8.0, -5.0, -3.5, -3.0, -2.0, -1.0, -0.3, 0.0, 0.7, 1.5, 2.9, 3.1, 6.0]
    ps = [1e-10, 1e-5, 0.001, 0.0125, 0.025, 0.1, 0.3, 0.5, 0.8, 0.975, 0.99, 0.9999]
    out = {
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "normal": {"x": xs, "ndtr": [float(special.ndtr(x)) for x in xs], "p": ps, "ndtri": [float(special.ndtri(p)) for p in ps]},
        "sign_flip": sign_flip_cases(rng),
        "isotonic": [isotonic_case(rng, 40, False), isotonic_case(rng, 300, True), isotonic_case(rng, 7, False)],
        "bootstrap": bootstrap_cases(rng),
    }
    here = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "stats_expected.json")
    with open(here, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", here)


if __name__ == "__main__":
    main()
