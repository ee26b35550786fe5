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
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A tmpfs of a given size mounted for a test (a full disk on demand), unmounted when dropped.
/// Needs root and `mount`: pass [`Tmpfs::mount`] to [`needs`].
#[allow(dead_code)] // Each including crate uses its own part of this file.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

#[allow(dead_code)]
impl Tmpfs {
    /// Mounts one of `megabytes`, or says why it cannot.
    pub fn mount(megabytes: u64) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        match out.status.success() {
            true => Ok(Tmpfs { dir }),
            false => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
                Err(format!("cannot mount a tmpfs ({}): {why}", out.status))
            }
        }
    }

    /// Grows or shrinks it to `megabytes`.
    pub fn resize(&self, megabytes: u64) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={megabytes}m")])
            .arg(self.dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "remount the tmpfs");
    }

    /// Where it is mounted.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
