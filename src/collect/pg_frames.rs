//! A length-checking layer under tokio-postgres: it reads each backend message's
//! header (a type byte, then a length) as the bytes pass, and fails the read when one
//! message declares more than `MAX_MESSAGE` or one use has read more than its budget —
//! before the driver has seen the header, so it never reserves or buffers the declared
//! size (a server declaring 2 GiB costs nothing). Under TLS the layer sits above the
//! decryption (`BoundedTls`); on the raw socket it steps aside once TLS starts.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

/// The largest single message fas accepts: far above a one-number DataRow, a row
/// description or an error, far below what hurts a 256 MB Machine.
pub const MAX_MESSAGE: usize = 1 << 20;
/// What one use (connect, or one query) may read in all: the cap of every answer.
pub const BUDGET: usize = crate::body::MAX_BODY;

/// Bytes one use may still read (the collector refills it before each use), and why
/// the layer last refused (the driver reports only "connection closed").
#[derive(Clone)]
pub struct Budget(Arc<AtomicUsize>, Arc<Mutex<Option<String>>>);

impl Budget {
    pub fn new() -> Budget {
        Budget(Arc::new(AtomicUsize::new(BUDGET)), Arc::default())
    }
    pub fn refill(&self) {
        self.0.store(BUDGET, Ordering::Relaxed);
        self.refused();
    }
    /// Why the layer broke the connection, once.
    pub fn refused(&self) -> Option<String> {
        self.1.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Where the layer is in the byte stream.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// Messages from the first byte (no TLS, or above TLS).
    Frames,
    /// The next byte answers an SSLRequest: `S` (TLS follows: step aside), else plain
    /// messages follow (`N` is one byte outside any message).
    SslReply,
    /// Not ours to read: TLS is under way (the layer above TLS checks).
    Pass,
}

pub struct Frames<S> {
    inner: S,
    mode: Mode,
    /// Header bytes seen of the current message (0 when between messages).
    header: [u8; 5],
    have: usize,
    /// Body bytes left of the current message.
    body: usize,
    budget: Budget,
}

impl<S> Frames<S> {
    pub fn new(inner: S, mode: Mode, budget: Budget) -> Frames<S> {
        Frames {
            inner,
            mode,
            header: [0; 5],
            have: 0,
            body: 0,
            budget,
        }
    }

    /// Follows `bytes` through the message framing; an error names what was refused.
    fn check(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        if self.mode == Mode::SslReply {
            let Some(&first) = bytes.first() else {
                return Ok(());
            };
            if first == b'S' {
                self.mode = Mode::Pass;
                return Ok(());
            }
            self.mode = Mode::Frames;
            if first == b'N' {
                bytes = &bytes[1..];
            }
        }
        if self.mode == Mode::Pass {
            return Ok(());
        }
        let left = self.budget.0.load(Ordering::Relaxed);
        if bytes.len() > left {
            return Err(format!(
                "postgres answered more than {} MiB; refused",
                BUDGET >> 20
            ));
        }
        self.budget.0.store(left - bytes.len(), Ordering::Relaxed);
        while !bytes.is_empty() {
            if self.body > 0 {
                let n = self.body.min(bytes.len());
                self.body -= n;
                bytes = &bytes[n..];
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have == 5 {
                self.have = 0;
                let len = i32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                if len < 4 {
                    return Err("postgres sent a malformed message".into());
                }
                self.body = len as usize - 4;
                if self.body > MAX_MESSAGE {
                    return Err(format!(
                        "postgres sent a message of {} bytes, more than the {} MiB fas reads; refused",
                        self.body,
                        MAX_MESSAGE >> 20
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Frames<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Err(why) = this.check(&buf.filled()[before..]) {
                    // The driver never sees the bytes that broke the bound.
                    buf.set_filled(before);
                    *this.budget.1.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Frames<S> {
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

impl<S: TlsStream + Unpin> TlsStream for Frames<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose stream is checked above the decryption.
pub struct BoundedTls<T> {
    pub inner: T,
    pub budget: Budget,
}

impl<S, T> TlsConnect<S> for BoundedTls<T>
where
    T: TlsConnect<S> + Send + 'static,
    T::Future: Send + 'static,
    S: Send + 'static,
{
    type Stream = Frames<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let budget = self.budget;
        let connecting = self.inner.connect(stream);
        Box::pin(async move { Ok(Frames::new(connecting.await?, Mode::Frames, budget)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn declared_lengths_are_checked_across_reads() {
        let mut f = Frames::new((), Mode::Frames, Budget::new());
        let two = [message(b'D', b"12"), message(b'Z', b"I")].concat();
        for byte in &two {
            f.check(std::slice::from_ref(byte)).unwrap();
        }
        let huge = [b'D', 0x7f, 0xff, 0xff, 0xff];
        let e = f.check(&huge).unwrap_err();
        assert!(e.contains("more than the 1 MiB"), "{e}");
        let mut f = Frames::new((), Mode::SslReply, Budget::new());
        f.check(b"N").unwrap();
        assert_eq!(f.mode, Mode::Frames);
        assert!(f.check(&[b'E', 0, 0, 0, 2]).is_err(), "a length below 4");
        let mut f = Frames::new((), Mode::SslReply, Budget::new());
        f.check(b"S").unwrap();
        f.check(&huge).unwrap();
        assert_eq!(
            f.mode,
            Mode::Pass,
            "TLS bytes are the layer above's to check"
        );
        let budget = Budget::new();
        let mut f = Frames::new((), Mode::Frames, budget.clone());
        let row = message(b'D', &vec![0; MAX_MESSAGE - 8]);
        let over = (0..=BUDGET / row.len()).try_for_each(|_| f.check(&row));
        assert!(over.unwrap_err().contains("more than 8 MiB"));
        budget.refill();
        f.check(&row).unwrap();
    }
}
