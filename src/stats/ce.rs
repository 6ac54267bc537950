//! Corruption error relative to a baseline (Hendrycks & Dietterich, ICLR 2019, ImageNet-C).
//!
//! For a model f and a perturbation c with mean errors E^f_{s,c} per severity s and clean error
//! E^f_clean (error = 1 - IoU, 1 - accuracy, ...; see [`error_scale`]):
//! - CE^f_c = sum_s E^f_{s,c} / sum_s E^base_{s,c}
//! - relative CE^f_c = sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^base_{s,c} - E^base_clean)
//! - mCE and relative mCE: the means of those over the perturbations.
//!
//! The sums run over the levels both models have; a perturbation the baseline lacks, or whose
//! baseline denominator is 0, has no CE (None) and is left out of the means.

/// Errors of one perturbation: (level, mean error at that level), plus the clean error.
#[derive(Clone, Debug, PartialEq)]
pub struct Errors {
    pub clean: f64,
    pub levels: Vec<(u8, f64)>,
}

/// The error of a metric value: `scale - value`, where `scale` is the metric's best value (1 for
/// IoU, Dice, accuracy, BLEU, ROUGE-L; 10 for CIDEr-D, which pycocoevalcap scales by 10).
pub fn error_scale(metric: &str) -> f64 {
    if metric.eq_ignore_ascii_case("cider") || metric.eq_ignore_ascii_case("cider_d") {
        10.0
    } else {
        1.0
    }
}

/// (CE, relative CE) of `model` against `baseline`.
pub fn corruption_error(model: &Errors, baseline: &Errors) -> (Option<f64>, Option<f64>) {
    let (mut num, mut den, mut rnum, mut rden) = (0.0, 0.0, 0.0, 0.0);
    let mut any = false;
    for &(l, e) in &model.levels {
        if let Some(&(_, eb)) = baseline.levels.iter().find(|x| x.0 == l) {
            any = true;
            num += e;
            den += eb;
            rnum += e - model.clean;
            rden += eb - baseline.clean;
        }
    }
    let ratio = |a: f64, b: f64| (any && b != 0.0).then(|| a / b);
    (ratio(num, den), ratio(rnum, rden))
}

/// Mean of the defined values (mCE, relative mCE); None when none is defined.
pub fn mean_defined(v: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let d: Vec<f64> = v.into_iter().flatten().collect();
    (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
}
