//! Hosts as Linux network namespaces, so a test can cut the network between the two servers
//! (issue 13: partitions) and spread worker pairs over several "machines" (scale-out).
//!
//! A [`Network`] of `pairs` pairs makes `2 * pairs` namespaces: host `(pair, party)` runs that
//! party's processes of that pair. Every host has a veth link to this machine's namespace,
//! where the stockpiles and the test itself run (so a store is reached over a link, as across
//! machines), and the two hosts of a pair have a veth link of their own: the party link, the
//! one [`Network::cut`] takes down.
//!
//! Making namespaces needs root or `CAP_NET_ADMIN` and iproute2; where they cannot be made,
//! [`Network::make`] says why, and the tests that need one say that they did not run (and fail
//! under `CI=true`: `tests/environment.rs`).

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::text;

/// Namespaces made by this test process, numbered so that concurrent tests never collide.
static MADE: AtomicU32 = AtomicU32::new(0);

/// Namespaces with links between them; deleted (with every link) when dropped.
pub struct Network {
    /// Distinguishes this network's names and subnets from any other's on the machine.
    n: u8,
    pairs: usize,
}

/// One host of a [`Network`].
pub struct Host {
    /// The namespace's name, for `ip netns exec`.
    pub namespace: String,
    /// This machine's address on the host's link (where the stockpiles listen).
    pub gateway: Ipv4Addr,
    /// The host's address on that link (where its client endpoints listen).
    pub address: Ipv4Addr,
    /// The host's address on its pair's party link.
    pub link_address: Ipv4Addr,
}

impl Network {
    /// Makes `pairs` pairs of hosts, or says why it cannot.
    pub fn make(pairs: usize) -> Result<Network, String> {
        // Subnets 10.213.n.0/24 (host links) and 10.214.n.0/24 (party links); the namespace
        // name of host 0 doubles as the lock on `n`, since two cannot share a name.
        let start = std::process::id().wrapping_mul(31);
        for attempt in 0..64 {
            let made = MADE.fetch_add(1, Ordering::Relaxed);
            let n = (start.wrapping_add(made).wrapping_add(attempt) % 250 + 1) as u8;
            match ip(&["netns", "add", &namespace(n, 0)]) {
                Ok(()) => {
                    let network = Network { n, pairs: 0 };
                    return network.build(pairs);
                }
                Err(e) if e.contains("exists") => continue,
                Err(e) => return Err(e),
            }
        }
        Err("no free namespace names".into())
    }

    /// Makes the hosts and links (host 0's namespace exists already).
    fn build(mut self, pairs: usize) -> Result<Network, String> {
        let n = self.n;
        for h in 0..2 * pairs {
            let ns = namespace(n, h);
            if h > 0 {
                ip(&["netns", "add", &ns])?;
            }
            self.pairs = h / 2 + 1; // so that Drop deletes what exists
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            let (outside, inside) = (format!("dy{n}h{h}"), format!("dy{n}u{h}"));
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside, "netns", &ns,
            ])?;
            let host = self.host_of(h);
            ip(&["addr", "add", &cidr(host.gateway), "dev", &outside])?;
            ip(&["link", "set", &outside, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &cidr(host.address),
                "dev",
                &inside,
            ])?;
            ip(&["-n", &ns, "link", "set", &inside, "up"])?;
        }
        for pair in 0..pairs {
            let [a, b] = [0, 1].map(|party| self.host(pair, party));
            let [ea, eb] = [0, 1].map(|party| party_end(n, pair, party));
            ip(&[
                "link",
                "add",
                &ea,
                "netns",
                &a.namespace,
                "type",
                "veth",
                "peer",
                "name",
                &eb,
                "netns",
                &b.namespace,
            ])?;
            for (host, end) in [(&a, &ea), (&b, &eb)] {
                ip(&[
                    "-n",
                    &host.namespace,
                    "addr",
                    "add",
                    &format!("{}/24", host.link_address),
                    "dev",
                    end,
                ])?;
                ip(&["-n", &host.namespace, "link", "set", end, "up"])?;
            }
        }
        Ok(self)
    }

    /// How many pairs of hosts there are.
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// The host of `party` in pair `pair`.
    pub fn host(&self, pair: usize, party: usize) -> Host {
        self.host_of(2 * pair + party)
    }

    fn host_of(&self, h: usize) -> Host {
        let (pair, party) = (h as u8 / 2, h as u8 % 2);
        Host {
            namespace: namespace(self.n, h),
            gateway: Ipv4Addr::new(10, 213, self.n, 4 * h as u8 + 1),
            address: Ipv4Addr::new(10, 213, self.n, 4 * h as u8 + 2),
            link_address: Ipv4Addr::new(10, 214, self.n, 4 * pair + party + 1),
        }
    }

    /// Takes pair `pair`'s party link down at server 0's end, as if its cable were pulled:
    /// nothing passes either way until [`Network::restore`].
    pub fn cut(&self, pair: usize) {
        self.set_link(pair, "down");
    }

    /// Brings pair `pair`'s party link back up.
    pub fn restore(&self, pair: usize) {
        self.set_link(pair, "up");
    }

    fn set_link(&self, pair: usize, state: &str) {
        let host = self.host(pair, 0);
        let end = party_end(self.n, pair, 0);
        ip(&["-n", &host.namespace, "link", "set", &end, state])
            .unwrap_or_else(|e| panic!("cannot set the party link {state}: {e}"));
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting a namespace deletes its ends of the veth links, and so the links.
        for h in 0..2 * self.pairs.max(1) {
            let _ = ip(&["netns", "del", &namespace(self.n, h)]);
        }
    }
}

impl Host {
    /// A command running `program` in this host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }
}

fn namespace(n: u8, h: usize) -> String {
    format!("dyad-test-{n}-{h}")
}

/// The interface name of `party`'s end of pair `pair`'s party link.
fn party_end(n: u8, pair: usize, party: usize) -> String {
    format!("dy{n}p{pair}{party}")
}

fn cidr(address: Ipv4Addr) -> String {
    format!("{address}/30")
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
            text(&out.stderr).trim()
        )),
    }
}
