//! Model share files (`dyad import`, `dyad serve --model`): any bytes are read or refused.
#![no_main]

use dyad_server::model_file::ModelFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = ModelFile::from_bytes(bytes);
});
