//! Reading an HTTP answer without trusting its size: a server (or something in
//! front of it) that answers hundreds of MB must not cost fas hundreds of MB. Bodies
//! are read chunk by chunk up to a cap, and an answer past it is an error.

/// The most fas reads of any answer: far above a list of a thousand Machines or a
/// Prometheus vector of thousands of series, far below what hurts a 256 MB VM.
pub const MAX_BODY: usize = 8 << 20;

/// The body as text, or an error naming the cap when it is larger.
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<String, BodyError> {
    let declared = resp.content_length().unwrap_or(0);
    if declared > cap as u64 {
        return Err(BodyError::TooLarge(cap));
    }
    // A declared length within the cap is reserved once (pages are only touched as
    // bytes arrive), so the buffer is not doubled past the answer while it grows.
    let mut buf = Vec::with_capacity(declared as usize);
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        if buf.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        buf.extend_from_slice(&chunk);
    }
    // Valid UTF-8 (the rule) is taken as it is, not copied.
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[derive(Debug)]
pub enum BodyError {
    TooLarge(usize),
    Read(reqwest::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(cap) => {
                write!(f, "the answer is larger than {} MiB; refused", cap >> 20)
            }
            BodyError::Read(e) => write!(f, "{}", crate::error_chain(e)),
        }
    }
}
