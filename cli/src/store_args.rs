//! The options that point a server's process at its own stockpile.

use std::path::PathBuf;

use dyad_store::auth::read_token;
use dyad_vocabulary::Pool;

#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// This server's stockpile (`host:port` of its `dyad store`; a name is resolved at each
    /// connection).
    #[arg(long)]
    pub store: String,
    /// The stockpile's token file (`token` in its data directory, as `dyad store` made it).
    #[arg(long)]
    pub store_token: PathBuf,
    /// The pool of streams to use: a training job and `dyad serve` sharing a stockpile pair
    /// need one each (`--pool train`, `--pool serve`), and the worker pair stocking a pool is
    /// started with the same `--pool`. Default: the default pool.
    #[arg(long, default_value = "")]
    pub pool: Pool,
}

impl StoreArgs {
    /// The stockpile's address and its token.
    pub fn address_and_token(&self) -> anyhow::Result<(String, String)> {
        let token = read_token(&self.store_token).map_err(anyhow::Error::msg)?;
        Ok((self.store.clone(), token))
    }
}
