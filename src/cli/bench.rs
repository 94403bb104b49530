//! `fas bench`: figures for the performance goals, printed, never asserted.

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Decisions to time per policy.
    #[arg(long, default_value_t = 1_000_000)]
    iterations: u64,
}

pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
