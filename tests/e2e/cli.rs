//! The command line itself: help everywhere, honest failures.

use crate::support::*;

const SUBCOMMANDS: &[&str] = &[
    "certs",
    "link-check",
    "store",
    "inventory",
    "offline",
    "plan",
    "share",
    "train",
    "train-plain",
    "reveal-model",
    "serve",
    "predict",
    "import",
    "demo",
];

#[test]
fn every_subcommand_has_help() {
    for sub in SUBCOMMANDS {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "dyad {sub} --help");
        assert!(
            text(&out.stdout).contains("Usage: dyad"),
            "dyad {sub} --help"
        );
    }
}

#[test]
fn importing_a_file_that_is_not_onnx_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("model.onnx");
    std::fs::write(&bogus, b"not a model").expect("write");
    let out = run(&[
        "import",
        "--onnx",
        bogus.to_str().expect("utf-8"),
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not an ONNX model"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn link_check_without_certificates_explains_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = free_udp_addr().to_string();
    let out = run(&[
        "link-check",
        "--party",
        "1",
        "--certs",
        dir.path().to_str().expect("utf-8"),
        "--peer",
        &addr,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("p1.cert.pem"),
        "{}",
        text(&out.stderr)
    );
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

#[test]
fn the_demo_stops_with_all_its_processes_soon_after_sigterm_and_sigint() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("demo");
        let mut demo = Running::spawn(&[
            "demo",
            "--dir",
            s(&work),
            "--train",
            "64",
            "--test",
            "16",
            "--epochs",
            "1",
            "--batch",
            "16",
        ]);
        // Once both training jobs run (stores, workers and trainers are all up).
        let started = std::time::Instant::now();
        while !work.join("train1.log").exists() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "the demo did not start training"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        demo.signal(signal);
        assert!(
            demo.exits_within(std::time::Duration::from_secs(15)),
            "the demo ignored SIG{signal}"
        );
        let left = processes_mentioning(s(&work));
        assert!(left.is_empty(), "SIG{signal} left {left:?}");
    }
}
