//! The demo's child processes: each a run of this same binary, stopped with SIGTERM when its
//! part is done, and killed if the demo ends early, so that no process outlives the demo.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One child.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    /// Whether it exited and was reaped.
    done: Option<ExitStatus>,
}

/// The running children, by index in start order.
#[derive(Default)]
pub struct Processes(Vec<Process>);

impl Processes {
    /// Starts `dyad args...` as `name`, its standard output and error into `log` (the demo's
    /// terminal shows only its own output); returns its index.
    pub fn spawn(&mut self, name: &str, args: &[String], log: &Path) -> anyhow::Result<usize> {
        let exe = std::env::current_exe().context("cannot find the dyad binary")?;
        let file = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .with_context(|| format!("cannot open {}", log.display()))
        };
        let child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file()?)
            .stderr(file()?)
            .spawn()
            .with_context(|| format!("cannot start the {name}"))?;
        self.0.push(Process {
            name: name.into(),
            child,
            log: log.into(),
            done: None,
        });
        Ok(self.0.len() - 1)
    }

    /// The exit status of child `index` if it has exited.
    pub fn exited(&mut self, index: usize) -> anyhow::Result<Option<ExitStatus>> {
        let p = &mut self.0[index];
        if p.done.is_none() {
            p.done = p.child.try_wait()?;
        }
        Ok(p.done)
    }

    /// Fails, naming the child and its log, if any child outside `expected` has exited: the
    /// demo needs its stores and workers for as long as training runs.
    pub fn check_running(&mut self, expected: &[usize]) -> anyhow::Result<()> {
        for i in 0..self.0.len() {
            if expected.contains(&i) {
                continue;
            }
            if let Some(status) = self.exited(i)? {
                let p = &self.0[i];
                bail!(
                    "the {} exited early ({status}); see {}:\n{}",
                    p.name,
                    p.log.display(),
                    tail(&p.log)
                );
            }
        }
        Ok(())
    }

    /// Fails with child `index`'s log if it exited unsuccessfully.
    pub fn check_success(&mut self, index: usize) -> anyhow::Result<()> {
        match self.exited(index)? {
            Some(status) if !status.success() => {
                let p = &self.0[index];
                bail!(
                    "the {} failed ({status}); see {}:\n{}",
                    p.name,
                    p.log.display(),
                    tail(&p.log)
                )
            }
            _ => Ok(()),
        }
    }

    /// Asks child `index` to stop (SIGTERM) and waits for it, killing it after `grace`.
    pub async fn stop(&mut self, index: usize, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exited(index)? {
            return Ok(status);
        }
        let pid = self.0[index].child.id().to_string();
        // `kill` rather than a signal call: the workspace forbids `unsafe`.
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.exited(index)? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let p = &mut self.0[index];
                let _ = p.child.kill();
                let status = p.child.wait()?;
                p.done = Some(status);
                bail!(
                    "the {} did not stop within {grace:?} and was killed",
                    p.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for p in self.0.iter_mut().filter(|p| p.done.is_none()) {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

/// The last lines of a log, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}
