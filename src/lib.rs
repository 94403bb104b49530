//! fas: a metrics-based autoscaler for Fly.io Machines with Lua policies.
//! The binary (`src/main.rs`) is a thin CLI over these modules.

pub mod cli;
pub mod clock;
pub mod collect;
pub mod config;
pub mod faults;
pub mod fly;
pub mod policy;
pub mod reconcile;
pub mod scripttest;
pub mod sim;
pub mod simulate;
pub mod telemetry;
