//! The fault matrix (src/faults): every row, run against the simulator next to a
//! healthy app, must end with zero invariant violations. `fas bench faults` prints the
//! same rows as figures.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_breaks_an_invariant() {
    let mut tasks = Vec::new();
    for row in fas::faults::rows() {
        tasks.push(tokio::spawn(async move {
            fas::faults::run_row(&row, 6, Duration::from_millis(100)).await
        }));
    }
    let mut report = Vec::new();
    let mut total = 0;
    for t in tasks {
        let r = t.await.unwrap();
        total += r.violations.len();
        assert!(r.rounds == 6, "{}: {} rounds", r.name, r.rounds);
        report.push(format!(
            "{}: {} faults, {} actions, violations {:?}",
            r.name, r.faults_injected, r.actions, r.violations
        ));
    }
    assert_eq!(total, 0, "\n{}", report.join("\n"));
    assert!(report.len() >= 30);
}
