//! Reconciling: `plan` (pure rules), one app's reconcile, and the scheduler that runs
//! it for every app on its interval.

pub mod plan;

pub use plan::{counts, eligible, order_by_value, plan, Plan, PlanOptions};

mod act;
pub mod app;
mod app_loop;
mod carry_out;
pub mod choose;
mod collecting;
mod fenced;
mod handoff;
pub mod recent;

pub use app::{Outcome, ReconcileError, Reconciler, Settings};

pub mod scheduler;

pub use scheduler::{glob_match, Apps, Poke, PokeAnswer, Scheduler};

pub mod state;
pub mod status;
pub mod warm;
pub mod watch;
