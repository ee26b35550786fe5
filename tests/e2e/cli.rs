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
