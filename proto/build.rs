//! Generates the gRPC code from `proto/` with `protox`, a pure-Rust protobuf compiler, so a
//! fresh machine needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/dyad/stockpile/v1/stockpile.proto",
        "proto/dyad/inference/v1/inference.proto",
        "proto/dyad/datasets/v1/datasets.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .bytes(".")
        .compile_fds(descriptors)?;
    Ok(())
}
