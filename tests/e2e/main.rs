//! End-to-end tests: the real `dyad` binary, several processes, talking over loopback.

mod cli;
mod link;
mod support;
