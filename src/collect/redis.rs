//! The Redis collector: one read-only command whose answer is a count (`LLEN
//! queue:default` for Sidekiq/RQ/Celery lists, `ZCARD bull:emails:delayed` for BullMQ,
//! `XLEN`, `XPENDING stream group`), spoken in RESP2 over one connection per collector
//! that is kept across rounds and opened again after an error. `redis://` or
//! `rediss://` (TLS, webpki roots and `ca-data`); `user:password@` and `/db` in the address. The
//! address holds a password: it never appears in an error or a log line.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::kept::{AfterError, Conn, Kept, Stream};
use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::CollectorConfig;

/// Read-only commands whose answer is a number (or a number's text, for GET/HGET).
/// XPENDING in its summary form (key group) answers [count, ...]: the count is used.
pub const ALLOWED: &[&str] = &[
    "LLEN",
    "ZCARD",
    "ZCOUNT",
    "ZLEXCOUNT",
    "SCARD",
    "HLEN",
    "XLEN",
    "XPENDING",
    "PFCOUNT",
    "STRLEN",
    "EXISTS",
    "DBSIZE",
    "GET",
    "HGET",
    "LINDEX",
];
/// No answer fas reads is larger than the bodies it caps elsewhere.
const MAX_REPLY: usize = 8 << 20;

/// Splits a command into words (double quotes keep spaces) and checks it is one fas
/// may send: the error says which commands are.
pub fn parse_command(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for c in text.chars() {
        match c {
            '"' => (quoted, started) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => (word.push(c), started = true).1,
        }
    }
    if quoted {
        return Err("unbalanced \" in the command".into());
    }
    if started {
        words.push(word);
    }
    let Some(name) = words.first().map(|w| w.to_ascii_uppercase()) else {
        return Err("command required, e.g. LLEN queue:default".into());
    };
    if !ALLOWED.contains(&name.as_str()) {
        return Err(format!(
            "{name} is not allowed: fas sends only read-only commands that answer a count ({})",
            ALLOWED.join(", ")
        ));
    }
    if name == "XPENDING" && words.len() != 3 {
        return Err("XPENDING takes exactly a stream and a group (its summary form)".into());
    }
    Ok(words)
}

struct Target {
    host: String,
    port: u16,
    tls: bool,
    user: String,
    password: String,
    db: u32,
}

fn parse_address(address: &str) -> Result<Target, String> {
    let url = reqwest::Url::parse(address).map_err(|_| {
        "address must be redis://[user:password@]host:port/db or rediss://…".to_string()
    })?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        _ => return Err("address must start with redis:// or rediss://".into()),
    };
    let decode = |s: &str| {
        percent_decode(s).ok_or_else(|| {
            "the address's user or password is not valid percent-encoding".to_string()
        })
    };
    let password = decode(url.password().unwrap_or(""))?;
    crate::redact::register(&password);
    let db = match url.path().trim_start_matches('/') {
        "" => 0,
        d => d
            .parse()
            .map_err(|_| "the address's path must be a database number".to_string())?,
    };
    Ok(Target {
        host: url
            .host_str()
            .ok_or("the address has no host")?
            .trim_matches(['[', ']'])
            .to_string(),
        port: url.port().unwrap_or(6379),
        tls,
        user: decode(url.username())?,
        password,
        db,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One RESP2 reply, as far as fas needs it.
#[derive(Debug, PartialEq)]
enum Reply {
    Int(i64),
    Text(String),
    Nil,
    Error(String),
    /// An array's first item (the only one fas reads); `None` when empty.
    Array(Option<Box<Reply>>),
}

fn encode(words: &[String]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        out.extend_from_slice(w.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn read_reply(conn: &mut Conn, budget: &mut usize, depth: usize) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = Vec::new();
    let n = (&mut *conn)
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 || !line.ends_with(b"\r\n") {
        return Err(bad("the connection closed mid-answer"));
    }
    *budget = budget
        .checked_sub(n)
        .ok_or_else(|| bad("the answer is larger than 8 MiB"))?;
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let number = || text.parse::<i64>().map_err(|_| bad("a malformed answer"));
    Ok(match line[0] {
        b'+' => Reply::Text(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(number()?),
        b'$' => match number()? {
            -1 => Reply::Nil,
            len if len < 0 || len as usize > *budget => {
                return Err(bad("the answer is larger than 8 MiB"))
            }
            len => {
                // Grown as bytes arrive, never reserved from the declared length.
                let mut buf = Vec::new();
                (&mut *conn)
                    .take(len as u64 + 2)
                    .read_to_end(&mut buf)
                    .await?;
                if buf.len() != len as usize + 2 {
                    return Err(bad("the connection closed mid-answer"));
                }
                *budget -= buf.len();
                buf.truncate(len as usize);
                Reply::Text(String::from_utf8_lossy(&buf).into_owned())
            }
        },
        b'*' if depth < 4 => match number()? {
            -1 => Reply::Nil,
            len if len < 0 || len as usize > *budget / 3 => {
                return Err(bad("the answer is larger than 8 MiB"))
            }
            len => {
                // fas reads a count from the first item (XPENDING's summary): the
                // rest is read and dropped, so many tiny items cost no memory.
                let mut first = None;
                for i in 0..len {
                    let item = Box::pin(read_reply(conn, budget, depth + 1)).await?;
                    if i == 0 {
                        first = Some(Box::new(item));
                    }
                }
                Reply::Array(first)
            }
        },
        _ => return Err(bad("a malformed answer")),
    })
}

pub struct Redis {
    name: String,
    command: String,
    target: Target,
    empty_is_zero: bool,
    timeout: Duration,
    ca_data: String,
    conn: Kept<Conn>,
}

impl Redis {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Redis, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        parse_command(&c.command).map_err(err)?;
        Ok(Redis {
            name: c.metric_name.clone(),
            command: c.command.clone(),
            target: parse_address(&c.address).map_err(err)?,
            empty_is_zero: c.on_empty == "zero",
            timeout,
            ca_data: c.ca_data.clone(),
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

    async fn connect(&self) -> Result<Conn, CollectError> {
        let t = &self.target;
        let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| {
                self.err(format!(
                    "cannot connect to redis at {}:{}: {e}",
                    t.host, t.port
                ))
            })?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = if t.tls {
            Box::new(
                super::tls_connect(&t.host, tcp, &self.ca_data)
                    .await
                    .map_err(|e| self.err(format!("redis: {e}")))?,
            )
        } else {
            Box::new(tcp)
        };
        let mut conn = BufReader::new(stream);
        if !t.password.is_empty() {
            let mut auth = vec!["AUTH".to_string()];
            if !t.user.is_empty() {
                auth.push(t.user.clone());
            }
            auth.push(t.password.clone());
            self.expect_ok(&mut conn, &auth, "AUTH").await?;
        }
        if t.db != 0 {
            self.expect_ok(&mut conn, &["SELECT".into(), t.db.to_string()], "SELECT")
                .await?;
        }
        Ok(conn)
    }

    async fn expect_ok(
        &self,
        conn: &mut Conn,
        words: &[String],
        what: &str,
    ) -> Result<(), CollectError> {
        match self.call(conn, words).await? {
            Reply::Text(_) => Ok(()),
            Reply::Error(e) => Err(self.err(format!("redis refused {what}: {}", e))),
            _ => Err(self.err(format!("unexpected answer to {what}"))),
        }
    }

    async fn call(&self, conn: &mut Conn, words: &[String]) -> Result<Reply, CollectError> {
        let io = |e: std::io::Error| self.err(format!("redis: {e}"));
        conn.get_mut().write_all(&encode(words)).await.map_err(io)?;
        conn.get_mut().flush().await.map_err(io)?;
        let mut budget = MAX_REPLY;
        read_reply(conn, &mut budget, 0).await.map_err(io)
    }

    async fn query(&self, app: &str) -> Result<f64, CollectError> {
        let words = parse_command(&expand_query(&self.command, app)).map_err(|e| self.err(e))?;
        let mut kept = self.conn.take(|_| true).await;
        let result = tokio::time::timeout(self.timeout, async {
            let conn = kept.conn(self.connect()).await?;
            self.call(conn, &words).await
        })
        .await
        .ok();
        kept.settle(&result, AfterError::Drop);
        let reply = result.ok_or_else(|| self.err("redis did not answer in time"))??;
        self.value(reply)
    }

    fn value(&self, reply: Reply) -> Result<f64, CollectError> {
        match reply {
            Reply::Int(n) => Ok(n as f64),
            Reply::Text(t) => t
                .trim()
                .parse::<f64>()
                .map_err(|_| self.err("the command answered text that is not a number")),
            // XPENDING's summary: [count, smallest id, greatest id, consumers].
            Reply::Array(first) => match first {
                Some(first) => self.value(*first),
                None if self.empty_is_zero => Ok(0.0),
                None => Err(self.err("the command answered an empty list")),
            },
            Reply::Nil if self.empty_is_zero => Ok(0.0),
            Reply::Nil => Err(self.err(
                "the command answered nil (no such key?): set on-empty: zero to read that as 0",
            )),
            Reply::Error(e) => Err(self.err(format!("redis: {}", e))),
        }
    }
}

impl Collector for Redis {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(self.query(app))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_only_and_split_like_a_shell() {
        assert_eq!(
            parse_command("LLEN queue:default").unwrap(),
            ["LLEN", "queue:default"]
        );
        assert_eq!(
            parse_command("llen \"my queue\"").unwrap(),
            ["llen", "my queue"]
        );
        for bad in [
            "DEL queue",
            "FLUSHALL",
            "EVAL x 0",
            "XPENDING s g - + 10",
            "",
            "GET \"x",
        ] {
            assert!(parse_command(bad).is_err(), "{bad}");
        }
        assert!(parse_command("SET a 1").unwrap_err().contains("LLEN"));
    }

    #[test]
    fn addresses() {
        let t = parse_address("rediss://u:p%40ss@cache.internal:6380/2").unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.tls,
                t.user.as_str(),
                t.password.as_str(),
                t.db
            ),
            ("cache.internal", 6380, true, "u", "p@ss", 2)
        );
        assert!(parse_address("http://x").is_err());
        assert!(parse_address("redis://x/abc").is_err());
    }
}
