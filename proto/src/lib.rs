//! Protobuf messages and gRPC services shared by the stockpile, the runtimes and clients,
//! generated from `proto/` at build time.

/// The stockpile service (`proto/dyad/stockpile/v1/stockpile.proto`).
pub mod stockpile {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("dyad.stockpile.v1");
}

/// The dataset service: data owners upload their shares (`proto/dyad/datasets/v1/datasets.proto`).
pub mod datasets {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("dyad.datasets.v1");
}

/// The secure-inference service (`proto/dyad/inference/v1/inference.proto`).
pub mod inference {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("dyad.inference.v1");
}
