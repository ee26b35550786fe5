//! The party link between two `dyad link-check` processes.

use std::fs;

use crate::support::*;

fn check_pair(p0_certs: &str, p1_certs: &str) -> (std::process::Output, std::process::Output) {
    let addr = free_udp_addr().to_string();
    let p0 = Running::spawn(&[
        "link-check",
        "--party",
        "0",
        "--certs",
        p0_certs,
        "--listen",
        &addr,
        "--timeout",
        "20",
        "--megabytes",
        "8",
    ]);
    let p1 = Running::spawn(&[
        "link-check",
        "--party",
        "1",
        "--certs",
        p1_certs,
        "--peer",
        &addr,
        "--timeout",
        "20",
        "--megabytes",
        "8",
    ]);
    (p0.finish(), p1.finish())
}

#[test]
fn two_processes_with_pinned_certificates_connect_and_measure() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_certs(dir.path());
    let certs = dir.path().to_str().expect("utf-8");
    let (p0, p1) = check_pair(certs, certs);
    for out in [&p0, &p1] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("is up and authenticated"), "{stdout}");
        assert!(stdout.contains("MB/s each way"), "{stdout}");
    }
}

#[test]
fn a_peer_with_another_certificate_is_refused_by_both_sides() {
    let good = tempfile::tempdir().expect("tempdir");
    make_certs(good.path());
    // The impostor has its own P1 key and certificate, and P0's genuine certificate.
    let impostor = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "certs",
        "--party",
        "1",
        "--out",
        impostor.path().to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    fs::copy(
        good.path().join("p0.cert.pem"),
        impostor.path().join("p0.cert.pem"),
    )
    .expect("copy");

    let (p0, p1) = check_pair(
        good.path().to_str().expect("utf-8"),
        impostor.path().to_str().expect("utf-8"),
    );
    for (name, out) in [("P0", &p0), ("impostor", &p1)] {
        assert!(!out.status.success(), "{name} must fail");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("pinned certificate"), "{name}: {stderr}");
    }
}
