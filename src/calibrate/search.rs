//! The joint band search (spec/ssim-calibration.md, "Default profile").
//!
//! f(s) = SSIM(clean, quantise(apply(s))) is (nearly) non-increasing in s because every random
//! quantity is fixed before s is applied (rule 1). We evaluate f at s_max once: bands whose upper
//! edge is below f(s_max) are unreachable and reported as such (never silently saturated). Then
//! each band is searched by safeguarded regula falsi on its midpoint target inside the tightest
//! bracket known from ALL evaluations so far (the cache is shared by the five bands, so later
//! bands start from brackets the earlier ones already narrowed). A band stops as soon as an
//! evaluation lands in it within `TARGET_TOL` of its target, or after `max_evals_per_band`.
//! Integer and warp strengths (small documented up-steps, plateaus) additionally get a local scan
//! of the final bracket when bisection alone found nothing in band.

use super::{Band, LevelOutcome, Verdict};
use crate::error::Result;
use crate::perturb::{IntegerSteps, StrengthKind};

/// Stop a band early when an in-band evaluation is this close to the band's midpoint.
pub const TARGET_TOL: f64 = 0.01;

/// Points of the local scan for integer / warp strengths.
const LOCAL_SCAN: usize = 8;

/// Memoised evaluations of f, sorted by strength.
pub struct Evaluations<'f> {
    f: Box<dyn FnMut(f32) -> Result<f64> + 'f>,
    points: Vec<(f32, f64)>,
    pub count: u32,
}

impl<'f> Evaluations<'f> {
    pub fn new(f: impl FnMut(f32) -> Result<f64> + 'f) -> Self {
        Evaluations {
            f: Box::new(f),
            points: Vec::new(),
            count: 0,
        }
    }

    pub fn eval(&mut self, s: f32) -> Result<f64> {
        if let Some(&(_, v)) = self.points.iter().find(|(x, _)| *x == s) {
            return Ok(v);
        }
        let v = (self.f)(s)?;
        self.count += 1;
        let pos = self.points.partition_point(|(x, _)| *x < s);
        self.points.insert(pos, (s, v));
        Ok(v)
    }

    pub fn points(&self) -> &[(f32, f64)] {
        &self.points
    }

    /// The tightest bracket around `target`: (largest s with f >= target, smallest larger s with
    /// f < target). Non-monotone noise is tolerated by taking the first crossing after `lo`.
    fn bracket(&self, target: f64) -> Option<((f32, f64), (f32, f64))> {
        let lo_idx = self.points.iter().rposition(|&(_, v)| v >= target)?;
        let hi = self.points[lo_idx + 1..]
            .iter()
            .find(|&&(_, v)| v < target)?;
        // Tighten lo: the last point >= target before hi.
        let lo = self.points[..=lo_idx]
            .iter()
            .rev()
            .find(|&&(s, v)| v >= target && s < hi.0)?;
        Some((*lo, *hi))
    }

    /// In-band evaluation closest to the band's target.
    fn best_in(&self, band: &Band) -> Option<(f32, f64)> {
        self.points
            .iter()
            .filter(|(_, v)| band.contains(*v))
            .min_by(|a, b| {
                (a.1 - band.target())
                    .abs()
                    .total_cmp(&(b.1 - band.target()).abs())
                    .then(a.0.total_cmp(&b.0))
            })
            .copied()
    }

    /// Evaluation closest to the band's target overall.
    fn closest(&self, band: &Band) -> (f32, f64) {
        *self
            .points
            .iter()
            .min_by(|a, b| {
                (a.1 - band.target())
                    .abs()
                    .total_cmp(&(b.1 - band.target()).abs())
            })
            .expect("at least s_min and s_max were evaluated")
    }
}

// The reasons a level is not in band, one definition for the CPU search and the on-GPU search
// (src/backend/cuda/search.rs builds its outcomes from the device state with these).

/// Band above f(s_max): the perturbation cannot degrade the image enough.
pub fn reason_above(s_max: f32, f_max: f64) -> String {
    format!("unreachable: SSIM at the maximal strength {s_max} is {f_max:.4}, above the band")
}

/// Band below f(s_min).
pub fn reason_below(s_min: f32, f_min: f64) -> String {
    format!(
        "unreachable: SSIM at the minimal strength {s_min} is already {f_min:.4}, below the band"
    )
}

/// The curve jumps over the band between two neighbouring evaluations.
pub fn reason_skipped(a: f32, fa: f64, b: f32, fb: f64) -> String {
    format!("band skipped: SSIM jumps from {fa:.4} (strength {a}) to {fb:.4} (strength {b})")
}

/// Budget spent; the closest evaluation is reported.
pub fn reason_not_found(n: u32, s: f32, v: f64) -> String {
    format!("not found within {n} evaluations; closest SSIM {v:.4} at strength {s}")
}

/// Search every band in `bands` (ascending level) over strengths in `[s_min, s_max]`.
pub fn search_bands(
    evals: &mut Evaluations<'_>,
    bands: &[Band],
    s_min: f32,
    s_max: f32,
    kind: StrengthKind,
    max_evals_per_band: u32,
) -> Result<Vec<LevelOutcome>> {
    search(evals, bands, s_min, s_max, kind, None, max_evals_per_band)
}

/// [`search_bands`] over the integer steps of an integer strength: the same joint search, each
/// probe the step the interpolation rounds to, strictly inside the bracket; a band's search ends
/// at its first in-band step or when its bracket is two neighbouring steps (nothing lies between
/// them), so no evaluation lands on a plateau already measured.
pub fn search_bands_steps(
    evals: &mut Evaluations<'_>,
    bands: &[Band],
    steps: IntegerSteps,
    max_evals_per_band: u32,
) -> Result<Vec<LevelOutcome>> {
    let (s_min, s_max) = ((steps.strength)(0), (steps.strength)(steps.last));
    search(
        evals,
        bands,
        s_min,
        s_max,
        StrengthKind::Integer,
        Some(steps),
        max_evals_per_band,
    )
}

/// The step of strength `s` (a step's own strength: every probe of the step search is one).
fn step_of(steps: &IntegerSteps, s: f32) -> u32 {
    (0..=steps.last)
        .find(|&k| (steps.strength)(k) == s)
        .unwrap_or_else(|| {
            // not a step's strength (cannot happen for points the step search made): the nearest
            (0..=steps.last)
                .min_by(|&a, &b| {
                    ((steps.strength)(a) - s)
                        .abs()
                        .total_cmp(&((steps.strength)(b) - s).abs())
                })
                .unwrap_or(0)
        })
}

fn search(
    evals: &mut Evaluations<'_>,
    bands: &[Band],
    s_min: f32,
    s_max: f32,
    kind: StrengthKind,
    steps: Option<IntegerSteps>,
    max_evals_per_band: u32,
) -> Result<Vec<LevelOutcome>> {
    let f_max = evals.eval(s_max)?;
    let f_min = evals.eval(s_min)?;
    let mut out = Vec::with_capacity(bands.len());
    for band in bands {
        let target = band.target();
        let start = evals.count;
        let outcome =
            |s: f32, v: f64, verdict: Verdict, reason: Option<String>, n: u32| LevelOutcome {
                level: band.level,
                strength: s,
                ssim: v,
                target: [band.lo, band.hi],
                in_band: verdict.in_band(),
                reason,
                evaluations: n,
                verdict,
            };
        if f_max > band.hi {
            out.push(outcome(
                s_max,
                f_max,
                Verdict::UnreachableAbove,
                Some(reason_above(s_max, f_max)),
                0,
            ));
            continue;
        }
        if f_min < band.lo {
            out.push(outcome(
                s_min,
                f_min,
                Verdict::UnreachableBelow,
                Some(reason_below(s_min, f_min)),
                0,
            ));
            continue;
        }
        // Bisection / regula falsi towards the target. On integer steps, a probe that lands on
        // the same side of the target as the band's previous probe makes the next one bisect
        // the step bracket (regula falsi keeps creeping from one end on a convex curve such as
        // SSIM(jpeg quality), one or two steps per probe).
        let mut last_side: Option<bool> = None;
        let mut bisect = false;
        while evals.count - start < max_evals_per_band {
            if let Some((_, v)) = evals.best_in(band) {
                // integer steps: the first in-band step ends the band (a closer step is often
                // not there: neighbouring steps jump by more than TARGET_TOL)
                if (v - target).abs() <= TARGET_TOL || steps.is_some() {
                    break;
                }
            }
            let Some(((a, fa), (b, fb))) = evals.bracket(target) else {
                break;
            };
            // Linear interpolation, kept at least 10% away from the bracket ends.
            let t = if fa > fb && !(bisect && steps.is_some()) {
                ((fa - target) / (fa - fb)).clamp(0.1, 0.9)
            } else {
                0.5
            };
            let s = match &steps {
                None => {
                    if b - a <= (s_max - s_min) * 1e-6 {
                        break;
                    }
                    a + (b - a) * t as f32
                }
                Some(st) => {
                    let (ka, kb) = (step_of(st, a), step_of(st, b));
                    if kb <= ka + 1 {
                        break;
                    }
                    let k = (ka as f64 + (kb - ka) as f64 * t).round() as u32;
                    (st.strength)(k.clamp(ka + 1, kb - 1))
                }
            };
            let before = evals.count;
            let v = evals.eval(s)?;
            if evals.count == before {
                break; // measured already: the bracket cannot narrow further
            }
            let side = v >= target;
            bisect = last_side == Some(side);
            last_side = Some(side);
        }
        if evals.best_in(band).is_none() && kind != StrengthKind::Continuous {
            if let Some(((a, _), (b, _))) = evals.bracket(target) {
                match &steps {
                    None => {
                        for i in 1..=LOCAL_SCAN {
                            let s = a + (b - a) * i as f32 / (LOCAL_SCAN + 1) as f32;
                            evals.eval(s)?;
                        }
                    }
                    // the steps strictly inside the bracket, at most LOCAL_SCAN of them evenly
                    // spaced (empty when the bracket is two neighbouring steps)
                    Some(st) => {
                        let (ka, kb) = (step_of(st, a), step_of(st, b));
                        let inside = kb.saturating_sub(ka + 1);
                        let n = inside.min(LOCAL_SCAN as u32);
                        for i in 1..=n {
                            let k = ka + ((i as u64 * (inside as u64 + 1)) / (n as u64 + 1)) as u32;
                            evals.eval((st.strength)(k.clamp(ka + 1, kb - 1)))?;
                        }
                    }
                }
            }
        }
        let n = evals.count - start;
        match evals.best_in(band) {
            Some((s, v)) => out.push(outcome(s, v, Verdict::InBand, None, n)),
            None => {
                let (s, v) = evals.closest(band);
                let reason = match evals.bracket(target) {
                    Some(((a, fa), (b, fb))) if fa > band.hi && fb < band.lo => {
                        reason_skipped(a, fa, b, fb)
                    }
                    _ => reason_not_found(n, s, v),
                };
                out.push(outcome(s, v, Verdict::Skipped, Some(reason), n));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::BANDS;

    #[test]
    fn finds_every_band_of_a_smooth_curve() {
        let mut e = Evaluations::new(|s: f32| Ok(1.0 - 0.8 * s as f64));
        let r = search_bands(&mut e, &BANDS, 0.0, 1.0, StrengthKind::Continuous, 20).unwrap();
        for (o, b) in r.iter().zip(BANDS) {
            assert!(o.in_band, "{o:?}");
            assert!((o.ssim - b.target()).abs() <= TARGET_TOL + 1e-12, "{o:?}");
        }
        assert!(
            e.count < 5 * 10,
            "joint search should be cheap, used {}",
            e.count
        );
    }

    #[test]
    fn reports_unreachable_bands() {
        let mut e = Evaluations::new(|s: f32| Ok(1.0 - 0.25 * s as f64));
        let r = search_bands(&mut e, &BANDS, 0.0, 1.0, StrengthKind::Continuous, 20).unwrap();
        assert!(r[0].in_band && r[1].in_band && r[2].in_band, "{r:?}");
        for o in &r[3..] {
            assert!(!o.in_band);
            assert!(
                o.reason.as_deref().unwrap().starts_with("unreachable"),
                "{o:?}"
            );
            assert!((o.ssim - 0.75).abs() < 1e-9);
        }
    }

    #[test]
    fn reports_a_skipped_band() {
        // A step function jumping over L3 entirely.
        let mut e = Evaluations::new(|s: f32| Ok(if s < 0.5 { 0.85 } else { 0.65 }));
        let r = search_bands(&mut e, &BANDS[2..3], 0.0, 1.0, StrengthKind::Integer, 20).unwrap();
        assert!(!r[0].in_band);
        assert!(
            r[0].reason.as_deref().unwrap().starts_with("band skipped"),
            "{:?}",
            r[0]
        );
    }

    #[test]
    fn step_search_never_measures_a_step_twice_and_stays_cheap() {
        // 64 steps of a decreasing curve with a plateau every other step: every band in reach is
        // found, each step measured at most once, in far fewer evaluations than bisection on s
        let steps = IntegerSteps {
            last: 63,
            strength: |k| k as f32,
        };
        let mut seen = std::collections::HashSet::new();
        let mut dup = false;
        let mut e = Evaluations::new(|s: f32| {
            dup |= !seen.insert(s.to_bits());
            assert_eq!(s, s.round(), "a probe off the steps: {s}");
            Ok(1.0
                - 0.5 * (1.0 - (-(s / 2.0).floor() as f64 / 8.0).exp()) / (1.0 - (-4.0f64).exp()))
        });
        let r = search_bands_steps(&mut e, &BANDS, steps, 20).unwrap();
        let n = e.count;
        drop(e);
        assert!(!dup);
        assert!(r.iter().all(|o| o.in_band), "{r:?}");
        assert!(n <= 15, "{n} evaluations");
    }

    #[test]
    fn integer_plateaus_still_land_in_band() {
        // Stepwise curve with 10 plateaus.
        let mut e = Evaluations::new(|s: f32| Ok(1.0 - 0.05 * (s * 10.0).round() as f64));
        let r = search_bands(&mut e, &BANDS, 0.0, 10.0, StrengthKind::Integer, 20).unwrap();
        assert!(r.iter().all(|o| o.in_band), "{r:?}");
    }
}
