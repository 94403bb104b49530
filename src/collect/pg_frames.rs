//! PostgreSQL's framing for the checking layer (bounded.rs): each backend message's
//! header (a type byte, then a length) is read as the bytes pass, and a message that
//! declares more than `MAX_MESSAGE` is refused before tokio-postgres has seen its
//! header (a server declaring 2 GiB costs nothing). Under TLS the scan sits above the
//! decryption (`BoundedTls`); on the raw socket it steps aside once TLS starts.

use std::future::Future;
use std::pin::Pin;

use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

use super::bounded::{Budget, Checked, Scan};

/// The largest single message fas accepts: far above a one-number DataRow, a row
/// description or an error, far below what hurts a 256 MB Machine.
pub const MAX_MESSAGE: usize = 1 << 20;
/// What one use (connect, or one query) may read in all: the cap of every answer.
pub const BUDGET: usize = crate::body::MAX_BODY;

/// What one connection may read: per use (`budget`, refilled by its user before each
/// use) and per message.
#[derive(Clone)]
pub struct Bounds {
    pub budget: Budget,
    pub max_message: usize,
}

impl Bounds {
    /// A collector's: `BUDGET` per use, `MAX_MESSAGE` per message.
    pub fn collector() -> Bounds {
        Bounds {
            budget: Budget::new(BUDGET),
            max_message: MAX_MESSAGE,
        }
    }
}

/// Why a checked connection could not be opened.
pub enum ConnectError {
    /// Before PostgreSQL spoke: no host, TCP, the TLS setup (the text says which).
    Setup(String),
    /// What the server or the driver answered.
    Db(tokio_postgres::Error),
}

/// Connects through the checking layer, over TCP to the first host and port of
/// `config` (`hostaddr`, when given beside a name, is where to connect; the name is
/// for TLS), honouring `sslmode` and direct TLS negotiation. A Unix socket (local,
/// trusted) goes the driver's own way.
pub async fn connect(
    config: &tokio_postgres::Config,
    tls: &tokio_postgres_rustls::MakeRustlsConnect,
    bounds: &Bounds,
) -> Result<tokio_postgres::Client, ConnectError> {
    use tokio_postgres::config::{Host, SslMode, SslNegotiation};
    use tokio_postgres::tls::MakeTlsConnect;
    let addr = config.get_hostaddrs().first().map(|a| a.to_string());
    let name = match (config.get_hosts(), &addr) {
        ([Host::Unix(_), ..], _) => {
            let (client, connection) = config
                .connect(tls.clone())
                .await
                .map_err(ConnectError::Db)?;
            tokio::spawn(connection);
            return Ok(client);
        }
        ([Host::Tcp(name), ..], _) => name.clone(),
        ([], Some(addr)) => addr.clone(),
        _ => return Err(ConnectError::Setup("the address has no host".into())),
    };
    let host = addr.unwrap_or_else(|| name.clone());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| {
            ConnectError::Setup(format!("cannot connect to postgres at {host}:{port}: {e}"))
        })?;
    let _ = tcp.set_nodelay(true);
    let mode = match (config.get_ssl_mode(), config.get_ssl_negotiation()) {
        (SslMode::Disable, _) => Mode::Frames,
        (_, SslNegotiation::Direct) => Mode::Pass,
        _ => Mode::SslReply,
    };
    let tls = BoundedTls {
        inner: MakeTlsConnect::<Frames<tokio::net::TcpStream>>::make_tls_connect(
            &mut tls.clone(),
            &name,
        )
        .map_err(|e| ConnectError::Setup(format!("postgres: TLS: {e}")))?,
        bounds: bounds.clone(),
    };
    bounds.budget.refill();
    let (client, connection) = config
        .connect_raw(frames(tcp, mode, bounds), tls)
        .await
        .map_err(ConnectError::Db)?;
    // The connection task ends with the client (dropped after an error).
    tokio::spawn(connection);
    Ok(client)
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

/// The scan's place in PostgreSQL's byte stream.
pub struct PgScan {
    mode: Mode,
    /// Header bytes seen of the current message (0 when between messages).
    header: [u8; 5],
    have: usize,
    /// Body bytes left of the current message.
    body: usize,
    max_message: usize,
}

/// A PostgreSQL stream under the checking layer.
pub type Frames<S> = Checked<S, PgScan>;

/// `inner` checked from `mode` on, against `bounds`.
pub fn frames<S>(inner: S, mode: Mode, bounds: &Bounds) -> Frames<S> {
    let scan = PgScan {
        mode,
        header: [0; 5],
        have: 0,
        body: 0,
        max_message: bounds.max_message,
    };
    Checked::new(inner, scan, bounds.budget.clone(), "postgres")
}

impl Scan for PgScan {
    /// Follows `bytes` through the message framing; an error names what was refused.
    fn scan(&mut self, mut bytes: &[u8]) -> Result<usize, String> {
        let all = bytes.len();
        if self.mode == Mode::SslReply {
            let Some(&first) = bytes.first() else {
                return Ok(0);
            };
            if first == b'S' {
                self.mode = Mode::Pass;
                return Ok(0);
            }
            self.mode = Mode::Frames;
            if first == b'N' {
                bytes = &bytes[1..];
            }
        }
        if self.mode == Mode::Pass {
            return Ok(0);
        }
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
                if self.body > self.max_message {
                    return Err(format!(
                        "postgres sent a message of {} bytes, more than the {} MiB fas reads; refused",
                        self.body,
                        self.max_message >> 20
                    ));
                }
            }
        }
        Ok(all)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Frames<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner().channel_binding()
    }
}

/// A TLS connector whose stream is checked above the decryption.
pub struct BoundedTls<T> {
    pub inner: T,
    pub bounds: Bounds,
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
        let bounds = self.bounds;
        let connecting = self.inner.connect(stream);
        Box::pin(async move { Ok(frames(connecting.await?, Mode::Frames, &bounds)) })
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
        let mut f = frames((), Mode::Frames, &Bounds::collector());
        let two = [message(b'D', b"12"), message(b'Z', b"I")].concat();
        for byte in &two {
            f.scan.scan(std::slice::from_ref(byte)).unwrap();
        }
        let huge = [b'D', 0x7f, 0xff, 0xff, 0xff];
        let e = f.scan.scan(&huge).unwrap_err();
        assert!(e.contains("more than the 1 MiB"), "{e}");
        let mut f = frames((), Mode::SslReply, &Bounds::collector());
        f.scan.scan(b"N").unwrap();
        assert_eq!(f.scan.mode, Mode::Frames);
        assert!(
            f.scan.scan(&[b'E', 0, 0, 0, 2]).is_err(),
            "a length below 4"
        );
        let mut f = frames((), Mode::SslReply, &Bounds::collector());
        f.scan.scan(b"S").unwrap();
        assert_eq!(f.scan.scan(&huge), Ok(0));
        assert_eq!(
            f.scan.mode,
            Mode::Pass,
            "TLS bytes are the layer above's to check"
        );
    }
}
