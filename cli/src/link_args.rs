//! The party-link options every two-party command shares.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use dyad_link::{Identity, LinkConfig, PartyId, PartyLink, PeerPin, connect};

/// How to reach the peer.
#[derive(clap::Args, Debug)]
pub struct LinkArgs {
    /// This server: 0 (listens for the peer) or 1 (dials it).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub party: u8,
    /// Directory holding this party's `p<i>.cert.pem`/`p<i>.key.pem` and the peer's
    /// `p<j>.cert.pem` (see `dyad certs`).
    #[arg(long)]
    pub certs: PathBuf,
    /// Party 0: the address to listen on for the peer.
    #[arg(long, required_if_eq("party", "0"))]
    pub listen: Option<SocketAddr>,
    /// Party 1: the address of party 0.
    #[arg(long, required_if_eq("party", "1"))]
    pub peer: Option<SocketAddr>,
    /// Seconds to wait for the peer.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

impl LinkArgs {
    /// This party.
    pub fn party(&self) -> PartyId {
        PartyId::from_index(usize::from(self.party)).expect("clap checks the range")
    }

    /// Brings up the link.
    pub async fn connect(&self) -> anyhow::Result<PartyLink> {
        let party = self.party();
        let addr = match party {
            PartyId::P0 => self.listen,
            PartyId::P1 => self.peer,
        }
        .context("party 0 needs --listen, party 1 needs --peer")?;
        let config = LinkConfig {
            party,
            addr,
            identity: Identity::load(&self.certs, party)?,
            peer: PeerPin::load(&self.certs, party.peer())?,
            timeout: Duration::from_secs(self.timeout),
        };
        Ok(connect(config).await?)
    }
}
