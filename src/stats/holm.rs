//! Holm's step-down correction (Holm 1979): sort the m p-values ascending, p_holm(k) =
//! max_{j <= k} min(1, (m - j + 1) p(j)) (1-based ranks). Controls the family-wise error rate
//! under any dependence. NaN p-values are left NaN and not counted in m.

pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_computed() {
        // m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.06, 0.06 (monotone), 0.5.
        let got = super::holm(&[0.03, 0.5, 0.01, 0.02]);
        let want = [0.06, 0.5, 0.04, 0.06];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
        let got = super::holm(&[0.4, f64::NAN, 0.3]);
        assert!((got[0] - 0.6).abs() < 1e-15 && got[1].is_nan() && (got[2] - 0.6).abs() < 1e-15);
    }
}
