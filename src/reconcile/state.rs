//! Policy state across restarts: one JSON file (app -> state), written atomically
//! (write a temporary file beside the real one, fsync, rename; through a symlink,
//! beside its target) and loaded at start. A corrupt or oversized file is an error
//! naming the file, never a silent reset; an app whose state is not an object is
//! named and left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub type States = BTreeMap<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {msg}")]
    File { path: String, msg: String },
}

fn err(path: &Path, msg: impl std::fmt::Display) -> StateError {
    StateError::File {
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

/// The saved states; none when the file does not exist yet.
pub fn load(path: &Path) -> Result<States, StateError> {
    use crate::fileread::{read, Kind, ReadError};
    let text = match read(path, Kind::State) {
        Ok(t) => t,
        Err(ReadError::NotFound) => return Ok(States::new()),
        Err(e @ ReadError::TooLarge { .. }) => {
            return Err(err(
                path,
                format!("{e}: move it away to start from empty state"),
            ))
        }
        Err(e) => return Err(err(path, e)),
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        err(
            path,
            format!("{e}; it is not valid JSON: fix it, or move it away to start from empty state"),
        )
    })?;
    match doc.get("apps") {
        Some(Value::Object(apps)) => Ok(apps
            .iter()
            .filter(|(app, state)| {
                let object = state.is_object();
                if !object {
                    tracing::warn!(app = %app, file = %path.display(), "the saved state of this app is not an object; it starts from empty state");
                }
                object
            })
            .map(|(a, s)| (a.clone(), s.clone()))
            .collect()),
        _ => Err(err(
            path,
            "expected {\"apps\": {...}}: fix it, or move it away to start from empty state",
        )),
    }
}

/// Writes all states to `path` atomically. A symlink stays a symlink: the file it
/// points to is replaced, from a temporary file beside it.
pub fn save(path: &Path, states: &States) -> Result<(), StateError> {
    use std::io::Write;
    let doc = serde_json::json!({"version": 1, "apps": states});
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| err(path, e))?;
    let target = real_path(path);
    let tmp: PathBuf = target.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| err(&tmp, e))?;
    f.write_all(&text).map_err(|e| err(&tmp, e))?;
    // On disk before the rename makes it the state: a crash leaves old or new, whole.
    f.sync_all().map_err(|e| err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &target).map_err(|e| err(&target, e))
}

/// `path`, or the file its chain of symlinks ends at.
fn real_path(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(next) => {
                p = if next.is_absolute() {
                    next
                } else {
                    p.parent().unwrap_or(Path::new(".")).join(next)
                }
            }
            Err(_) => break,
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_empty());
        let mut s = States::new();
        s.insert("web".into(), serde_json::json!({"last": 3, "since": 100.5}));
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        std::fs::write(&path, "{not json").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("state file {}", path.display())),
            "{e}"
        );
    }

    #[test]
    fn a_symlinked_path_stays_a_link_and_non_objects_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data").join("state.json");
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let link = dir.path().join("state.json");
        std::os::unix::fs::symlink("data/state.json", &link).unwrap();
        let mut s = States::new();
        s.insert("web".into(), serde_json::json!({"n": 1}));
        save(&link, &s).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(load(&real).unwrap(), s);
        std::fs::write(&real, r#"{"apps": {"web": {"n": 2}, "odd": 5}}"#).unwrap();
        let loaded = load(&link).unwrap();
        assert_eq!(loaded.len(), 1, "{loaded:?}");
    }

    #[test]
    fn a_file_too_large_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(crate::fileread::Kind::State.cap() + 1).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("big.json") && e.contains("larger than the 64 MiB"),
            "{e}"
        );
    }
}
