//! Configuration: fly-autoscaler's environment variables and YAML keys, their
//! defaults, and its validation rules with messages that name the key.

use std::collections::HashMap;
use std::time::Duration;

use fas::config::{Config, Needs};

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

fn from_env(pairs: &[(&str, &str)]) -> Result<Config, String> {
    let env = env_of(pairs);
    Config::from_env(&env).map_err(|e| e.to_string())
}

fn validate(pairs: &[(&str, &str)]) -> Result<(), String> {
    from_env(pairs)?
        .validate(Needs { app: true })
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_match_fly_autoscaler() {
    let c = from_env(&[]).unwrap();
    assert_eq!(c.process_group, "app");
    assert_eq!(c.initial_machine_state, "started");
    assert_eq!(c.stop_mode, "stop", "upstream's behaviour by default");
    assert_eq!(c.concurrency, 1);
    assert_eq!(c.interval, Duration::from_secs(15));
    assert_eq!(c.timeout, Duration::from_secs(30));
    assert_eq!(c.app_list_refresh_interval, Duration::from_secs(60));
    assert!(c.metric_collectors.is_empty());
}

#[test]
fn every_environment_variable_is_read() {
    let c = from_env(&[
        ("FAS_APP_NAME", "my-app-*"),
        ("FAS_ORG", "acme"),
        ("FAS_REGIONS", "iad, ord,,ams"),
        ("FAS_PROCESS_GROUP", "worker"),
        ("FAS_MIN_CREATED_MACHINE_COUNT", "1"),
        ("FAS_MAX_CREATED_MACHINE_COUNT", "q / 2"),
        ("FAS_STARTED_MACHINE_COUNT", "q"),
        ("FAS_INITIAL_MACHINE_STATE", "stopped"),
        ("FAS_STOP_MODE", "suspend"),
        ("FAS_CONCURRENCY", "8"),
        ("FAS_INTERVAL", "1m30s"),
        ("FAS_TIMEOUT", "500ms"),
        ("FAS_APP_LIST_REFRESH_INTERVAL", "2m"),
        ("FAS_API_TOKEN", "FlyV1 fm2_secret"),
        ("FAS_PROMETHEUS_ADDRESS", "http://prom:9090"),
        ("FAS_PROMETHEUS_METRIC_NAME", "q"),
        (
            "FAS_PROMETHEUS_QUERY",
            "sum(queue_depth{app=\"$APP_NAME\"})",
        ),
        ("FAS_PROMETHEUS_TOKEN", "prom-secret"),
        ("FAS_TEMPORAL_ADDRESS", "temporal:7233"),
        ("FAS_TEMPORAL_NAMESPACE", "default"),
        ("FAS_TEMPORAL_METRIC_NAME", "wf"),
        ("FAS_TEMPORAL_QUERY", "WorkflowType='x'"),
        ("FAS_TEMPORAL_CERT_DATA", "fas-cert"),
        ("TEMPORAL_TLS_CERT_DATA", "temporal-cert"),
        ("FAS_TEMPORAL_KEY_DATA", "fas-key"),
    ])
    .unwrap();
    assert_eq!(c.app_name, "my-app-*");
    assert_eq!(c.org, "acme");
    assert_eq!(c.regions, ["iad", "ord", "ams"]);
    assert_eq!(c.process_group, "worker");
    assert_eq!(c.initial_machine_state, "stopped");
    assert_eq!(c.stop_mode, "suspend");
    assert_eq!(c.concurrency, 8);
    assert_eq!(c.interval, Duration::from_secs(90));
    assert_eq!(c.timeout, Duration::from_millis(500));
    assert_eq!(c.app_list_refresh_interval, Duration::from_secs(120));
    assert_eq!(c.api_token.expose(), "FlyV1 fm2_secret");
    let exprs = c.count_exprs();
    assert_eq!(exprs.min_created.as_deref(), Some("1"));
    assert_eq!(exprs.max_created.as_deref(), Some("q / 2"));
    assert_eq!(exprs.min_started.as_deref(), Some("q"));
    assert_eq!(exprs.max_started.as_deref(), Some("q"));
    let [prom, temporal] = &c.metric_collectors[..] else {
        panic!("two collectors")
    };
    assert_eq!(
        (prom.kind.as_str(), prom.metric_name.as_str()),
        ("prometheus", "q")
    );
    assert_eq!(prom.token.expose(), "prom-secret");
    assert_eq!(temporal.namespace, "default");
    // Temporal's own variable wins over fas's, as upstream.
    assert_eq!(temporal.cert_data.expose(), "temporal-cert");
    assert_eq!(temporal.key_data.expose(), "fas-key");
    assert!(c.validate(Needs { app: true }).is_ok());
    // Secrets stay out of Debug output.
    let debug = format!("{c:?}");
    for secret in ["fm2_secret", "prom-secret", "temporal-cert", "fas-key"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}

#[test]
fn bad_numbers_and_durations_name_the_variable() {
    let e = from_env(&[("FAS_CONCURRENCY", "many")]).unwrap_err();
    assert_eq!(e, "cannot parse FAS_CONCURRENCY as integer: \"many\"");
    let e = from_env(&[("FAS_INTERVAL", "15")]).unwrap_err();
    assert!(
        e.starts_with("cannot parse FAS_INTERVAL as duration"),
        "{e}"
    );
}

#[test]
fn upstream_validation_rules_with_keys_named() {
    let app = ("FAS_APP_NAME", "a");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("FAS_STARTED_MACHINE_COUNT", "1")], "app name required: set FAS_APP_NAME"),
        (&[("FAS_APP_NAME", "a-*"), ("FAS_STARTED_MACHINE_COUNT", "1")], "so an org is required: set FAS_ORG"),
        (&[app], "must define either created machine count or started machine count"),
        (
            &[app, ("FAS_CREATED_MACHINE_COUNT", "1"), ("FAS_MIN_CREATED_MACHINE_COUNT", "1")],
            "cannot define created machine count and min/max created machine count",
        ),
        (
            &[app, ("FAS_MIN_CREATED_MACHINE_COUNT", "1")],
            "max created machine count required if min created machine count is defined: set FAS_MAX_CREATED_MACHINE_COUNT",
        ),
        (
            &[app, ("FAS_MAX_STARTED_MACHINE_COUNT", "1")],
            "min started machine count required if max started machine count is defined: set FAS_MIN_STARTED_MACHINE_COUNT",
        ),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_MAX_STARTED_MACHINE_COUNT", "1")],
            "cannot define started machine count and min/max started machine count: set either \
             FAS_STARTED_MACHINE_COUNT (started-machine-count) or the min/max pair \
             (FAS_MIN_STARTED_MACHINE_COUNT / min-started-machine-count, FAS_MAX_STARTED_MACHINE_COUNT / max-started-machine-count)",
        ),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_METRICS_ADDR", ":x")], "metrics address \":x\" is not host:port"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_LOG_FORMAT", "XML")], "log format must be text, json or logfmt"),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_INITIAL_MACHINE_STATE", "running")],
            "initial machine state must be 'started', 'stopped' or 'suspended'",
        ),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_STOP_MODE", "hibernate")],
            "stop mode must be either 'stop' or 'suspend' (FAS_STOP_MODE / stop-mode)",
        ),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_POLICY", "p.lua")],
            "policy p.lua and machine count expressions are exclusive",
        ),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_CONCURRENCY", "0")], "concurrency must be at least 1"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_CONCURRENCY", "18446744073709551615")], "concurrency must be at most 10000"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_CONCURRENCY", "99999999999999999999999")], "cannot parse FAS_CONCURRENCY as integer"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_INTERVAL", "2562047h")], "interval (FAS_INTERVAL / interval) must be at most 168h"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_TIMEOUT", "99999999999999999h")], "cannot parse FAS_TIMEOUT as duration"),
        (&[app, ("FAS_STARTED_MACHINE_COUNT", "1"), ("FAS_APP_LIST_REFRESH_INTERVAL", "8760h")], "app list refresh interval"),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "q"), ("FAS_PROMETHEUS_ADDRESS", "http://p"), ("FAS_PROMETHEUS_QUERY", "up")],
            "FAS_PROMETHEUS_*: metric name required",
        ),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "q"), ("FAS_PROMETHEUS_ADDRESS", "http://p"), ("FAS_PROMETHEUS_METRIC_NAME", "q")],
            "FAS_PROMETHEUS_*: prometheus query required",
        ),
        (
            &[app, ("FAS_STARTED_MACHINE_COUNT", "q"), ("FAS_TEMPORAL_ADDRESS", "t:7233"), ("FAS_TEMPORAL_METRIC_NAME", "q")],
            "FAS_TEMPORAL_*: temporal namespace required",
        ),
    ];
    for (env, want) in cases {
        let got = validate(env);
        assert!(
            got.as_ref().is_err_and(|e| e.contains(want)),
            "{env:?}: want {want:?}, got {got:?}"
        );
    }
    assert!(validate(&[app, ("FAS_POLICY", "p.lua")]).is_ok());
    // Listen addresses as Go writes them, and host names resolved only when bound.
    for addr in [":9090", "[::]:9090", "fly-local-6pn:9090", "127.0.0.1:0"] {
        let r = validate(&[app, ("FAS_POLICY", "p.lua"), ("FAS_METRICS_ADDR", addr)]);
        assert!(r.is_ok(), "{addr}: {r:?}");
    }
    // `fas eval --set` needs no app.
    let c = from_env(&[("FAS_STARTED_MACHINE_COUNT", "1")]).unwrap();
    assert!(c.validate(Needs { app: false }).is_ok());
}

#[test]
fn yaml_file_overrides_env_expands_variables_and_keeps_app_name_for_collectors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fas.yml");
    std::fs::write(
        &path,
        r#"
app-name: ${MY_APP}
org: $MY_ORG
regions: [iad, ord]
created-machine-count: 2
interval: 30s
stop-mode: suspend
policy-params: {per_machine: 10}
metric-collectors:
  - type: prometheus
    metric-name: q
    address: http://prom:9090
    query: sum(queue{app="$APP_NAME", other="${APP_NAME}"})
    token: ${PROM_TOKEN}
"#,
    )
    .unwrap();
    let env = env_of(&[
        ("MY_APP", "web"),
        ("MY_ORG", "acme"),
        ("PROM_TOKEN", "tok"),
        ("FAS_APP_NAME", "from-env"),
        ("FAS_CONCURRENCY", "3"),
        ("APP_NAME", "must-not-be-used"),
    ]);
    let c = Config::load(Some(&path), &env).unwrap();
    assert_eq!(c.app_name, "web");
    assert_eq!(c.org, "acme");
    assert_eq!(c.concurrency, 3);
    assert_eq!(c.regions, ["iad", "ord"]);
    assert_eq!(c.interval, Duration::from_secs(30));
    assert_eq!(c.created_machine_count, "2");
    assert_eq!(c.stop_mode, "suspend");
    assert_eq!(c.policy_params, serde_json::json!({"per_machine": 10}));
    let q = &c.metric_collectors[0];
    assert_eq!(
        q.query,
        "sum(queue{app=\"$APP_NAME\", other=\"${APP_NAME}\"})"
    );
    assert_eq!(q.token.expose(), "tok");
    assert_eq!(q.origin, "metric-collectors[0]");
}

#[test]
fn unknown_yaml_keys_are_rejected_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fas.yml");
    std::fs::write(
        &path,
        "app-name: web\ncreated-machine-count: 2\nintervall: 15s\n",
    )
    .unwrap();
    let env = env_of(&[]);
    let e = Config::load(Some(&path), &env).unwrap_err().to_string();
    assert!(
        e.contains("fas.yml: line 3 column 1: unknown field `intervall`"),
        "{e}"
    );
}

#[test]
fn the_fast_path_keys_from_env_and_yaml() {
    let c = from_env(&[]).unwrap();
    assert_eq!(
        c.watch.interval,
        Duration::from_secs(1),
        "watch steps on by default"
    );
    assert_eq!(c.watch.budget, 500.0);
    assert!(c.watch.poke_token.is_empty(), "pokes off without a token");
    assert_eq!(c.watch.alert_label, "app");
    let c = from_env(&[
        ("FAS_WATCH_INTERVAL", "500ms"),
        ("FAS_WATCH_BUDGET", "50"),
        ("FAS_POKE_TOKEN", "p0ke"),
        ("FAS_ALERTMANAGER_LABEL", "service"),
        ("FAS_INITIAL_MACHINE_STATE", "suspended"),
    ])
    .unwrap();
    assert_eq!(c.watch.interval, Duration::from_millis(500));
    assert_eq!(c.watch.budget, 50.0);
    assert_eq!(c.watch.poke_token.expose(), "p0ke");
    assert!(!format!("{c:?}").contains("p0ke"), "the token never prints");
    assert_eq!(c.watch.alert_label, "service");
    assert_eq!(c.initial_machine_state, "suspended");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fas.yml");
    std::fs::write(
        &path,
        r#"
app-name: web
started-machine-count: q
watch-interval: off
watch-budget: 100
poke-token: ${POKE}
alertmanager-label: svc
metric-collectors:
  - type: prometheus
    metric-name: q
    address: http://prom:9090
    query: sum(q)
  - type: prometheus
    metric-name: slow
    address: http://prom:9090
    query: sum(expensive)
    watch: false
"#,
    )
    .unwrap();
    let c = Config::load(Some(&path), &env_of(&[("POKE", "t")])).unwrap();
    assert!(c.watch.interval.is_zero());
    assert_eq!(c.watch.budget, 100.0);
    assert_eq!(c.watch.poke_token.expose(), "t");
    assert_eq!(c.watch.alert_label, "svc");
    let only: Vec<bool> = c
        .metric_collectors
        .iter()
        .map(|m| m.full_rounds_only)
        .collect();
    assert_eq!(only, [false, true]);
    c.validate(Needs { app: true }).unwrap();

    std::fs::write(&path, "app-name: web\nwatch-interval: soon\n").unwrap();
    let e = Config::load(Some(&path), &env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("watch-interval"), "{e}");
    for (var, value) in [("FAS_WATCH_BUDGET", "-1"), ("FAS_WATCH_INTERVAL", "5ms")] {
        let e = validate(&[
            ("FAS_APP_NAME", "web"),
            ("FAS_STARTED_MACHINE_COUNT", "1"),
            (var, value),
        ])
        .unwrap_err();
        assert!(e.contains(var), "{var}: {e}");
    }
}

/// The cluster keys: off without a URL; shards and lease defaults; each bad value
/// named with its key; the URL never echoed; state-path refused beside it. The YAML
/// keys mean the same as the variables.
#[test]
fn cluster_keys_are_read_checked_and_the_url_kept_secret() {
    let app = ("FAS_APP_NAME", "web");
    let count = ("FAS_STARTED_MACHINE_COUNT", "1");
    let c = from_env(&[app, count]).unwrap();
    assert!(!c.cluster.enabled(), "alone by default");
    let url = "postgres://fas:Sw0rdf1shZ@db.flycast:5432/fas?sslmode=disable";
    let c = from_env(&[app, count, ("FAS_CLUSTER_URL", url)]).unwrap();
    assert!(c.cluster.enabled());
    assert_eq!(c.cluster.shards, 1024);
    assert_eq!(
        c.cluster.lease_for(c.interval),
        Duration::from_secs(30),
        "twice the interval"
    );
    assert!(
        !format!("{c:?}").contains("Sw0rdf1sh"),
        "the URL is a secret"
    );
    let bad =
        |extra: (&str, &str)| validate(&[app, count, ("FAS_CLUSTER_URL", url), extra]).unwrap_err();
    assert!(bad(("FAS_CLUSTER_SHARDS", "0")).contains("FAS_CLUSTER_SHARDS"));
    assert!(bad(("FAS_CLUSTER_LEASE", "500ms")).contains("FAS_CLUSTER_LEASE"));
    let e = bad(("FAS_STATE_PATH", "/data/state.json"));
    assert!(e.contains("state-path") && e.contains("cluster-url"), "{e}");
    let e = from_env(&[app, count, ("FAS_CLUSTER_SHARDS", "many")]).unwrap_err();
    assert!(e.contains("FAS_CLUSTER_SHARDS"), "{e}");
    let e = validate(&[
        app,
        count,
        ("FAS_CLUSTER_URL", "mysql://fas:Sw0rdf1shZ@db/fas"),
    ])
    .unwrap_err();
    assert!(e.contains("postgres://") && !e.contains("Sw0rdf1sh"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fas.yml");
    std::fs::write(
        &file,
        "app-name: web\nstarted-machine-count: 1\ncluster-url: ${DB_URL}\ncluster-shards: 256\ncluster-lease: 45s\n",
    )
    .unwrap();
    let env = env_of(&[("DB_URL", url)]);
    let c = Config::load(Some(&file), &env).unwrap();
    c.validate(Needs { app: true }).unwrap();
    assert_eq!(c.cluster.shards, 256);
    assert_eq!(c.cluster.lease, Some(Duration::from_secs(45)));
    assert_eq!(c.cluster.url.expose(), url);
}
