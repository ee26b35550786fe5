//! The party-link options every two-party command shares.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use dyad_link::relay::RouteName;
use dyad_link::{Address, Identity, LinkConfig, PartyId, PartyLink, PeerPin, connect};

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
    /// Party 0: the address to listen on for the peer (`host:port`; a name is resolved at
    /// start).
    #[arg(long, value_name = "HOST:PORT", required_if_eq("party", "0"))]
    pub listen: Option<Address>,
    /// Party 1: the address of party 0, or of the relay in front of it with `--route`
    /// (`host:port`; a name is resolved at every connection attempt and reconnect).
    #[arg(long, value_name = "HOST:PORT", required_if_eq("party", "1"))]
    pub peer: Option<Address>,
    /// Party 1: `--peer` is a `dyad relay`; ask it for this route before each connection.
    /// `auto` names this command's usual route: `offline/<lane>` for `dyad offline`, `train`,
    /// `serve` and `link-check` for the others.
    #[arg(long, value_name = "NAME|auto")]
    pub route: Option<String>,
    /// Seconds to wait for the peer.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

impl LinkArgs {
    /// This party.
    pub fn party(&self) -> PartyId {
        match self.party {
            0 => PartyId::P0,
            _ => PartyId::P1,
        }
    }

    /// The link's configuration; `auto_route` is what `--route auto` stands for.
    pub fn config(&self, auto_route: &str) -> anyhow::Result<LinkConfig> {
        let party = self.party();
        let addr = match party {
            PartyId::P0 => self.listen.clone(),
            PartyId::P1 => self.peer.clone(),
        }
        .context("party 0 needs --listen, party 1 needs --peer")?;
        let route = match (party, self.route.as_deref()) {
            (_, None) => None,
            (PartyId::P0, Some(_)) => anyhow::bail!(
                "--route is for party 1, which dials the relay; party 0 listens behind it"
            ),
            (PartyId::P1, Some("auto")) => Some(auto_route),
            (PartyId::P1, Some(name)) => Some(name),
        }
        .map(|name| name.parse::<RouteName>().map_err(anyhow::Error::msg))
        .transpose()
        .context("--route")?;
        Ok(LinkConfig {
            party,
            addr,
            route,
            identity: Identity::load(&self.certs, party)?,
            peer: PeerPin::load(&self.certs, party.peer())?,
            timeout: Duration::from_secs(self.timeout),
        })
    }

    /// Brings up the link; `auto_route` is what `--route auto` stands for.
    pub async fn connect(&self, auto_route: &str) -> anyhow::Result<PartyLink> {
        Ok(connect(self.config(auto_route)?).await?)
    }
}
