//! Bulk throughput of the party link (QUIC, TLS 1.3) against plain loopback TCP in the same
//! run: what bounds the offline phase's matrix triples.
//!
//! `cargo bench -p dyad-link --bench throughput`

use std::time::Instant;

use dyad_link::loopback_pair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MB: usize = 1 << 20;
const FRAME: usize = 32 * MB;
const FRAMES: usize = 48;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (mut p0, mut p1) = loopback_pair().await.expect("link");
    let (mut c0, mut c1) = tokio::try_join!(p0.channel(), p1.channel()).expect("channels");
    let frame = vec![0x5au8; FRAME];
    let start = Instant::now();
    for _ in 0..FRAMES {
        let (a, b) = tokio::join!(c0.exchange(&frame), c1.exchange(&frame));
        a.expect("P0");
        b.expect("P1");
    }
    let quic = (2 * FRAMES * FRAME) as f64 / start.elapsed().as_secs_f64() / 1e6;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (a, b) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (mut a, (mut b, _)) = (a.expect("connect"), b.expect("accept"));
    let (mut ar, mut aw) = a.split();
    let (mut br, mut bw) = b.split();
    let start = Instant::now();
    let mut buf_a = vec![0u8; FRAME];
    let mut buf_b = vec![0u8; FRAME];
    for _ in 0..FRAMES {
        let (w1, r1, w2, r2) = tokio::join!(
            aw.write_all(&frame),
            br.read_exact(&mut buf_b),
            bw.write_all(&frame),
            ar.read_exact(&mut buf_a)
        );
        w1.expect("w");
        r1.expect("r");
        w2.expect("w");
        r2.expect("r");
    }
    let tcp = (2 * FRAMES * FRAME) as f64 / start.elapsed().as_secs_f64() / 1e6;
    println!(
        "both directions at once, {FRAMES} frames of {} MiB each way",
        FRAME / MB
    );
    println!("party link (QUIC + TLS): {quic:.0} MB/s total");
    println!(
        "plain loopback TCP:      {tcp:.0} MB/s total ({:.1}x)",
        tcp / quic
    );
}
