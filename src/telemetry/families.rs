//! Every metric family fas exposes: name, type, help and label names.

/// (name, type, help, label names) of every metric fas exposes.
pub type Family = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);
pub const FAMILIES: &[Family] = &[
    (
        "fas_reconcile_count",
        "counter",
        "Reconciles by outcome: create, destroy, start, stop, suspend, no_scale.",
        &["status"]),
    (
        "fas_machine_create_count",
        "counter",
        "Machines created, by status.",
        &["status"]),
    (
        "fas_machine_destroy_count",
        "counter",
        "Machines destroyed, by status.",
        &["status"]),
    (
        "fas_machine_start_count",
        "counter",
        "Machines started, by status.",
        &["status"]),
    (
        "fas_machine_stop_count",
        "counter",
        "Machines stopped, by status.",
        &["status"]),
    (
        "fas_machine_suspend_count",
        "counter",
        "Machines suspended (stop-mode suspend), by status.",
        &["status"],
    ),
    (
        "fas_machine_leased_skips_total",
        "counter",
        "Machines left alone for a round because someone else (a deploy) held their lease, by app.",
        &["app"],
    ),
    (
        "fas_protection_held_total",
        "counter",
        "Rounds in which Machines protecting themselves (metadata fas-protect=true) held a scale-down back, by app.",
        &["app"],
    ),
    (
        "fas_metadata_unrecognized_total",
        "counter",
        "fas-protect or fas-pause values fas did not understand (each read as its safest meaning: protected, paused), counted once per app, key and value.",
        &["app", "key"],
    ),
    (
        "fas_machine_readbacks_total",
        "counter",
        "Machines read back after an ambiguous answer, by call and what the read showed (applied, not_applied, unknown).",
        &["call", "result"],
    ),
    (
        "fas_api_retries_total",
        "counter",
        "Fly API requests resent after a transient failure (5xx, 429, timeout, connection), by call.",
        &["call"],
    ),
    (
        "fas_reconcile_errors_total",
        "counter",
        "Reconciles that changed nothing because of an error, by kind.",
        &["kind"]),
    (
        "fas_collector_errors_total",
        "counter",
        "Failed metric collections, by collector.",
        &["collector"]),
    (
        "fas_policy_errors_total",
        "counter",
        "Failed policy decisions, by app.",
        &["app"]),
    (
        "fas_api_errors_total",
        "counter",
        "Failed Fly API calls, by call.",
        &["call"]),
    (
        "fas_reconcile_panics_total",
        "counter",
        "Reconciles that panicked (a bug): the round ended, the app's loop went on, by app.",
        &["app"],
    ),
    (
        "fas_reconcile_skipped_total",
        "counter",
        "Reconciles skipped, by reason (release, overrun, paused).",
        &["reason"],
    ),
    (
        "fas_watch_steps_total",
        "counter",
        "Watch steps between full rounds, by result: steady (asked for no more; nothing sent), acted (asked for more: listed and acted at once), error.",
        &["result"],
    ),
    (
        "fas_pokes_total",
        "counter",
        "Pokes (POST /v1/apps/{app}/poke, Alertmanager), by result: queued, unknown (an app fas does not scale), too_soon (rate-limited), unauthorized.",
        &["result"],
    ),
    (
        "fas_warm_pool_rewarms_total",
        "counter",
        "Warm-pool Machines started again to be suspended again, because a deploy discarded their suspend snapshot, by app and status.",
        &["app", "status"],
    ),
    (
        "fas_watch_period_seconds",
        "gauge",
        "Seconds between an app's watch steps (the watch interval, stretched by the watch budget over all apps); 0 when apps are decided in full rounds only.",
        &[],
    ),
    (
        "fas_metric_value",
        "gauge",
        "Last collected value of each metric, by app.",
        &["app", "metric"]),
    (
        "fas_target",
        "gauge",
        "Last targets of the policy, by app, dimension and bound.",
        &["app", "dimension", "bound"]),
    (
        "fas_forecast",
        "gauge",
        "Last forecast a policy returned (`forecast =`, e.g. from fas.forecast), by app.",
        &["app"]),
    (
        "fas_machines",
        "gauge",
        "Machines of the process group at the last reconcile, by app and state.",
        &["app", "state"]),
    ("fas_apps", "gauge", "Apps being reconciled.", &[]),
    (
        "fas_app_consecutive_failures",
        "gauge",
        "Rounds in a row that failed for the app (a collector, the policy, the API, a timeout); 0 after a good round.",
        &["app"]),
    (
        "fas_fallback_active",
        "gauge",
        "1 while an app's targets come from its fallback (a metric failed failure-threshold rounds in a row), else 0.",
        &["app"]),
    (
        "fas_dry_run",
        "gauge",
        "1 in shadow mode (dry-run: planned actions are logged, never sent), else 0.",
        &[]),
    (
        "fas_dry_run_actions_total",
        "counter",
        "Rounds whose plan was not sent because of dry-run, by the action planned.",
        &["action"]),
    (
        "fas_config_reloads_total",
        "counter",
        "Configuration and policy reloads (SIGHUP), by result: applied or rejected.",
        &["result"]),
    (
        "fas_config_last_reload_successful",
        "gauge",
        "1 when the last reload was applied (or none was asked), 0 when it was rejected and the previous configuration still runs.",
        &[]),
    (
        "fas_policy_quarantined",
        "gauge",
        "1 for an app whose decision overran the policy watchdog: it is no longer scaled until fas restarts or the policy is reloaded.",
        &["app"]),
    (
        "fas_reconcile_duration_seconds",
        "histogram",
        "Time one app's reconcile took.",
        &[]),
    (
        "fas_cluster_members",
        "gauge",
        "Live members of the cluster (instances renewing their lease), as this instance last read them.",
        &[]),
    (
        "fas_cluster_shards_owned",
        "gauge",
        "Shards this instance owns now, of cluster-shards.",
        &[]),
    (
        "fas_cluster_handoffs_total",
        "counter",
        "Shards this instance gained or lost (each change of owner bumps the shard's epoch).",
        &["direction"]),
    (
        "fas_cluster_renewals_total",
        "counter",
        "Lease renewals in the cluster database, by result.",
        &["result"]),
    (
        "fas_cluster_queries_total",
        "counter",
        "Statements this instance sent to the cluster database (as of its last renewal).",
        &[]),
    (
        "fas_cluster_fencing_refusals_total",
        "counter",
        "Rounds refused by the fence: the database said another instance owns the shard now.",
        &[]),
];

/// The label values each fixed-label counter documents, exported at 0 from the first
/// scrape, as upstream exports its counters: a dashboard or an alert on
/// `status="failed"` has its series before the first failure. Counters by app or by
/// collector appear with their app or collector.
pub const ZERO_SERIES: &[(&str, &str, &[&str])] = &[
    (
        "fas_reconcile_count",
        "status",
        &["create", "destroy", "start", "stop", "suspend", "no_scale"],
    ),
    ("fas_machine_create_count", "status", &["ok", "failed"]),
    ("fas_machine_destroy_count", "status", &["ok", "failed"]),
    ("fas_machine_start_count", "status", &["ok", "failed"]),
    ("fas_machine_stop_count", "status", &["ok", "failed"]),
    ("fas_machine_suspend_count", "status", &["ok", "failed"]),
    (
        "fas_reconcile_errors_total",
        "kind",
        &[
            "collect",
            "api",
            "policy",
            "timeout",
            "nothing_to_clone",
            "not_owner",
        ],
    ),
    (
        "fas_reconcile_skipped_total",
        "reason",
        &["release", "overrun", "paused"],
    ),
    (
        "fas_watch_steps_total",
        "result",
        &["steady", "acted", "error"],
    ),
    (
        "fas_pokes_total",
        "result",
        &["queued", "unknown", "too_soon", "unauthorized"],
    ),
    (
        "fas_config_reloads_total",
        "result",
        &["applied", "rejected"],
    ),
];
