//! `cargo xtask fuzz TARGET [LIBFUZZER ARGS]`: a coverage-guided libFuzzer run of one target
//! under `fuzz/libfuzzer` (`cargo xtask fuzz list` names them), e.g.
//! `cargo xtask fuzz model_file -max_total_time=600`.
//!
//! It installs cargo-fuzz on first use and runs `cargo fuzz run --sanitizer none`: the
//! sanitizers need a nightly compiler, which this machine cannot fetch, and Dyad's parsers are
//! safe Rust, where a sanitizer finds little a panic or hang does not. libFuzzer still gets its
//! coverage and comparison instrumentation, which works on stable. The build goes to
//! `fuzz/libfuzzer/target`; the corpus and any crash land under
//! `fuzz/libfuzzer/{corpus,artifacts}/TARGET` (none of them committed); a crash found becomes a
//! regression test beside the parser's seeded fuzz test.

use std::process::{Command, ExitCode};

const FUZZ_DIR: &str = "fuzz/libfuzzer";

pub fn run(args: &[String], mut cargo: Command) -> ExitCode {
    let Some(target) = args.first() else {
        eprintln!("usage: cargo xtask fuzz TARGET|list [LIBFUZZER ARGS]");
        return ExitCode::from(2);
    };
    if !has_cargo_fuzz() {
        eprintln!("xtask: installing cargo-fuzz (once)");
        let installed = crate::cargo_command()
            .args(["install", "--locked", "cargo-fuzz"])
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            eprintln!("xtask: cannot install cargo-fuzz");
            return ExitCode::FAILURE;
        }
    }
    // The instrumented build lives in fuzz/libfuzzer/target, apart from the main target
    // directory, so that it neither rebuilds nor locks the main build.
    cargo.env_remove("CARGO_TARGET_DIR").args(["fuzz"]);
    if target == "list" {
        cargo.args(["list", "--fuzz-dir", FUZZ_DIR]);
    } else {
        cargo.args([
            "run",
            "--fuzz-dir",
            FUZZ_DIR,
            "--sanitizer",
            "none",
            "--release",
            target,
            "--",
        ]);
        cargo.args(&args[1..]);
    }
    crate::exit_code(&mut cargo)
}

fn has_cargo_fuzz() -> bool {
    crate::cargo_command()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}
