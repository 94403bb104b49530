//! `fas serve` through the real binary with each collector type against a real
//! server (Debian's Prometheus, the Temporal dev server), scaling the simulator: the
//! path from a metric on a real server to a started Machine, as a user runs it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fas::sim::{self, Latencies, Seed, SimOptions, SimServer};
use support::servers;

async fn fleet() -> SimServer {
    let opts = SimOptions {
        latencies: Latencies::instant(20),
        rate_limits: false,
        ..SimOptions::default()
    };
    let s = sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let mut seed = Seed::parse_spec("acme/web=1").unwrap();
    for _ in 0..4 {
        seed.apps[0].machines.push(fas::sim::SeedMachine {
            region: "iad".into(),
            state: "stopped".into(),
            process_group: "app".into(),
        });
    }
    s.sim.seed(&seed).unwrap();
    s
}

fn started(s: &SimServer) -> usize {
    let mut w = s.sim.world.lock().unwrap();
    w.settle(tokio::time::Instant::now());
    let web = &w.apps["web"];
    web.machines.iter().filter(|m| m.state == "started").count()
}

/// `fas serve` for app `web` against the simulator, with these extra variables.
fn serve(s: &SimServer, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fas"))
        .arg("serve")
        .env_clear()
        .env("FAS_APP_NAME", "web")
        .env("FAS_API_TOKEN", "FlyV1 fm2_serve_collectors")
        .env("FAS_MACHINES_API_URL", s.url())
        .env("FAS_GRAPHQL_URL", format!("{}/graphql", s.url()))
        .env("FAS_INTERVAL", "300ms")
        .env("FAS_METRICS_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn until_started(s: &SimServer, want: usize, child: &mut Child) {
    for _ in 0..300 {
        if started(s) == want {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("fas serve exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let out = child.stderr.take().map(|mut e| {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
        s
    });
    panic!("{} started, want {want}: {out:?}", started(s));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_prometheus() {
    let Some(prom) = tokio::task::spawn_blocking(|| servers::prometheus(&[]))
        .await
        .unwrap()
    else {
        return;
    };
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(queue_depth / 10)"),
            ("FAS_PROMETHEUS_ADDRESS", prom.url.as_str()),
            ("FAS_PROMETHEUS_METRIC_NAME", "queue_depth"),
            (
                "FAS_PROMETHEUS_QUERY",
                "label_replace(vector(30), \"app\", \"$APP_NAME\", \"\", \"\")",
            ),
        ],
    );
    until_started(&s, 3, &mut child).await;
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_temporal_server() {
    let Some(bin) = servers::temporal_bin() else {
        return;
    };
    let b = bin.clone();
    let server = tokio::task::spawn_blocking(move || {
        let server = servers::temporal(&b);
        for i in 0..4 {
            servers::start_workflow(&b, &server.url, &format!("serve-{i}"), "q-web");
        }
        server
    })
    .await
    .unwrap();
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "wf"),
            ("FAS_TEMPORAL_ADDRESS", server.url.as_str()),
            ("FAS_TEMPORAL_NAMESPACE", "default"),
            ("FAS_TEMPORAL_METRIC_NAME", "wf"),
            ("FAS_TEMPORAL_QUERY", "TaskQueue = 'q-$APP_NAME'"),
        ],
    );
    until_started(&s, 4, &mut child).await;
    let _ = child.kill();
    let _ = child.wait();
}
