//! Policy state across restarts: one JSON file (app -> state), written atomically
//! (write a temporary file, then rename) and loaded at start. A corrupt file is an
//! error naming the file, never a silent reset.

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
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(States::new()),
        Err(e) => return Err(err(path, e)),
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        err(
            path,
            format!("{e}; it is not valid JSON: fix it, or move it away to start from empty state"),
        )
    })?;
    match doc.get("apps") {
        Some(Value::Object(apps)) => Ok(apps.clone().into_iter().collect()),
        _ => Err(err(
            path,
            "expected {\"apps\": {...}}: fix it, or move it away to start from empty state",
        )),
    }
}

/// Writes all states to `path` atomically.
pub fn save(path: &Path, states: &States) -> Result<(), StateError> {
    let doc = serde_json::json!({"version": 1, "apps": states});
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| err(path, e))?;
    let tmp: PathBuf = path.with_extension("tmp");
    std::fs::write(&tmp, &text).map_err(|e| err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
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
}
