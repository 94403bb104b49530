//! The status page in a real browser: `fas serve` (the binary) scales a fleet in the
//! simulator on a queue depth read from an HTTP endpoint, and headless Chromium
//! (Debian's) opens it as a desktop and as a phone. The page holds no script (so it
//! works with JavaScript off). The DOM
//! it built is checked (app rows, the filter, paging, an app's chart and rounds), and
//! screenshots are saved under target/test-artifacts/ to be looked at.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fas::reconcile::status::DETAILED;
use support::served::Served;

fn chromium() -> Option<PathBuf> {
    support::servers::require(
        "chromium",
        &[PathBuf::from("/usr/bin/chromium")],
        "apt-get install -y chromium fonts-dejavu-core",
    )
}

/// Runs headless Chromium on `url` with `what` (`--dump-dom` or `--screenshot=FILE`)
/// and returns stdout. (Headless Chromium's own commands run through the page's script
/// engine, so scripts stay on here; the page has none, which the test checks.)
fn browse(bin: &Path, url: &str, size: &str, what: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox", // tests run as root in CI
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={size}"),
            what,
            url,
        ])
        .env("HOME", home.path())
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A queue depth per app that moves every few requests: `{"depth": N}`.
async fn queue_server() -> String {
    let hits = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/q/{app}",
        axum::routing::get(
            move |axum::extract::Path(app): axum::extract::Path<String>| {
                let n = hits.fetch_add(1, Ordering::Relaxed);
                async move {
                    let base = app.len() as u64 * 3;
                    axum::Json(serde_json::json!({ "depth": base + (n / 10 % 4) * 9 }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[cfg_attr(
    fas_no_chromium,
    ignore = "needs headless Chromium here: apt-get install -y chromium fonts-dejavu-core"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let sim = support::sched::fleet("acme/web=2,acme/worker-*=2*60").await;
    let queue = queue_server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.lua"),
        "function scale(m, app)\n  return { started = math.max(1, math.min(2, math.ceil(m.queue_depth / 20))) }\nend\n",
    )
    .unwrap();
    let url = format!("{queue}/q/$APP_NAME");
    let env = [
        ("FAS_APP_NAME", "*"),
        ("FAS_ORG", "acme"),
        ("FAS_POLICY", "policy.lua"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_CONCURRENCY", "8"),
        ("FAS_HTTP_URL", url.as_str()),
        ("FAS_HTTP_METRIC_NAME", "queue_depth"),
        ("FAS_HTTP_JSON_POINTER", "/depth"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    fas.wait_for("/api/apps/web", "12 rounds of web", |v| {
        v["points"].as_array().is_some_and(|h| h.len() >= 12)
    })
    .await;
    fas.wait_for("/api/apps", "a round of every app", |v| v["total"] == 61)
        .await;

    let base = fas.base.clone();
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shots = artifacts.clone();
    tokio::task::spawn_blocking(move || {
        // The list: 61 apps, 50 on the first page, every row linked to its page.
        let dom = browse(&bin, &format!("{base}/"), "1280,900", "--dump-dom");
        assert!(dom.contains("<table id=\"apps\">"), "{dom}");
        assert_eq!(count(&dom, "<tr class=\"app\""), 50, "{dom}");
        assert!(dom.contains("fas — 61 app(s)") && dom.contains("page 1 of 2"));
        assert!(
            !dom.contains("<script"),
            "the page works with JavaScript off"
        );
        assert!(dom.contains("href=\"/apps/web\"") && dom.contains("LIVE"));
        assert!(dom.contains("queue_depth="));
        // Filter and page 2, by the GET form's and the pager's own URLs.
        let dom = browse(
            &bin,
            &format!("{base}/?q=worker-1&show=all&sort=name&page=1"),
            "1280,900",
            "--dump-dom",
        );
        assert_eq!(
            count(&dom, "<tr class=\"app\""),
            11,
            "worker-1, -10…-19: {dom}"
        );
        let dom = browse(&bin, &format!("{base}/?page=2"), "1280,900", "--dump-dom");
        assert_eq!(count(&dom, "<tr class=\"app\""), 11);
        // An app's page: the chart with its lines, actions, the metric, and the rounds.
        let dom = browse(&bin, &format!("{base}/apps/web"), "1000,1100", "--dump-dom");
        assert!(dom.contains("<svg id=\"chart\""), "{dom}");
        assert!(
            count(&dom, "<path ") >= 3,
            "started, created, target lines: {dom}"
        );
        assert!(dom.contains("queue_depth"));
        assert!(
            count(&dom, "<tr>") > DETAILED,
            "the newest rounds in full: {dom}"
        );
        assert!(!dom.contains("fm2_served"), "the token never shows");
        for (page, size, name) in [
            ("/?sort=action", "1280,900", "status-page.png"),
            ("/apps/web", "1000,1100", "status-app.png"),
            ("/", "390,844", "status-phone.png"),
        ] {
            let file = shots.join(name);
            let _ = std::fs::remove_file(&file);
            browse(
                &bin,
                &format!("{base}{page}"),
                size,
                &format!("--screenshot={}", file.display()),
            );
            let png = std::fs::read(&file).unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}");
        }
    })
    .await
    .unwrap();
    fas.stop();
}
