//! The loopback addresses of a local pair's services.

use crate::OrchestrateError;

/// Where each service of a local pair listens.
pub struct Ports {
    /// Each server's stockpile.
    pub stores: [String; 2],
    /// Each lane's offline link (P0 listens).
    pub offline_links: Vec<String>,
    /// The training jobs' link.
    pub training_link: String,
    /// Server 0's training metrics endpoint.
    pub training_metrics: String,
    /// The servers' link in the serving part.
    pub serving_link: String,
    /// Each server's client endpoint.
    pub serving_clients: [String; 2],
    /// Each lane's P0 metrics endpoint.
    pub metrics: Vec<String>,
}

impl Ports {
    /// Addresses for `lanes` worker pairs that were free a moment ago.
    pub fn pick(lanes: usize) -> Result<Ports, OrchestrateError> {
        let tcp = || -> Result<String, OrchestrateError> {
            let socket = std::net::TcpListener::bind("127.0.0.1:0");
            let addr = socket.and_then(|s| s.local_addr());
            Ok(addr.map_err(OrchestrateError::Ports)?.to_string())
        };
        let udp = || -> Result<String, OrchestrateError> {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0");
            let addr = socket.and_then(|s| s.local_addr());
            Ok(addr.map_err(OrchestrateError::Ports)?.to_string())
        };
        Ok(Ports {
            stores: [tcp()?, tcp()?],
            offline_links: (0..lanes).map(|_| udp()).collect::<Result<_, _>>()?,
            training_link: udp()?,
            training_metrics: tcp()?,
            serving_link: udp()?,
            serving_clients: [tcp()?, tcp()?],
            metrics: (0..lanes).map(|_| tcp()).collect::<Result<_, _>>()?,
        })
    }
}
