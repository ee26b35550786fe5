//! Party links through `dyad relay`: party 0's one UDP port for every link, with host names,
//! health endpoints, and a relay that restarts under a running worker pair.

use std::time::Duration;

use crate::deployment::Deployment;
use crate::support::*;

/// `dyad relay --listen ADDR --route ... --health HEALTH`, its log in `log`; returns once it
/// says it is ready.
fn relay(addr: &str, routes: &[String], health: &str, log: &std::path::Path) -> Running {
    let mut args = vec!["relay", "--listen", addr, "--health", health];
    for route in routes {
        args.extend(["--route", route.as_str()]);
    }
    let running = Running::spawn_logged(&args, log);
    wait_for_http(health, "/readyz", "200 OK", Duration::from_secs(30));
    running
}

/// A loopback address by name, so that the name is what gets resolved.
fn by_name(addr: std::net::SocketAddr) -> String {
    format!("localhost:{}", addr.port())
}

fn link_check(party: &str, certs: &str, side: &[&str]) -> Running {
    let mut args = vec![
        "link-check",
        "--party",
        party,
        "--certs",
        certs,
        "--timeout",
        "30",
        "--megabytes",
        "8",
    ];
    args.extend_from_slice(side);
    Running::spawn(&args)
}

#[test]
fn link_check_runs_through_the_relay_and_an_unknown_route_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_certs(dir.path());
    let certs = s(dir.path());
    let (relay_addr, p0_addr) = (by_name(free_udp_addr()), by_name(free_udp_addr()));
    let health = free_tcp_addr().to_string();
    let log = dir.path().join("relay.log");
    let relay_process = relay(
        &relay_addr,
        &[format!("link-check={p0_addr}")],
        &health,
        &log,
    );

    let p0 = link_check("0", certs, &["--listen", &p0_addr]);
    let p1 = link_check("1", certs, &["--peer", &relay_addr, "--route", "auto"]);
    for out in [p0.finish(), p1.finish()] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("is up and authenticated"));
    }
    let page = http_get(&health);
    assert_eq!(
        metric(&page, "dyad_relay_flows_opened_total"),
        Some(1.0),
        "{page}"
    );
    assert!(
        metric(&page, "dyad_relay_forwarded_bytes_total") > Some(8e6),
        "{page}"
    );

    // A route the relay does not know: a clear error at once, not a wait for the timeout.
    let lost = link_check("1", certs, &["--peer", &relay_addr, "--route", "offline/7"]);
    let out = lost.finish();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("knows no route \"offline/7\"") && stderr.contains("--route"),
        "{stderr}"
    );
    let page = http_get(&health);
    assert_eq!(
        metric(&page, "dyad_relay_refused_total"),
        Some(1.0),
        "{page}"
    );
    wait_for_log(&log, "unknown routes", Duration::from_secs(5));

    // Party 0 has no route to ask for.
    let out = run(&[
        "link-check",
        "--party",
        "0",
        "--certs",
        certs,
        "--listen",
        &p0_addr,
        "--route",
        "auto",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--route is for party 1"),
        "{}",
        text(&out.stderr)
    );

    // The relay stops cleanly on SIGTERM.
    relay_process.signal("TERM");
    let out = relay_process.finish();
    assert!(out.status.success());
    wait_for_log(&log, "relay stopped cleanly", Duration::from_secs(5));
}

/// How many times a worker's log says it paired.
fn pairings(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("; generating")
        .count()
}

#[test]
fn a_worker_pair_through_the_relay_resumes_after_the_relay_restarts() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let d = Deployment::start();
    let plan_text = "dabit 400000\nmodp-triple 400000\n";
    let plan = d.plan("plan", plan_text);
    let (relay_addr, p0_addr) = (by_name(free_udp_addr()), by_name(free_udp_addr()));
    let relay_health = free_tcp_addr().to_string();
    let routes = [format!("offline/{{lane}}={p0_addr}")];
    let relay_log = d.path("relay.log");
    let mut relay_process = relay(&relay_addr, &routes, &relay_health, &relay_log);

    let health = [0, 1].map(|_| free_tcp_addr().to_string());
    let w0 = d.worker_with(0, &p0_addr, 0, &plan, &d.certs(), &["--health", &health[0]]);
    let w1 = d.worker_with(
        1,
        &relay_addr,
        0,
        &plan,
        &d.certs(),
        &["--route", "auto", "--health", &health[1]],
    );
    d.wait_paired(0);
    for addr in &health {
        let ready = wait_for_http(addr, "/readyz", "200 OK", Duration::from_secs(30));
        assert!(
            ready.contains("peer: paired with") && ready.contains("stockpile:"),
            "{ready}"
        );
        assert!(http_get_path(addr, "/healthz").contains("200 OK"));
    }
    wait_for_log(&relay_log, "on route offline/0", Duration::from_secs(5));

    // The relay dies and comes back on the same port: both workers notice the silence, P1
    // dials again (asking for its route again) and the pair goes on.
    let before = [0, 1].map(|party| pairings(&d.worker_log(party, 0)));
    relay_process.restart_with(|| {
        let log = d.path("relay-restarted.log");
        relay(&relay_addr, &routes, &relay_health, &log)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    for party in [0, 1] {
        let log = d.worker_log(party, 0);
        while pairings(&log) <= before[party] {
            assert!(
                std::time::Instant::now() < deadline,
                "P{party} did not pair again: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains("lost the peer"), "P{party}: {text}");
    }
    wait_for_log(
        &d.path("relay-restarted.log"),
        "on route offline/0",
        Duration::from_secs(5),
    );
    let targets = [("dabit", 400_000), ("modp-triple", 400_000)];
    rt.block_on(d.wait_for(&targets, Duration::from_secs(300)));
    d.stop([w1, w0]);
    rt.block_on(async {
        for (stream, _) in targets {
            d.drain_and_check(stream).await;
        }
        d.assert_books_balance().await;
    });
}

#[test]
fn a_lane_from_the_environment_must_be_a_number() {
    let d = Deployment::start();
    let plan = d.plan("plan", "dabit 1000\n");
    let store = d.store_addrs[0].clone();
    let out = dyad()
        .args([
            "offline",
            "--party",
            "0",
            "--certs",
            s(&d.certs()),
            "--listen",
            "127.0.0.1:0",
            "--store",
            &store,
            "--store-token",
            s(&d.tokens[0]),
            "--plan",
            s(&plan),
        ])
        .env("DYAD_LANE", "three")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DYAD_LANE=\"three\" is not a lane"),
        "{stderr}"
    );
}
