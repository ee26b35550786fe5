//! ONNX files (`dyad import --onnx`): any bytes are imported or refused.
#![no_main]

use dyad_online::FixedPoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = dyad_server::onnx::import(bytes, "fuzzed", FixedPoint::default());
});
