//! The dealer-free offline generator: worker pairs that produce correlated randomness with
//! oblivious transfer and garbled circuits. Empty until the offline issue fills it.
