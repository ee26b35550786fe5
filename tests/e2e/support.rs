//! Running `dyad` processes from tests, and never leaving one behind.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub const DYAD: &str = env!("CARGO_BIN_EXE_dyad");

/// A command running the binary under test.
pub fn dyad() -> Command {
    Command::new(DYAD)
}

/// Runs `dyad args...` to completion.
pub fn run(args: &[&str]) -> Output {
    dyad().args(args).output().expect("the dyad binary runs")
}

/// A child process killed when dropped, so a failing test leaves nothing running.
pub struct Running(Option<Child>);

impl Running {
    /// Starts `dyad args...` with captured output.
    pub fn spawn(args: &[&str]) -> Running {
        let child = dyad()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the dyad binary starts");
        Running(Some(child))
    }

    /// Starts `dyad args...` with its standard error going to `log` (so a test can watch it
    /// while it runs) and standard output captured.
    pub fn spawn_logged(args: &[&str], log: &Path) -> Running {
        Running::spawn_logged_as(dyad(), args, log)
    }

    /// [`Running::spawn_logged`] with `command` (the binary, perhaps behind a wrapper such as
    /// `ip netns exec`) in place of `dyad`.
    pub fn spawn_logged_as(mut command: Command, args: &[&str], log: &Path) -> Running {
        let file = std::fs::File::create(log).expect("log file");
        let child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .expect("the dyad binary starts");
        Running(Some(child))
    }

    /// Sends a signal (`TERM`, `INT`, ...) with `kill`.
    pub fn signal(&self, name: &str) {
        let child = self.0.as_ref().expect("running");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// [`Running::signal`] unless the process has already exited (and was reaped: one that
    /// exits in between stays a zombie until reaped, and takes the signal).
    pub fn signal_if_running(&mut self, name: &str) {
        if !self.exits_within(std::time::Duration::ZERO) {
            self.signal(name);
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process with SIGKILL (if it still runs), reaps it (so its ports and locks are
    /// free), and puts what `start` starts in its place.
    pub fn restart_with(&mut self, start: impl FnOnce() -> Running) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        *self = start();
    }

    /// Whether the process exits within `patience` (polling; it is reaped if it does).
    pub fn exits_within(&mut self, patience: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + patience;
        let child = self.0.as_mut().expect("running");
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Waits for the process and returns its output.
    pub fn finish(mut self) -> Output {
        self.0
            .take()
            .expect("running")
            .wait_with_output()
            .expect("waitable")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `log` contains `needle`.
pub fn wait_for_log(log: &Path, needle: &str, timeout: std::time::Duration) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let content = std::fs::read_to_string(log).unwrap_or_default();
        if content.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} never said {needle:?}: {content}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A loopback TCP address that was free a moment ago.
pub fn free_tcp_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A loopback UDP address that was free a moment ago.
pub fn free_udp_addr() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr")
}

/// `dyad certs --out dir`.
pub fn make_certs(dir: &Path) {
    let out = run(&["certs", "--out", dir.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dyad reveal-model --p0 P0 --p1 P1 --out OUT`: the model from both servers' shares.
pub fn reveal_model(p0: &Path, p1: &Path, out: &Path) -> Output {
    run(&[
        "reveal-model",
        "--p0",
        s(p0),
        "--p1",
        s(p1),
        "--out",
        s(out),
    ])
}

/// A path as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The response (status line, headers and body) to a plain HTTP GET of a metrics endpoint.
pub fn http_get(addr: &str) -> String {
    http_get_path(addr, "/metrics")
}

/// The response (status line, headers and body) to a plain HTTP GET of `path` on `addr`.
pub fn http_get_path(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).expect("HTTP endpoint");
    socket
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("request");
    let mut response = String::new();
    socket.read_to_string(&mut response).expect("response");
    response
}

/// Waits until `GET path` on `addr` answers with a response containing `needle`; returns it.
pub fn wait_for_http(addr: &str, path: &str, needle: &str, timeout: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let page = std::net::TcpStream::connect(addr)
            .ok()
            .map(|_| http_get_path(addr, path))
            .unwrap_or_default();
        if page.contains(needle) {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "GET {path} on {addr} never said {needle:?}: {page}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The value of the metric line that starts with `series` (name and labels).
pub fn metric(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
