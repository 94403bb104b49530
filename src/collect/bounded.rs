//! A checking layer under a client crate that reads a protocol for fas (tokio-postgres,
//! redis-rs): every byte the server sends passes a scanner that knows the protocol's
//! framing (pg_frames.rs, resp_frames.rs) and a byte budget per use, and a read that
//! breaks a bound fails *before* the client sees it — so a client never reserves or
//! buffers what a hostile server declares. Why the layer refused is kept for the error
//! (the client itself reports only a closed connection).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A protocol's framing, followed byte by byte.
pub trait Scan: Unpin {
    /// Follows `bytes`; the count to charge to the budget (0 for bytes a layer above
    /// checks, e.g. TLS records), or why they are refused.
    fn scan(&mut self, bytes: &[u8]) -> Result<usize, String>;
}

/// Bytes one use may still read (the collector refills it before each use), and why
/// the layer last refused.
#[derive(Clone)]
pub struct Budget {
    cap: usize,
    left: Arc<AtomicUsize>,
    refusal: Arc<Mutex<Option<String>>>,
}

impl Budget {
    pub fn new(cap: usize) -> Budget {
        Budget {
            cap,
            left: Arc::new(AtomicUsize::new(cap)),
            refusal: Arc::default(),
        }
    }

    /// A new use: the whole budget again, no refusal.
    pub fn refill(&self) {
        self.left.store(self.cap, Ordering::Relaxed);
        self.refused();
    }

    /// Why the layer broke the connection, once.
    pub fn refused(&self) -> Option<String> {
        self.refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn charge(&self, n: usize, what: &str) -> Result<(), String> {
        let left = self.left.load(Ordering::Relaxed);
        if n > left {
            return Err(format!(
                "{what} answered more than {} MiB; refused",
                self.cap >> 20
            ));
        }
        self.left.store(left - n, Ordering::Relaxed);
        Ok(())
    }
}

/// A stream whose reads pass `scan` and `budget`.
pub struct Checked<S, C> {
    inner: S,
    pub(super) scan: C,
    budget: Budget,
    /// The protocol's name, for the error.
    what: &'static str,
}

impl<S, C> Checked<S, C> {
    pub fn new(inner: S, scan: C, budget: Budget, what: &'static str) -> Checked<S, C> {
        Checked {
            inner,
            scan,
            budget,
            what,
        }
    }

    pub(super) fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin, C: Scan> AsyncRead for Checked<S, C> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let checked = this
                    .scan
                    .scan(&buf.filled()[before..])
                    .and_then(|n| this.budget.charge(n, this.what));
                if let Err(why) = checked {
                    // The client never sees the bytes that broke the bound.
                    buf.set_filled(before);
                    *this
                        .budget
                        .refusal
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        why,
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin, C: Unpin> AsyncWrite for Checked<S, C> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Counts every byte, refuses a `!`.
    struct Bang;
    impl Scan for Bang {
        fn scan(&mut self, bytes: &[u8]) -> Result<usize, String> {
            match bytes.contains(&b'!') {
                true => Err("a bang".into()),
                false => Ok(bytes.len()),
            }
        }
    }

    #[tokio::test]
    async fn reads_past_a_bound_fail_and_say_why() {
        let budget = Budget::new(10);
        let mut c = Checked::new(&b"0123456789abc"[..], Bang, budget.clone(), "x");
        let mut out = Vec::new();
        let e = c.read_to_end(&mut out).await.unwrap_err();
        assert!(out.is_empty(), "the client sees none of it");
        assert!(e.to_string().contains("x answered more than"), "{e}");
        assert!(budget.refused().is_some() && budget.refused().is_none());
        budget.refill();
        let mut c = Checked::new(&b"01234!"[..], Bang, budget.clone(), "x");
        assert_eq!(
            c.read_to_end(&mut out).await.unwrap_err().to_string(),
            "a bang"
        );
        budget.refill();
        assert!(budget.refused().is_none(), "a new use starts clean");
    }
}
