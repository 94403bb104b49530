//! The NATS JetStream collector: a consumer's backlog, `num_pending` (not yet
//! delivered) plus `num_ack_pending` (delivered, not acknowledged), asked of the
//! JetStream API (`$JS.API.CONSUMER.INFO.<stream>.<consumer>`) over NATS's text
//! protocol, on one connection per collector kept across rounds. `nats://` or `tls://`
//! (also when the server requires TLS; webpki roots plus `ca-data`); a token
//! (`nats://token@host`), `user:password@`, or `credentials` (a `.creds` file or an
//! nkey seed, see nkey.rs). The address never appears in an error.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::kept::{AfterError, Conn, Kept, Stream};
use super::nkey::Credentials;
use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::CollectorConfig;

/// The JetStream API's answers are small; anything larger is refused.
const MAX_MESSAGE: usize = 1 << 20;
/// A protocol line (INFO, MSG, -ERR); a longer one is refused, never buffered.
const MAX_LINE: u64 = 64 * 1024;
const INBOX: &str = "_INBOX.fas.consumer-info";

/// What fas reads of the server's INFO (other fields are skipped, not kept).
#[derive(serde::Deserialize)]
struct Info {
    #[serde(default)]
    tls_required: bool,
    nonce: Option<String>,
}

/// What fas reads of a consumer info answer, typed so a large answer builds no tree.
#[derive(serde::Deserialize)]
struct ConsumerInfo {
    num_pending: Option<f64>,
    num_ack_pending: Option<f64>,
    error: Option<ApiError>,
}

#[derive(serde::Deserialize)]
struct ApiError {
    code: Option<i64>,
    description: Option<String>,
}

struct Target {
    host: String,
    port: u16,
    tls: bool,
    user: String,
    password: String,
}

fn parse_address(address: &str) -> Result<Target, String> {
    let url = reqwest::Url::parse(address).map_err(|_| {
        "address must be nats://[user:password@|token@]host:4222 or tls://…".to_string()
    })?;
    let tls = match url.scheme() {
        "nats" => false,
        "tls" => true,
        _ => return Err("address must start with nats:// or tls://".into()),
    };
    let password = url.password().unwrap_or("").to_string();
    crate::redact::register(&password);
    if password.is_empty() {
        // `nats://token@host`: the user part is a token.
        crate::redact::register(url.username());
    }
    Ok(Target {
        host: url.host_str().ok_or("the address has no host")?.to_string(),
        port: url.port().unwrap_or(4222),
        tls,
        user: url.username().to_string(),
        password,
    })
}

/// Stream and consumer names: JetStream's rules (no spaces, dots, `*`, `>`).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} required"));
    }
    if name.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\')) {
        return Err(format!("{what} {name:?} is not a valid JetStream name"));
    }
    Ok(())
}

pub struct Nats {
    name: String,
    stream: String,
    consumer: String,
    target: Target,
    ca_data: String,
    credentials: Option<Credentials>,
    timeout: Duration,
    conn: Kept<Conn>,
}

impl Nats {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Nats, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        check_name("stream", &expand_query(&c.stream, "app")).map_err(err)?;
        check_name("consumer", &expand_query(&c.consumer, "app")).map_err(err)?;
        let credentials = match c.credentials.expose() {
            "" => None,
            text => Some(Credentials::load(text).map_err(|e| err(format!("credentials: {e}")))?),
        };
        Ok(Nats {
            name: c.metric_name.clone(),
            stream: c.stream.clone(),
            consumer: c.consumer.clone(),
            target: parse_address(&c.address).map_err(err)?,
            ca_data: c.ca_data.clone(),
            credentials,
            timeout,
            conn: Kept::new(),
        })
    }

    /// Connections opened so far (one per collector while the server stays up).
    pub fn connections_opened(&self) -> u64 {
        self.conn.opened()
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError::new(&self.name, msg.into())
    }

    fn io(&self) -> impl Fn(std::io::Error) -> CollectError + '_ {
        move |e| self.err(format!("nats: {e}"))
    }

    async fn line(&self, conn: &mut Conn) -> Result<String, CollectError> {
        let mut line = Vec::new();
        let n = (&mut *conn)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(self.io())?;
        if n == 0 {
            return Err(self.err("nats closed the connection"));
        }
        if !line.ends_with(b"\n") {
            return Err(self.err("nats sent a line longer than 64 KiB"));
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_string())
    }

    async fn connect(&self) -> Result<Conn, CollectError> {
        let t = &self.target;
        let mut tcp = BufReader::new(
            tokio::net::TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(|e| {
                    self.err(format!(
                        "cannot connect to nats at {}:{}: {e}",
                        t.host, t.port
                    ))
                })?,
        );
        // The greeting is one line, capped like every other line.
        let mut first = Vec::new();
        (&mut tcp)
            .take(MAX_LINE)
            .read_until(b'\n', &mut first)
            .await
            .map_err(self.io())?;
        let info: Info = std::str::from_utf8(&first)
            .ok()
            .filter(|l| l.ends_with('\n'))
            .and_then(|l| l.strip_prefix("INFO "))
            .and_then(|j| serde_json::from_str(j.trim()).ok())
            .ok_or_else(|| {
                self.err("the server did not greet like NATS (one INFO line of at most 64 KiB)")
            })?;
        let tls = t.tls || info.tls_required;
        let stream: Box<dyn Stream> = if tls {
            Box::new(
                super::tls_connect(&t.host, tcp.into_inner(), &self.ca_data)
                    .await
                    .map_err(|e| self.err(format!("nats: {e}")))?,
            )
        } else {
            Box::new(tcp.into_inner())
        };
        let mut conn = BufReader::new(stream);
        let mut hello = serde_json::json!({
            "verbose": false, "pedantic": false, "tls_required": tls, "name": "fas",
            "lang": "rust", "version": env!("CARGO_PKG_VERSION"), "protocol": 1, "headers": false,
        });
        match (t.user.is_empty(), t.password.is_empty()) {
            (false, true) => hello["auth_token"] = Value::from(t.user.clone()),
            (false, false) => {
                hello["user"] = Value::from(t.user.clone());
                hello["pass"] = Value::from(t.password.clone());
            }
            _ => {}
        }
        if let Some(creds) = &self.credentials {
            let nonce = info.nonce.as_deref().ok_or_else(|| {
                self.err("credentials are set but the server sent no nonce to sign (it does not use nkeys or JWTs)")
            })?;
            match &creds.jwt {
                Some(jwt) => hello["jwt"] = Value::from(jwt.clone()),
                None => hello["nkey"] = Value::from(creds.public()),
            }
            hello["sig"] = Value::from(creds.sign(nonce));
        }
        let greeting = format!("CONNECT {hello}\r\nPING\r\nSUB {INBOX} 1\r\n");
        conn.get_mut()
            .write_all(greeting.as_bytes())
            .await
            .map_err(self.io())?;
        conn.get_mut().flush().await.map_err(self.io())?;
        loop {
            let line = self.line(&mut conn).await?;
            if line == "PONG" {
                return Ok(conn);
            }
            if let Some(e) = line.strip_prefix("-ERR") {
                return Err(self.err(format!("nats refused: {}", e.trim().trim_matches('\''))));
            }
        }
    }

    /// The consumer's info.
    async fn ask(&self, conn: &mut Conn, subject: &str) -> Result<ConsumerInfo, CollectError> {
        let request = format!("PUB {subject} {INBOX} 0\r\n\r\n");
        conn.get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(self.io())?;
        conn.get_mut().flush().await.map_err(self.io())?;
        loop {
            let line = self.line(conn).await?;
            if line == "PING" {
                conn.get_mut()
                    .write_all(b"PONG\r\n")
                    .await
                    .map_err(self.io())?;
                continue;
            }
            if let Some(e) = line.strip_prefix("-ERR") {
                return Err(self.err(format!("nats: {}", e.trim().trim_matches('\''))));
            }
            let Some(rest) = line.strip_prefix("MSG ") else {
                continue; // +OK, INFO updates, PONG
            };
            let size: usize = rest
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n <= MAX_MESSAGE)
                .ok_or_else(|| self.err("nats sent a malformed or oversized message"))?;
            let mut payload = Vec::new();
            (&mut *conn)
                .take(size as u64 + 2)
                .read_to_end(&mut payload)
                .await
                .map_err(self.io())?;
            if payload.len() != size + 2 {
                return Err(self.err("nats closed the connection mid-message"));
            }
            payload.truncate(size);
            return serde_json::from_slice(&payload).map_err(|_| {
                self.err("the JetStream API answered something that is not a consumer info")
            });
        }
    }

    async fn backlog(&self, app: &str) -> Result<f64, CollectError> {
        // `$APP_NAME` may name the stream or consumer, one per app.
        let (stream, consumer) = (
            expand_query(&self.stream, app),
            expand_query(&self.consumer, app),
        );
        check_name("stream", &stream).map_err(|e| self.err(e))?;
        check_name("consumer", &consumer).map_err(|e| self.err(e))?;
        let subject = format!("$JS.API.CONSUMER.INFO.{stream}.{consumer}");
        let mut kept = self.conn.take(|_| true).await;
        let result = tokio::time::timeout(self.timeout, async {
            let conn = kept.conn(self.connect()).await?;
            self.ask(conn, &subject).await
        })
        .await
        .ok();
        kept.settle(&result, AfterError::Drop);
        let info = result.ok_or_else(|| self.err("nats did not answer in time"))??;
        if let Some(e) = info.error {
            let text = e.description.as_deref().unwrap_or("error");
            return Err(self.err(format!("JetStream: {text} (code {})", e.code.unwrap_or(0))));
        }
        match (info.num_pending, info.num_ack_pending) {
            (Some(p), Some(a)) => Ok(p + a),
            _ => Err(self.err("the consumer info has no num_pending/num_ack_pending")),
        }
    }
}

impl Collector for Nats {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(self.backlog(app))
    }
}
