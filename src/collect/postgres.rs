//! The PostgreSQL collector: one query answering one row with one numeric column (the
//! jobs waiting in Oban's, GoodJob's, Solid Queue's or Graphile Worker's table), run in
//! a read-only transaction with a statement timeout tied to `timeout`, over one
//! connection per collector kept across rounds (opened again after an error). The
//! address is a libpq URL; `sslmode=disable|prefer|require` is honoured, TLS verified
//! against webpki roots plus `ca-data`. The query goes through the extended protocol,
//! so it is one statement: `SELECT 1; DELETE …` is refused by the server.

use std::time::Duration;

use tokio_postgres::types::{FromSql, Type};

use super::kept::{AfterError, Kept};
use super::pg_frames::{self, Bounds};
use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::CollectorConfig;

pub struct Postgres {
    name: String,
    query: String,
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    empty_is_zero: bool,
    timeout: Duration,
    client: Kept<tokio_postgres::Client>,
    /// What the kept connection may still read this use (pg_frames.rs).
    bounds: Bounds,
}

/// PostgreSQL's NUMERIC in binary form (what `sum`/`avg` of integers answer), as f64:
/// ndigits, weight, sign, dscale, then base-10000 digits. NaN and ±Infinity (sign
/// words 0xC000, 0xD000, 0xF000) become the float values, which then follow the rule
/// for every metric (the policy judges them; a count from them is an error). A sign,
/// digit or length outside the format is an error, never a number.
struct Numeric(f64);

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |i: usize| -> Result<u16, Box<dyn std::error::Error + Sync + Send>> {
            let b = raw.get(i * 2..i * 2 + 2).ok_or("short NUMERIC")?;
            Ok(u16::from_be_bytes([b[0], b[1]]))
        };
        let (ndigits, weight, sign) = (word(0)? as i16, word(1)? as i16, word(2)?);
        let special = match sign {
            NUMERIC_NAN => Some(f64::NAN),
            NUMERIC_PINF => Some(f64::INFINITY),
            NUMERIC_NINF => Some(f64::NEG_INFINITY),
            NUMERIC_POS | NUMERIC_NEG => None,
            other => return Err(format!("NUMERIC with an unknown sign 0x{other:04X}").into()),
        };
        if let Some(v) = special {
            return Ok(Numeric(v));
        }
        if ndigits < 0 || raw.len() != 8 + 2 * ndigits as usize {
            return Err("a malformed NUMERIC (its length does not match its digits)".into());
        }
        let mut value = 0.0;
        for i in 0..ndigits as usize {
            let digit = word(4 + i)?;
            if digit > 9999 {
                return Err("a malformed NUMERIC (a digit above 9999)".into());
            }
            value += f64::from(digit) * 10000f64.powi(i32::from(weight) - i as i32);
        }
        Ok(Numeric(if sign == NUMERIC_NEG { -value } else { value }))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl Postgres {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Postgres, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        let config: tokio_postgres::Config = c.address.parse().map_err(|_| {
            err("address must be a libpq URL: postgres://user:password@host:5432/db?sslmode=require".into())
        })?;
        if let Some(p) = config.get_password() {
            crate::redact::register(&String::from_utf8_lossy(p));
        }
        let tls = super::tls_config(&c.ca_data).map_err(err)?;
        Ok(Postgres {
            name: c.metric_name.clone(),
            query: c.query.clone(),
            config,
            tls: tokio_postgres_rustls::MakeRustlsConnect::new(tls),
            empty_is_zero: c.on_empty == "zero",
            timeout,
            client: Kept::new(),
            bounds: Bounds::collector(),
        })
    }

    /// Connections opened so far (one per collector while the server stays up).
    pub fn connections_opened(&self) -> u64 {
        self.client.opened()
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError::new(&self.name, msg.into())
    }

    /// Postgres's own message (`password authentication failed for user …`), never the
    /// address.
    fn db_err(&self, e: &tokio_postgres::Error) -> CollectError {
        match e.as_db_error() {
            Some(db) => self.err(format!("postgres: {}", db.message())),
            None => self.err(format!("postgres: {}", crate::error_chain(e))),
        }
    }

    /// Connects through the length-checking layer (pg_frames.rs).
    async fn connect(&self) -> Result<tokio_postgres::Client, CollectError> {
        pg_frames::connect(&self.config, &self.tls, &self.bounds)
            .await
            .map_err(|e| match e {
                pg_frames::ConnectError::Setup(msg) => self.err(msg),
                pg_frames::ConnectError::Db(e) => self.db_err(&e),
            })
    }

    async fn run(
        &self,
        client: &mut tokio_postgres::Client,
        query: &str,
    ) -> Result<f64, CollectError> {
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(|e| self.db_err(&e))?;
        let ms = self.timeout.as_millis().max(1);
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
            .await
            .map_err(|e| self.db_err(&e))?;
        let rows = tx.query(query, &[]).await.map_err(|e| self.db_err(&e))?;
        let _ = tx.rollback().await;
        let Some(row) = rows.first() else {
            return self.empty("the query returned no row");
        };
        if row.len() != 1 {
            return Err(self.err(format!(
                "the query must return one column, got {}",
                row.len()
            )));
        }
        let ty = row.columns()[0].type_().clone();
        let get = |e: tokio_postgres::Error| self.err(format!("postgres: {e}"));
        let value: Option<f64> = match ty {
            Type::INT2 => row
                .try_get::<_, Option<i16>>(0)
                .map_err(get)?
                .map(f64::from),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(0)
                .map_err(get)?
                .map(f64::from),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(0)
                .map_err(get)?
                .map(|v| v as f64),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(0)
                .map_err(get)?
                .map(f64::from),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(0).map_err(get)?,
            Type::NUMERIC => row
                .try_get::<_, Option<Numeric>>(0)
                .map_err(get)?
                .map(|n| n.0),
            other => return Err(self.err(format!("the query's column is {other}, not a number"))),
        };
        match value {
            Some(v) => Ok(v),
            None => self.empty("the query returned NULL"),
        }
    }

    fn empty(&self, what: &str) -> Result<f64, CollectError> {
        if self.empty_is_zero {
            Ok(0.0)
        } else {
            Err(self.err(format!("{what} (set on-empty: zero to read that as 0)")))
        }
    }

    async fn collect_value(&self, app: &str) -> Result<f64, CollectError> {
        let query = expand_query(&self.query, app);
        // A query error leaves the session usable; a closed one is renewed.
        let mut kept = self.client.take(|c| !c.is_closed()).await;
        let limit = self.timeout + Duration::from_secs(1);
        let result = tokio::time::timeout(limit, async {
            let client = kept.conn(self.connect()).await?;
            self.bounds.budget.refill();
            self.run(client, &query).await
        })
        .await
        .ok();
        kept.settle(&result, AfterError::KeepIfAlive);
        let result = result.unwrap_or_else(|| Err(self.err("postgres did not answer in time")));
        // A refusal by the length check closes the connection: say why, not "closed".
        match (result, self.bounds.budget.refused()) {
            (Err(_), Some(why)) => Err(self.err(format!("postgres: {why}"))),
            (result, _) => result,
        }
    }
}

impl Collector for Postgres {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(self.collect_value(app))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(words: &[u16]) -> Result<f64, String> {
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        Numeric::from_sql(&Type::NUMERIC, &raw)
            .map(|n| n.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn numeric_in_every_form() {
        // 12345.6 = digits [1, 2345, 6000], weight 1.
        assert_eq!(decode(&[3, 1, NUMERIC_POS, 1, 1, 2345, 6000]), Ok(12345.6));
        assert_eq!(decode(&[1, 0, NUMERIC_NEG, 0, 7]), Ok(-7.0));
        assert_eq!(decode(&[0, 0, NUMERIC_POS, 0]), Ok(0.0));
        assert!(decode(&[0, 0, NUMERIC_NAN, 0]).unwrap().is_nan());
        assert_eq!(decode(&[0, 0, NUMERIC_PINF, 0]), Ok(f64::INFINITY));
        assert_eq!(decode(&[0, 0, NUMERIC_NINF, 0]), Ok(f64::NEG_INFINITY));
        assert!(decode(&[1, 0, 0x1234, 0, 7])
            .unwrap_err()
            .contains("unknown sign"));
        assert!(
            decode(&[2, 0, NUMERIC_POS, 0, 7]).is_err(),
            "a digit missing"
        );
        assert!(decode(&[1, 0, NUMERIC_POS, 0, 10000]).is_err());
        assert!(decode(&[1, 0]).is_err());
    }
}
