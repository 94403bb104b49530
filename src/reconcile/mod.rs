//! Reconciling: `plan` (pure rules), one app's reconcile, and the scheduler that runs
//! it for every app on its interval.

pub mod plan;

pub use plan::{counts, eligible, order_by_value, plan, Plan, PlanOptions};

mod act;
pub mod app;
pub mod choose;
mod collecting;
pub mod recent;

pub use app::{Outcome, ReconcileError, Reconciler, Settings};

pub mod scheduler;

pub use scheduler::{glob_match, Apps, Scheduler};

pub mod state;
pub mod status;
