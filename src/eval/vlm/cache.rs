//! On-disk response cache: an append-only `responses.jsonl` in the cache directory, one line per
//! successful reply, keyed by the SHA-256 of (model, system prompt, prompt, image hash, sampling
//! parameters). A rerun with the same inputs is answered from here and sends no request.
//!
//! Contract: only successful replies are stored; the API key and the base URL are not part of the
//! key and are never written (the same model served elsewhere answers from the same cache); a
//! truncated last line (a killed run) is ignored on load; concurrent writers inside one process
//! are serialised by a mutex, and every line is flushed as it is written.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    model: String,
    reply: String,
}

pub struct Cache {
    path: PathBuf,
    map: Mutex<HashMap<String, String>>,
    file: Mutex<File>,
}

impl Cache {
    /// Open (creating) the cache in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let path = dir.join("responses.jsonl");
        let mut map = HashMap::new();
        if path.exists() {
            let f = File::open(&path).map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
            for line in BufReader::new(f).lines() {
                let line = line.map_err(|e| Error::Io {
                    path: path.clone(),
                    source: e,
                })?;
                if let Ok(l) = serde_json::from_str::<Line>(&line) {
                    map.insert(l.key, l.reply);
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        Ok(Cache {
            path,
            map: Mutex::new(map),
            file: Mutex::new(file),
        })
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.map.lock().ok()?.get(key).cloned()
    }

    pub fn put(&self, key: &str, model: &str, reply: &str) -> Result<()> {
        let line = serde_json::to_string(&Line {
            key: key.into(),
            model: model.into(),
            reply: reply.into(),
        })
        .map_err(|e| Error::other("response cache", e.to_string()))?;
        {
            let mut f = self
                .file
                .lock()
                .map_err(|_| Error::other("response cache", "lock poisoned"))?;
            writeln!(f, "{line}")
                .and_then(|_| f.flush())
                .map_err(|e| Error::write(&self.path, e))?;
        }
        if let Ok(mut m) = self.map.lock() {
            m.insert(key.to_string(), reply.to_string());
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of one request: fields joined with a separator that cannot occur in them
/// ambiguously (each field is length-prefixed).
pub fn key(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
