//! The Fly.io APIs fas uses: the Machines API (list, get, create, start, stop,
//! suspend, destroy, wait, leases, cordon, metadata, org apps) and GraphQL (an app's current release). Typed client,
//! auth header as fly-go builds it, retries that never double-create, and a client
//! side rate limiter. Knows nothing about policies.

mod auth;
mod client;
mod drain;
mod error;
mod guarded;
mod lease;
pub mod limit;
mod machine;
mod request;

pub use auth::header as auth_header;
pub use client::{ClientOptions, FlyClient, DEFAULT_GRAPHQL_URL, DEFAULT_MACHINES_URL};
pub use drain::{Drain, SIGNALS};
pub use error::FlyError;
pub use guarded::{Done, Guarded, Verb, LEASE_MARGIN};
pub use machine::{
    pause_meaning, protect_meaning, AppInfo, CreateMachine, ImageRef, Machine, PAUSE_KEY,
    PROTECT_KEY,
};
