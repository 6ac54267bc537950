//! Degradation curves over SSIM: a monotone fit of the per-sample drop against the measured SSIM
//! and the area under it over SSIM in [0.5, 1].
//!
//! Fit: weighted isotonic regression (pool-adjacent-violators) of y = drop on x = SSIM,
//! constrained NON-INCREASING in x (a milder perturbation, higher SSIM, does not hurt more). Equal
//! x are pooled first (weighted mean), as scikit-learn's IsotonicRegression does; the fitted
//! function interpolates linearly between the distinct x and is constant beyond the data
//! (`out_of_bounds="clip"`). The report adds one anchor (x = 1, y = 0) per sample: an image at SSIM
//! 1 is the clean image, whose drop is 0 by definition, so the curve returns to the clean line at 1.
//!
//! Area: the integral of the fitted drop over x in [0.5, 1] (exact for the piecewise-linear fit):
//! the area between the clean line and the metric-vs-SSIM curve. Divided by 0.5 it is the mean drop
//! over that SSIM range; unlike the five bands it does not depend on where the band edges are.

/// Lower end of the SSIM range of the area.
pub const SSIM_LO: f64 = 0.5;

/// Weighted PAVA, non-decreasing, on points already in x order: returns the fitted value per
/// input point. Zero weights are allowed (they take the value of their block).
pub fn pava_non_decreasing(y: &[f64], w: &[f64]) -> Vec<f64> {
    // Blocks: (weighted sum, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(y.len());
    for (&yi, &wi) in y.iter().zip(w) {
        let mut b = (yi * wi, wi, 1usize);
        while let Some(&(s, ww, n)) = blocks.last() {
            // Merge while the previous block's mean >= this block's mean (compare s/ww >= b.0/b.1
            // without dividing; zero-weight blocks merge into their neighbour).
            if ww == 0.0 || b.1 == 0.0 || s * b.1 >= b.0 * ww {
                blocks.pop();
                b = (s + b.0, ww + b.1, n + b.2);
            } else {
                break;
            }
        }
        blocks.push(b);
    }
    let mut out = Vec::with_capacity(y.len());
    for (s, ww, n) in blocks {
        let v = if ww > 0.0 { s / ww } else { f64::NAN };
        out.extend(std::iter::repeat_n(v, n));
    }
    out
}

/// A fitted non-increasing curve: distinct x ascending and their fitted y.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// Fit y non-increasing in x with weights; points in any order. None without positive weight.
pub fn fit_non_increasing(points: &[(f64, f64, f64)]) -> Option<Curve> {
    let mut p: Vec<(f64, f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| p.2 > 0.0 && p.0.is_finite() && p.1.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    fit_sorted(&p)
}

/// As [`fit_non_increasing`] for points sorted by x with positive weights.
pub fn fit_sorted(p: &[(f64, f64, f64)]) -> Option<Curve> {
    let (mut xs, mut ys, mut ws) = (Vec::new(), Vec::new(), Vec::new());
    for &(x, y, w) in p {
        if w <= 0.0 {
            continue;
        }
        if xs.last() == Some(&x) {
            let k = ys.len() - 1;
            ys[k] += y * w;
            ws[k] += w;
        } else {
            xs.push(x);
            ys.push(y * w);
            ws.push(w);
        }
    }
    if xs.is_empty() {
        return None;
    }
    // Non-increasing in x = non-decreasing fit of -y.
    let neg: Vec<f64> = ys.iter().zip(&ws).map(|(s, w)| -s / w).collect();
    let y = pava_non_decreasing(&neg, &ws)
        .into_iter()
        .map(|v| -v)
        .collect();
    Some(Curve { x: xs, y })
}

impl Curve {
    /// The fitted value at `x` (linear between the distinct x, constant beyond).
    pub fn at(&self, x: f64) -> f64 {
        let n = self.x.len();
        if x <= self.x[0] {
            return self.y[0];
        }
        if x >= self.x[n - 1] {
            return self.y[n - 1];
        }
        let k = self.x.partition_point(|&v| v <= x);
        let (x0, x1, y0, y1) = (self.x[k - 1], self.x[k], self.y[k - 1], self.y[k]);
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }

    /// Exact integral of the fitted curve over [lo, hi].
    pub fn area(&self, lo: f64, hi: f64) -> f64 {
        let mut knots = vec![lo];
        knots.extend(self.x.iter().copied().filter(|&x| x > lo && x < hi));
        knots.push(hi);
        knots
            .windows(2)
            .map(|w| 0.5 * (w[1] - w[0]) * (self.at(w[0]) + self.at(w[1])))
            .sum()
    }
}

/// A PAVA block: weighted sum, weight, first and last x.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    s: f64,
    w: f64,
    x0: f64,
    x1: f64,
}

/// The area over [lo, hi] of the non-increasing fit of points (x[k], y[k]) with weights
/// `weight(k)`, x ascending (ties allowed, pooled); points with weight 0 are left out. One pass,
/// no allocation beyond `stack` (reused between calls): the bootstrap's inner loop. Equal to
/// `fit_sorted(..).area(lo, hi)` (tests below); NaN without positive weight.
pub fn area_sorted(
    x: &[f64],
    y: &[f64],
    weight: impl Fn(usize) -> f64,
    lo: f64,
    hi: f64,
    stack: &mut Vec<Block>,
) -> f64 {
    stack.clear();
    let mut pending: Option<Block> = None;
    let push = |stack: &mut Vec<Block>, mut b: Block| {
        // Non-increasing: merge while the previous block's mean <= this one's.
        while let Some(p) = stack.last() {
            if p.s * b.w <= b.s * p.w {
                b = Block {
                    s: p.s + b.s,
                    w: p.w + b.w,
                    x0: p.x0,
                    x1: b.x1,
                };
                stack.pop();
            } else {
                break;
            }
        }
        stack.push(b);
    };
    for k in 0..x.len() {
        let w = weight(k);
        if w <= 0.0 {
            continue;
        }
        match &mut pending {
            Some(p) if p.x1 == x[k] => {
                p.s += w * y[k];
                p.w += w;
            }
            _ => {
                if let Some(p) = pending.take() {
                    push(stack, p);
                }
                pending = Some(Block {
                    s: w * y[k],
                    w,
                    x0: x[k],
                    x1: x[k],
                });
            }
        }
    }
    match pending {
        Some(p) => push(stack, p),
        None => return f64::NAN,
    }
    // Integral of the piecewise-linear fit (constant on each block's x range, linear between
    // blocks, constant beyond the data), clipped to [lo, hi].
    let seg = |a: f64, va: f64, b: f64, vb: f64| -> f64 {
        let (ca, cb) = (a.max(lo), b.min(hi));
        if cb <= ca {
            return 0.0;
        }
        let at = |t: f64| {
            if b > a {
                va + (vb - va) * (t - a) / (b - a)
            } else {
                va
            }
        };
        0.5 * (cb - ca) * (at(ca) + at(cb))
    };
    let first = stack[0];
    let last = stack[stack.len() - 1];
    let v = |b: &Block| b.s / b.w;
    let mut area = seg(
        f64::MIN.max(lo.min(first.x0)),
        v(&first),
        first.x0,
        v(&first),
    ) + seg(last.x1, v(&last), hi.max(last.x1), v(&last));
    for (k, b) in stack.iter().enumerate() {
        area += seg(b.x0, v(b), b.x1, v(b));
        if let Some(n) = stack.get(k + 1) {
            area += seg(b.x1, v(b), n.x0, v(n));
        }
    }
    area
}

/// Area of the fit over SSIM in [0.5, 1].
pub fn area_over_ssim(points: &[(f64, f64, f64)]) -> Option<f64> {
    fit_non_increasing(points).map(|c| c.area(SSIM_LO, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_hand_case() {
        // Non-decreasing fit of [1, 3, 2, 4] (unit weights): pool 3 and 2 -> [1, 2.5, 2.5, 4].
        assert_eq!(
            pava_non_decreasing(&[1.0, 3.0, 2.0, 4.0], &[1.0; 4]),
            vec![1.0, 2.5, 2.5, 4.0]
        );
        // Weights: [5 (w 1), 1 (w 3)] -> (5 + 3) / 4 = 2.
        assert_eq!(
            pava_non_decreasing(&[5.0, 1.0], &[1.0, 3.0]),
            vec![2.0, 2.0]
        );
    }

    #[test]
    fn one_pass_area_equals_the_fitted_curve_area() {
        let r = crate::rng::Rng::new(3, 4, 5);
        let mut stack = Vec::new();
        for case in 0..200u32 {
            let n = 1 + (case as usize % 37);
            let mut pts: Vec<(f64, f64, f64)> = (0..n as u32)
                .map(|i| {
                    // Coarse x (many ties), weights 0..3.
                    let x = 0.3 + (r.uniform(case, 3 * i) as f64 * 20.0).floor() / 25.0;
                    let y = 0.5 - 0.4 * x + 0.2 * r.uniform(case, 3 * i + 1) as f64;
                    (x, y, (r.uniform(case, 3 * i + 2) * 4.0).floor() as f64)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
            let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
            let got = area_sorted(&xs, &ys, |k| pts[k].2, SSIM_LO, 1.0, &mut stack);
            match fit_sorted(&pts) {
                Some(c) => assert!(
                    (got - c.area(SSIM_LO, 1.0)).abs() < 1e-12,
                    "case {case}: {got} vs {}",
                    c.area(SSIM_LO, 1.0)
                ),
                None => assert!(got.is_nan()),
            }
        }
    }

    #[test]
    fn linear_drop_has_the_triangle_area() {
        // drop = 1 - x on [0.5, 1] (already non-increasing): area = 0.125.
        let pts: Vec<(f64, f64, f64)> = (0..=50)
            .map(|i| 0.5 + i as f64 / 100.0)
            .map(|x| (x, 1.0 - x, 1.0))
            .collect();
        assert!((area_over_ssim(&pts).unwrap() - 0.125).abs() < 1e-12);
        // Constant beyond the data: only x in [0.7, 0.9] observed.
        let c = fit_non_increasing(&[(0.7, 0.3, 1.0), (0.9, 0.1, 1.0)]).unwrap();
        assert!((c.area(0.5, 1.0) - (0.2 * 0.3 + 0.2 * 0.2 + 0.1 * 0.1)).abs() < 1e-12);
    }
}
