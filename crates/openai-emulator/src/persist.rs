//! `--state FILE`: the organization (every object, the sequence counter, the
//! tombstones) and the built-in issuer's key, as one JSON document rewritten
//! atomically after each write: a temp file with a random name in the same
//! directory (created exclusively, mode 0600: it holds the issuer's private
//! key), fsync, rename, fsync of the directory. While an emulator runs it
//! holds an exclusive lock on `<state>.lock`, so a second emulator on the
//! same file refuses to start instead of overwriting the first one's writes.

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
    #[error(
        "the emulator state file {path} is in use by another emulator (it holds {lock}); stop \
         that one or use another --state file"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("could not lock the emulator state file {path} through {lock}: {source}")]
    Lock {
        path: PathBuf,
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// An exclusive lock on a state file, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: fs::File,
}

/// Takes the lock of `path` (`<path>.lock`, created if missing) or says who
/// holds it.
pub fn lock(path: &Path) -> Result<StateLock, PersistError> {
    use fs4::fs_std::FileExt as _;
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let err = |source| PersistError::Lock {
        path: path.to_owned(),
        lock: lock.clone(),
        source,
    };
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(err)?;
    match file.try_lock_exclusive() {
        Ok(true) => Ok(StateLock { _file: file }),
        Ok(false) => Err(PersistError::Locked {
            path: path.to_owned(),
            lock,
        }),
        Err(e) => Err(err(e)),
    }
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
    // Random name, O_EXCL, mode 0600; never follows a planted symlink.
    let mut file = tempfile::Builder::new()
        .prefix(".emulator-state-")
        .tempfile_in(&dir)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.as_file().sync_all().map_err(err)?;
    file.persist(path).map_err(|e| err(e.error))?;
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

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_no_predictable_temp_file_is_used() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // A symlink planted where the old code put its temp file.
        let planted = dir
            .path()
            .join(format!(".state.json.tmp-{}", std::process::id()));
        let target = dir.path().join("victim");
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        write_atomic(&path, &encode("a2V5", &Data::default())).unwrap();
        assert!(!target.exists(), "the write followed a planted symlink");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        // Only the state file and the planted link: no temp file left.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = lock(&path).unwrap();
        let err = lock(&path).unwrap_err();
        assert!(matches!(err, PersistError::Locked { .. }), "{err}");
        assert!(
            err.to_string().contains("in use by another emulator"),
            "{err}"
        );
        drop(first);
        lock(&path).unwrap();
    }
}
