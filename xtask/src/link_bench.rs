//! `cargo xtask link-bench lan|wan [ARGS]`: the networks bench (issue 14, item 5) over a link
//! shaped to the paper's settings, so its Table 4 and training figures are compared on the same
//! link. The paper (§7) gives only bandwidths, 625 MB/s on its LAN and 40 MB/s on its WAN (set
//! with `tc`), and no latency; so does this.
//!
//! The bench runs both parties in one process over loopback QUIC. This makes a fresh network
//! namespace, brings its loopback up, shapes it with a token bucket (`tc qdisc ... tbf`) to the
//! setting's rate, runs `cargo bench -p dyad-online --features test-fixture --bench networks --
//! ARGS` inside it, and deletes the namespace. Two caveats, both against Dyad: the two
//! directions share the one shaped queue (each gets the full rate only while the other is
//! idle, where the paper's link is full duplex), and no delay is added beyond loopback's own
//! (tens of microseconds; `netem` is not in every kernel, and the paper states none).
//! Where no namespace can be made (no root or `CAP_NET_ADMIN`, no `ip`/`tc`), it says so and
//! exits successfully without measuring.

use std::process::{Command, ExitCode};

/// The paper's link settings, in bits per second for `tc`.
fn rate(setting: &str) -> Option<&'static str> {
    match setting {
        "lan" => Some("5000mbit"), // 625 MB/s
        "wan" => Some("320mbit"),  // 40 MB/s
        _ => None,
    }
}

pub fn run(args: &[String], cargo: Command) -> ExitCode {
    let Some(rate) = args.first().and_then(|s| rate(s)) else {
        eprintln!(
            "usage: cargo xtask link-bench lan|wan [BENCH ARGS]   (e.g. net-a net-b net-d inference)"
        );
        return ExitCode::from(2);
    };
    let namespace = format!("dyad-{}-{}", args[0], std::process::id());
    if let Err(e) = ip(&["netns", "add", &namespace]) {
        println!(
            "link-bench: cannot make a network namespace ({e}); it needs root or CAP_NET_ADMIN \
             and iproute2. Skipping the emulated {} link.",
            args[0]
        );
        return ExitCode::SUCCESS;
    }
    let result = shape_and_run(&namespace, rate, &args[1..], cargo);
    let _ = ip(&["netns", "del", &namespace]);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("link-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn shape_and_run(
    namespace: &str,
    rate: &str,
    bench_args: &[String],
    cargo: Command,
) -> Result<(), String> {
    ip(&["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])?;
    // A burst of 4 MB (a few ms at the LAN rate) lets QUIC's packets out in trains, as a NIC
    // does; packets wait at most 50 ms in the queue.
    ip(&[
        "netns", "exec", namespace, "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", rate,
        "burst", "4mb", "latency", "50ms",
    ])?;
    println!("link-bench: loopback shaped to {rate} (tbf) in network namespace {namespace}");
    let mut inside = Command::new("ip");
    inside
        .args(["netns", "exec", namespace])
        .arg(cargo.get_program());
    inside.args([
        "bench",
        "--profile",
        "dev",
        "-p",
        "dyad-online",
        "--features",
        "test-fixture",
        "--bench",
        "networks",
        "--",
    ]);
    inside.args(bench_args);
    for (key, value) in cargo.get_envs() {
        if let Some(value) = value {
            inside.env(key, value);
        }
    }
    super::run(&mut inside)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}
