//! Captioning metrics equal to pycocoevalcap 1.2: BLEU-1..4, ROUGE-L, CIDEr-D.
//!
//! Contract: [`score`] takes one prediction and one or more references per item, already
//! normalised by [`normalise`], and returns what pycocoevalcap's `Bleu(4)`, `Rouge()` and
//! `Cider()` scorers return when fed the same strings directly (without its Java PTBTokenizer):
//! - BLEU: corpus level, `option='closest'` effective reference length (ties go to the shorter
//!   reference), `tiny = 1e-15`, `small = 1e-9`, cumulative geometric mean; words by `str.split()`.
//! - ROUGE-L: per item F-measure with beta = 1.2 from the LCS against each reference (precision and
//!   recall each maximised over the references), then the mean; words by `str.split(" ")`, so an
//!   empty string is one empty token exactly as in Python.
//! - CIDEr-D: n = 1..4, document frequency over the references of the EVALUATED set (so compare
//!   clean and perturbed runs over identical sample ids), `ref_len = ln(#items)`, clipped TF-IDF
//!   cosine, Gaussian length penalty with sigma 6 where the "length" is pycocoevalcap's bigram count,
//!   mean over n, divided by #references, times 10; then the mean over items.
//!
//! Tolerance against the Python package: 1e-6 (tests/caption_metrics.rs); differences come only
//! from floating-point summation order.
//!
//! Tokenisation ([`Tokenisation::Words`], the default): Unicode lower-case, then every character
//! that is neither alphanumeric nor whitespace becomes a space ("X-ray." -> "x ray"), then words are
//! joined by single spaces. [`Tokenisation::Raw`] leaves strings untouched: the authors' protocol
//! (case- and punctuation-sensitive).

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// How captions are normalised before scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tokenisation {
    /// Lower-case, punctuation to spaces, single spaces between words (default).
    Words,
    /// The string as given (the authors' code: no tokenizer at all).
    Raw,
}

impl Tokenisation {
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "words" | "default" => Ok(Tokenisation::Words),
            "raw" => Ok(Tokenisation::Raw),
            _ => Err(crate::Error::invalid(
                "--tokenisation",
                format!("'{s}': expected words or raw"),
            )),
        }
    }
}

/// Normalise one caption (see the module docs).
pub fn normalise(s: &str, t: Tokenisation) -> String {
    match t {
        Tokenisation::Raw => s.to_string(),
        Tokenisation::Words => {
            let lower = s.to_lowercase();
            let cleaned: String = lower
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || is_py_space(c) {
                        c
                    } else {
                        ' '
                    }
                })
                .collect();
            py_split(&cleaned).collect::<Vec<_>>().join(" ")
        }
    }
}

/// Python's `str.isspace` (what `str.split()` splits on): Unicode White_Space plus the four
/// information separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.split()`.
fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|w| !w.is_empty())
}

/// The six scores, named as `caption-metrics` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptionScores {
    pub bleu1: f64,
    pub bleu2: f64,
    pub bleu3: f64,
    pub bleu4: f64,
    pub rouge_l: f64,
    pub cider: f64,
}

/// Per-item values next to the corpus scores (pycocoevalcap's second return value).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemScores {
    /// BLEU-1..4 per item.
    pub bleu: Vec<[f64; 4]>,
    pub rouge_l: Vec<f64>,
    pub cider: Vec<f64>,
}

/// Score `preds[i]` against `refs[i]` (strings already normalised). Errors when the lengths differ
/// or an item has no reference (pycocoevalcap asserts the same).
pub fn score(preds: &[String], refs: &[Vec<String>]) -> crate::Result<(CaptionScores, ItemScores)> {
    if preds.len() != refs.len() {
        return Err(crate::Error::invalid(
            "captions",
            format!(
                "{} predictions for {} reference lists",
                preds.len(),
                refs.len()
            ),
        ));
    }
    if preds.is_empty() {
        return Err(crate::Error::invalid("captions", "no items to score"));
    }
    if let Some(i) = refs.iter().position(|r| r.is_empty()) {
        return Err(crate::Error::invalid(
            "captions",
            format!("item {i} has no reference"),
        ));
    }
    let (bleu, bleu_items) = bleu(preds, refs);
    let rouge_items: Vec<f64> = preds.iter().zip(refs).map(|(p, r)| rouge_l(p, r)).collect();
    let cider_items = cider_d(preds, refs)?;
    let scores = CaptionScores {
        bleu1: bleu[0],
        bleu2: bleu[1],
        bleu3: bleu[2],
        bleu4: bleu[3],
        rouge_l: mean(&rouge_items),
        cider: mean(&cider_items),
    };
    Ok((
        scores,
        ItemScores {
            bleu: bleu_items,
            rouge_l: rouge_items,
            cider: cider_items,
        },
    ))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

type Counts<'a> = HashMap<Vec<&'a str>, usize>;

/// n-gram counts for n = 1..=4 over `words` (pycocoevalcap `precook`).
fn ngrams<'a>(words: &[&'a str]) -> Counts<'a> {
    let mut counts: Counts<'a> = HashMap::new();
    for k in 1..=4 {
        if words.len() < k {
            break;
        }
        for w in words.windows(k) {
            *counts.entry(w.to_vec()).or_insert(0) += 1;
        }
    }
    counts
}

const TINY: f64 = 1e-15;
const SMALL: f64 = 1e-9;

/// pycocoevalcap `BleuScorer.compute_score(option='closest')`: corpus BLEU-1..4 and per item.
fn bleu(preds: &[String], refs: &[Vec<String>]) -> ([f64; 4], Vec<[f64; 4]>) {
    let mut total_guess = [0usize; 4];
    let mut total_correct = [0usize; 4];
    let (mut total_test, mut total_ref) = (0usize, 0usize);
    let mut items = Vec::with_capacity(preds.len());
    for (pred, rs) in preds.iter().zip(refs) {
        let mut maxcounts: Counts = HashMap::new();
        let mut reflens = Vec::with_capacity(rs.len());
        for r in rs {
            let words: Vec<&str> = py_split(r).collect();
            reflens.push(words.len());
            for (g, c) in ngrams(&words) {
                let e = maxcounts.entry(g).or_insert(0);
                *e = (*e).max(c);
            }
        }
        let words: Vec<&str> = py_split(pred).collect();
        let testlen = words.len();
        // closest reference length; ties to the shorter one (Python's tuple min).
        let reflen = reflens
            .iter()
            .map(|&l| (l.abs_diff(testlen), l))
            .min()
            .map_or(0, |t| t.1);
        let mut guess = [0usize; 4];
        let mut correct = [0usize; 4];
        for (k, g) in guess.iter_mut().enumerate() {
            *g = testlen.saturating_sub(k);
        }
        for (g, c) in ngrams(&words) {
            correct[g.len() - 1] += c.min(maxcounts.get(&g).copied().unwrap_or(0));
        }
        total_test += testlen;
        total_ref += reflen;
        for k in 0..4 {
            total_guess[k] += guess[k];
            total_correct[k] += correct[k];
        }
        items.push(bleu_from(&guess, &correct, testlen as f64, reflen as f64));
    }
    (
        bleu_from(
            &total_guess,
            &total_correct,
            total_test as f64,
            total_ref as f64,
        ),
        items,
    )
}

fn bleu_from(guess: &[usize; 4], correct: &[usize; 4], testlen: f64, reflen: f64) -> [f64; 4] {
    let mut out = [0.0; 4];
    let mut b = 1.0f64;
    for k in 0..4 {
        b *= (correct[k] as f64 + TINY) / (guess[k] as f64 + SMALL);
        out[k] = b.powf(1.0 / (k as f64 + 1.0));
    }
    let ratio = (testlen + TINY) / (reflen + SMALL);
    if ratio < 1.0 {
        let bp = (1.0 - 1.0 / ratio).exp();
        for v in &mut out {
            *v *= bp;
        }
    }
    out
}

/// pycocoevalcap `Rouge.calc_score` (beta 1.2; tokens by `split(" ")`).
fn rouge_l(pred: &str, refs: &[String]) -> f64 {
    const BETA: f64 = 1.2;
    let c: Vec<&str> = pred.split(' ').collect();
    let (mut prec_max, mut rec_max) = (0.0f64, 0.0f64);
    for r in refs {
        let t: Vec<&str> = r.split(' ').collect();
        let l = lcs(&t, &c) as f64;
        prec_max = prec_max.max(l / c.len() as f64);
        rec_max = rec_max.max(l / t.len() as f64);
    }
    if prec_max != 0.0 && rec_max != 0.0 {
        ((1.0 + BETA * BETA) * prec_max * rec_max) / (rec_max + BETA * BETA * prec_max)
    } else {
        0.0
    }
}

/// Length of the longest common subsequence of two token lists.
fn lcs(a: &[&str], b: &[&str]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A TF-IDF vector per n (pycocoevalcap `counts2vec`): weights, norms, and the "length", which
/// pycocoevalcap counts over bigrams (its `if n == 1` tests the 0-based n-gram index).
struct TfIdf<'a> {
    vec: [HashMap<Vec<&'a str>, f64>; 4],
    norm: [f64; 4],
    length: f64,
}

fn tfidf<'a>(counts: &Counts<'a>, df: &HashMap<Vec<&'a str>, usize>, ref_len: f64) -> TfIdf<'a> {
    let mut vec: [HashMap<Vec<&'a str>, f64>; 4] = Default::default();
    let mut norm = [0.0f64; 4];
    let mut length = 0.0;
    for (g, &tf) in counts {
        let d = (df.get(g).copied().unwrap_or(0).max(1) as f64).ln();
        let n = g.len() - 1;
        let w = tf as f64 * (ref_len - d);
        norm[n] += w * w;
        vec[n].insert(g.clone(), w);
        if n == 1 {
            length += tf as f64;
        }
    }
    TfIdf {
        vec,
        norm: norm.map(f64::sqrt),
        length,
    }
}

/// pycocoevalcap `CiderScorer.compute_score` (CIDEr-D, sigma 6): per-item scores.
fn cider_d(preds: &[String], refs: &[Vec<String>]) -> crate::Result<Vec<f64>> {
    const SIGMA: f64 = 6.0;
    let ref_words: Vec<Vec<Vec<&str>>> = refs
        .iter()
        .map(|rs| rs.iter().map(|r| py_split(r).collect()).collect())
        .collect();
    let ref_counts: Vec<Vec<Counts>> = ref_words
        .iter()
        .map(|rs| rs.iter().map(|w| ngrams(w)).collect())
        .collect();
    let mut df: HashMap<Vec<&str>, usize> = HashMap::new();
    for rs in &ref_counts {
        let uniq: HashSet<&Vec<&str>> = rs.iter().flat_map(|c| c.keys()).collect();
        for g in uniq {
            *df.entry(g.clone()).or_insert(0) += 1;
        }
    }
    if df.is_empty() {
        // pycocoevalcap fails its assertion here (max() of nothing).
        return Err(crate::Error::invalid(
            "captions",
            "every reference is empty: CIDEr-D is undefined",
        ));
    }
    let ref_len = (refs.len() as f64).ln();
    let mut out = Vec::with_capacity(preds.len());
    for (pred, rcs) in preds.iter().zip(&ref_counts) {
        let words: Vec<&str> = py_split(pred).collect();
        let hyp = tfidf(&ngrams(&words), &df, ref_len);
        let mut score = [0.0f64; 4];
        for rc in rcs {
            let r = tfidf(rc, &df, ref_len);
            let delta = hyp.length - r.length;
            for (n, acc) in score.iter_mut().enumerate() {
                let mut val = 0.0;
                for (g, &h) in &hyp.vec[n] {
                    let rv = r.vec[n].get(g).copied().unwrap_or(0.0);
                    val += h.min(rv) * rv;
                }
                if hyp.norm[n] != 0.0 && r.norm[n] != 0.0 {
                    val /= hyp.norm[n] * r.norm[n];
                }
                val *= std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
                *acc += val;
            }
        }
        let avg = score.iter().sum::<f64>() / 4.0 / rcs.len() as f64 * 10.0;
        out.push(avg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn normalise_lowercases_and_strips_punctuation() {
        assert_eq!(
            normalise("  Chest X-ray, PA view.  ", Tokenisation::Words),
            "chest x ray pa view"
        );
        assert_eq!(normalise("A  b", Tokenisation::Raw), "A  b");
        assert_eq!(normalise("...", Tokenisation::Words), "");
    }

    #[test]
    fn identical_captions_score_one_for_bleu_and_rouge() {
        let p = s(&["a small nodule in the left lung", "axial ct of the abdomen"]);
        let r = vec![
            s(&["a small nodule in the left lung"]),
            s(&["axial ct of the abdomen"]),
        ];
        let (sc, _) = score(&p, &r).unwrap();
        for b in [sc.bleu1, sc.bleu2, sc.bleu3, sc.bleu4, sc.rouge_l] {
            assert!((b - 1.0).abs() < 1e-6, "{b}");
        }
    }

    #[test]
    fn lcs_closed_form() {
        assert_eq!(lcs(&["a", "b", "c", "d"], &["a", "c", "d"]), 3);
        assert_eq!(lcs(&["x"], &["y"]), 0);
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        assert!(score(&s(&["a"]), &[]).is_err());
        assert!(score(&s(&["a"]), &[vec![]]).is_err());
    }
}
