//! Tells the collector tests which real servers this machine has, so a test that cannot
//! run here is reported as ignored instead of passing silently. Under CI=true nothing
//! is ignored: `.ci/run` installs every server, and a missing one must fail there.

use std::path::{Path, PathBuf};

/// (cfg set when missing, binary name, where Debian or .ci/run puts it)
const SERVERS: &[(&str, &str, &str)] = &[
    ("fas_no_prometheus", "prometheus", "/usr/bin/prometheus"),
    ("fas_no_promtool", "promtool", "/usr/bin/promtool"),
    ("fas_no_nginx", "nginx", "/usr/sbin/nginx"),
    ("fas_no_redis", "redis-server", "/usr/bin/redis-server"),
    ("fas_no_nats", "nats-server", "/usr/sbin/nats-server"),
    ("fas_no_chromium", "chromium", "/usr/bin/chromium"),
    (
        "fas_no_temporal",
        "temporal",
        "/opt/fas-test-venv/bin/temporal",
    ),
];

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CI");
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rerun-if-env-changed=FAS_TEST_TEMPORAL_BIN");
    // Installing a server changes these folders, which reruns this script.
    for dir in ["/usr/bin", "/usr/sbin", "/opt", "/usr/lib/postgresql"] {
        if Path::new(dir).is_dir() {
            println!("cargo:rerun-if-changed={dir}");
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for (cfg, name, path) in SERVERS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let mut found = Path::new(path).is_file() || on_path(name);
        if *name == "temporal" {
            found |= std::env::var_os("FAS_TEST_TEMPORAL_BIN")
                .is_some_and(|p| PathBuf::from(p).is_file());
        }
        if !found && !ci {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    // PostgreSQL lives in a versioned folder: /usr/lib/postgresql/<version>/bin.
    println!("cargo::rustc-check-cfg=cfg(fas_no_postgres)");
    let postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| e.path().join("bin/initdb").is_file())
    });
    if !postgres && !ci {
        println!("cargo:rustc-cfg=fas_no_postgres");
    }
}
