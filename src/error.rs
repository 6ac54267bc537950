//! The library's one error type. Every variant names the item it is about (file, perturbation,
//! model) so that a message can be shown to a user as-is; `anyhow` is used only at the CLI edge.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed (the OS error is the source; the message gives it once).
    #[error("{path}: cannot read: {}", io_cause(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing (creating, renaming) a file or folder failed.
    #[error("{path}: cannot write: {}", io_cause(source))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An output path exists and is not a regular file (a device, FIFO, symlink, folder): never
    /// replaced.
    #[error("{path}: cannot write: it is {kind}, not a regular file; outputs are only written to absent paths or over regular files, so give a plain file path")]
    NotRegularFile { path: PathBuf, kind: String },

    /// A folder entry that cannot be listed (dangling symlink, symlink loop, unreadable folder).
    #[error("{path}: cannot list: {reason}")]
    BadEntry { path: PathBuf, reason: String },

    /// The header announces more pixels than the decompression-bomb guard allows.
    #[error("{path}: image is {width}x{height} ({pixels} pixels), above the limit of {limit} pixels; if the file is trusted, raise the limit with the environment variable MEDFM_MAX_PIXELS")]
    TooManyPixels {
        path: PathBuf,
        width: u64,
        height: u64,
        pixels: u64,
        limit: u64,
    },

    /// A readable file whose content this tool does not handle (float TIFF, ...).
    #[error("{path}: unsupported {what}; {fix}")]
    Unsupported {
        path: PathBuf,
        what: String,
        fix: String,
    },

    /// A data file (JSON, JSONL, CSV, TOML) that does not parse or has wrong content.
    #[error("{path}: cannot parse: {reason}")]
    Data { path: PathBuf, reason: String },

    /// A size argument outside its range (checked before any work).
    #[error("{what} = {value} is out of range; allowed {min}..={max}")]
    OutOfRange {
        what: String,
        value: u64,
        min: u64,
        max: u64,
    },

    /// A model produced NaN or infinite values.
    #[error("{what}: model output has {count} non-finite value(s) (NaN or infinity) out of {total}; the model or its preprocessing is broken (check the ONNX graph and the scale/mean/std settings)")]
    NonFinite {
        what: String,
        count: usize,
        total: usize,
    },

    #[error(
        "{path}: not a readable image ({reason}); check the file is a complete PNG, JPEG or TIFF"
    )]
    Decode { path: PathBuf, reason: String },

    #[error("{path}: cannot write: {reason}")]
    Encode { path: PathBuf, reason: String },

    #[error("{what}: image is {width}x{height}, smaller than the {win}x{win} SSIM window; use images of at least {win} pixels per side")]
    TooSmall {
        what: String,
        width: usize,
        height: usize,
        win: usize,
    },

    #[error("{what}: shape mismatch: expected {expected}, found {found}")]
    Shape {
        what: String,
        expected: String,
        found: String,
    },

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

/// An OS error, worded once, with a fix where one is known.
pub fn io_cause(e: &std::io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(28) => "; free space on that disk or write elsewhere",
        Some(30) => "; the file system is read-only, write elsewhere",
        Some(13) | Some(1) => "; check the permissions of the file and its folder",
        Some(40) => "; a symbolic link loop, fix or remove the link",
        Some(21) => "; it is a folder, give a file",
        Some(20) => "; a part of the path is a file, not a folder",
        _ if e.kind() == std::io::ErrorKind::NotFound => "; check the path",
        _ => "",
    };
    format!("{e}{hint}")
}

/// An error and its causes on one line (`a: b: c`), leaving out a cause whose text the message
/// before it already contains (our messages quote their OS error once).
pub fn chain_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = c.source();
    }
    out
}

impl Error {
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
    pub fn other(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Other {
            what: what.into(),
            reason: reason.into(),
        }
    }
    /// A failed read of `path`.
    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A failed write (create, rename) of `path`.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Write {
            path: path.into(),
            source,
        }
    }
    /// `value` of `what` must lie in `min..=max`.
    pub fn check_range(what: &str, value: u64, min: u64, max: u64) -> Result<()> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(Error::OutOfRange {
                what: what.into(),
                value,
                min,
                max,
            })
        }
    }
}
