//! `fas serve`: upstream's serve. Validates the config (exit 1, nothing scaled, when
//! it is wrong), logs a summary without secrets, serves /metrics and /healthz, runs
//! the scheduler, reloads on SIGHUP (serve_reload.rs), and on SIGINT/SIGTERM stops taking work, lets in-flight rounds
//! finish (each bounded by the timeout), saves policy state and exits 0.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::sync::watch;

use super::serve_reload;
use crate::clock::SystemClock;
use crate::cluster::{Gate, Member, Membership};
use crate::config::{process_env, Config, Needs};
use crate::fly::{ClientOptions, FlyClient};
use crate::policy::PolicyHandle;
use crate::reconcile::{state, Apps, Reconciler, Scheduler};
use crate::telemetry::{self, Metrics};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// YAML config file (fly-autoscaler's format); environment variables apply first.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log format: text, json, or logfmt (Go slog's `level=INFO msg=…`, upstream's);
    /// overrides FAS_LOG_FORMAT (log-format).
    #[arg(long, value_parser = crate::telemetry::log::FORMATS)]
    log_format: Option<String>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = Config::load(args.config.as_deref(), &process_env)?;
    if let Some(f) = args.log_format {
        cfg.log_format = f;
    }
    cfg.validate(Needs { app: true })?;
    if cfg.api_token.is_empty() {
        bail!("api token required: set FAS_API_TOKEN (api-token), e.g. from `fly tokens create deploy -a APP`");
    }
    telemetry::log::init(&cfg.log_format, cfg.verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(cfg, args.config))
}

async fn serve(cfg: Config, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let policy = PolicyHandle::spawn(serve_reload::build_policy(&cfg))?;
    if let Some(path) = &cfg.state_path {
        let states = state::load(path)?;
        tracing::info!(path = %path.display(), apps = states.len(), "policy state loaded");
        policy.restore(states).await?;
    }
    let mut opts = ClientOptions::from_env(&process_env, cfg.api_token.clone());
    opts.request_timeout = cfg.timeout;
    let machines_url = opts.machines_url.clone();
    let fly = Arc::new(FlyClient::new(opts)?);
    let metrics = Arc::new(Metrics::default());

    let listener = tokio::net::TcpListener::bind(crate::config::listen_addr(&cfg.metrics_addr))
        .await
        .with_context(|| format!("cannot listen on {} (FAS_METRICS_ADDR)", cfg.metrics_addr))?;
    let metrics_addr = listener.local_addr()?;

    tracing::info!(
        app = %cfg.app_name, org = %cfg.org, interval_secs = cfg.interval.as_secs_f64(), timeout_secs = cfg.timeout.as_secs_f64(),
        concurrency = cfg.concurrency, process_group = %cfg.process_group, regions = %cfg.regions.join(","),
        initial_machine_state = %cfg.initial_machine_state, stop_mode = %cfg.stop_mode,
        watch_interval_secs = cfg.watch.interval.as_secs_f64(), watch_budget = cfg.watch.budget,
        poke = !cfg.watch.poke_token.is_empty(),
        policy = %serve_reload::policy_name(&cfg), dry_run = cfg.dry_run,
        machines_api = %machines_url, metrics = %metrics_addr, "fas serving"
    );
    if cfg.dry_run {
        tracing::warn!("dry run (shadow mode): every round collects, decides and plans; nothing that changes a Machine is sent");
    }

    let settings = serve_reload::settings(&cfg)?;
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
    let mut reconciler = Reconciler::with_settings(
        fly.clone(),
        settings,
        policy.clone(),
        cfg.timeout,
        cfg.interval,
        clock.clone(),
        metrics.clone(),
    );
    let gate = cfg.cluster.enabled().then(|| {
        let me = Member::this_process(&process_env);
        let lease = cfg.cluster.lease_for(cfg.interval);
        tracing::info!(member = %me.id, region = %me.region, shards = cfg.cluster.shards,
            lease_secs = lease.as_secs_f64(), "clustering on: acting only on the apps of the shards this instance owns");
        Arc::new(Gate::new(me, cfg.cluster.shards, lease, cfg.interval, metrics.clone()))
    });
    if let Some(g) = &gate {
        reconciler = reconciler.with_cluster(g.clone());
    }
    let reconciler = Arc::new(reconciler);
    metrics.set("fas_dry_run", &[], if cfg.dry_run { 1.0 } else { 0.0 });
    metrics.set("fas_config_last_reload_successful", &[], 1.0);
    reconciler
        .status
        .set_mode(serve_reload::mode(&cfg, clock.now()));
    let (poke_tx, poke_rx) = tokio::sync::mpsc::channel(1024);
    let router = telemetry::http::router(metrics.clone(), reconciler.status.clone(), clock.clone())
        .merge(telemetry::poke::routes(
            cfg.watch.poke_token.clone(),
            cfg.watch.alert_label.clone(),
            poke_tx,
            metrics,
        ));
    let router = match &gate {
        Some(g) => router.merge(telemetry::cluster::routes(g.clone())),
        None => router,
    };
    let membership = gate.map(|gate| {
        Arc::new(Membership {
            gate,
            url: cfg.cluster.url.expose().to_string(),
            policy: policy.clone(),
            memory: reconciler.clone(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            status: reconciler.status.clone(),
            metrics: reconciler.metrics.clone(),
        })
    });
    let held = match &membership {
        Some(m) => Some(m.start().await?),
        None => None,
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    // The membership outlives the scheduler: leases are renewed until the last
    // round ended, then released.
    let (member_stop, member_stop_rx) = watch::channel(false);
    let member_task = membership.clone().zip(held).map(|(m, held)| {
        tokio::spawn(async move {
            let held = m.run(held, member_stop_rx).await;
            (m, held)
        })
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received, shutting down");
        let _ = stop_tx.send(true);
    });
    let reloader = serve_reload::Reloader {
        config_path,
        started_with: cfg.clone(),
        reconciler: reconciler.clone(),
        policy: policy.clone(),
        clock,
    };
    tokio::spawn(reloader.run(stop_rx.clone()));
    let persister = cfg.state_path.clone().map(|path| {
        tokio::spawn(persist_loop(
            policy.clone(),
            path,
            cfg.interval,
            stop_rx.clone(),
        ))
    });
    let scheduler = Scheduler {
        reconciler,
        fly,
        apps: Apps::from_config(&cfg.app_name, &cfg.org).map_err(anyhow::Error::msg)?,
        interval: cfg.interval,
        refresh_interval: cfg.app_list_refresh_interval,
        concurrency: cfg.concurrency,
        grace: crate::reconcile::scheduler::STATE_GRACE,
        watch: cfg.watch.clone(),
        // Without a token the endpoints answer 404 and nothing is sent here.
        pokes: (!cfg.watch.poke_token.is_empty()).then_some(poke_rx),
    };
    scheduler.run(stop_rx).await;
    let _ = member_stop.send(true);
    if let Some(task) = member_task {
        if let Ok((m, held)) = task.await {
            m.leave(held).await;
        }
    }
    if let Some(p) = persister {
        let _ = p.await;
    }
    if let Some(path) = &cfg.state_path {
        state::save(path, &policy.states().await?)?;
        tracing::info!(path = %path.display(), "policy state saved");
    }
    Ok(())
}

/// Saves the state file after rounds that changed it (checked once per interval).
async fn persist_loop(
    policy: PolicyHandle,
    path: PathBuf,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match policy.states().await {
            Ok(states) if Some(&states) != last.as_ref() => {
                // Off the runtime's threads: the write waits for the disk (fsync), and a
                // slow disk must not stall the rounds sharing a worker thread.
                let (p, s) = (path.clone(), states.clone());
                match tokio::task::spawn_blocking(move || state::save(&p, &s)).await {
                    Ok(Ok(())) => last = Some(states),
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot save policy state"),
                    Err(e) => tracing::warn!(error = %e, "saving policy state failed"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read policy state"),
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
