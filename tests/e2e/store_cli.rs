//! `dyad store`, `dyad inventory` and `dyad audit` as an operator uses them.

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

#[test]
fn dyad_audit_explains_why_it_cannot_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = |data: &std::path::Path| {
        let out = run(&["audit", "--party", "0", "--data", s(data)]);
        assert!(!out.status.success());
        text(&out.stderr)
    };
    let err = audit(&dir.path().join("nothing"));
    assert!(err.contains("holds no stockpile"), "{err}");

    // A stockpile started without --audit: no ledger. While it runs, its directory is locked.
    let data = dir.path().join("p0");
    let addr = free_tcp_addr().to_string();
    let start = |extra: &[&str]| {
        let mut args = vec![
            "store",
            "--party",
            "0",
            "--data",
            s(&data),
            "--listen",
            &addr,
        ];
        args.extend_from_slice(extra);
        Running::spawn(&args)
    };
    let mut store = start(&[]);
    wait_serving(&addr, &data.join("token"));
    let err = audit(&data);
    assert!(err.contains("is it still running?"), "{err}");
    store.signal("TERM");
    assert!(store.exits_within(Duration::from_secs(15)));
    let err = audit(&data);
    assert!(err.contains("keeps no ledger"), "{err}");

    // Empty still: the ledger can start now, and a fresh ledger audits clean.
    let mut store = start(&["--audit"]);
    wait_serving(&addr, &data.join("token"));
    store.signal("TERM");
    assert!(store.exits_within(Duration::from_secs(15)));
    let out = run(&["audit", "--party", "0", "--data", s(&data)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("every item is accounted for"));
}

/// Waits until the stockpile at `addr` answers `dyad inventory`.
fn wait_serving(addr: &str, token: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run(&["inventory", "--store", addr, "--token-file", s(token)])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "the stockpile did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `dyad store --metrics ADDR --health ADDR` on one port: ready once open, and the seconds of
/// stock at the rate of use that the worker autoscaling reads.
#[test]
fn a_store_tells_its_readiness_and_how_long_its_stock_lasts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("p0");
    let port = free_tcp_addr().port();
    // A host name, resolved at start.
    let addr = format!("localhost:{port}");
    let http = free_tcp_addr().to_string();
    let mut store = Running::spawn(&[
        "store",
        "--party",
        "0",
        "--data",
        s(&data),
        "--listen",
        &addr,
        "--metrics",
        &http,
        "--health",
        &http,
    ]);
    let ready = wait_for_http(&http, "/readyz", "200 OK", Duration::from_secs(30));
    assert!(ready.contains("stockpile: open and serving"), "{ready}");
    assert!(http_get_path(&http, "/healthz").contains("200 OK"));

    let stream = "dabit";
    let bytes = dyad_store::db::item_bytes_of(stream).expect("a stream") as usize;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let token = dyad_store_client::token::read_token(&data.join("token")).expect("token");
        let mut client = dyad_store_client::StoreClient::connect(&addr, &token)
            .await
            .expect("connects by name");
        let payload = bytes::Bytes::from(vec![7u8; 1000 * bytes]);
        client.put(stream, 0, 0, payload).await.expect("put");
        let taken = client
            .take_up_to(stream, 300, 300, Duration::ZERO)
            .await
            .expect("take");
        client.ack(taken.lease).await.expect("ack");
    });
    let series = "{pool=\"\",kind=\"dabit\"}";
    // The counters are sampled every second: wait for a sample since the take, which shows
    // a rate of use over the last minute.
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = http_get(&http);
        if metric(&page, &format!("dyad_store_use_rate{series}")).is_some_and(|r| r > 0.0) {
            break page;
        }
        assert!(Instant::now() < deadline, "no rate of use: {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for (name, value) in [
        ("dyad_store_available_items", 700.0),
        ("dyad_store_put_items_total", 1000.0),
        ("dyad_store_taken_items_total", 300.0),
    ] {
        assert_eq!(
            metric(&page, &format!("{name}{series}")),
            Some(value),
            "{page}"
        );
    }
    // Used at some rate: the stock lasts a finite time, under a day.
    let seconds = metric(&page, &format!("dyad_store_stock_seconds{series}")).expect("stock");
    let least = metric(&page, "dyad_store_stock_seconds_min").expect("least");
    assert!(
        seconds > 0.0 && seconds < 86_400.0 && least == seconds,
        "{page}"
    );

    store.signal("TERM");
    assert!(
        store.exits_within(Duration::from_secs(15)),
        "ignored SIGTERM"
    );
    let out = store.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("stockpile closed cleanly"));
}
