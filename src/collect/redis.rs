//! The Redis collector: one read-only command whose answer is a count (`LLEN
//! queue:default` for Sidekiq/RQ/Celery lists, `ZCARD bull:emails:delayed` for BullMQ,
//! `XLEN`, `XPENDING stream group`), sent with redis-rs over one connection per
//! collector that is kept across rounds and opened again after an error. fas opens the
//! socket (and TLS: `rediss://`, webpki roots plus `ca-data`) and hands redis-rs a
//! stream checked by resp_frames.rs, so no answer costs more than its bounds whatever
//! it declares. `user:password@` and `/db` in the address; the address holds a
//! password: it never appears in an error or a log line.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo, Value};

use super::bounded::{Budget, Checked};
use super::kept::{AfterError, Kept, Stream};
use super::resp_frames::RespScan;
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

pub struct Redis {
    name: String,
    command: String,
    target: Target,
    empty_is_zero: bool,
    timeout: Duration,
    ca_data: String,
    conn: Kept<MultiplexedConnection>,
    /// What the kept connection may still read this use (bounded.rs).
    budget: Budget,
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
            budget: Budget::new(crate::body::MAX_BODY),
        })
    }

    /// Connections opened so far (one per collector while the server stays up).
    pub fn connections_opened(&self) -> u64 {
        self.conn.opened()
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError::new(&self.name, msg.into())
    }

    /// Redis's own words (`WRONGPASS …`, `WRONGTYPE …`), or why the bounds refused.
    fn redis_err(&self, e: &redis::RedisError) -> CollectError {
        match self.budget.refused() {
            Some(why) => self.err(format!("redis: {why}")),
            None => self.err(format!("redis: {e}")),
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection, CollectError> {
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
        let mut info = RedisConnectionInfo::default()
            .set_db(i64::from(t.db))
            .set_skip_set_lib_name();
        if !t.user.is_empty() {
            info = info.set_username(&t.user);
        }
        if !t.password.is_empty() {
            info = info.set_password(&t.password);
        }
        // fas bounds each use itself (the round's timeout); none inside redis-rs.
        let config = AsyncConnectionConfig::new().set_response_timeout(None);
        let checked = Checked::new(stream, RespScan::default(), self.budget.clone(), "redis");
        self.budget.refill();
        let (conn, driver) = MultiplexedConnection::new_with_config(&info, checked, config)
            .await
            .map_err(|e| match (e.kind(), e.code()) {
                (redis::ErrorKind::AuthenticationFailed, _) => self.err(
                    "redis refused AUTH: the user or password was not accepted (check the address's user:password@)",
                ),
                (_, Some(_)) => self.err(format!("redis refused AUTH or SELECT: {e}")),
                _ => self.redis_err(&e),
            })?;
        // The driver ends when the connection is dropped (after an error).
        tokio::spawn(driver);
        Ok(conn)
    }

    async fn query(&self, app: &str) -> Result<f64, CollectError> {
        let words = parse_command(&expand_query(&self.command, app)).map_err(|e| self.err(e))?;
        let mut cmd = redis::cmd(&words[0]);
        cmd.arg(&words[1..]);
        let mut kept = self.conn.take(|_| true).await;
        let result = tokio::time::timeout(self.timeout, async {
            let conn = kept.conn(self.connect()).await?;
            self.budget.refill();
            cmd.query_async::<Value>(conn)
                .await
                .map_err(|e| self.redis_err(&e))
        })
        .await
        .ok();
        kept.settle(&result, AfterError::Drop);
        let reply = result.ok_or_else(|| self.err("redis did not answer in time"))??;
        self.value(reply)
    }

    fn value(&self, reply: Value) -> Result<f64, CollectError> {
        let number = |t: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| self.err("the command answered text that is not a number"))
        };
        match reply {
            Value::Int(n) => Ok(n as f64),
            Value::Double(d) => Ok(d),
            Value::BulkString(b) => number(&String::from_utf8_lossy(&b)),
            Value::SimpleString(t) => number(&t),
            // XPENDING's summary: [count, smallest id, greatest id, consumers].
            Value::Array(items) | Value::Set(items) => match items.into_iter().next() {
                Some(first) => self.value(first),
                None if self.empty_is_zero => Ok(0.0),
                None => Err(self.err("the command answered an empty list")),
            },
            Value::Nil if self.empty_is_zero => Ok(0.0),
            Value::Nil => Err(self.err(
                "the command answered nil (no such key?): set on-empty: zero to read that as 0",
            )),
            Value::ServerError(e) => Err(self.err(format!("redis: {e}"))),
            other => Err(self.err(format!(
                "the command answered {}, not a number",
                match other {
                    Value::Okay => "OK",
                    Value::Map(_) => "a map",
                    Value::Boolean(_) => "a boolean",
                    _ => "something else",
                }
            ))),
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
