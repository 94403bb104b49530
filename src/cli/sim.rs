//! `fas sim`: serve the Machines API simulator, for trying fas (or any Machines API
//! client) without a Fly account. Point fas at it with FAS_MACHINES_API_URL=URL and
//! FAS_GRAPHQL_URL=URL/graphql.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::sim::{self, Latencies, Seed, SimOptions};

#[derive(clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4280")]
    listen: SocketAddr,
    /// Seed for Machine IDs, names and fault coin tosses.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Apps to create: a JSON seed file, or ORG/APP=N[,…] (ORG/PREFIX-*=N*COUNT for many).
    #[arg(long)]
    apps: Option<String>,
    /// Fault rules to start with (JSON array; see POST /__sim/faults).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Transition latencies as JSON over Fly's realistic defaults, e.g.
    /// {"create_ms":5000,"start_ms":800,"jitter":0.5,"list_lag_ms":0} (see the README).
    #[arg(long)]
    latencies: Option<String>,
    /// Do not enforce Fly's documented rate limits.
    #[arg(long)]
    no_rate_limits: bool,
}

pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let latencies: Latencies = match &args.latencies {
        Some(s) => serde_json::from_str(s)
            .context("--latencies: expected JSON such as {\"start_ms\": 800, \"jitter\": 0.5} (keys: create_ms, start_ms, resume_ms, stop_ms, suspend_ms, destroy_ms, jitter, list_lag_ms)")?,
        None => Latencies::default(),
    };
    let faults = match &args.faults {
        Some(p) => {
            let text = crate::fileread::read(p, crate::fileread::Kind::Faults)
                .with_context(|| format!("--faults {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| {
                format!("--faults {}: expected a JSON array of rules", p.display())
            })?
        }
        None => Vec::new(),
    };
    let seed = args
        .apps
        .as_deref()
        .map(Seed::load)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let opts = SimOptions {
        seed: args.seed,
        latencies,
        rate_limits: !args.no_rate_limits,
        token: None,
        faults,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let server = sim::start(args.listen, opts)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        if let Some(seed) = &seed {
            server.sim.seed(seed).map_err(anyhow::Error::msg)?;
        }
        println!("fas sim listening on {}", server.url());
        println!(
            "  FAS_MACHINES_API_URL={} FAS_GRAPHQL_URL={}/graphql",
            server.url(),
            server.url()
        );
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
