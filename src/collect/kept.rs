//! The connection a collector keeps across rounds (Redis, NATS, PostgreSQL): opened on
//! first use, reused while it works, opened again after it breaks, every use bounded by
//! a time limit, and a count of the connections opened (which must not grow with
//! rounds while the server stays up).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{Mutex, MutexGuard};

use super::CollectError;

/// A plain or TLS socket, for the collectors that speak their protocol themselves.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
pub(crate) type Conn = BufReader<Box<dyn Stream>>;

/// What an error leaves of the connection (a time limit passing always drops it).
pub(crate) enum AfterError {
    /// A half-read or broken protocol stream: never reused (Redis, NATS).
    Drop,
    /// The session survives a failed query; reused unless `alive` says it closed
    /// (PostgreSQL).
    KeepIfAlive,
}

pub(crate) struct Kept<C> {
    slot: Mutex<Option<C>>,
    opened: AtomicU64,
}

/// One use of the kept connection: uses are one at a time (the connection is the pool).
pub(crate) struct Use<'a, C> {
    slot: MutexGuard<'a, Option<C>>,
    opened: &'a AtomicU64,
    alive: fn(&C) -> bool,
}

impl<C: Send> Kept<C> {
    pub fn new() -> Self {
        Kept {
            slot: Mutex::new(None),
            opened: AtomicU64::new(0),
        }
    }

    /// Connections opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Waits for the connection; `alive` says whether a kept one still works.
    pub async fn take(&self, alive: fn(&C) -> bool) -> Use<'_, C> {
        Use {
            slot: self.slot.lock().await,
            opened: &self.opened,
            alive,
        }
    }
}

impl<C> Use<'_, C> {
    /// The kept connection, or a new one from `connect` when there is none or it died
    /// (`connect` is only awaited then).
    pub async fn conn(
        &mut self,
        connect: impl Future<Output = Result<C, CollectError>>,
    ) -> Result<&mut C, CollectError> {
        if !self.slot.as_ref().is_some_and(self.alive) {
            *self.slot = Some(connect.await?);
            self.opened.fetch_add(1, Ordering::Relaxed);
        }
        Ok(self.slot.as_mut().expect("connected above"))
    }

    /// After the use: `result` is `None` when its time limit passed. The connection is
    /// dropped after a timeout, and after an error unless `after_error` keeps a live one.
    pub fn settle<T>(mut self, result: &Option<Result<T, CollectError>>, after_error: AfterError) {
        let keep = match (result, after_error) {
            (Some(Ok(_)), _) => true,
            (Some(Err(_)), AfterError::KeepIfAlive) => self.slot.as_ref().is_some_and(self.alive),
            _ => false,
        };
        if !keep {
            *self.slot = None;
        }
    }
}
