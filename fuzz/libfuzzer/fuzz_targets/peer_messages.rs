//! Messages from the other server: the inference engine's batch proposals and verdicts.
//! (The offline workers' control messages, hello and the stockpile announcements are private
//! to their crates; the seeded fuzzer in the test suite covers them.)
#![no_main]

use dyad_server::serving::messages;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = messages::decode_proposal(bytes);
    let _ = messages::decode_verdicts(bytes, 2);
});
