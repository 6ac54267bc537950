//! Metrics: segmentation overlap ([`seg`]) and captioning ([`caption`]).

pub mod caption;
pub mod seg;
