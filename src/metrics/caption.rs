//! Captioning metrics equal to pycocoevalcap: BLEU-1..4, ROUGE-L, CIDEr-D.
