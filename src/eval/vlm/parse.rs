//! Turning model replies into answers: multiple-choice letters and grounding boxes.
//!
//! Multiple choice ([`parse_choice`]), first rule that decides wins, the rule is recorded:
//! 1. `letter`: the reply names exactly one option letter: the whole reply is a letter ("B",
//!    "(B)", "b."), it starts with a letter and a delimiter ("B. Pneumonia", "(C) ..."), an answer
//!    phrase names it ("The answer is C", "Answer: (B)", "option D"), or, as in VLMEvalKit's
//!    `can_infer_option`, exactly one distinct capital option letter stands alone among the words
//!    after `.()[],:;!*#{}` become spaces (a capital "A" followed by a word is read as the article);
//! 2. `text`: exactly one option's text (lower-cased, punctuation as spaces) occurs in the reply as
//!    whole words, or one matching option contains all the others that match ("no pneumonia" over
//!    "pneumonia");
//! 3. `similarity`: the option with the highest `difflib.SequenceMatcher(None, option, reply)
//!    .ratio()` on lower-cased strings (OmniMedVQA's official scorer), first on ties.
//!
//! An empty reply gives no answer (`none`), which counts as wrong.
//!
//! Boxes ([`parse_box`]): the numbers after `box_2d`, else the first bracketed group of exactly
//! four numbers, else the first four numbers that are not part of a word ("T2", "L4" are skipped;
//! PaliGemma's `<loc0123>` is read); then converted to pixels with the model's [`BoxFormat`].
//! [`compat_box`] is the authors' rule: the first four numbers of any kind, no conversion.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which rule produced a multiple-choice answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChoiceRule {
    Letter,
    Text,
    Similarity,
    Judge,
    None,
}

/// A parsed multiple-choice answer: option index (0 = A) and the rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    pub index: Option<usize>,
    pub rule: ChoiceRule,
}

/// Letter of option `i` (0 = A).
pub fn letter(i: usize) -> char {
    (b'A' + i as u8) as char
}

/// Parse `reply` against `options` (in A, B, C, ... order).
pub fn parse_choice(reply: &str, options: &[String]) -> Choice {
    let n = options.len();
    if let Some(i) = letter_rule(reply, n) {
        return Choice {
            index: Some(i),
            rule: ChoiceRule::Letter,
        };
    }
    if let Some(i) = text_rule(reply, options) {
        return Choice {
            index: Some(i),
            rule: ChoiceRule::Text,
        };
    }
    let r = reply.trim().to_lowercase();
    if r.is_empty() || n == 0 {
        return Choice {
            index: None,
            rule: ChoiceRule::None,
        };
    }
    let mut best = (0usize, -1.0f64);
    for (i, o) in options.iter().enumerate() {
        let s = difflib_ratio(&o.to_lowercase(), &r);
        if s > best.1 {
            best = (i, s);
        }
    }
    Choice {
        index: Some(best.0),
        rule: ChoiceRule::Similarity,
    }
}

fn letter_index(c: char, n: usize) -> Option<usize> {
    let u = c.to_ascii_uppercase();
    if u.is_ascii_uppercase() && ((u as u8 - b'A') as usize) < n {
        Some((u as u8 - b'A') as usize)
    } else {
        None
    }
}

fn letter_rule(reply: &str, n: usize) -> Option<usize> {
    let cleaned: String = reply
        .chars()
        .filter(|c| !matches!(c, '*' | '#' | '`' | '"' | '\''))
        .collect();
    let t = cleaned.trim();
    // Whole reply is one letter, possibly wrapped or followed by a delimiter.
    let core = t
        .trim_start_matches(['(', '['])
        .trim_end_matches(['.', ')', ']', ':', ',']);
    let mut chars = core.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if let Some(i) = letter_index(c, n) {
            return Some(i);
        }
    }
    // Starts with "B." / "B)" / "(B)" / "B:" followed by whitespace.
    let lead = t.trim_start_matches(['(', '[']);
    let mut it = lead.chars();
    if let (Some(c), Some(d)) = (it.next(), it.next()) {
        let rest_ok = it.next().is_none_or(char::is_whitespace);
        if c.is_ascii_uppercase() && matches!(d, '.' | ')' | ']' | ':') && rest_ok {
            if let Some(i) = letter_index(c, n) {
                return Some(i);
            }
        }
    }
    // Answer phrases.
    let lower = t.to_lowercase();
    let mut found: Vec<usize> = Vec::new();
    for phrase in [
        "answer is",
        "answer:",
        "answer would be",
        "option",
        "choice",
    ] {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(phrase) {
            let start = from + pos + phrase.len();
            from = start;
            let after: String = t[start..].chars().take(8).collect();
            let a = after.trim_start_matches([' ', ':', '(', '[', '*']);
            let mut ac = a.chars();
            if let Some(c) = ac.next() {
                let next_ok = ac.next().is_none_or(|d| !d.is_alphanumeric());
                if next_ok && (c.is_ascii_uppercase() || after.trim_start().starts_with(['(', ':']))
                {
                    if let Some(i) = letter_index(c, n) {
                        if !found.contains(&i) {
                            found.push(i);
                        }
                    }
                }
            }
        }
    }
    if found.len() == 1 {
        return Some(found[0]);
    }
    if found.len() > 1 {
        return None;
    }
    // VLMEvalKit-style: exactly one distinct standalone capital letter.
    let spaced: String = t
        .chars()
        .map(|c| if ".()[],:;!*#{}".contains(c) { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut letters: Vec<usize> = Vec::new();
    for (k, w) in words.iter().enumerate() {
        let mut wc = w.chars();
        if let (Some(c), None) = (wc.next(), wc.next()) {
            if !c.is_ascii_uppercase() {
                continue;
            }
            if c == 'A' && article_use(t, &words, k) {
                continue;
            }
            if let Some(i) = letter_index(c, n) {
                if !letters.contains(&i) {
                    letters.push(i);
                }
            }
        }
    }
    if letters.len() == 1 {
        Some(letters[0])
    } else {
        None
    }
}

/// "A" used as the article: followed by a word that is not itself a lone capital.
fn article_use(_t: &str, words: &[&str], k: usize) -> bool {
    match words.get(k + 1) {
        Some(next) => {
            next.chars().count() > 1 || next.chars().next().is_some_and(|c| c.is_lowercase())
        }
        None => false,
    }
}

/// Lower-case, punctuation to spaces, single spaces, padded with one space on each side so that
/// `contains(" word ")` tests whole words.
fn words_padded(s: &str) -> String {
    let cleaned: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    format!(
        " {} ",
        cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn text_rule(reply: &str, options: &[String]) -> Option<usize> {
    let r = words_padded(reply);
    let opts: Vec<String> = options.iter().map(|o| words_padded(o)).collect();
    let hits: Vec<usize> = (0..opts.len())
        .filter(|&i| !opts[i].trim().is_empty() && r.contains(&opts[i]))
        .collect();
    match hits.len() {
        0 => None,
        1 => Some(hits[0]),
        _ => {
            // One hit containing every other hit ("no pneumonia" vs "pneumonia").
            let cover: Vec<usize> = hits
                .iter()
                .copied()
                .filter(|&i| hits.iter().all(|&j| j == i || opts[i].contains(&opts[j])))
                .collect();
            if cover.len() == 1 {
                Some(cover[0])
            } else {
                None
            }
        }
    }
}

/// `difflib.SequenceMatcher(None, a, b).ratio()` over Unicode code points, autojunk included
/// (elements of `b` occurring more than len(b)/100 + 1 times are "popular" when len(b) >= 200).
pub fn difflib_ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let mut b2j: std::collections::HashMap<char, Vec<usize>> = std::collections::HashMap::new();
    for (j, &c) in b.iter().enumerate() {
        b2j.entry(c).or_default().push(j);
    }
    if b.len() >= 200 {
        let ntest = b.len() / 100 + 1;
        b2j.retain(|_, v| v.len() <= ntest);
    }
    let mut matches = 0usize;
    let mut queue = vec![(0usize, a.len(), 0usize, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(&a, &b, &b2j, alo, ahi, blo, bhi);
        if k > 0 {
            matches += k;
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

/// difflib's `find_longest_match` with no junk function (popular elements already purged).
fn longest_match(
    a: &[char],
    b: &[char],
    b2j: &std::collections::HashMap<char, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
    let mut j2len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (i, ai) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut new: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        if let Some(js) = b2j.get(ai) {
            for &j in js {
                if j < blo {
                    continue;
                }
                if j >= bhi {
                    break;
                }
                let k = if j > 0 {
                    j2len.get(&(j - 1)).copied().unwrap_or(0)
                } else {
                    0
                } + 1;
                new.insert(j, k);
                if k > bestsize {
                    besti = i + 1 - k;
                    bestj = j + 1 - k;
                    bestsize = k;
                }
            }
        }
        j2len = new;
    }
    while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
        besti -= 1;
        bestj -= 1;
        bestsize += 1;
    }
    while besti + bestsize < ahi
        && bestj + bestsize < bhi
        && a[besti + bestsize] == b[bestj + bestsize]
    {
        bestsize += 1;
    }
    (besti, bestj, bestsize)
}

/// Coordinate order of a model's boxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoxOrder {
    Xyxy,
    Yxyx,
}

/// Unit of a model's box coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoxUnit {
    Pixel,
    /// 0..1 of width/height.
    Unit,
    /// 0..1000 (Gemini, Qwen2-VL).
    Thousand,
    /// 0..1023 (PaliGemma `<loc>` tokens: value / 1024 of the side).
    Loc1024,
}

/// A model's box convention (MODEL.toml `box_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoxFormat {
    pub order: BoxOrder,
    pub unit: BoxUnit,
}

impl Default for BoxFormat {
    fn default() -> Self {
        BoxFormat {
            order: BoxOrder::Xyxy,
            unit: BoxUnit::Pixel,
        }
    }
}

impl BoxFormat {
    /// `ORDER-UNIT` with ORDER `xyxy`|`yxyx` and UNIT `pixel`|`0-1`|`0-1000`|`0-1023`, or an alias:
    /// `gemini` = yxyx-0-1000, `qwen2-vl` = xyxy-0-1000, `qwen2.5-vl` = xyxy-pixel,
    /// `paligemma` = yxyx-0-1023.
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let full = match t.as_str() {
            "gemini" => "yxyx-0-1000",
            "qwen2-vl" => "xyxy-0-1000",
            "qwen2.5-vl" => "xyxy-pixel",
            "paligemma" => "yxyx-0-1023",
            other => other,
        };
        let (order, unit) = full.split_once('-').ok_or_else(|| bad_format(s))?;
        let order = match order {
            "xyxy" => BoxOrder::Xyxy,
            "yxyx" => BoxOrder::Yxyx,
            _ => return Err(bad_format(s)),
        };
        let unit = match unit {
            "pixel" | "px" | "pixels" => BoxUnit::Pixel,
            "0-1" | "norm" | "unit" => BoxUnit::Unit,
            "0-1000" => BoxUnit::Thousand,
            "0-1023" | "loc" => BoxUnit::Loc1024,
            _ => return Err(bad_format(s)),
        };
        Ok(BoxFormat { order, unit })
    }

    /// Four raw numbers to a pixel box [x1, y1, x2, y2] (ordered, clamped to the image).
    pub fn to_pixels(&self, v: [f64; 4], width: usize, height: usize) -> [f64; 4] {
        let [a, b, c, d] = v;
        let (x1, y1, x2, y2) = match self.order {
            BoxOrder::Xyxy => (a, b, c, d),
            BoxOrder::Yxyx => (b, a, d, c),
        };
        let (sx, sy) = match self.unit {
            BoxUnit::Pixel => (1.0, 1.0),
            BoxUnit::Unit => (width as f64, height as f64),
            BoxUnit::Thousand => (width as f64 / 1000.0, height as f64 / 1000.0),
            BoxUnit::Loc1024 => (width as f64 / 1024.0, height as f64 / 1024.0),
        };
        let (w, h) = (width as f64, height as f64);
        let (x1, x2) = (x1 * sx, x2 * sx);
        let (y1, y2) = (y1 * sy, y2 * sy);
        [
            x1.min(x2).clamp(0.0, w),
            y1.min(y2).clamp(0.0, h),
            x1.max(x2).clamp(0.0, w),
            y1.max(y2).clamp(0.0, h),
        ]
    }
}

fn bad_format(s: &str) -> Error {
    Error::invalid(
        "box_format",
        format!("'{s}': expected xyxy|yxyx-pixel|0-1|0-1000|0-1023, or gemini, qwen2-vl, qwen2.5-vl, paligemma"),
    )
}

/// A number in the text with where it starts and whether a letter touches it on the left.
struct Num {
    value: f64,
    start: usize,
    in_word: bool,
}

fn numbers(text: &str) -> Vec<Num> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let neg = b[i] == b'-' && i + 1 < b.len() && b[i + 1].is_ascii_digit();
        let starts_digit = b[i].is_ascii_digit()
            || (b[i] == b'.'
                && i + 1 < b.len()
                && b[i + 1].is_ascii_digit()
                && (i == 0 || !b[i - 1].is_ascii_digit()));
        if !(neg || starts_digit) {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = if neg { i + 1 } else { i };
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let value: f64 = text[start..j].parse().unwrap_or(f64::NAN);
        let left = if start > 0 { b[start - 1] } else { b' ' };
        // Bytes, not a str slice: the three bytes before a digit may end inside a multi-byte char.
        let loc = start >= 3 && &b[start - 3..start] == b"loc";
        let in_word = left.is_ascii_alphabetic() && !loc;
        if value.is_finite() {
            out.push(Num {
                value,
                start,
                in_word,
            });
        }
        i = j.max(i + 1);
    }
    out
}

/// The four raw numbers of the box in `reply` (module docs), or None.
pub fn box_numbers(reply: &str) -> Option<[f64; 4]> {
    let nums = numbers(reply);
    let four =
        |v: Vec<f64>| -> Option<[f64; 4]> { (v.len() >= 4).then(|| [v[0], v[1], v[2], v[3]]) };
    if let Some(pos) = reply.find("box_2d") {
        let after = pos + "box_2d".len();
        if let Some(b) = four(
            nums.iter()
                .filter(|n| n.start >= after)
                .map(|n| n.value)
                .take(4)
                .collect(),
        ) {
            return Some(b);
        }
    }
    // First bracketed group holding exactly four numbers.
    let bytes = reply.as_bytes();
    for (open, close) in [(b'[', b']'), (b'(', b')')] {
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == open {
                if let Some(len) = bytes[i + 1..].iter().position(|&c| c == close) {
                    let end = i + 1 + len;
                    let inside: Vec<f64> = nums
                        .iter()
                        .filter(|n| n.start > i && n.start < end)
                        .map(|n| n.value)
                        .collect();
                    if inside.len() == 4 {
                        return four(inside);
                    }
                }
            }
            i += 1;
        }
    }
    four(
        nums.iter()
            .filter(|n| !n.in_word)
            .map(|n| n.value)
            .take(4)
            .collect(),
    )
}

/// Parse a box from `reply` with `format`, in pixels of a `width` x `height` image.
pub fn parse_box(reply: &str, format: BoxFormat, width: usize, height: usize) -> Option<[f64; 4]> {
    box_numbers(reply).map(|v| format.to_pixels(v, width, height))
}

/// The authors' rule: the first four numbers in the reply, as they are.
pub fn compat_box(reply: &str) -> Option<[f64; 4]> {
    let v: Vec<f64> = numbers(reply).iter().map(|n| n.value).take(4).collect();
    (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]])
}

/// Intersection over union of two [x1, y1, x2, y2] boxes (0 when the union is empty).
pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: [f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}
