//! The relay's forwarding: one flow per dialler's source address, each with a UDP socket of
//! its own towards the route's target, datagrams copied both ways unchanged.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::preamble::{Answer, Request, RouteName, Status, is_preamble};
use super::routes::Routes;
use crate::{Address, LinkError, udp_buffers};

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where diallers reach it (the one UDP port party 0 exposes).
    pub listen: Address,
    /// Its routes.
    pub routes: Routes,
    /// The most flows open at once; a dialler beyond it is told to try again later.
    pub max_flows: usize,
    /// A flow with no datagram either way for this long is closed. Longer than the link's idle
    /// timeout, whose keep-alives keep every live link's flow busy.
    pub idle: Duration,
}

/// The shortest [`RelayConfig::idle`]: above the party link's 20 s idle timeout, so that a
/// flow outlives every link whose keep-alives still flow.
pub const MIN_IDLE: Duration = Duration::from_secs(21);

/// How long a flow's target may take to resolve before the dialler is told to try again.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often idle flows are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// The largest datagram (a UDP payload's limit).
const MAX_DATAGRAM: usize = 65_535;
/// At most one line per this long about refused or stray datagrams, which anyone who reaches
/// the port can send.
const NOISE_EVERY: Duration = Duration::from_secs(10);

/// What the relay is doing, for its health endpoint.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Flows open now.
    pub flows: AtomicUsize,
    /// Flows ever opened.
    pub opened: AtomicU64,
    /// Requests refused (unknown route, full, unresolvable target).
    pub refused: AtomicU64,
    /// Bytes forwarded towards the targets.
    pub bytes_in: AtomicU64,
    /// Bytes forwarded back to the diallers.
    pub bytes_out: AtomicU64,
}

/// A bound relay.
pub struct Relay {
    config: RelayConfig,
    socket: Arc<UdpSocket>,
    stats: Arc<RelayStats>,
}

/// One dialler's flow.
struct Flow {
    route: RouteName,
    target: SocketAddr,
    upstream: Arc<UdpSocket>,
    /// Milliseconds since the relay started at the flow's latest datagram, either way.
    last: Arc<AtomicU64>,
    /// Copies the target's datagrams back to the dialler.
    back: JoinHandle<()>,
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.back.abort();
    }
}

/// A flow's upstream socket, made away from the forwarding loop (a DNS lookup can take
/// seconds).
struct Opening {
    client: SocketAddr,
    request: Request,
    target: Address,
    upstream: Result<(SocketAddr, UdpSocket), UpstreamError>,
}

impl Relay {
    /// Binds the relay's port (`config.listen`, resolved now).
    pub async fn bind(config: RelayConfig) -> Result<Relay, LinkError> {
        let addr = config.listen.resolve().await?;
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|e| LinkError::Endpoint(format!("cannot bind {addr}: {e}")))?;
        // Every flow's datagrams meet in this one socket's queue.
        udp_buffers::enlarge(&socket)
            .map_err(|e| LinkError::Endpoint(format!("cannot size {addr}'s buffers: {e}")))?;
        Ok(Relay {
            config,
            socket: Arc::new(socket),
            stats: Arc::default(),
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> Result<SocketAddr, LinkError> {
        self.socket
            .local_addr()
            .map_err(|e| LinkError::Endpoint(e.to_string()))
    }

    /// Its counters, shared.
    pub fn stats(&self) -> Arc<RelayStats> {
        self.stats.clone()
    }

    /// Forwards until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut state = State {
            relay: &self,
            started: Instant::now(),
            flows: HashMap::new(),
            pending: HashSet::new(),
            noise: Noises::default(),
        };
        let (opened_tx, mut opened_rx) = mpsc::unbounded_channel();
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, from)) => state.inbound(&buf[..n], from, &opened_tx).await,
                    Err(e) => tracing::debug!("relay: receive failed: {e}"),
                },
                Some(opening) = opened_rx.recv() => state.open(opening).await,
                _ = sweep.tick() => state.sweep(),
            }
        }
        tracing::info!("relay: stopping; {} flows closed", state.flows.len());
    }
}

/// The forwarding loop's state.
struct State<'a> {
    relay: &'a Relay,
    started: Instant,
    flows: HashMap<SocketAddr, Flow>,
    /// Diallers whose flow is being opened.
    pending: HashSet<SocketAddr>,
    noise: Noises,
}

impl State<'_> {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// A datagram from `from`: a route request, or traffic of its flow.
    async fn inbound(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        opened: &mpsc::UnboundedSender<Opening>,
    ) {
        let stats = &self.relay.stats;
        if !is_preamble(datagram) {
            let Some(flow) = self.flows.get(&from) else {
                self.noise.stray.say(|n| {
                    format!(
                        "relay: dropped {n} datagrams from sources without a flow (latest \
                         {from}); a dialler must send its route first (--route)"
                    )
                });
                return;
            };
            flow.last.store(self.now_ms(), Ordering::Relaxed);
            stats
                .bytes_in
                .fetch_add(datagram.len() as u64, Ordering::Relaxed);
            // An unreachable target shows as an error here; the dialler's QUIC retries.
            let _ = flow.upstream.send(datagram).await;
            return;
        }
        let request = match Request::parse(datagram) {
            Ok(r) => r,
            Err(e) => {
                self.noise.malformed.say(|n| {
                    format!("relay: ignored {n} malformed preambles (latest {from}: {e})")
                });
                return;
            }
        };
        if self.pending.contains(&from) {
            return;
        }
        if let Some(flow) = self.flows.get(&from) {
            // A flow keeps its route until it expires: the preamble is unauthenticated, and
            // one forged with a dialler's source address must not send its flow elsewhere.
            let status = match flow.route == request.route {
                true => Status::Open,
                false => Status::Unavailable(format!(
                    "this address has a flow on another route until it is idle for {} s",
                    self.relay.config.idle.as_secs()
                )),
            };
            self.answer(from, request.nonce, status).await;
            return;
        }
        let Some(target) = self.relay.config.routes.target_of(&request.route) else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            let route = request.route.clone();
            self.noise.unknown.say(|n| {
                format!(
                    "relay: refused {n} requests for unknown routes (latest {route:?} from {from})"
                )
            });
            self.answer(from, request.nonce, Status::UnknownRoute).await;
            return;
        };
        let max = self.relay.config.max_flows;
        if self.flows.len() + self.pending.len() >= max {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            self.noise.full.say(|n| {
                format!("relay: turned away {n} requests at the limit of {max} flows (--max-flows)")
            });
            let why = format!("the relay is at its limit of {max} flows");
            self.answer(from, request.nonce, Status::Unavailable(why))
                .await;
            return;
        }
        self.pending.insert(from);
        let opened = opened.clone();
        tokio::spawn(async move {
            let upstream = connect_upstream(&target).await;
            let _ = opened.send(Opening {
                client: from,
                request,
                target,
                upstream,
            });
        });
    }

    /// A flow's upstream socket is ready (or could not be made).
    async fn open(&mut self, opening: Opening) {
        let Opening {
            client,
            request,
            target,
            upstream,
        } = opening;
        self.pending.remove(&client);
        let stats = self.relay.stats.clone();
        let (resolved, upstream) = match upstream {
            Ok(found) => found,
            Err(e) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "relay: {client} asked for route {}, whose target {target} cannot be \
                     reached yet ({e}); it will ask again",
                    request.route
                );
                let why = "its target does not resolve yet".to_owned();
                self.answer(client, request.nonce, Status::Unavailable(why))
                    .await;
                return;
            }
        };
        let upstream = Arc::new(upstream);
        let last = Arc::new(AtomicU64::new(self.now_ms()));
        let back = tokio::spawn(copy_back(
            upstream.clone(),
            self.relay.socket.clone(),
            client,
            last.clone(),
            self.started,
            stats.clone(),
        ));
        let flow = Flow {
            route: request.route.clone(),
            target: resolved,
            upstream,
            last,
            back,
        };
        self.flows.insert(client, flow);
        stats.flows.store(self.flows.len(), Ordering::Relaxed);
        stats.opened.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "relay: flow from {client} on route {} to {target} ({resolved}); {} flows open",
            request.route,
            self.flows.len()
        );
        self.answer(client, request.nonce, Status::Open).await;
    }

    /// Closes the flows idle for longer than the configured time.
    fn sweep(&mut self) {
        let idle = self.relay.config.idle;
        let now = self.now_ms();
        let before = self.flows.len();
        self.flows.retain(|client, flow| {
            let quiet =
                Duration::from_millis(now.saturating_sub(flow.last.load(Ordering::Relaxed)));
            let keep = quiet < idle;
            if !keep {
                tracing::info!(
                    "relay: closed the flow from {client} on route {} to {} after {} s without \
                     traffic",
                    flow.route,
                    flow.target,
                    quiet.as_secs()
                );
            }
            keep
        });
        if self.flows.len() != before {
            self.relay
                .stats
                .flows
                .store(self.flows.len(), Ordering::Relaxed);
            tracing::info!("relay: {} flows open", self.flows.len());
        }
    }

    async fn answer(&self, to: SocketAddr, nonce: [u8; 8], status: Status) {
        let datagram = Answer { nonce, status }.encode();
        if let Err(e) = self.relay.socket.send_to(&datagram, to).await {
            tracing::debug!("relay: cannot answer {to}: {e}");
        }
    }
}

/// Why a flow's upstream socket could not be made.
#[derive(Debug, thiserror::Error)]
enum UpstreamError {
    /// The target's name had no answer in time.
    #[error("no DNS answer within {RESOLVE_TIMEOUT:?}")]
    NoAnswer,
    /// The target's name did not resolve.
    #[error(transparent)]
    Resolve(#[from] LinkError),
    /// A socket could not be bound, sized or connected.
    #[error("cannot {action}: {source}")]
    Socket {
        /// What was being done.
        action: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl UpstreamError {
    fn socket(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> UpstreamError {
        let action = action.into();
        move |source| UpstreamError::Socket { action, source }
    }
}

/// Resolves `target` and connects a fresh UDP socket to it.
async fn connect_upstream(target: &Address) -> Result<(SocketAddr, UdpSocket), UpstreamError> {
    let addr = tokio::time::timeout(RESOLVE_TIMEOUT, target.resolve())
        .await
        .map_err(|_| UpstreamError::NoAnswer)??;
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(UpstreamError::socket("bind a socket"))?;
    udp_buffers::enlarge(&socket).map_err(UpstreamError::socket("size a socket's buffers"))?;
    socket
        .connect(addr)
        .await
        .map_err(UpstreamError::socket(format!("connect to {addr}")))?;
    Ok((addr, socket))
}

/// Copies the target's datagrams back to the dialler, for as long as the flow lives.
async fn copy_back(
    upstream: Arc<UdpSocket>,
    public: Arc<UdpSocket>,
    client: SocketAddr,
    last: Arc<AtomicU64>,
    started: Instant,
    stats: Arc<RelayStats>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match upstream.recv(&mut buf).await {
            Ok(n) => {
                last.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                stats.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                let _ = public.send_to(&buf[..n], client).await;
            }
            // Nobody listens at the target (yet): the ICMP error surfaces here, once per
            // datagram refused. The dialler's QUIC keeps trying; so does this flow.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Err(e) => {
                tracing::debug!("relay: receiving for {client} failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The rate-limited log lines, one of each kind.
#[derive(Default)]
struct Noises {
    stray: Noise,
    malformed: Noise,
    unknown: Noise,
    full: Noise,
}

/// Rate-limited log lines about what anyone can send: counted, and said at most once per
/// [`NOISE_EVERY`].
#[derive(Default)]
struct Noise {
    count: u64,
    said: Option<Instant>,
}

impl Noise {
    fn say(&mut self, line: impl FnOnce(u64) -> String) {
        self.count += 1;
        if self.said.is_none_or(|at| at.elapsed() >= NOISE_EVERY) {
            tracing::warn!("{}", line(self.count));
            self.count = 0;
            self.said = Some(Instant::now());
        }
    }
}
