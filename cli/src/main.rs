//! `dyad`: the one command for operators, data scientists and clients of a Dyad deployment.

mod certs;
mod chart_csv;
mod comparison_args;
mod data_args;
mod datasets;
mod demo;
mod import;
mod link_args;
mod link_check;
mod offline;
mod optimizer_args;
mod predict;
mod probe;
mod provision;
mod relay;
mod reveal;
mod serve;
mod share;
mod signals;
mod store;
mod store_args;
mod train;
mod train_plain;
mod upload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Two non-colluding servers that train and serve neural networks on secret-shared data.
#[derive(Parser)]
#[command(name = "dyad", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the parties' link certificates (self-signed; each party pins the other's).
    Certs(certs::Args),
    /// Bring up the party link with the peer and measure it: round-trip time and throughput.
    /// Run it on both servers to check addresses and certificates before starting workers.
    LinkCheck(link_check::Args),
    /// Run a server's stockpile of correlated randomness (RocksDB + gRPC) until SIGINT/SIGTERM.
    Store(store::Args),
    /// Print a stockpile's inventory: items, bytes and counts per stream.
    Inventory(store::InventoryArgs),
    /// Check a stopped stockpile's ledger (`dyad store --audit`): no item served twice, none
    /// lost.
    Audit(store::AuditArgs),
    /// Run an offline worker: with the peer's, generate correlated randomness into this
    /// server's stockpile, following a plan, until SIGINT/SIGTERM.
    Offline(offline::Args),
    /// Print the offline plan for a job: what training or inference will consume.
    Plan(offline::PlanArgs),
    /// Split a dataset into the two servers' shares (run by the data owner).
    Share(share::Args),
    /// Upload a dataset's shares to the two servers' dataset services (run by a data owner:
    /// it splits on its own machine and sends each server only its share); or list or delete
    /// the owner's datasets there.
    Upload(upload::Args),
    /// Run a server's dataset service (gRPC over TLS): data owners upload their shares, which
    /// `dyad train --dataset` takes by name.
    Datasets(datasets::Args),
    /// Train a network on secret-shared data with the peer, pulling correlated randomness from
    /// this server's stockpile.
    Train(train::Args),
    /// Train the same network in plaintext (floating and fixed point), as the reference.
    TrainPlain(train_plain::Args),
    /// Reconstruct a trained model from both servers' shares.
    RevealModel(reveal::Args),
    /// Serve secure inference over gRPC (TLS) with the other server, from this server's
    /// model share and stockpile.
    Serve(serve::Args),
    /// Ask the two servers for secure predictions (a client), or load-test them.
    Predict(predict::Args),
    /// Turn a plaintext model into the two servers' shares (run by the model owner).
    Import(import::Args),
    /// Forward party 1's links to party 0's processes through one UDP port: each dialler
    /// names a route (`--route` on its side), the relay forwards its QUIC datagrams unchanged
    /// to that route's target; TLS stays end to end.
    Relay(relay::Args),
    /// Run the local demo: both stockpiles, the offline worker pair and both training jobs as
    /// processes on loopback, training Network-A beside the plaintext reference.
    Demo(demo::Args),
    /// Make everything a deployment of both parties on one machine needs (Compose): each
    /// party's certificates, stockpile token, data share and offline plan in a directory of
    /// its own, and both servers' certificates for clients.
    Provision(provision::Args),
    /// Ask a health endpoint (`http://HOST:PORT/readyz`); exit 0 only on 200 OK (for container
    /// health checks: the image has no other HTTP client).
    Probe(probe::Args),
    /// Draw columns of a CSV against one of them as a PNG line chart, in panels (for the
    /// soak's record of stock, disk and memory, or any metrics file).
    Chart(chart_csv::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // Progress of long-running services by default; RUST_LOG overrides.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,dyad_offline=info,dyad_store=info,dyad_link=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Certs(args) => certs::run(args),
        Command::LinkCheck(args) => link_check::run(args),
        Command::Store(args) => store::run(args),
        Command::Inventory(args) => store::inventory(args),
        Command::Audit(args) => store::audit(args),
        Command::Offline(args) => offline::run(args),
        Command::Plan(args) => offline::plan(args),
        Command::Share(args) => share::run(args),
        Command::Upload(args) => upload::run(args),
        Command::Datasets(args) => datasets::run(args),
        Command::Train(args) => train::run(args),
        Command::TrainPlain(args) => train_plain::run(args),
        Command::RevealModel(args) => reveal::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Import(args) => import::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Provision(args) => provision::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Chart(args) => chart_csv::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;
    use dyad_orchestrate::command::{self, Link, Store};
    use dyad_server::training::Job;

    use super::Cli;

    /// The demo starts its children with the command lines `dyad_orchestrate::command` builds:
    /// every one must parse as this binary's arguments.
    #[test]
    fn the_orchestrated_command_lines_parse() {
        let job = Job {
            network: dyad_server::load_network("net-a").expect("net-a"),
            batch: 128,
            optimizer: dyad_online::nn::Optimizer {
                momentum: 0.9,
                ..dyad_online::nn::Optimizer::sgd(2)
            },
            epochs: 1,
            eval_every: Some(8),
            seed: 1,
            init: dyad_online::nn::Init::PyTorch,
            loss: true,
            fixed: Default::default(),
            comparison: Default::default(),
            exp: Default::default(),
            dataset: String::new(),
            train: 256,
            test: 128,
        };
        let (certs, token, file) = (Path::new("certs"), Path::new("token"), Path::new("f"));
        let store = Store {
            addr: "127.0.0.1:7100",
            token,
        };
        for party in 0..2 {
            let link = Link {
                party,
                certs,
                addr: "127.0.0.1:7200",
            };
            let metrics = Some("127.0.0.1:9100");
            for argv in [
                command::store(party, file, "127.0.0.1:7100").expect("store"),
                command::offline(&link, &store, 1, file, 200, metrics).expect("offline"),
                command::train(&link, &store, "net-a", &job, file, file, metrics).expect("train"),
                command::serve(&link, &store, file, "127.0.0.1:7300", 60, job.comparison)
                    .expect("serve"),
            ] {
                let line = std::iter::once("dyad".to_owned()).chain(argv.clone());
                if let Err(e) = Cli::try_parse_from(line) {
                    panic!("{argv:?}: {e}");
                }
            }
        }
    }
}
