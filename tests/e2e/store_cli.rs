//! `dyad store` and `dyad inventory` as an operator uses them.

use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_store_serves_reports_its_inventory_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("p1");
    let token = data.join("token");
    let addr = free_tcp_addr().to_string();
    let store = Running::spawn(&[
        "store",
        "--party",
        "1",
        "--data",
        data.to_str().expect("utf-8"),
        "--listen",
        &addr,
        "--budget-gb",
        "0.5",
    ]);
    // The store creates its token on first start; wait until it answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    let inventory = loop {
        let out = run(&[
            "inventory",
            "--store",
            &addr,
            "--token-file",
            token.to_str().expect("utf-8"),
        ]);
        if out.status.success() {
            break text(&out.stdout);
        }
        assert!(
            Instant::now() < deadline,
            "no inventory: {}",
            text(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(inventory.contains("P1 stockpile"), "{inventory}");
    assert!(inventory.contains("of a 512.0 MiB budget"), "{inventory}");

    let wrong = dir.path().join("wrong-token");
    std::fs::write(&wrong, "ab".repeat(32)).expect("write");
    let out = run(&[
        "inventory",
        "--store",
        &addr,
        "--token-file",
        wrong.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("wrong stockpile token"),
        "{}",
        text(&out.stderr)
    );

    store.signal("TERM");
    let out = store.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("closed cleanly"),
        "{}",
        text(&out.stdout)
    );
}
