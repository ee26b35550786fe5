//! Text an operator or client hands the servers: offline plans, stream names and client
//! lists. Any bytes are read or refused.
#![no_main]

use dyad_randomness::Plan;
use dyad_randomness::Kind;
use dyad_server::serving::Clients;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let _ = Plan::parse(&text);
    if let Ok(kind) = text.parse::<Kind>() {
        let _ = kind.item_bytes();
    }
    let _ = Clients::parse(&text);
});
