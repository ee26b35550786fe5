//! Dataset share files (`dyad share`, `dyad train --data`): any bytes are read or refused.
#![no_main]

use dyad_server::DatasetShare;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = DatasetShare::from_bytes(bytes);
});
