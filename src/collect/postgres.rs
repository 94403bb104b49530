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
}

/// PostgreSQL's NUMERIC in binary form (what `sum`/`avg` of integers answer), as f64.
struct Numeric(f64);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |i: usize| -> Result<i16, Box<dyn std::error::Error + Sync + Send>> {
            let b = raw.get(i * 2..i * 2 + 2).ok_or("short NUMERIC")?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        };
        let (ndigits, weight, sign) = (word(0)?, word(1)?, word(2)? as u16);
        if sign == 0xC000 {
            return Ok(Numeric(f64::NAN));
        }
        let mut value = 0.0;
        for i in 0..ndigits.max(0) as usize {
            let digit = f64::from(word(4 + i)?);
            value += digit * 10000f64.powi(i32::from(weight) - i as i32);
        }
        Ok(Numeric(if sign == 0x4000 { -value } else { value }))
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

    async fn connect(&self) -> Result<tokio_postgres::Client, CollectError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| self.db_err(&e))?;
        // The connection task ends with the client (dropped after an error).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
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
            self.run(client, &query).await
        })
        .await
        .ok();
        kept.settle(&result, AfterError::KeepIfAlive);
        result.unwrap_or_else(|| Err(self.err("postgres did not answer in time")))
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
