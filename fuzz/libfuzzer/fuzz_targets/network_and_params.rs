//! Network descriptions (`--model` files) and parameter encodings: any bytes are read or
//! refused. Parameters are read against a fixed small network.
#![no_main]

use std::sync::LazyLock;

use dyad_online::model::Network;
use dyad_online::nn::Params;
use libfuzzer_sys::fuzz_target;

static NETWORK: LazyLock<Network> = LazyLock::new(|| {
    let text = "input 1 6 6\nconv 2 3 stride=1 padding=1\nrelu\nmaxpool\nflatten\ndense 4\n";
    Network::parse("small", text).expect("the network parses")
});

fuzz_target!(|bytes: &[u8]| {
    if let Ok(network) = Network::parse("fuzzed", &String::from_utf8_lossy(bytes)) {
        let _ = network.shapes();
    }
    let _ = Params::from_bytes(bytes, &NETWORK);
});
