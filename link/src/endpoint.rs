//! Setting up the party link: the QUIC endpoint with pinned mutual TLS, the hello exchange,
//! and the per-link state ([`PartyLink`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s2n_quic::client::Connect;
use s2n_quic::provider::event::{ConnectionInfo, ConnectionMeta, Subscriber, events};
use s2n_quic::provider::limits::Limits;
use s2n_quic::provider::tls::default::callbacks::VerifyHostNameCallback;
use s2n_quic::provider::tls::default::{Client as TlsClient, Server as TlsServer};
use s2n_quic::{Client, Server};
use tokio::sync::mpsc;

use crate::counters::SharedCounters;
use crate::relay::RouteName;
use crate::relay::ask::ask_route;
use crate::udp_buffers::UDP_BUFFER_BYTES;
use crate::{Address, Channel, Identity, LinkCounters, LinkError, PartyId, PeerPin, server_name};

/// Everything one party needs to bring up its side of the link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Which server this is. `P0` listens on `addr`; `P1` dials `addr`.
    pub party: PartyId,
    /// For `P0` the address to listen on, for `P1` the address of `P0` or of the relay in
    /// front of it; resolved each time it is used (a dialler resolves it again at every
    /// attempt and reconnect, so a peer that moved is found).
    pub addr: Address,
    /// `P1` only: the route to ask the relay at `addr` for before the handshake
    /// ([`crate::relay`]); `None` dials `P0` directly.
    pub route: Option<RouteName>,
    /// This party's certificate and key.
    pub identity: Identity,
    /// The peer's certificate: the only one accepted.
    pub peer: PeerPin,
    /// How long to wait for the peer to connect or answer.
    pub timeout: Duration,
}

/// An established, authenticated link to the other party.
pub struct PartyLink {
    party: PartyId,
    peer_addr: SocketAddr,
    connection: cryprot_net::Connection,
    counters: Arc<SharedCounters>,
    /// The hello channel, kept for the goodbye of [`PartyLink::close`].
    control: Channel,
    common_seed: [u8; 32],
    /// How to connect again: P0's endpoint (still accepting) or P1's configuration.
    origin: Origin,
}

/// Where a link came from, kept so that [`PartyLink::reconnect`] can make another.
enum Origin {
    /// `P0`: the listener, which stays bound for the peer's next connection.
    Listening(Listener),
    /// `P1`: its configuration, and the client endpoint, which must outlive the connection.
    Dialled(LinkConfig, Client),
}

const MAGIC: &[u8; 12] = b"DYAD-LINK/1\0";
/// How long a refusing listener keeps its endpoint alive for the TLS alert to go out.
const ALERT_GRACE: Duration = Duration::from_millis(200);
/// How long [`PartyLink::close`] waits for the peer to acknowledge the goodbye.
const GOODBYE_GRACE: Duration = Duration::from_millis(500);
const HELLO_BYTES: usize = MAGIC.len() + 1 + 32;

/// Brings up this party's side: `P0` waits for `P1` on `config.addr`, `P1` dials it.
pub async fn connect(config: LinkConfig) -> Result<PartyLink, LinkError> {
    match config.party {
        PartyId::P0 => Listener::bind(config).await?.accept().await,
        PartyId::P1 => dial(config).await,
    }
}

/// `P0`'s endpoint, bound but not yet connected: lets a caller learn the port before the peer
/// dials (tests bind port 0).
///
/// A task owns the QUIC server and accepts connections for as long as the listener lives, also
/// while a link is up: a new connection from the (authenticated) peer means the peer has
/// restarted, so the current link is closed at once instead of at its idle timeout, and the
/// new connection waits for [`PartyLink::reconnect`].
pub struct Listener {
    config: LinkConfig,
    local_addr: SocketAddr,
    incoming: mpsc::UnboundedReceiver<Result<s2n_quic::Connection, LinkError>>,
    /// The connection of the current link, closed when the peer connects anew.
    current: Arc<Mutex<Option<s2n_quic::connection::Handle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Binds `config.addr` (resolved now) with a TLS server that requires the pinned client
    /// certificate.
    pub async fn bind(config: LinkConfig) -> Result<Listener, LinkError> {
        let bind_addr = config.addr.resolve().await?;
        let endpoint = |e: &dyn std::fmt::Display| LinkError::Endpoint(e.to_string());
        let tls = TlsServer::builder()
            .with_certificate(
                config.identity.cert_pem.as_str(),
                config.identity.key_pem.as_str(),
            )
            .map_err(|e| endpoint(&e))?
            .with_empty_trust_store()
            .map_err(|e| endpoint(&e))?
            .with_trusted_certificate(config.peer.cert_pem.as_str())
            .map_err(|e| endpoint(&e))?
            .with_client_authentication()
            .map_err(|e| endpoint(&e))?
            .with_verify_host_name_callback(ExpectName(server_name(config.party.peer())))
            .map_err(|e| endpoint(&e))?
            .build()
            .map_err(|e| endpoint(&e))?;
        let (watch, rejections) = HandshakeWatch::new();
        let server = Server::builder()
            .with_tls(tls)
            .map_err(|e| endpoint(&e))?
            .with_io(io(IoSocket::Bind(bind_addr))?)
            .map_err(|e| endpoint(&e))?
            .with_limits(limits()?)
            .map_err(|e| endpoint(&e))?
            .with_event(watch)
            .map_err(|e| endpoint(&e))?
            .start()
            .map_err(|e| endpoint(&e))?;
        let local_addr = server.local_addr().map_err(|e| endpoint(&e))?;
        let current = Arc::new(Mutex::new(None));
        let (tx, incoming) = mpsc::unbounded_channel();
        let task = tokio::spawn(accept_loop(server, rejections, current.clone(), tx));
        Ok(Listener {
            config,
            local_addr,
            incoming,
            current,
            task,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, LinkError> {
        Ok(self.local_addr)
    }

    /// Waits for `P1` (the latest connection, if several are waiting). A client whose
    /// certificate is not the pinned one makes this fail with [`LinkError::PeerRejected`]
    /// rather than wait on.
    pub async fn accept(mut self) -> Result<PartyLink, LinkError> {
        let timeout = self.config.timeout;
        let mut next = tokio::time::timeout(timeout, self.incoming.recv())
            .await
            .map_err(|_| LinkError::Timeout(timeout))?
            .ok_or_else(|| LinkError::Endpoint("the QUIC endpoint shut down".into()))?;
        while let Ok(newer) = self.incoming.try_recv() {
            next = newer;
        }
        let accepted = next?;
        *self.current.lock().expect("lock") = Some(accepted.handle());
        let peer_addr = accepted
            .remote_addr()
            .map_err(|e| LinkError::Disconnected(e.to_string()))?;
        let config = self.config.clone();
        PartyLink::establish(config, peer_addr, accepted, Origin::Listening(self)).await
    }
}

/// The listener's task: hands every authenticated connection (or refusal) to
/// [`Listener::accept`], closing the current link first when the peer comes back.
async fn accept_loop(
    mut server: Server,
    mut rejections: mpsc::UnboundedReceiver<(SocketAddr, String)>,
    current: Arc<Mutex<Option<s2n_quic::connection::Handle>>>,
    tx: mpsc::UnboundedSender<Result<s2n_quic::Connection, LinkError>>,
) {
    loop {
        let next = tokio::select! {
            conn = server.accept() => match conn {
                Some(conn) => Ok(conn),
                None => return,
            },
            Some((addr, detail)) = rejections.recv() => {
                // Let the endpoint send its TLS alert before the caller (often a process
                // about to exit) drops it, so the peer hears the refusal.
                tokio::time::sleep(ALERT_GRACE).await;
                Err(LinkError::PeerRejected { addr, detail })
            }
        };
        if next.is_ok()
            && let Some(old) = current.lock().expect("lock").take()
        {
            old.close(s2n_quic::application::Error::UNKNOWN);
        }
        if tx.send(next).is_err() {
            return;
        }
    }
}

async fn dial(config: LinkConfig) -> Result<PartyLink, LinkError> {
    // Nobody answering (P0 not up yet, its name not yet in DNS, its relay not yet routing)
    // looks like a handshake that never completes: try again, resolving and asking the relay
    // anew each time, until the timeout. A TLS failure and an unknown route are final.
    let timeout = config.timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let retry = match attempt(&config, deadline).await {
            Ok((peer, connection, client)) => {
                let origin = Origin::Dialled(config.clone(), client);
                return PartyLink::establish(config, peer, connection, origin).await;
            }
            Err(Attempt::Final(e)) => return Err(e),
            Err(Attempt::Retry(e)) => e,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(retry);
        }
        tracing::debug!("no answer from {} yet ({retry}); trying again", config.addr);
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + RETRY)).await;
    }
}

/// Why one dialling attempt failed.
enum Attempt {
    /// Worth another attempt until the deadline: the error to report if none succeeds.
    Retry(LinkError),
    /// Not worth another.
    Final(LinkError),
}

/// One dialling attempt: resolve the peer, bind a socket, ask the relay for the route (if
/// any) from that socket, and run the QUIC handshake over it.
async fn attempt(
    config: &LinkConfig,
    deadline: tokio::time::Instant,
) -> Result<(SocketAddr, s2n_quic::Connection, Client), Attempt> {
    let fin = Attempt::Final;
    let endpoint = |e: &dyn std::fmt::Display| Attempt::Final(LinkError::Endpoint(e.to_string()));
    let peer = config.addr.resolve().await.map_err(Attempt::Retry)?;
    let unspecified: SocketAddr = match peer {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = tokio::net::UdpSocket::bind(unspecified)
        .await
        .map_err(|e| endpoint(&e))?;
    if let Some(route) = &config.route {
        ask_route(&socket, peer, route, deadline, config.timeout)
            .await
            .map_err(|e| match e {
                LinkError::RelayUnanswered { .. } => Attempt::Retry(e),
                e => fin(e),
            })?;
    }
    let socket = socket.into_std().map_err(|e| endpoint(&e))?;
    let tls = TlsClient::builder()
        .with_empty_trust_store()
        .map_err(|e| endpoint(&e))?
        .with_certificate(config.peer.cert_pem.as_str())
        .map_err(|e| endpoint(&e))?
        .with_client_identity(
            config.identity.cert_pem.as_str(),
            config.identity.key_pem.as_str(),
        )
        .map_err(|e| endpoint(&e))?
        .build()
        .map_err(|e| endpoint(&e))?;
    let client = Client::builder()
        .with_tls(tls)
        .map_err(|e| endpoint(&e))?
        .with_io(io(IoSocket::Bound(socket)).map_err(fin)?)
        .map_err(|e| endpoint(&e))?
        .with_limits(limits().map_err(fin)?)
        .map_err(|e| endpoint(&e))?
        .start()
        .map_err(|e| endpoint(&e))?;
    let connect = Connect::new(peer).with_server_name(server_name(config.party.peer()));
    match tokio::time::timeout_at(deadline, client.connect(connect)).await {
        Err(_) => Err(Attempt::Retry(LinkError::Timeout(config.timeout))),
        Ok(Ok(connection)) => Ok((peer, connection, client)),
        Ok(Err(e)) if unanswered(&e) => Err(Attempt::Retry(LinkError::Timeout(config.timeout))),
        Ok(Err(e)) => Err(fin(LinkError::PeerRejected {
            addr: peer,
            detail: e.to_string(),
        })),
    }
}

/// How long a dialler waits between attempts while the peer does not answer.
const RETRY: Duration = Duration::from_millis(500);

/// Whether a failed connect means nobody answered, rather than a refusal.
fn unanswered(e: &s2n_quic::connection::Error) -> bool {
    use s2n_quic::connection::Error;
    matches!(
        e,
        Error::MaxHandshakeDurationExceeded { .. }
            | Error::IdleTimerExpired { .. }
            | Error::NoValidPath { .. }
    )
}

/// The UDP socket of a QUIC endpoint.
enum IoSocket {
    /// Bind this address (a listener).
    Bind(SocketAddr),
    /// This socket, already bound (a dialler's, which may have sent the route preamble).
    Bound(std::net::UdpSocket),
}

fn io(socket: IoSocket) -> Result<s2n_quic::provider::io::Default, LinkError> {
    let builder = s2n_quic::provider::io::Default::builder();
    let (builder, addr) = match socket {
        IoSocket::Bind(addr) => (builder.with_receive_address(addr), addr.to_string()),
        IoSocket::Bound(socket) => {
            let addr = socket
                .local_addr()
                .map_or_else(|_| "a bound socket".into(), |a| a.to_string());
            (builder.with_rx_socket(socket), addr)
        }
    };
    let endpoint = |e: std::io::Error| LinkError::Endpoint(format!("{addr}: {e}"));
    builder
        .map_err(endpoint)?
        .with_max_mtu(9000)
        .map_err(endpoint)?
        .with_recv_buffer_size(UDP_BUFFER_BYTES)
        .map_err(endpoint)?
        .with_send_buffer_size(UDP_BUFFER_BYTES)
        .map_err(endpoint)?
        .build()
        .map_err(endpoint)
}

/// How long a silent peer is given before the link counts as broken. Keep-alives keep an idle
/// but healthy link open (a job may wait minutes on its stockpile), so only a dead peer or a
/// cut network trips this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Flow-control windows sized for bulk protocol traffic (matrices of several MB per flight);
/// the stream counts are effectively unbounded because OT code opens a stream per batch.
fn limits() -> Result<Limits, LinkError> {
    const MIB: u64 = 1 << 20;
    let invalid = |e: &dyn std::fmt::Display| LinkError::Endpoint(e.to_string());
    let streams = 1 << 59;
    Limits::new()
        .with_max_send_buffer_size(16 * MIB as u32)
        .and_then(|l| l.with_data_window(256 * MIB))
        .and_then(|l| l.with_unidirectional_data_window(32 * MIB))
        .and_then(|l| l.with_max_open_local_unidirectional_streams(streams))
        .and_then(|l| l.with_max_open_remote_unidirectional_streams(streams))
        .and_then(|l| l.with_max_idle_timeout(IDLE_TIMEOUT))
        .map_err(|e| invalid(&e))
}

impl PartyLink {
    async fn establish(
        config: LinkConfig,
        peer_addr: SocketAddr,
        mut quic: s2n_quic::Connection,
        origin: Origin,
    ) -> Result<PartyLink, LinkError> {
        // A peer whose TLS layer refused our certificate closes the connection during these
        // first steps (a TLS 1.3 client finishes its handshake before the server has checked
        // the client's certificate): report that as a refusal, not as a broken link.
        let refused = |detail: String| LinkError::PeerRejected {
            addr: peer_addr,
            detail,
        };
        // (A job may wait minutes on its stockpile without a word to the peer.)
        quic.keep_alive(true).map_err(|e| refused(e.to_string()))?;
        let (mut connection, manager) = cryprot_net::Connection::new(quic);
        tokio::spawn(manager.start());
        let counters = Arc::new(SharedCounters::default());
        let (send, recv) = connection
            .byte_stream()
            .await
            .map_err(|e| refused(e.to_string()))?;
        let mut hello_channel = Channel::new(send, recv, counters.clone());

        // Hello: the magic, our index, and our half of a common coin.
        let mine: [u8; 32] = rand::random();
        let mut hello = Vec::with_capacity(HELLO_BYTES);
        hello.extend_from_slice(MAGIC);
        hello.push(config.party.index() as u8);
        hello.extend_from_slice(&mine);
        let timeout = config.timeout;
        let theirs = tokio::time::timeout(timeout, hello_channel.exchange(&hello))
            .await
            .map_err(|_| LinkError::NoHello {
                addr: peer_addr,
                timeout,
            })?
            .map_err(|e| refused(e.to_string()))?;
        if theirs.len() != HELLO_BYTES || &theirs[..MAGIC.len()] != MAGIC {
            return Err(LinkError::Protocol(
                "it did not send a Dyad link hello (wrong service or version?)".into(),
            ));
        }
        let their_party = theirs[MAGIC.len()];
        if usize::from(their_party) != config.party.peer().index() {
            return Err(LinkError::Protocol(format!(
                "we are {} and so is the peer (it says P{their_party})",
                config.party
            )));
        }
        let mut common_seed = mine;
        for (c, t) in common_seed.iter_mut().zip(&theirs[MAGIC.len() + 1..]) {
            *c ^= t;
        }
        Ok(PartyLink {
            party: config.party,
            peer_addr,
            connection,
            counters,
            control: hello_channel,
            common_seed,
            origin,
        })
    }

    /// Drops this link and brings up a new one with the same configuration: `P0` takes the
    /// peer's next connection on the same endpoint, `P1` dials again (resolving the peer's
    /// address anew and, through a relay, sending its route again). For a job that lost its
    /// peer and waits for it to come back.
    pub async fn reconnect(self) -> Result<PartyLink, LinkError> {
        let PartyLink { origin, .. } = self;
        match origin {
            Origin::Listening(listener) => listener.accept().await,
            Origin::Dialled(config, client) => {
                drop(client);
                dial(config).await
            }
        }
    }

    /// Ends the link cleanly: tells the peer this party is done, waits until the peer has
    /// acknowledged that, and waits for the peer to say the same. Call it when a job is over:
    /// a process that exits without it may take its last message with it, and the peer would
    /// wait for that message until the link times out.
    pub async fn close(mut self) -> Result<(), LinkError> {
        const BYE: &[u8] = b"BYE";
        self.control.send(BYE).await?;
        let theirs = self.control.recv().await?;
        if theirs != BYE {
            return Err(LinkError::Protocol(
                "the peer did not end the link with a goodbye".into(),
            ));
        }
        // The peer has finished reading everything. Give our goodbye a moment to be
        // acknowledged; the peer may already have left, and then it had received it.
        let _ = tokio::time::timeout(GOODBYE_GRACE, self.control.wait_delivered()).await;
        Ok(())
    }

    /// This party.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// A 32-byte seed both parties know and no one else does (a coin tossed at setup, XOR of
    /// both parties' contributions). For public-coin randomness such as a common shuffle.
    pub fn common_seed(&self) -> [u8; 32] {
        self.common_seed
    }

    /// Opens the next message channel. Both parties must open channels in the same order.
    pub async fn channel(&mut self) -> Result<Channel, LinkError> {
        let (send, recv) = self
            .connection
            .byte_stream()
            .await
            .map_err(|e| LinkError::Disconnected(e.to_string()))?;
        Ok(Channel::new(send, recv, self.counters.clone()))
    }

    /// A `cryprot-net` sub-connection for OT and garbling code (the n-th call pairs with the
    /// peer's n-th call). Its traffic is not in [`PartyLink::counters`].
    pub fn sub_connection(&mut self) -> cryprot_net::Connection {
        self.connection.sub_connection()
    }

    /// What this link's channels have moved so far.
    pub fn counters(&self) -> LinkCounters {
        self.counters.snapshot()
    }

    /// A handle that reads the counters without borrowing the link.
    pub fn meter(&self) -> crate::LinkMeter {
        crate::LinkMeter(self.counters.clone())
    }
}

/// Accepts exactly one certificate name: the peer's.
struct ExpectName(String);

impl VerifyHostNameCallback for ExpectName {
    fn verify_host_name(&self, host_name: &str) -> bool {
        host_name == self.0
    }
}

/// Reports connections that closed before their handshake completed: on `P0` that is how a
/// client with the wrong certificate shows up (the QUIC server never yields it to `accept`).
struct HandshakeWatch {
    tx: mpsc::UnboundedSender<(SocketAddr, String)>,
}

impl HandshakeWatch {
    fn new() -> (
        HandshakeWatch,
        mpsc::UnboundedReceiver<(SocketAddr, String)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (HandshakeWatch { tx }, rx)
    }
}

/// Per-connection state of [`HandshakeWatch`].
struct Handshake {
    peer: Option<SocketAddr>,
    complete: bool,
}

impl Subscriber for HandshakeWatch {
    type ConnectionContext = Handshake;

    fn create_connection_context(
        &mut self,
        _meta: &ConnectionMeta,
        _info: &ConnectionInfo,
    ) -> Handshake {
        Handshake {
            peer: None,
            complete: false,
        }
    }

    fn on_handshake_status_updated(
        &mut self,
        context: &mut Handshake,
        _meta: &ConnectionMeta,
        event: &events::HandshakeStatusUpdated,
    ) {
        if matches!(event.status, events::HandshakeStatus::Complete { .. }) {
            context.complete = true;
        }
    }

    fn on_connection_started(
        &mut self,
        context: &mut Handshake,
        _meta: &ConnectionMeta,
        event: &events::ConnectionStarted,
    ) {
        context.peer = Some(SocketAddr::from(&event.path.remote_addr));
    }

    fn on_connection_closed(
        &mut self,
        context: &mut Handshake,
        _meta: &ConnectionMeta,
        event: &events::ConnectionClosed,
    ) {
        if !context.complete {
            let addr = context
                .peer
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
            let _ = self.tx.send((addr, event.error.to_string()));
        }
    }
}
