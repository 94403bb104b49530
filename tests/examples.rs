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

/// The secrets an example's fly.toml says to set with `fly secrets set` (placeholders:
/// `--set` queries no collector, but the configuration must load with them).
fn secrets(dir: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("fly.toml")).unwrap();
    [
        (
            "FAS_REDIS_ADDRESS",
            "redis://default:x@my-redis.internal:6379/0",
        ),
        (
            "FAS_POSTGRES_ADDRESS",
            "postgres://fas:x@my-db.flycast:5432/app?sslmode=disable",
        ),
        ("FAS_NATS_ADDRESS", "nats://token@my-nats.internal:4222"),
    ]
    .iter()
    .filter(|(k, _)| text.contains(&format!("fly secrets set -a my-autoscaler {k}=")))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn check(example: &str, sets: &[&str], want: serde_json::Value) {
    let dir = repo().join("examples").join(example);
    let mut args = vec!["eval"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let mut env = fly_env(&dir);
    env.extend(secrets(&dir));
    let from_toml = fas(&args, &env, &dir);
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
    let from_yaml = fas(&args, &secrets(&dir), &dir);
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

/// The deploy files as the README's commands use them: every example's fly.toml
/// deploys from the repository root with the Dockerfile (no prebuilt image), names
/// its region, says how to set its token secrets (and holds none), exposes /metrics,
/// and ships only files that exist; the Dockerfile copies only what exists.
#[test]
fn deploy_files_work_as_the_readme_says() {
    let root = repo();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("fly.toml")) else {
            continue;
        };
        seen += 1;
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let doc: toml::Table = text.parse().unwrap();
        assert!(
            doc.get("build").is_none(),
            "{name}: [build] would override --dockerfile"
        );
        assert!(
            doc.get("primary_region").and_then(|r| r.as_str()).is_some(),
            "{name}: primary_region"
        );
        assert!(
            doc["metrics"]["port"].as_integer() == Some(9090),
            "{name}: [metrics] port 9090"
        );
        let deploy =
            format!("fly deploy . --config examples/{name}/fly.toml --dockerfile Dockerfile");
        assert!(text.contains(&deploy), "{name}: the deploy command");
        assert!(
            text.contains("fly secrets set -a my-autoscaler FAS_API_TOKEN="),
            "{name}: how to set the API token"
        );
        for key in doc["env"].as_table().unwrap().keys() {
            assert!(
                !key.ends_with("_TOKEN") && !key.ends_with("_KEY_DATA"),
                "{name}: secret {key} in [env]"
            );
        }
        for f in doc
            .get("files")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let local = f["local_path"].as_str().unwrap();
            assert!(
                root.join(local).is_file(),
                "{name}: {local} from the repository root"
            );
        }
    }
    assert!(seen >= 5, "examples with a fly.toml: {seen}");
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(
                root.join(src).exists(),
                "Dockerfile copies {src}, which is missing"
            );
        }
    }
}

/// The shipped example policy holds when its metric is missing or NaN.
#[test]
fn lua_cooldown_holds_without_its_metric() {
    let dir = repo().join("examples").join("lua-cooldown");
    let o = fas(&["eval", "--set", "other=1"], &fly_env(&dir), &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        json(&o),
        json!({"created": {"min": null, "max": null}, "started": {"min": null, "max": null}})
    );
    let o = fas(&["eval", "--set", "queue_depth=NaN"], &fly_env(&dir), &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["started"]["min"], serde_json::Value::Null);
}

#[test]
fn recipe_sidekiq() {
    check("sidekiq", &["sidekiq_default=420"], started(9));
}

#[test]
fn recipe_bullmq() {
    check("bullmq", &["emails_waiting=250"], started(3));
}

#[test]
fn recipe_celery() {
    check("celery", &["celery_waiting=95"], started(5));
}

#[test]
fn recipe_oban() {
    check("oban", &["oban_available=60"], started(3));
}

#[test]
fn recipe_solid_queue() {
    check("solid-queue", &["ready_jobs=10"], started(1));
}

#[test]
fn recipe_nats_jetstream() {
    check("nats-jetstream", &["jobs_backlog=1000"], started(5));
}
