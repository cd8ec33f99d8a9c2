//! `--state FILE`: the organization (every object, the sequence counter, the
//! tombstones) and the built-in issuer's key, as one JSON document rewritten
//! atomically after each write: temp file in the same directory, fsync,
//! rename, fsync of the directory.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::Data;

const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    /// PKCS#8 DER of the built-in issuer's RSA key, base64 (a test key, so
    /// tokens minted before a restart still verify after it).
    pub oidc_key_pkcs8: String,
    pub data: Data,
}

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("could not read the emulator state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the emulator state file {path} is not valid ({source}); fix or delete it")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the emulator state file {path} has version {found}, expected {VERSION}; delete it to start afresh"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("could not write the emulator state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<StateFile>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let state: StateFile =
        serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse {
            path: path.to_owned(),
            source,
        })?;
    if state.version != VERSION {
        return Err(PersistError::Version {
            path: path.to_owned(),
            found: state.version,
        });
    }
    Ok(Some(state))
}

pub fn encode(oidc_key_pkcs8: &str, data: &Data) -> Vec<u8> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        version: u32,
        oidc_key_pkcs8: &'a str,
        data: &'a Data,
    }
    serde_json::to_vec(&Borrowed {
        version: VERSION,
        oidc_key_pkcs8,
        data,
    })
    .expect("state serialises")
}

/// Replaces `path` with `bytes` so a crash leaves either the old or the new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let err = |source| PersistError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)?;
    // Make the rename itself durable (not possible on every platform).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_none());
        let data = Data {
            next_seq: 7,
            ..Default::default()
        };
        write_atomic(&path, &encode("a2V5", &data)).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.data, data);
        assert_eq!(back.oidc_key_pkcs8, "a2V5");
        fs::write(&path, b"{not json").unwrap();
        assert!(matches!(load(&path), Err(PersistError::Parse { .. })));
    }
}
