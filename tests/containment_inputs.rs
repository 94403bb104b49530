//! Containment, round two, through the real binary: hostile servers written here at
//! the socket level (declared lengths of GBs, lines that never end, many tiny items,
//! errors that echo a secret across the cut) and hostile files (FIFOs, devices, 100 MB,
//! symlink loops). Each attack ends in a clean error, within its time bound, with the
//! child's peak memory bounded and no 6-character piece of a planted secret anywhere.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

mod support;

use support::{fas_measured, leaks, repo, stderr, stdout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "SECRETxyz_pw_0123456789abcdef";
/// The most a `fas eval` attacked here may use (it needs ~20-40 MB itself; the attacks
/// reached 200 MB to GBs before the bounds).
const PEAK_KIB: u64 = 100 << 10;

/// A server on 127.0.0.1 that runs `f` for each connection; its port.
async fn hostile<F, Fut>(f: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(f(sock));
        }
    });
    port
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![
        ("FAS_APP_NAME".to_string(), "web".to_string()),
        ("FAS_STARTED_MACHINE_COUNT".into(), "ceil(m)".into()),
        ("FAS_TIMEOUT".into(), "4s".into()),
    ];
    all.extend(support::vars(pairs));
    all
}

/// Runs `fas eval` (off the runtime that serves the attack); it must fail cleanly,
/// within `secs`, under `PEAK_KIB`, leaking no piece of `secret`. Returns its output.
async fn eval_fails(pairs: Vec<(String, String)>, secs: u64, secret: &str) -> String {
    let (o, peak, took) =
        tokio::task::spawn_blocking(move || fas_measured(&["eval"], &pairs, &repo()))
            .await
            .unwrap();
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("ERROR"), "a clean error line: {text}");
    assert!(!text.contains("panic"), "{text}");
    assert!(took < Duration::from_secs(secs), "took {took:?}: {text}");
    assert!(peak < PEAK_KIB, "peak {} MB: {text}", peak >> 10);
    assert!(!secret.is_empty() && !leaks(&text, secret), "{text}");
    text
}

/// Sends `byte` until the reader hangs up (4 GiB if nobody stops reading).
async fn endless(sock: &mut TcpStream, byte: u8) {
    let chunk = vec![byte; 65536];
    for _ in 0..65536 {
        if sock.write_all(&chunk).await.is_err() {
            return;
        }
    }
}

/// A Redis collector's keys besides its address.
const REDIS: [(&str, &str); 2] = [
    ("FAS_REDIS_METRIC_NAME", "m"),
    ("FAS_REDIS_COMMAND", "LLEN q"),
];

/// A NATS collector's keys besides its address.
const NATS: [(&str, &str); 3] = [
    ("FAS_NATS_METRIC_NAME", "m"),
    ("FAS_NATS_STREAM", "jobs"),
    ("FAS_NATS_CONSUMER", "workers"),
];

async fn read_some(sock: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = sock.read(&mut buf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_nested_arrays_declaring_millions_cost_nothing() {
    let port = hostile(|mut sock| async move {
        read_some(&mut sock).await;
        let _ = sock
            .write_all(b"*2700000\r\n*2700000\r\n*2700000\r\n*2700000\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let addr = format!("redis://127.0.0.1:{port}");
    let text = eval_fails(
        env(&[("FAS_REDIS_ADDRESS", &addr), REDIS[0], REDIS[1]]),
        15,
        PASSWORD,
    )
    .await;
    assert!(
        text.contains("redis answered more than 8 MiB; refused"),
        "{text}"
    );
}

/// 2 million tiny items (8 MiB): redis-rs would keep each as a value (~10x the bytes);
/// the count is charged from the header, so the answer is refused before it arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_many_tiny_items_are_refused_by_their_count() {
    let port = hostile(|mut sock| async move {
        read_some(&mut sock).await;
        let items = 2_000_000;
        let mut answer = format!("*{items}\r\n").into_bytes();
        answer.extend(b":7\r\n".repeat(items));
        let _ = sock.write_all(&answer).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let addr = format!("redis://127.0.0.1:{port}");
    let text = eval_fails(
        env(&[("FAS_REDIS_ADDRESS", &addr), REDIS[0], REDIS[1]]),
        15,
        PASSWORD,
    )
    .await;
    assert!(
        text.contains("redis answered more than 8 MiB; refused"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_error_echoing_the_password_across_the_cut_is_redacted_whole() {
    let port = hostile(|mut sock| async move {
        // AUTH passes; the command's answer echoes the password across the 4 KiB cut.
        let mut buf = vec![0u8; 4096];
        while let Ok(n @ 1..) = sock.read(&mut buf).await {
            let asked = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
            let answer = if asked.contains("AUTH") {
                "+OK\r\n".to_string()
            } else {
                format!("-ERR {}{PASSWORD} was wrong\r\n", "x".repeat(4060))
            };
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    })
    .await;
    let addr = format!("redis://:{PASSWORD}@127.0.0.1:{port}");
    let text = eval_fails(
        env(&[("FAS_REDIS_ADDRESS", &addr), REDIS[0], REDIS[1]]),
        15,
        PASSWORD,
    )
    .await;
    assert!(
        text.contains("redis: ResponseError: xxxx") && text.contains("bytes cut"),
        "{text}"
    );
    assert!(text.len() < 3 * 4096, "cut: {} bytes", text.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_401_echoing_the_token_across_the_cut_is_redacted_whole() {
    let port = hostile(|mut sock| async move {
        read_some(&mut sock).await;
        let body = format!("{}Bearer {PASSWORD} is not valid", "y".repeat(4030));
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = sock.write_all(format!("{head}{body}").as_bytes()).await;
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/stats");
    let text = eval_fails(
        env(&[
            ("FAS_HTTP_URL", &url),
            ("FAS_HTTP_METRIC_NAME", "m"),
            ("FAS_HTTP_JSON_POINTER", "/n"),
            ("FAS_HTTP_TOKEN", PASSWORD),
        ]),
        15,
        PASSWORD,
    )
    .await;
    assert!(text.contains("answered 401"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_info_line_that_never_ends_is_cut_off() {
    let port = hostile(|mut sock| async move {
        let _ = sock.write_all(b"INFO {\"server_id\":\"").await;
        endless(&mut sock, b'a').await;
    })
    .await;
    let addr = format!("nats://127.0.0.1:{port}");
    let text = eval_fails(
        env(&[("FAS_NATS_ADDRESS", &addr), NATS[0], NATS[1], NATS[2]]),
        15,
        PASSWORD,
    )
    .await;
    assert!(text.contains("did not greet like NATS"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_message_declaring_2_gib_is_refused_before_the_driver_buffers_it() {
    let port = hostile(|mut sock| async move {
        read_some(&mut sock).await; // the startup message
        let _ = sock.write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff]).await;
        endless(&mut sock, 0).await;
    })
    .await;
    let addr = format!("postgres://fas:{PASSWORD}@127.0.0.1:{port}/db?sslmode=disable");
    let text = eval_fails(
        env(&[
            ("FAS_POSTGRES_ADDRESS", &addr),
            ("FAS_POSTGRES_METRIC_NAME", "m"),
            ("FAS_POSTGRES_QUERY", "SELECT 1"),
        ]),
        15,
        PASSWORD,
    )
    .await;
    assert!(text.contains("more than the 1 MiB"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_as_two_bare_lines_are_never_echoed() {
    let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.SECRETjwtbody_abcdef.sig";
    let seed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIP3QWY";
    for creds in [format!("{jwt}\n{seed}"), format!("{jwt}\r\n{seed}\n")] {
        let text = eval_fails(
            env(&[
                ("FAS_NATS_ADDRESS", "nats://127.0.0.1:1"),
                NATS[0],
                NATS[1],
                NATS[2],
                ("FAS_NATS_CREDENTIALS", &creds),
            ]),
            15,
            jwt,
        )
        .await;
        assert!(!leaks(&text, seed), "{text}");
        assert!(text.contains("not a path, and not a .creds file"), "{text}");
    }
}

/// A file kind: its name, the environment and the arguments that make fas read it.
type Case<'a> = (&'a str, Vec<(String, String)>, Vec<&'a str>);

/// Every file kind fas reads, given as each hostile file: a clean error, fast, small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_of_every_kind_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = d.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let (a, b) = (d.join("loop-a"), d.join("loop-b"));
    std::os::unix::fs::symlink(&a, &b).unwrap();
    std::os::unix::fs::symlink(&b, &a).unwrap();
    let hostile: [(&Path, &str); 4] = [
        (&fifo, "a FIFO"),
        (Path::new("/dev/zero"), "a device"),
        (&big, "larger than"),
        (&a, "symbolic links"),
    ];
    let nats = [
        ("FAS_NATS_ADDRESS", "nats://127.0.0.1:1"),
        NATS[0],
        NATS[1],
        NATS[2],
    ];
    for (file, why) in hostile {
        let path = file.to_str().unwrap();
        let kinds: [Case; 3] = [
            ("config", env(&[]), vec!["eval", "--config", path]),
            (
                "policy",
                {
                    let mut e = env(&[("FAS_POLICY", path)]);
                    e.retain(|(k, _)| k != "FAS_STARTED_MACHINE_COUNT");
                    e
                },
                vec!["eval"],
            ),
            (
                "credentials",
                {
                    let mut e = env(&nats);
                    e.push(("FAS_NATS_CREDENTIALS".into(), path.into()));
                    e
                },
                vec!["eval"],
            ),
        ];
        for (kind, pairs, args) in kinds {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let (o, peak, took) = tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                fas_measured(&args, &pairs, &repo())
            })
            .await
            .unwrap();
            let text = format!("{}{}", stdout(&o), stderr(&o));
            assert!(!o.status.success(), "{kind} {path}: {text}");
            assert!(text.contains(why), "{kind} {path}: {text}");
            assert!(took < Duration::from_secs(10), "{kind} {path}: {took:?}");
            assert!(peak < PEAK_KIB, "{kind} {path}: peak {} MB", peak >> 10);
        }
    }
    // A history file for `fas simulate`.
    for (file, why) in hostile {
        let path = file.to_str().unwrap().to_string();
        let (o, peak, _) = tokio::task::spawn_blocking(move || {
            fas_measured(
                &["simulate", "--expr", "ceil(m)", "--metrics", &path],
                &env(&[]),
                &repo(),
            )
        })
        .await
        .unwrap();
        let text = stderr(&o);
        assert!(
            !o.status.success() && text.contains(why),
            "history {file:?}: {text}"
        );
        assert!(peak < PEAK_KIB, "history: peak {} MB", peak >> 10);
    }
}

/// `fas serve`: a state file that is a FIFO stops the start with a clean error; a
/// config swapped for a FIFO and then SIGHUP is rejected while `/healthz` and rounds go
/// on, and SIGTERM still ends fas at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_waits_on_a_fifo() {
    use support::served::Served;
    let sim = support::sched::fleet("acme/web=2").await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("state.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "1"),
        ("FAS_STATE_PATH", "state.fifo"),
    ];
    let mut fas = Served::start(&sim.url(), &env, &[], dir.path());
    let exited = tokio::task::spawn_blocking(move || {
        let status = fas.child.wait().unwrap();
        (status, fas.log())
    });
    let (status, log) = tokio::time::timeout(Duration::from_secs(20), exited)
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success() && log.contains("a FIFO"), "{log}");

    let config = dir.path().join("fas.yml");
    std::fs::write(
        &config,
        "app-name: web\nstarted-machine-count: 1\ninterval: 300ms\n",
    )
    .unwrap();
    let fas = Served::start(&sim.url(), &[], &["--config", "fas.yml"], dir.path());
    fas.wait_for("/api/apps", "a round", |v| fas_last_round(v) > 0.0)
        .await;
    std::fs::remove_file(&config).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&config)
        .status()
        .unwrap()
        .success());
    fas.signal("HUP");
    let v = fas
        .wait_for("/api/apps", "the FIFO config rejected", |v| {
            v["mode"]["last_reload_error"]
                .as_str()
                .is_some_and(|e| e.contains("a FIFO"))
        })
        .await;
    assert_eq!(v["mode"]["reloads"], 0, "{v}");
    let (code, _) = fas.get("/healthz").await;
    assert_eq!(code, 200);
    let before = fas_last_round(&fas.json("/api/apps").await);
    fas.wait_for("/api/apps", "rounds go on", |v| fas_last_round(v) > before)
        .await;
    let stopped = std::time::Instant::now();
    let log = tokio::task::spawn_blocking(move || fas.stop())
        .await
        .unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(10), "{log}");
}

/// When the app's newest round ran (0 before the first).
fn fas_last_round(v: &serde_json::Value) -> f64 {
    v["apps"][0]["last"]["at"].as_f64().unwrap_or(0.0)
}
