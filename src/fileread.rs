//! The one way fas reads a file (config, policy and its modules, state, NATS
//! credentials, history CSVs, fault scripts): regular files only — a FIFO, a device or
//! a directory is refused by name, never waited on — with a size cap per kind checked
//! before and while reading. The file is opened non-blocking, so even a path swapped
//! for a FIFO between checks cannot hang the open. `read_off_runtime` runs the read on
//! tokio's blocking pool under a deadline, so no read ever stalls `/healthz`, rounds or
//! SIGTERM.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// What a file is for; each kind has its own size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Config,
    Policy,
    State,
    Credentials,
    History,
    Faults,
}

impl Kind {
    /// The most fas reads of this kind: far above any real file, far below what hurts
    /// a 256 MB Machine.
    pub fn cap(self) -> u64 {
        match self {
            Kind::Credentials => 64 << 10,
            Kind::Config | Kind::Policy | Kind::Faults => 4 << 20,
            Kind::State | Kind::History => 64 << 20,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Config => "a config file",
            Kind::Policy => "a policy",
            Kind::State => "a state file",
            Kind::Credentials => "a credentials file",
            Kind::History => "a history file",
            Kind::Faults => "a fault script",
        }
    }
}

/// Why a file was not read. The text names neither the content nor any secret.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such file")]
    NotFound,
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    #[error("is {0}, not a regular file: fas reads only regular files")]
    NotRegular(&'static str),
    #[error("is larger than the {cap} fas reads for {what}")]
    TooLarge { cap: String, what: &'static str },
    #[error("is not UTF-8 text")]
    NotText,
    #[error("was not read within {0} s (a slow or hung file system?)")]
    TimedOut(u64),
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

fn file_kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// The file's text, read on the calling thread (start-up, the CLI, the policy thread).
pub fn read(path: &Path, kind: Kind) -> Result<String, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(file_kind(meta.file_type())));
    }
    let cap = kind.cap();
    let too_large = || ReadError::TooLarge {
        cap: size(cap),
        what: kind.what(),
    };
    if meta.len() > cap {
        return Err(too_large());
    }
    // The file may grow while it is read: never more than the cap.
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > cap {
        return Err(too_large());
    }
    String::from_utf8(buf).map_err(|_| ReadError::NotText)
}

/// How long a read off the runtime may take before fas gives up on it.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Runs `work` (which reads files) on the blocking pool under `DEADLINE`. A read that
/// hangs past it is abandoned: its thread finishes or not, nothing waits for it.
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ReadError> {
    match tokio::time::timeout(DEADLINE, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(join)) => Err(ReadError::Io(std::io::Error::other(join.to_string()))),
        Err(_) => Err(ReadError::TimedOut(DEADLINE.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.yml");
        std::fs::write(&ok, "app-name: x\n").unwrap();
        assert_eq!(read(&ok, Kind::Config).unwrap(), "app-name: x\n");
        assert!(matches!(
            read(&dir.path().join("none"), Kind::Config),
            Err(ReadError::NotFound)
        ));
        let e = read(dir.path(), Kind::Config).unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        let e = read(Path::new("/dev/zero"), Kind::Policy)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a device"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 70 << 10]).unwrap();
        let e = read(&big, Kind::Credentials).unwrap_err().to_string();
        assert!(e.contains("64 KiB"), "{e}");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read(&fifo, Kind::Config).unwrap_err().to_string();
        assert!(e.contains("a FIFO"), "{e}");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&a, &b).unwrap();
        std::os::unix::fs::symlink(&b, &a).unwrap();
        assert!(matches!(read(&a, Kind::Config), Err(ReadError::Io(_))));
    }
}
