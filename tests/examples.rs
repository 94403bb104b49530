//! Every example in examples/ runs as shown: its fly.toml [env] (with [[files]]
//! mapped to the local file) and its fas.yml give the same decision in `fas eval`.

mod support;

use serde_json::json;
use support::{fas, json, repo, stderr};

/// fly.toml's [env] as environment variables, with [[files]] guest paths replaced by
/// the local files they ship.
fn fly_env(dir: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("fly.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let files: Vec<(String, String)> = doc
        .get("files")
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .map(|f| {
                    let guest = f["guest_path"].as_str().unwrap().to_string();
                    // Relative to where `fly deploy` runs: the repository root.
                    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
                    let local = root
                        .join(f["local_path"].as_str().unwrap())
                        .display()
                        .to_string();
                    (guest, local)
                })
                .collect()
        })
        .unwrap_or_default();
    doc["env"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let mut v = v.as_str().unwrap().to_string();
            for (guest, local) in &files {
                v = v.replace(guest, local);
            }
            (k.clone(), v)
        })
        .collect()
}

fn check(example: &str, sets: &[&str], want: serde_json::Value) {
    let dir = repo().join("examples").join(example);
    let mut args = vec!["eval"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let from_toml = fas(&args, &fly_env(&dir), &dir);
    assert!(
        from_toml.status.success(),
        "{example} fly.toml: {}",
        stderr(&from_toml)
    );
    assert_eq!(json(&from_toml), want, "{example} fly.toml");

    let mut args = vec!["eval", "--config", "fas.yml"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let from_yaml = fas(&args, &[], &dir);
    assert!(
        from_yaml.status.success(),
        "{example} fas.yml: {}",
        stderr(&from_yaml)
    );
    assert_eq!(json(&from_yaml), want, "{example} fas.yml");
}

fn started(n: i64) -> serde_json::Value {
    json!({"created": {"min": null, "max": null}, "started": {"min": n, "max": n}})
}

#[test]
fn queue_depth() {
    check("queue-depth", &["queue_depth=95"], started(10));
}

#[test]
fn lua_cooldown() {
    check("lua-cooldown", &["queue_depth=95"], started(10));
    check("lua-cooldown", &["queue_depth=1000"], started(20));
}

#[test]
fn temporal_workflows() {
    check("temporal-workflows", &["running_workflows=42"], started(9));
    check(
        "temporal-workflows",
        &["running_workflows=4200"],
        started(30),
    );
}

#[test]
fn wildcard_apps() {
    check("wildcard-apps", &["queue_depth=11"], started(2));
}

#[test]
fn start_stop_pool() {
    check(
        "start-stop-pool",
        &["queue_depth=35"],
        json!({"created": {"min": 6, "max": 20}, "started": {"min": 4, "max": 4}}),
    );
}
