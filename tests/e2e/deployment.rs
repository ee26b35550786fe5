//! Two stockpiles as real `dyad store` processes (or two per shard), and helpers to run workers
//! against them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dyad_randomness::{Kind, relation};
use dyad_store_client::StoreClient;
use dyad_store_client::token::read_token;
use dyad_vocabulary::TagRange;

use crate::environment;
use crate::netns::Network;
use crate::support::*;

/// Certificates and both parties' stockpiles, in a temporary directory; optionally the
/// servers' processes on hosts of their own (network namespaces), with the stockpiles on this
/// machine reached over the hosts' links.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    /// Where the test reaches the stockpiles.
    pub store_addrs: [String; 2],
    pub tokens: [PathBuf; 2],
    /// The stockpiles' processes, and the arguments that start them again.
    stores: std::sync::Mutex<[Running; 2]>,
    store_args: [Vec<String>; 2],
    /// Each party's further stockpiles, shards 1, 2, ... ([`Deployment::start_sharded`]):
    /// where the test reaches them, and their processes.
    more_shards: Vec<[String; 2]>,
    shard_stores: std::sync::Mutex<Vec<Running>>,
    /// The hosts, when the servers run on hosts of their own.
    pub network: Option<Network>,
    /// Ports handed out by [`Deployment::link_addr`] and [`Deployment::client_addr`]: a port
    /// free a moment ago is free again until its process binds it, so the next ask could get
    /// it too.
    ports: std::sync::Mutex<std::collections::HashSet<u16>>,
}

impl Deployment {
    /// Generates certificates and starts both stockpiles.
    pub fn start() -> Deployment {
        Deployment::start_with(&[])
    }

    /// [`Deployment::start`] with extra `dyad store` options.
    pub fn start_with(store_options: &[&str]) -> Deployment {
        Deployment::start_on(None, store_options)
    }

    /// A deployment whose servers run on `pairs` pairs of hosts (pair `p` runs lane `p`'s
    /// workers; pair 0 everything else). Where hosts cannot be made, `None` after saying so
    /// visibly, or a panic under `CI=true` ([`environment::needs`]).
    pub fn on_hosts(pairs: usize, test: &str) -> Option<Deployment> {
        let network = Network::make(pairs).map_err(|e| format!("no network namespaces: {e}"));
        let network = environment::needs(test, network)?;
        Some(Deployment::start_on(Some(network), &[]))
    }

    /// [`Deployment::start_with`] with `shards` stockpiles per party: shard `k` of party `i`
    /// keeps its data in `store<i>` for shard 0, `store<i>-<k>` for the others, and all of a
    /// party's shards share its token. Every process started after this lists them all.
    pub fn start_sharded(shards: usize, store_options: &[&str]) -> Deployment {
        let mut d = Deployment::start_with(store_options);
        for shard in 1..shards {
            let mut addrs = Vec::new();
            for party in [0, 1] {
                let data = d.path(&format!("store{party}-{shard}"));
                let addr = free_tcp_addr().to_string();
                let party_text = party.to_string();
                let mut args = vec![
                    "store",
                    "--party",
                    &party_text,
                    "--data",
                    s(&data),
                    "--listen",
                    &addr,
                    "--lease-seconds",
                    "5",
                    "--token-file",
                    s(&d.tokens[party]),
                ];
                args.extend_from_slice(store_options);
                let store = Running::spawn(&args);
                d.shard_stores.lock().expect("stores").push(store);
                addrs.push(addr);
            }
            d.more_shards
                .push(addrs.try_into().unwrap_or_else(|_| unreachable!("two")));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            for party in [0, 1] {
                for addr in d.shard_addrs(party) {
                    d.client_of(party, &addr).await;
                }
            }
        });
        d
    }

    fn start_on(network: Option<Network>, store_options: &[&str]) -> Deployment {
        let dir = tempfile::tempdir().expect("tempdir");
        make_certs(&dir.path().join("certs"));
        let mut stores = Vec::new();
        let mut store_args = Vec::new();
        let mut addrs = Vec::new();
        let mut tokens = Vec::new();
        for party in ["0", "1"] {
            let data = dir.path().join(format!("store{party}"));
            let port = free_tcp_addr().port();
            // On hosts, the stockpiles listen on every link (the hosts reach them by their
            // gateways); the test reaches them on loopback either way.
            let listen = match network {
                Some(_) => format!("0.0.0.0:{port}"),
                None => format!("127.0.0.1:{port}"),
            };
            let addr = format!("127.0.0.1:{port}");
            let mut args = vec![
                "store",
                "--party",
                party,
                "--data",
                data.to_str().expect("utf-8"),
                "--listen",
                &listen,
                "--lease-seconds",
                "5",
            ];
            args.extend_from_slice(store_options);
            stores.push(Running::spawn(&args));
            store_args.push(args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
            tokens.push(data.join("token"));
            addrs.push(addr);
        }
        let deployment = Deployment {
            dir,
            store_addrs: [addrs[0].clone(), addrs[1].clone()],
            tokens: [tokens[0].clone(), tokens[1].clone()],
            stores: std::sync::Mutex::new(
                stores.try_into().unwrap_or_else(|_| unreachable!("two")),
            ),
            store_args: store_args
                .try_into()
                .unwrap_or_else(|_| unreachable!("two")),
            more_shards: Vec::new(),
            shard_stores: Default::default(),
            network,
            ports: Default::default(),
        };
        // Return only once both answer (and so have written their tokens).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            deployment.client(0).await;
            deployment.client(1).await;
        });
        deployment
    }

    /// The stockpiles' process ids.
    pub fn store_pids(&self) -> [u32; 2] {
        self.stores
            .lock()
            .expect("stores")
            .each_ref()
            .map(Running::pid)
    }

    /// Kills both stockpiles (SIGKILL), as if their machines went away.
    pub fn kill_stores(&self) {
        for store in self.stores.lock().expect("stores").iter() {
            store.signal("KILL");
        }
    }

    /// Kills `party`'s stockpile (SIGKILL) and starts it again on the same data and address;
    /// returns at once (clients retry until it is up).
    pub fn restart_store(&self, party: usize) {
        let args: Vec<&str> = self.store_args[party].iter().map(String::as_str).collect();
        self.stores.lock().expect("stores")[party].restart_with(|| Running::spawn(&args));
    }

    /// Stops every stockpile with SIGTERM, checking each closes within seconds (their data
    /// directories are then free for `dyad audit`).
    pub fn stop_stores(&self) {
        let mut stores = self.stores.lock().expect("stores");
        let mut shards = self.shard_stores.lock().expect("stores");
        for store in stores.iter_mut().chain(shards.iter_mut()) {
            store.signal_if_running("TERM");
            assert!(
                store.exits_within(Duration::from_secs(15)),
                "a stockpile ignored SIGTERM"
            );
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a plan file.
    pub fn plan(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write plan");
        path
    }

    /// Starts party `party`'s offline worker; `link` is P0's listening address. Its standard
    /// error goes to the file `worker<party>-<lane>.log` in the deployment directory.
    pub fn worker(
        &self,
        party: usize,
        link: &str,
        lane: u32,
        plan: &Path,
        certs: &Path,
    ) -> Running {
        self.worker_with(party, link, lane, plan, certs, &[])
    }

    /// [`Deployment::worker`] with extra options.
    pub fn worker_with(
        &self,
        party: usize,
        link: &str,
        lane: u32,
        plan: &Path,
        certs: &Path,
        extra: &[&str],
    ) -> Running {
        let lane_text = lane.to_string();
        let mut args = vec![
            "--plan",
            s(plan),
            "--lane",
            &lane_text,
            "--idle-ms",
            "200",
            "--timeout",
            "60",
        ];
        args.extend_from_slice(extra);
        let pair = self.pair_of_lane(lane);
        let log = self.worker_log(party, lane);
        self.process_on(pair, "offline", party, link, certs, &args, &log)
    }

    /// The pair of hosts lane `lane`'s workers run on: their own where there are enough.
    fn pair_of_lane(&self, lane: u32) -> usize {
        let pairs = self.network.as_ref().map_or(1, |n| n.pairs());
        if (lane as usize) < pairs {
            lane as usize
        } else {
            0
        }
    }

    /// Starts `dyad <command>` for `party` with its link (`link` is P0's listening address),
    /// `certs` and its stockpile, then `extra`; standard error goes to `log`.
    pub fn server_process(
        &self,
        command: &str,
        party: usize,
        link: &str,
        certs: &Path,
        extra: &[&str],
        log: &Path,
    ) -> Running {
        self.process_on(0, command, party, link, certs, extra, log)
    }

    /// [`Deployment::server_process`] on the hosts of pair `pair`.
    #[allow(clippy::too_many_arguments)]
    fn process_on(
        &self,
        pair: usize,
        command: &str,
        party: usize,
        link: &str,
        certs: &Path,
        extra: &[&str],
        log: &Path,
    ) -> Running {
        let side = if party == 0 { "--listen" } else { "--peer" };
        let store = self.store_addr_from(pair, party);
        let party_text = party.to_string();
        let mut args = vec![
            command,
            "--party",
            &party_text,
            "--certs",
            s(certs),
            side,
            link,
            "--store",
            &store,
            "--store-token",
            s(&self.tokens[party]),
        ];
        args.extend_from_slice(extra);
        match &self.network {
            Some(network) => {
                let host = network.host(pair, party);
                Running::spawn_logged_as(host.command(DYAD), &args, log)
            }
            None => Running::spawn_logged(&args, log),
        }
    }

    /// Where `party`'s processes on the hosts of pair `pair` reach their stockpile (its shards
    /// separated by commas, as `--store` takes them).
    fn store_addr_from(&self, pair: usize, party: usize) -> String {
        let reach = |addr: String| match &self.network {
            Some(network) => {
                let port = addr.rsplit(':').next().expect("a port");
                format!("{}:{port}", network.host(pair, party).gateway)
            }
            None => addr,
        };
        let shards: Vec<String> = self.shard_addrs(party).into_iter().map(reach).collect();
        shards.join(",")
    }

    /// Where the test reaches `party`'s stockpiles, shard 0 first.
    pub fn shard_addrs(&self, party: usize) -> Vec<String> {
        let more = self.more_shards.iter().map(|shard| shard[party].clone());
        std::iter::once(self.store_addrs[party].clone())
            .chain(more)
            .collect()
    }

    /// A free port this deployment has not handed out before.
    fn fresh_port(&self, free: impl Fn() -> u16) -> u16 {
        let mut ports = self.ports.lock().expect("ports");
        loop {
            let port = free();
            if ports.insert(port) {
                return port;
            }
        }
    }

    /// A fresh address for the party link of pair `pair` (server 0 listens on it).
    pub fn link_addr(&self, pair: usize) -> String {
        let port = self.fresh_port(|| free_udp_addr().port());
        match &self.network {
            Some(network) => format!("{}:{port}", network.host(pair, 0).link_address),
            None => format!("127.0.0.1:{port}"),
        }
    }

    /// A fresh address for `party`'s client endpoint (`dyad serve --clients`), reachable
    /// from the test.
    pub fn client_addr(&self, party: usize) -> String {
        let port = self.fresh_port(|| free_tcp_addr().port());
        match &self.network {
            Some(network) => format!("{}:{port}", network.host(0, party).address),
            None => format!("127.0.0.1:{port}"),
        }
    }

    /// Writes the plan `dyad plan plan_args...` prints to the file `name`.
    pub fn job_plan(&self, name: &str, plan_args: &[&str]) -> PathBuf {
        let mut args = vec!["plan"];
        args.extend_from_slice(plan_args);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        self.plan(name, &text(&out.stdout))
    }

    /// Writes the plan `dyad plan plan_args...` prints and starts a worker pair (lane 0) on it.
    pub fn stock(&self, plan_args: &[&str]) -> [Running; 2] {
        let plan = self.job_plan("plan", plan_args);
        let link = self.link_addr(0);
        [0, 1].map(|party| self.worker(party, &link, 0, &plan, &self.certs()))
    }

    /// Where [`Deployment::worker`] writes a worker's standard error.
    pub fn worker_log(&self, party: usize, lane: u32) -> PathBuf {
        self.path(&format!("worker{party}-{lane}.log"))
    }

    /// Waits until both workers of `lane` have paired.
    pub fn wait_paired(&self, lane: u32) {
        for party in [0, 1] {
            wait_for_log(
                &self.worker_log(party, lane),
                "generating",
                Duration::from_secs(60),
            );
        }
    }

    pub fn certs(&self) -> PathBuf {
        self.path("certs")
    }

    /// A client of party `party`'s stockpile (shard 0), once it is up.
    pub async fn client(&self, party: usize) -> StoreClient {
        self.client_of(party, &self.store_addrs[party]).await
    }

    /// A client of party `party`'s stockpile at `addr` (one of its shards), once it is up.
    pub async fn client_of(&self, party: usize, addr: &str) -> StoreClient {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(token) = read_token(&self.tokens[party])
                && let Ok(mut c) = StoreClient::connect(addr, &token).await
                && c.inventory().await.is_ok()
            {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "stockpile {party} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Items available per stream at `party`.
    pub async fn available(&self, party: usize) -> std::collections::BTreeMap<String, u64> {
        let inventory = self
            .client(party)
            .await
            .inventory()
            .await
            .expect("inventory");
        inventory
            .streams
            .into_iter()
            .map(|s| (s.stream, s.available))
            .collect()
    }

    /// Waits until both stockpiles hold at least `targets`.
    pub async fn wait_for(&self, targets: &[(&str, u64)], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (a, b) = (self.available(0).await, self.available(1).await);
            let met = |av: &std::collections::BTreeMap<String, u64>| {
                targets
                    .iter()
                    .all(|(s, t)| av.get(*s).copied().unwrap_or(0) >= *t)
            };
            if met(&a) && met(&b) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "stock not reached: P0 {a:?}, P1 {b:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Takes everything P0 holds of `stream`, the same items from P1, checks every item's
    /// relation, and checks P1 holds nothing else. Returns how many items there were.
    pub async fn drain_and_check(&self, stream: &str) -> u64 {
        let kind: Kind = stream
            .parse::<dyad_vocabulary::Stream>()
            .expect("a stream")
            .kind;
        let (mut c0, mut c1) = (self.client(0).await, self.client(1).await);
        let mut total = 0;
        loop {
            let available = self.available(0).await.get(stream).copied().unwrap_or(0);
            if available == 0 {
                break;
            }
            let most = available.min((64 << 20) / kind.item_bytes() as u64).max(1);
            let t0 = c0
                .take_up_to(stream, 1, most, Duration::ZERO)
                .await
                .expect("P0 takes");
            let ranges: Vec<TagRange> = t0.ranges.clone();
            let t1 = c1
                .take_exact(stream, &ranges, Duration::from_secs(5))
                .await
                .expect("P1 has the same items");
            assert_eq!(t0.ranges, t1.ranges);
            relation::check(kind, [&t0.payload, &t1.payload]).expect("the halves pair up");
            c0.ack(t0.lease).await.expect("ack");
            c1.ack(t1.lease).await.expect("ack");
            total += ranges.iter().map(|r| r.count()).sum::<u64>();
        }
        let left = self.available(1).await.get(stream).copied().unwrap_or(0);
        assert_eq!(left, 0, "P1 holds {left} {stream} items P0 does not");
        total
    }

    /// Checks every stream's books at both stockpiles: every item ever put is taken,
    /// discarded, in flight or available (`put = taken + discarded + in_flight + available`),
    /// and prints them.
    pub async fn assert_books_balance(&self) {
        for party in [0, 1] {
            let inventory = self
                .client(party)
                .await
                .inventory()
                .await
                .expect("inventory");
            for s in &inventory.streams {
                println!(
                    "P{party} {}: put {} = taken {} + discarded {} + in flight {} + available {}",
                    s.stream, s.put, s.taken, s.discarded, s.in_flight, s.available
                );
                assert_eq!(
                    s.put,
                    s.taken + s.discarded + s.in_flight + s.available,
                    "P{party}'s books of {} do not balance",
                    s.stream
                );
            }
        }
    }

    /// Stops worker processes with SIGTERM, checking each exits within seconds.
    pub fn stop(&self, processes: impl IntoIterator<Item = Running>) {
        for mut process in processes {
            process.signal_if_running("TERM");
            assert!(
                process.exits_within(Duration::from_secs(15)),
                "a process ignored SIGTERM"
            );
        }
    }
}
