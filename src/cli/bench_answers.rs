//! `fas bench answers`: the memory one hostile answer costs, per collector. Each
//! collector reads once from a server in this process that answers just under the
//! byte cap with the shape that costs most (many tiny items, a long array of zeros,
//! thousands of series); the figure is the peak RSS above the level before the read
//! (the kernel's high-water mark, reset through /proc/self/clear_refs). Goal: at most
//! 4x the collector's byte cap, and never more than 64 MB.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::bench_reconcile::status_kb;
use crate::config::CollectorConfig;

/// Just under the 8 MiB cap fas puts on an answer.
const SIZE: usize = (8 << 20) - 4096;

/// `[0,0,…]` of about `n` bytes.
fn zeros(n: usize) -> String {
    let mut s = String::with_capacity(n + 2);
    s.push('[');
    while s.len() < n {
        s.push_str("0,");
    }
    s.push('0');
    s.push(']');
    s
}

/// A Prometheus vector of tiny series, each naming a Machine when `label` is set.
fn series(label: &str) -> String {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    let mut i = 0u64;
    while s.len() < SIZE - 100 {
        if i > 0 {
            s.push(',');
        }
        match label {
            "" => s.push_str(r#"{"metric":{},"value":[1,"1"]}"#),
            l => s.push_str(&format!(
                r#"{{"metric":{{"{l}":"{i:x}"}},"value":[1,"1"]}}"#
            )),
        }
        i += 1;
    }
    s.push_str("]}}");
    s
}

/// Serves one HTTP answer per connection (after reading the request and its body).
async fn http_server(body: String) -> anyhow::Result<String> {
    // Shared, not copied per connection: the copy would count in the figure.
    let body: std::sync::Arc<str> = body.into();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                let (mut line, mut length) = (String::new(), 0usize);
                while r.read_line(&mut line).await.unwrap_or(0) > 2 {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut skip = vec![0; length];
                let _ = r.read_exact(&mut skip).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let mut sock = r.into_inner();
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// Answers every read with `answer` (a Redis reply, or NATS lines after a greeting).
async fn raw_server(greeting: &'static str, answer: Vec<u8>) -> anyhow::Result<String> {
    let answer: std::sync::Arc<[u8]> = answer.into();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                let _ = r.get_mut().write_all(greeting.as_bytes()).await;
                let mut line = String::new();
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let reply: &[u8] = match line.split(' ').next().unwrap_or("") {
                        "PING\r\n" => b"PONG\r\n",
                        "PUB" => &answer,
                        _ if greeting.is_empty() && line.starts_with('*') => &answer,
                        _ => b"",
                    };
                    let _ = r.get_mut().write_all(reply).await;
                    line.clear();
                }
            });
        }
    });
    Ok(format!("127.0.0.1:{}", addr.port()))
}

pub fn run() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let nats_info = zeros((1 << 20) - 4096);
    let nats_body = format!(r#"{{"num_pending":1,"num_ack_pending":0,"x":{nats_info}}}"#);
    let tiny = |items: usize| {
        let mut answer = format!("*{items}\r\n").into_bytes();
        answer.extend(b":1\r\n".repeat(items));
        answer
    };
    // Under the item budget (100,000 x 64 bytes of 8 MiB), then far over it.
    let (redis_ok, redis) = (tiny(100_000), tiny((SIZE - 32) / 4));
    let cases: Vec<(&str, CollectorConfig, usize)> = rt.block_on(async {
        let base = |kind: &str| CollectorConfig {
            kind: kind.into(),
            metric_name: "m".into(),
            origin: "bench".into(),
            ..CollectorConfig::default()
        };
        let json = format!(r#"{{"n":5,"a":{}}}"#, zeros(SIZE - 20));
        let plain = series("");
        let per_machine = series("instance");
        anyhow::Ok(vec![
            (
                "http (JSON array of zeros)",
                CollectorConfig {
                    url: http_server(json.clone()).await? + "/stats",
                    json_pointer: "/n".into(),
                    ..base("http")
                },
                json.len(),
            ),
            (
                "prometheus (tiny series)",
                CollectorConfig {
                    address: http_server(plain.clone()).await?,
                    query: "q".into(),
                    ..base("prometheus")
                },
                plain.len(),
            ),
            (
                "prometheus per-Machine (tiny series)",
                CollectorConfig {
                    address: http_server(per_machine.clone()).await?,
                    query: "q".into(),
                    machine_label: "instance".into(),
                    aggregate: "sum".into(),
                    ..base("prometheus")
                },
                per_machine.len(),
            ),
            (
                "redis (100,000 tiny integers)",
                CollectorConfig {
                    address: format!("redis://{}", raw_server("", redis_ok.clone()).await?),
                    command: "LLEN q".into(),
                    ..base("redis")
                },
                redis_ok.len(),
            ),
            (
                "redis (2 million tiny integers)",
                CollectorConfig {
                    address: format!("redis://{}", raw_server("", redis.clone()).await?),
                    command: "LLEN q".into(),
                    ..base("redis")
                },
                redis.len(),
            ),
            (
                "nats (consumer info with a long array)",
                CollectorConfig {
                    address: format!(
                        "nats://{}",
                        raw_server(
                            "INFO {}\r\n",
                            format!(
                                "MSG _INBOX.fas.consumer-info 1 {}\r\n{nats_body}\r\n",
                                nats_body.len()
                            )
                            .into_bytes()
                        )
                        .await?
                    ),
                    stream: "s".into(),
                    consumer: "c".into(),
                    ..base("nats")
                },
                nats_body.len(),
            ),
        ])
    })?;
    drop((redis, redis_ok));
    println!(
        "answers: peak memory of one hostile read (goal: <= 4x the collector's byte cap, <= 64 MB)"
    );
    for (name, config, bytes) in cases {
        let collector = crate::collect::build(&[config], Duration::from_secs(30))?
            .pop()
            .expect("one collector");
        std::thread::sleep(Duration::from_millis(100));
        // Give back what the last case freed, or its pages would be reused unseen.
        #[cfg(target_env = "gnu")]
        unsafe {
            libc::malloc_trim(0);
        }
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kb("VmRSS:");
        let result = rt.block_on(collector.read("app"));
        let peak = status_kb("VmHWM:").saturating_sub(before);
        let outcome = match result {
            Ok(r) => format!("value {} ({} per-Machine)", r.value, r.machines.len()),
            Err(e) => format!("error: {}", crate::redact::quote_max(&e.msg, 60)),
        };
        // The goal is a multiple of the collector's byte cap (NATS's is 1 MiB).
        let cap: u64 = if name.starts_with("nats") {
            1 << 20
        } else {
            8 << 20
        };
        println!(
            "  {name:<40} answer {:>5.2} MiB  peak +{:>6.1} MB  ({:.1}x its cap)  {outcome}",
            bytes as f64 / 1048576.0,
            peak as f64 / 1024.0,
            (peak * 1024) as f64 / cap as f64,
        );
    }
    Ok(())
}
