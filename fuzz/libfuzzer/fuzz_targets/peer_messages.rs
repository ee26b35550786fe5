//! Messages from the other server: the terms every agreement exchanges (the training job, the
//! runtime's configuration, the served model, the stockpile shards, the offline workers' hello:
//! all `dyad_link::Terms`), the offline workers' control messages, the runtimes' stockpile
//! announcements, and the inference engine's batch proposals and verdicts.
#![no_main]

use dyad_link::Terms;
use dyad_offline::control::{Decision, Report};
use dyad_server::announcement::Announcement;
use dyad_server::serving::messages;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(theirs) = Terms::decode(bytes) {
        let _ = Terms::new().term("batch size", 128).differences(&theirs);
    }
    let _ = Decision::decode(bytes);
    let _ = Report::decode(bytes);
    let _ = Announcement::decode(bytes);
    let _ = messages::decode_proposal(bytes);
    let _ = messages::decode_verdicts(bytes, 2);
});
