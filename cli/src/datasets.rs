//! `dyad datasets`: one server's dataset service, where data owners upload their shares for
//! training jobs to take by name (issue 31; `dyad_server::dataset_service` says why it is a
//! process of its own).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, ensure};
use tonic::transport::{Identity, Server, ServerTlsConfig};

use dyad_server::dataset_service::DatasetService;
use dyad_server::dataset_store::DatasetStore;
use dyad_server::serving::Clients;

#[derive(clap::Args)]
pub struct Args {
    /// This server: 0 or 1. It takes only its own shares.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    party: u8,
    /// Directory holding this party's `p<i>.cert.pem` and `p<i>.key.pem` (`dyad certs`): the
    /// TLS certificate owners see, under the name `dyad-p<i>`.
    #[arg(long)]
    certs: PathBuf,
    /// Where owners connect (gRPC over TLS).
    #[arg(long)]
    listen: SocketAddr,
    /// The datasets' directory; `dyad train --datasets` reads the same one.
    #[arg(long)]
    dir: PathBuf,
    /// The owners who may upload: lines of `name token` (`#` comments; tokens of at least 32
    /// characters, e.g. `openssl rand -hex 32`), separate from inference clients' tokens and
    /// the stockpile's. Each server keeps its own list.
    #[arg(long, value_name = "FILE")]
    owner_tokens: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let i = args.party;
    let read =
        |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let identity = Identity::from_pem(
        read(&args.certs.join(format!("p{i}.cert.pem")))?,
        read(&args.certs.join(format!("p{i}.key.pem")))?,
    );
    let text = std::fs::read_to_string(&args.owner_tokens)
        .with_context(|| format!("cannot read {}", args.owner_tokens.display()))?;
    let owners = Clients::parse(&text)
        .with_context(|| format!("{} is not an owner list", args.owner_tokens.display()))?;
    ensure!(
        !owners.is_empty(),
        "{} lists no owner",
        args.owner_tokens.display()
    );
    let store = DatasetStore::open(&args.dir, i)?;
    let held = store.all()?.len();
    let service = DatasetService::new(Arc::new(store), owners);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen for owners on {}", args.listen))?;
        eprintln!(
            "server {i}: dataset service on {} (TLS) for the owners in {}; {held} datasets in {}",
            args.listen,
            args.owner_tokens.display(),
            args.dir.display()
        );
        Server::builder()
            .tls_config(ServerTlsConfig::new().identity(identity))
            .context("the TLS configuration")?
            .add_service(service.into_server())
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                crate::signals::shutdown_signal(),
            )
            .await
            .context("the dataset service failed")?;
        eprintln!("server {i}: dataset service stopped");
        anyhow::Ok(())
    })
}
