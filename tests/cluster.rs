//! Shard ownership on a real PostgreSQL (started by the test): instances split the
//! shards fairly, a joiner gets shards only after the busy member lets them go, an
//! expired lease is taken over with a new epoch, the old owner's fence then fails, a
//! release hands over at once, a schema from a newer fas or another shard count is
//! refused, and instances started together on a fresh database all create it.

mod support;

use std::time::{Duration, Instant};

use fas::cluster::{Cluster, Member};
use support::servers;

const PASSWORD: &str = "cluster-test-pw";
const SHARDS: u32 = 64;

/// A throwaway PostgreSQL (kept running while the first value lives) and its URL;
/// None where the server is missing outside CI (`servers::require`).
async fn database() -> Option<(servers::Server, String)> {
    let server = tokio::task::spawn_blocking(|| servers::postgres(PASSWORD, None))
        .await
        .unwrap()?;
    let url = format!(
        "postgres://fas:{PASSWORD}@{}/postgres?sslmode=disable",
        server.url
    );
    Some((server, url))
}

async fn member(url: &str, id: &str, lease_ms: u64) -> Cluster {
    let me = Member {
        id: id.into(),
        region: "iad".into(),
    };
    Cluster::connect(
        url,
        me,
        SHARDS,
        Duration::from_millis(lease_ms),
        Duration::from_millis(200),
    )
    .await
    .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// Instances started together on a fresh database all create (or find) the tables:
/// `CREATE TABLE IF NOT EXISTS` alone is not safe against a concurrent twin (the
/// loser fails on a unique index of the catalog), as 4 instances of `fas bench
/// cluster` found.
#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_on_a_fresh_database_all_connect() {
    let Some((_server, url)) = database().await else {
        return;
    };
    let joins: Vec<_> = (0..16)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move { member(&url, &format!("m{i}"), 60_000).await })
        })
        .collect();
    for j in joins {
        j.await.expect("every member connects");
    }
}

#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_are_split_handed_over_and_fenced() {
    let Some((_server, url)) = database().await else {
        return;
    };

    // Alone, one member owns every shard.
    let mut a = member(&url, "a", 60_000).await;
    let owned_a = a.renew().await.unwrap();
    assert_eq!(owned_a.shards.len(), SHARDS as usize);
    assert!(
        owned_a.shards.values().all(|e| *e == 1),
        "first owners at epoch 1"
    );

    // A joiner finds nothing free until `a` releases its surplus (never two owners).
    let mut b = member(&url, "b", 60_000).await;
    assert_eq!(b.renew().await.unwrap().shards.len(), 0);
    let owned_a = a.renew().await.unwrap();
    assert_eq!(
        owned_a.shards.len(),
        (SHARDS / 2) as usize,
        "a keeps its share"
    );
    // Released shards stay unclaimable for the release grace (200 ms).
    assert_eq!(b.renew().await.unwrap().shards.len(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let owned_b = b.renew().await.unwrap();
    assert_eq!(owned_b.shards.len(), (SHARDS / 2) as usize);
    assert!(
        owned_a
            .shards
            .keys()
            .all(|s| !owned_b.shards.contains_key(s)),
        "disjoint"
    );
    let (shard, epoch) = owned_b.shards.iter().next().map(|(s, e)| (*s, *e)).unwrap();
    assert_eq!(epoch, 2, "a change of owner bumps the epoch");
    assert!(b.fence(shard, epoch).await.unwrap());
    assert!(!a.fence(shard, epoch).await.unwrap(), "not a's any more");
    assert!(
        !b.fence(shard, epoch - 1).await.unwrap(),
        "an old epoch fails"
    );

    // `c` has a short lease and dies: its shards are taken over, at a new epoch, and
    // its fence fails from then on.
    let mut c = member(&url, "c", 400).await;
    c.renew().await.unwrap();
    // a and b release down to their share, ceil(64 / 3) = 22 each; c claims the rest.
    let mut owned_c = c.renew().await.unwrap();
    for _ in 0..20 {
        if owned_c.shards.len() == 20 {
            break;
        }
        a.renew().await.unwrap();
        b.renew().await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        owned_c = c.renew().await.unwrap();
    }
    assert_eq!(owned_c.shards.len(), 20);
    let (cs, ce) = owned_c.shards.iter().next().map(|(s, e)| (*s, *e)).unwrap();
    assert!(c.fence(cs, ce).await.unwrap());
    assert!(owned_c.epoch(cs, Instant::now()).is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        owned_c.epoch(cs, Instant::now()).is_none(),
        "c's own clock stops it first"
    );
    assert!(
        !c.fence(cs, ce).await.unwrap(),
        "an expired lease fails the fence"
    );
    let mut taken = None;
    for _ in 0..20 {
        let (oa, ob) = (a.renew().await.unwrap(), b.renew().await.unwrap());
        taken = oa.shards.get(&cs).or(ob.shards.get(&cs)).copied();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(taken, Some(ce + 1), "taken over at a new epoch");
    let members: Vec<String> = a
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(members, ["a", "b"], "c's heartbeat expired");

    // SIGTERM: b lets go of everything and a takes it at its next renewal.
    b.release_all(Duration::ZERO).await.unwrap();
    let owned_a = a.renew().await.unwrap();
    assert_eq!(owned_a.shards.len(), SHARDS as usize);
}

#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_or_another_shard_count_is_refused() {
    let Some((_server, url)) = database().await else {
        return;
    };
    member(&url, "a", 60_000).await;
    member(&url, "a", 60_000).await; // idempotent
    let me = Member {
        id: "x".into(),
        region: String::new(),
    };
    let e = Cluster::connect(
        &url,
        me.clone(),
        128,
        Duration::from_secs(30),
        Duration::ZERO,
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("split into 64 shards"), "{e}");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("UPDATE fas_schema SET version = version + 1")
        .await
        .unwrap();
    let e = Cluster::connect(&url, me, SHARDS, Duration::from_secs(30), Duration::ZERO)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("written by a newer fas"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");
}

/// Policy state moves with the app: the owner writes it at its epoch, the next owner
/// reads it, and the old owner's late write changes nothing.
#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_moves_with_the_shard_and_a_stale_owner_cannot_write() {
    let Some((_server, url)) = database().await else {
        return;
    };
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    let state = |n: u32| {
        vec![fas::cluster::Kept {
            app: "web".into(),
            state: format!("{{\"n\": {n}}}"),
            memory: format!("{{\"collect_failures\": {n}}}"),
        }]
    };

    let mut a = member(&url, "a", 400).await;
    let owned_a = a.renew().await.unwrap();
    assert_eq!(a.save_states(&owned_a, &state(1)).await.unwrap(), 1);
    assert_eq!(
        a.save_states(&owned_a, &state(2)).await.unwrap(),
        1,
        "rewritten"
    );

    // a stops renewing; b takes every shard once a's lease is over.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut b = member(&url, "b", 60_000).await;
    let owned_b = b.renew().await.unwrap();
    assert_eq!(owned_b.shards.len(), SHARDS as usize);
    let kept = b
        .load_states(&["web".to_string(), "none".to_string()])
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        json(&kept["web"].0),
        json("{\"n\": 2}"),
        "the state moved with the app"
    );
    assert_eq!(
        json(&kept["web"].1),
        json("{\"collect_failures\": 2}"),
        "and its memory"
    );

    assert_eq!(
        a.save_states(&owned_a, &state(99)).await.unwrap(),
        0,
        "a was fenced"
    );
    assert_eq!(b.save_states(&owned_b, &state(3)).await.unwrap(), 1);
    let kept = a.load_states(&["web".to_string()]).await.unwrap();
    assert_eq!(json(&kept["web"].0), json("{\"n\": 3}"));
}

/// The cluster connection goes through the length-checking layer the PostgreSQL
/// collector uses: a server declaring a 2 GiB message is refused before the driver
/// reserves it, with the reason named and no password in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_cluster_database_is_refused_by_the_length_check() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut startup = [0u8; 1024];
            let _ = sock.read(&mut startup).await;
            let _ = sock.write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff]).await;
            let zeros = vec![0u8; 1 << 16];
            while sock.write_all(&zeros).await.is_ok() {}
        }
    });
    let url = format!("postgres://fas:{PASSWORD}@127.0.0.1:{port}/db?sslmode=disable");
    let me = Member {
        id: "m".into(),
        region: String::new(),
    };
    let lease = Duration::from_secs(2);
    let e = match Cluster::connect(&url, me, SHARDS, lease, lease).await {
        Ok(_) => panic!("a hostile server was taken for a database"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("more than the 16 MiB"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");
}
