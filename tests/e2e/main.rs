//! End-to-end tests: the real `dyad` binary, several processes, talking over loopback.

mod cli;
mod deployment;
mod link;
mod offline;
mod serving;
mod store_cli;
mod store_crash;
mod support;
mod training;
