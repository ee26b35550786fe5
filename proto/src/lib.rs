//! Protobuf messages and gRPC services shared by the stockpile, the runtimes and clients.
//! Empty until the store issue fills it.
