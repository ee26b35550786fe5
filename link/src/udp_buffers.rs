//! How much a party link's UDP sockets may queue in the kernel.
//!
//! Linux gives a UDP socket 208 KiB of receive buffer by default (`net.core.rmem_default`),
//! which holds fewer than a hundred full-size datagrams: a burst of QUIC's GSO batches from
//! a bulk transfer (matrix triples move megabytes per flight) overflows it while the reader
//! is busy, and every dropped datagram makes QUIC's congestion control back off. Measured in
//! the Compose deployment (2026-12-06, two lanes through the relay): 8.5% of the datagrams
//! reaching the relay's port and 4% of those reaching a worker were dropped for want of
//! buffer (`RcvbufErrors` in `/proc/net/snmp`), and the two cores sat half idle. Every
//! socket a link uses (both QUIC endpoints, the relay's port and its flows) asks for
//! [`UDP_BUFFER_BYTES`] each way; the kernel grants at most `net.core.rmem_max` /
//! `net.core.wmem_max` and silently caps a larger request, so the ask is safe everywhere.

use std::io;

/// The receive and send buffer each link socket asks for.
pub const UDP_BUFFER_BYTES: usize = 4 << 20;

/// Asks the kernel for [`UDP_BUFFER_BYTES`] of receive and send buffer on `socket`.
pub fn enlarge(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    let socket = socket2::SockRef::from(socket);
    socket.set_recv_buffer_size(UDP_BUFFER_BYTES)?;
    socket.set_send_buffer_size(UDP_BUFFER_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel grants more than its default, up to its cap (it reports twice what it
    /// grants, for its own bookkeeping).
    #[test]
    fn sockets_get_more_than_the_default_buffer() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a loopback socket");
        let size = |s: &std::net::UdpSocket| {
            socket2::SockRef::from(s)
                .recv_buffer_size()
                .expect("SO_RCVBUF reads")
        };
        let before = size(&socket);
        enlarge(&socket).expect("SO_RCVBUF and SO_SNDBUF set");
        let after = size(&socket);
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        match cap {
            Some(cap) if cap * 2 <= before => assert_eq!(after, before),
            Some(cap) => assert_eq!(after, 2 * cap.min(UDP_BUFFER_BYTES)),
            None => assert!(after >= before),
        }
    }
}
