//! What a test does where it cannot run: PROTOCOLS.md ("Things that must hold and must be
//! tested") asks that a test lacking root, network namespaces or `mount` say so where a reader
//! sees it, and fail instead of passing under CI (`CI=true`), since a guarantee whose only test
//! skipped is not tested.
//!
//! One file for the two test crates that need it, included by path: the end-to-end tests
//! (`tests/e2e`, package `dyad`) and the stockpile's full-disk test (`store/tests`, package
//! `dyad-store`). The workspace's top-level `tests/` is their common home; a crate of its own
//! would add a dependency edge for one function.

use std::io::Write;

/// What `probe` found, if it found what `test` needs. Otherwise the test cannot run here:
/// under `CI=true` this panics (CI provides what the tests need); elsewhere it writes why to
/// the process's standard error and returns `None`. It writes to the stream itself rather than
/// with `eprintln!`, whose output libtest captures and shows only for failing tests.
pub fn needs<T, E: std::fmt::Display>(test: &str, probe: Result<T, E>) -> Option<T> {
    let why = match probe {
        Ok(found) => return Some(found),
        Err(why) => why,
    };
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test} cannot run here ({why}), and under CI=true that is a failure");
    }
    // Nothing better to do if standard error itself is gone.
    let _ = writeln!(
        std::io::stderr(),
        "\nNOT RUN: {test} cannot run here ({why}); it passes without testing anything, and \
         fails under CI=true"
    );
    None
}
