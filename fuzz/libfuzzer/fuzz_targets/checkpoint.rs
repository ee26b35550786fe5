//! Training checkpoints (`dyad train` resuming): any bytes are read or refused.
#![no_main]

use std::sync::LazyLock;

use dyad_online::model::Network;
use dyad_server::training::checkpoint::Checkpoints;
use libfuzzer_sys::fuzz_target;

/// A small network with every layer kind.
static NETWORK: LazyLock<Network> = LazyLock::new(|| {
    let text = "input 1 6 6\nconv 2 3 stride=1 padding=1\nrelu\nmaxpool\nflatten\ndense 4\n";
    Network::parse("small", text).expect("the network parses")
});

fuzz_target!(|bytes: &[u8]| {
    let checkpoints = Checkpoints::new("unused".into(), 42);
    let _ = checkpoints.decode(bytes, &NETWORK);
});
