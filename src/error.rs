//! The library's one error type. Every variant names the item it is about (file, perturbation,
//! model) so that a message can be shown to a user as-is; `anyhow` is used only at the CLI edge.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, #[source] source: std::io::Error },

    #[error("{path}: not a readable image ({reason}); check the file is a complete PNG, JPEG or TIFF")]
    Decode { path: PathBuf, reason: String },

    #[error("{path}: cannot write: {reason}")]
    Encode { path: PathBuf, reason: String },

    #[error("{what}: image is {width}x{height}, smaller than the {win}x{win} SSIM window; use images of at least {win} pixels per side")]
    TooSmall { what: String, width: usize, height: usize, win: usize },

    #[error("{what}: shape mismatch: expected {expected}, found {found}")]
    Shape { what: String, expected: String, found: String },

    #[error("unknown perturbation '{id}'; run `medfm-robust list` for the catalogue")]
    UnknownPerturbation { id: String },

    #[error("unknown modality '{name}'; expected one of ct, mri, us, pathology, endoscopy, oct (alias fundus), xray, dermoscopy")]
    UnknownModality { name: String },

    #[error("{id}: not applicable: {reason}")]
    NotApplicable { id: String, reason: String },

    #[error("invalid argument {what}: {reason}")]
    Invalid { what: String, reason: String },

    #[error("{what}: {reason}")]
    Other { what: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { what: what.into(), reason: reason.into() }
    }
    pub fn other(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Other { what: what.into(), reason: reason.into() }
    }
}
