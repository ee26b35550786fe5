//! The pair's child processes: each a run of the `dyad` binary, stopped with SIGTERM when its
//! part is done, and killed if the caller ends early, so that no process outlives it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::OrchestrateError;

/// One child.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    /// Whether it exited and was reaped.
    done: Option<ExitStatus>,
}

/// A child, by its place in start order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId(usize);

/// The running children of one `dyad` binary.
pub struct Processes {
    exe: PathBuf,
    children: Vec<Process>,
}

impl Processes {
    /// Children to be run from the binary `exe` (`std::env::current_exe()` for `dyad` itself).
    pub fn new(exe: PathBuf) -> Processes {
        Processes {
            exe,
            children: Vec::new(),
        }
    }

    /// Starts `dyad args...` as `name`, its standard output and error into `log` (the caller's
    /// terminal shows only its own output).
    pub fn spawn(
        &mut self,
        name: &str,
        args: &[String],
        log: &Path,
    ) -> Result<ProcessId, OrchestrateError> {
        let file = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(OrchestrateError::io("open", log))
        };
        let child = Command::new(&self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file()?)
            .stderr(file()?)
            .spawn()
            .map_err(|source| OrchestrateError::Spawn {
                name: name.into(),
                source,
            })?;
        self.children.push(Process {
            name: name.into(),
            child,
            log: log.into(),
            done: None,
        });
        Ok(ProcessId(self.children.len() - 1))
    }

    /// The exit status of `id` if it has exited.
    pub fn exited(&mut self, id: ProcessId) -> Result<Option<ExitStatus>, OrchestrateError> {
        let p = &mut self.children[id.0];
        if p.done.is_none() {
            p.done = p
                .child
                .try_wait()
                .map_err(|source| OrchestrateError::Wait {
                    name: p.name.clone(),
                    source,
                })?;
        }
        Ok(p.done)
    }

    /// Fails, naming the child and its log, if any child outside `expected` has exited: the
    /// stores and workers are needed for as long as the jobs run.
    pub fn check_running(&mut self, expected: &[ProcessId]) -> Result<(), OrchestrateError> {
        for id in (0..self.children.len()).map(ProcessId) {
            if expected.contains(&id) {
                continue;
            }
            if let Some(status) = self.exited(id)? {
                let p = &self.children[id.0];
                return Err(OrchestrateError::ExitedEarly {
                    name: p.name.clone(),
                    status,
                    log: p.log.clone(),
                    tail: tail(&p.log),
                });
            }
        }
        Ok(())
    }

    /// Fails with `id`'s log if it exited unsuccessfully.
    pub fn check_success(&mut self, id: ProcessId) -> Result<(), OrchestrateError> {
        match self.exited(id)? {
            Some(status) if !status.success() => {
                let p = &self.children[id.0];
                Err(OrchestrateError::Failed {
                    name: p.name.clone(),
                    status,
                    log: p.log.clone(),
                    tail: tail(&p.log),
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether all of `ids` have exited.
    pub fn all_exited(&mut self, ids: &[ProcessId]) -> Result<bool, OrchestrateError> {
        for &id in ids {
            if self.exited(id)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Asks `id` to stop (SIGTERM) and waits for it, killing it after `grace`.
    pub async fn stop(
        &mut self,
        id: ProcessId,
        grace: Duration,
    ) -> Result<ExitStatus, OrchestrateError> {
        if let Some(status) = self.exited(id)? {
            return Ok(status);
        }
        let pid = self.children[id.0].child.id().to_string();
        // `kill` rather than a signal call: the workspace forbids `unsafe`.
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.exited(id)? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let p = &mut self.children[id.0];
                let _ = p.child.kill();
                p.done = p.child.wait().ok();
                return Err(OrchestrateError::Killed {
                    name: p.name.clone(),
                    grace,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for p in self.children.iter_mut().filter(|p| p.done.is_none()) {
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
