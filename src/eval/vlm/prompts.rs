//! Prompts per task, default and the authors' (compat) variants. The prompt text is part of the
//! cache key and its hash is recorded, so changing a prompt never reuses an old reply.

use super::parse::letter;

/// Which quirks of the authors' VLM protocol to reproduce (reference-protocol.md, "VLM side").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Compat {
    /// VQA prompt without the options (their code reads `options`; OmniMedVQA has `option_A..D`).
    pub vqa_without_options: bool,
    /// Grounding: the first four numbers of the reply against the truth box normalised to 0-1.
    pub box_first_four: bool,
    /// Captions scored on raw strings (no tokenisation).
    pub raw_captions: bool,
}

impl Compat {
    /// Every quirk on: the `medfm-robust-compat` profile.
    pub fn all() -> Self {
        Compat {
            vqa_without_options: true,
            box_first_four: true,
            raw_captions: true,
        }
    }
}

/// Multiple-choice prompt. Default: the question, lettered options, and an instruction to answer
/// with the letter. Compat: the authors' template with its options block left empty (a
/// reconstruction: their code builds the block from a key that OmniMedVQA items lack).
pub fn vqa(question: &str, options: &[String], compat: Compat) -> String {
    if compat.vqa_without_options {
        return format!("{question}\n\nOptions:\n\n\nPlease select the correct answer.");
    }
    let mut s = format!("{}\n", question.trim());
    for (i, o) in options.iter().enumerate() {
        s.push_str(&format!("{}. {}\n", letter(i), o.trim()));
    }
    s.push_str("Answer with the option's letter from the given choices directly.");
    s
}

/// Captioning prompt (the authors' wording, kept as the default too).
pub fn caption() -> String {
    "Describe this medical image in detail.".to_string()
}

/// Grounding prompt: the question; the default adds a request for one box (its units are the
/// model's own, declared by `box_format` in MODEL.toml). Compat: the question alone.
pub fn grounding(question: &str, compat: Compat) -> String {
    if compat.box_first_four {
        return question.to_string();
    }
    format!(
        "{}\nAnswer with one bounding box [x1, y1, x2, y2] of the region.",
        question.trim()
    )
}

/// The judge's prompt (optional LLM judge for VQA, as in the authors' protocol: score 1, 0.5 or 0,
/// correct iff >= 0.5).
pub fn judge(question: &str, options: &[String], truth: &str, reply: &str) -> String {
    let mut opts = String::new();
    for (i, o) in options.iter().enumerate() {
        opts.push_str(&format!("{}. {}\n", letter(i), o));
    }
    format!(
        "You grade answers to a multiple-choice medical question.\nQuestion: {question}\nOptions:\n{opts}\
         Correct answer: {truth}\nModel answer: {reply}\n\nReply with one number only: 1 if the model \
         answer is correct, 0.5 if it is partially correct, 0 if it is wrong."
    )
}
