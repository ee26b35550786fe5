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
fn onnx_import_says_it_is_not_implemented_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "import",
        "--onnx",
        "model.onnx",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        !out.status.success(),
        "dyad import --onnx must not pretend to work"
    );
    assert!(text(&out.stderr).contains("not implemented yet"));
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
